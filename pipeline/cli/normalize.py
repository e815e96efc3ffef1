"""`invoke normalize`: report (or rewrite in place) posts whose canonical form differs.

Rewriting never damages or silently replaces a post: the new text goes to a temporary file in the
folder of the file that really holds the post (through a symbolic link, which stays a link), gets
the old file's mode and replaces it atomically. A read-only post is refused. Unless the post is
committed unchanged in a git work tree, the old bytes are first kept in `.<post>.orig` (or
`.orig.1`, `.orig.2`, … when an earlier backup exists: that one is the user's). Any error while
writing becomes one line for that post; the other posts go on.

The new text keeps the author's layout around the canonical body: the front matter from its
opening `---` line to its closing one byte for byte (keys normalization adds go just before the
closing line), the blank lines (or none) between it and the body, the file's BOM and line ends,
and one final line end.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import itertools
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..accounting.canonical import front_matter_block, rendered_markdown
from ..errors import PipelineError
from ..model import Episode
from ..normalize.stages import normalize_file
from ..settings.config import Settings
from ..source.discovery import discover
from ..source.post_file import decode, split_front_matter

BACKUP_SUFFIX = ".orig"
GIT_TIMEOUT = 30  # seconds; a git that hangs is treated as "no git": the backup is kept
_TEMP_NAMES = itertools.count()
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# A line with its own line end, as `source.decode` counts lines: `\r\n`, `\r` and `\n` alike.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True)
class SourceStatus:
    path: Path
    status: str  # unchanged | would change | rewritten | failed
    error: str | None = None
    diff: str = ""  # a unified diff (old -> canonical), when asked for and the post changes
    backup: Path | None = None  # where the old bytes were kept, when a post was rewritten


class WriteRefused(Exception):
    """The post must not be rewritten (read-only); the message is for the user."""


def normalize_sources(
    src: Path, settings: Settings, *, write: bool, diff: bool = False
) -> list[SourceStatus]:
    """Compare each post with its canonical form; with `write`, replace it safely (see module doc)."""
    posts, rejected = discover(src)
    statuses = [SourceStatus(Path(r.source), "failed", r.error) for r in rejected]
    for path in posts:
        statuses.append(_normalize_one(path, src, settings, write=write, diff=diff))
    return sorted(statuses, key=lambda s: str(s.path))


def _normalize_one(path: Path, src: Path, settings: Settings, *, write: bool, diff: bool) -> SourceStatus:
    try:
        episode = normalize_file(path, settings)
    except PipelineError as exc:
        return SourceStatus(path, "failed", str(exc))  # the file is left alone
    if episode.unchanged_source is not None:
        return SourceStatus(path, "unchanged")  # nothing to change: its bytes (BOM, CRLF) stay too
    try:
        old = path.read_bytes()
        canonical = in_authors_layout(old, episode, path)
    except OSError as exc:
        return SourceStatus(path, "failed", str(PipelineError(f"cannot read the file: {_cause(exc)}", path)))
    except PipelineError as exc:  # the file changed since it was normalized
        return SourceStatus(path, "failed", str(exc))
    if old == canonical:
        return SourceStatus(path, "unchanged")
    text = unified_diff(old, canonical, _display_name(path, src)) if diff else ""
    if not write:
        return SourceStatus(path, "would change", diff=text)
    try:
        backup = rewrite_post(path, old, canonical)
    except WriteRefused as exc:
        return SourceStatus(path, "failed", str(PipelineError(str(exc), path)))
    return SourceStatus(path, "rewritten", diff=text, backup=backup)


def in_authors_layout(old: bytes, episode: Episode, path: Path) -> bytes:
    """The canonical post as the file's bytes `old` lay it out (see the module doc).

    `post.md` is written without the source at hand, so only this rewrite can keep what the
    canonical text cannot know: delimiter lines such as `--- ` or `...`, CRLF, a BOM, the blank
    line after the front matter.
    """
    if episode.unchanged_source is not None:
        return old
    front, _, body_line = split_front_matter(decode(old, path), path)
    bom = codecs.BOM_UTF8 if old.startswith(codecs.BOM_UTF8) else b""
    lines = _LINE.findall(old[len(bom) :].decode("utf-8"))
    block, rest = lines[: body_line - 1], lines[body_line - 1 :]
    eol = _line_end(block[0]) or "\n"
    head = _front_matter_as_written(block, front, episode, eol)
    body = rendered_markdown(episode).removeprefix(front_matter_block(episode)).replace("\n", eol)
    blank = "".join(itertools.takewhile(_is_blank, rest))
    return bom + (head + (blank + body if body else "")).encode("utf-8")


def _front_matter_as_written(block: list[str], front: str, episode: Episode, eol: str) -> str:
    """The lines `block` (`---` to `---`, whose YAML is `front`) with the keys normalization added
    just before the closing line; when normalization changed the front matter otherwise, its text
    as the canonical post has it, since the author's layout no longer fits it."""
    if not episode.front_matter_text.startswith(front):
        return front_matter_block(episode).replace("\n", eol)
    added = episode.front_matter_text.removeprefix(front).replace("\n", eol)
    closing = block[-1].rstrip("\r\n") + (_line_end(block[-1]) or eol)  # the body may follow it now
    return "".join(block[:-1]) + added + closing


def _line_end(line: str) -> str:
    """The line end `line` has (`\\r\\n`, `\\r`, `\\n`), or "" for a last line without one."""
    return line[len(line.rstrip("\r\n")) :]


def _is_blank(line: str) -> bool:
    """A blank line as Markdown has it (spaces and tabs only) with its line end: what may stand
    between the front matter and the body."""
    return bool(_line_end(line)) and not line.strip(" \t\r\n")


def rewrite_post(path: Path, old: bytes, new: bytes) -> Path | None:
    """Replace the post's bytes `old` with `new`, keeping a backup unless git holds the old bytes.

    Returns the backup's path (None when none was needed). Raises WriteRefused, with the reason
    in words, when the post is read-only or anything could not be written; the post is then as
    it was, and no backup of this attempt is left behind.
    """
    try:
        target = path.resolve(strict=True)
        info = target.stat()
    except OSError as exc:
        raise WriteRefused(f"cannot find the file: {_cause(exc)}, not rewritten") from None
    if not info.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise WriteRefused("read-only file, not rewritten")
    backup = None
    if not committed_unchanged(target):
        try:
            backup = keep_backup(path, old, stat.S_IMODE(info.st_mode))
        except OSError as exc:
            raise WriteRefused(f"cannot keep a backup copy ({_cause(exc)}), not rewritten") from None
    try:
        write_through(path, new)
    except OSError as exc:
        if backup is not None:
            _remove(backup)
        raise WriteRefused(f"cannot write ({_cause(exc)}), not rewritten") from None
    return backup


def write_through(path: Path, data: bytes) -> Path:
    """Atomically replace the file `path` names with `data`, following symbolic links.

    The temporary file is made in the real file's folder, gets the real file's mode (and owner,
    when allowed) and is synced before `os.replace`; a link stays a link. Returns the real path.
    """
    target = path.resolve(strict=True)
    info = target.stat()
    prefix = f".{target.name[:180]}.{os.getpid()}"  # a dot file: `discover` skips it
    tmp, fd = _create_new(target.parent / f"{prefix}.{next(_TEMP_NAMES)}.tmp" for _ in itertools.count())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):  # else the post becomes ours, as with editors
                    os.fchown(handle.fileno(), info.st_uid, info.st_gid)
            os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))  # after fchown, which clears set-id bits
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        _remove(tmp)
        raise
    _sync_folder(target.parent)
    return target


def keep_backup(path: Path, data: bytes, mode: int) -> Path:
    """Write `data` to a new `.<name>.orig` beside `path` (`.orig.1`, … if taken), mode `mode`.

    Hidden: Jekyll publishes any dated file in `_posts/` (a `2024-01-01-x.md.orig` would become a
    second post), but never a dot file; nor does the build take one for a post.
    """
    names = (
        path.with_name("." + path.name + BACKUP_SUFFIX + (f".{n}" if n else "")) for n in itertools.count()
    )
    backup, fd = _create_new(names)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        _remove(backup)
        raise
    return backup


def committed_unchanged(path: Path) -> bool:
    """True when `path` is tracked in a git work tree and has no uncommitted change.

    Anything else (git missing, not a work tree, untracked, modified, staged, no commit yet, git
    refusing the folder) is False, so the caller keeps a backup.
    """
    folder, name = str(path.parent), path.name
    try:
        tracked = subprocess.run(
            ["git", "-C", folder, "ls-files", "--error-unmatch", "--", name],
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
        if tracked.returncode != 0:
            return False
        clean = subprocess.run(
            ["git", "-C", folder, "diff", "--quiet", "HEAD", "--", name],
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return clean.returncode == 0


def unified_diff(old: bytes, new: bytes, name: str) -> str:
    """A unified diff with `--- a/<name>` / `+++ b/<name>` headers, as `git apply` and `patch` read it."""
    lines = difflib.unified_diff(
        old.decode("utf-8", errors="replace").splitlines(keepends=True),
        new.decode("utf-8", errors="replace").splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _display_name(path: Path, src: Path) -> str:
    """The post's path relative to `src` when possible (its name when `src` is the post)."""
    if path == src:
        return path.name
    try:
        return path.relative_to(src).as_posix()
    except ValueError:
        return path.as_posix()


def _create_new(candidates: Iterator[Path]) -> tuple[Path, int]:
    """Create the first of `candidates` that does not exist yet, exclusively (mode 0600 until chmod)."""
    for candidate in candidates:
        try:
            return candidate, os.open(candidate, _NEW_FILE_FLAGS, 0o600)
        except FileExistsError:
            continue
    raise FileExistsError("no free file name")


def _remove(path: Path) -> None:
    """Clean up a file of ours after a failure; a failing clean-up must not hide the first error."""
    with contextlib.suppress(OSError):
        path.unlink()


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; best effort (not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _cause(exc: OSError) -> str:
    """The cause in words ("Permission denied", "No space left on device"), on one line."""
    return " ".join((exc.strerror or str(exc)).splitlines())
