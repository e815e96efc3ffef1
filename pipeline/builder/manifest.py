"""The build manifest (`out/.manifest.json`): what each post's outputs were built from.

Per post it keeps the digest of every output format (`fingerprints.py`) with the files that
format wrote and what it warned about, the posts its links were resolved from, and a failure that
will happen again on the same input. From it `plan` decides, per post, which formats to render:
none (skipped), some (a template of one format changed), or all; or to report a remembered
failure without retrying it.

The manifest is saved while the build runs (at most every `SAVE_EVERY` seconds, atomically), with
`"complete": false` until the build ends, so a build killed half way is resumed by the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import PipelineError
from ..processes import pid_alive
from ..results import Diagnostic, OutputRecord, PostResult, Status, plain_name
from ..source.discovery import safe_stem
from .fingerprints import Fingerprints
from .output_folder import reason, write_atomic

MANIFEST = ".manifest.json"
VERSION = 2
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
SAVE_EVERY = 2.0  # seconds between saves while a build runs
REMEMBERED = "failed the same way in an earlier build; --force tries again"


@dataclass(frozen=True)
class Failure:
    """A failure that will happen again on the same input: the digests it happened under
    (`failure_key`), the error, and the posts its links were read from then."""

    key: str
    message: str
    format: str | None = None
    rule: str | None = None
    line: int | None = None
    depends: Mapping[str, str] | None = field(default_factory=dict)
    """None when the manifest held something else: then never the same input again."""

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "message": self.message,
            "format": self.format,
            "rule": self.rule,
            "line": self.line,
            "depends": dict(sorted(self.depends.items())) if self.depends is not None else None,
        }

    @classmethod
    def from_json(cls, data: object) -> Failure | None:
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        message, line = data.get("message"), data.get("line")
        if not isinstance(message, str):
            return None
        fmt, rule = data.get("format"), data.get("rule")
        return cls(
            data["key"],
            message,
            fmt if isinstance(fmt, str) else None,
            rule if isinstance(rule, str) else None,
            line if isinstance(line, int) and not isinstance(line, bool) else None,
            _depends(data.get("depends", {})),
        )


def _depends(raw: object) -> dict[str, str] | None:
    """`{path from the post's folder: sha256}` as the manifest keeps it; None when it is not one."""
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        return None
    return dict(raw)


@dataclass(frozen=True)
class Entry:
    """What the manifest keeps of one post: its outputs per format (`OutputRecord`), the files
    they wrote, where the post was read from, the posts its links came from, and a failure that
    will recur. Fields a manifest of an earlier version lacks stay None."""

    files: tuple[str, ...] = ()
    source: str | None = None
    folder: str | None = None
    digest: str | None = None
    outputs: Mapping[str, OutputRecord] | None = None
    depends: Mapping[str, str] | None = field(default_factory=dict)
    """None when the manifest held something else: then never unchanged."""
    failed: Failure | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"files": list(self.files)}
        if self.digest is not None:
            data["digest"] = self.digest
        if self.source is not None:
            data["source"] = self.source
        if self.folder is not None:
            data["folder"] = self.folder
        if self.outputs is not None:
            data["outputs"] = {name: record.to_json() for name, record in sorted(self.outputs.items())}
        if self.depends:
            data["depends"] = dict(sorted(self.depends.items()))
        if self.failed is not None:
            data["failed"] = self.failed.to_json()
        return data

    @classmethod
    def from_json(cls, data: object) -> Entry | None:
        """The entry read back; None when `data` is not one. Only plain file names are trusted:
        the manifest names folders to prune and files to delete."""
        if not isinstance(data, dict) or not isinstance(data.get("files", []), list):
            return None
        texts = {
            k: data.get(k) if isinstance(data.get(k), str) else None for k in ("source", "folder", "digest")
        }
        raw_outputs = data.get("outputs")
        outputs = None
        if isinstance(raw_outputs, dict):
            outputs = {
                name: record
                for name, raw in raw_outputs.items()
                if isinstance(name, str) and (record := OutputRecord.from_json(raw)) is not None
            }
        return cls(
            tuple(f for f in data.get("files", []) if plain_name(f)),
            texts["source"],
            texts["folder"],
            texts["digest"],
            outputs,
            _depends(data.get("depends", {})),
            Failure.from_json(data.get("failed")),
        )


@dataclass
class Loaded:
    """A manifest as read: its posts (only plain names trusted), and whether the build that
    wrote it was killed before it finished."""

    posts: dict[str, Entry] = field(default_factory=dict)
    interrupted: bool = False


def load(out: Path) -> Loaded:
    """The manifest under `out`; empty when it is missing, unreadable or not ours."""
    path = out / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return Loaded()
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, nested too deeply
        return Loaded()
    posts = data.get("posts", {}) if isinstance(data, dict) else {}
    if not isinstance(posts, dict):
        return Loaded()
    writer = data.get("writer")
    interrupted = data.get("complete") is False and not (isinstance(writer, int) and pid_alive(writer))
    entries = {stem: Entry.from_json(raw) for stem, raw in posts.items() if plain_name(stem)}
    return Loaded({stem: entry for stem, entry in entries.items() if entry is not None}, interrupted)


def save(out: Path, posts: Mapping[str, Entry], *, complete: bool = True) -> None:
    """Write the manifest atomically; a PipelineError (one line) when it cannot be written."""
    records = {stem: entry.to_json() for stem, entry in sorted(posts.items())}
    data: dict[str, object] = {"version": VERSION, "complete": complete, "posts": records}
    if not complete:
        data["writer"] = os.getpid()
    text = json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"  # the C encoder: 5x faster
    try:
        write_atomic(out / MANIFEST, text.encode())
    except OSError as exc:  # the outputs are written; only the next build's shortcut is lost
        raise PipelineError(
            f"cannot save the build manifest: {reason(exc)}; the next build builds every post again",
            path=out / MANIFEST,
        ) from None


# --- the posts a post's links were resolved from ------------------------------------------------


def _file_digest(path: Path) -> str | None:
    """The sha256 of a plain file's bytes; None when it is gone or not a plain file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    except OSError:
        return None


def dependency_digests(post: Path, depends_on: Sequence[Path]) -> dict[str, str]:
    """`{path from the post's folder: sha256}` of the other posts its outputs were built from.

    A file that vanished since it was read gets `""`, which no later state matches.
    """
    return {Path(os.path.relpath(dep, post.parent)).as_posix(): _file_digest(dep) or "" for dep in depends_on}


def dependencies_unchanged(depends: Mapping[str, str] | None, post: Path) -> bool:
    """True when every file of `depends` (a manifest entry's, by path from `post`'s folder) is unchanged."""
    if depends is None:
        return False
    for name, digest in depends.items():
        if not isinstance(name, str) or not isinstance(digest, str) or not name or Path(name).is_absolute():
            return False
        if _file_digest(post.parent / name) != digest:
            return False
    return True


# --- deciding what to build -----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One post to build, as decided by the manifest."""

    path: Path
    digest: str  # of the post's bytes under the shared fingerprint
    digests: Mapping[str, str]  # per requested format
    render: tuple[str, ...]  # the formats to render now
    previous: tuple[str, ...]  # the files those formats wrote last time: replaced
    kept: Mapping[str, OutputRecord]  # the up-to-date outputs of the other requested formats


def failure_key(digests: Mapping[str, str], render: Iterable[str]) -> str:
    """What a failure is remembered under: the digests of the formats that were to be rendered."""
    return hashlib.sha256(json.dumps([[f, digests[f]] for f in sorted(render)]).encode()).hexdigest()


def plan(
    path: Path,
    data: bytes,
    prints: Fingerprints,
    formats: Sequence[str],
    entry: Entry,
    out: Path,
) -> Job | PostResult:
    """The Job that brings a post's outputs up to date, or its result when nothing is to render:
    skipped, or a failure remembered from the build before."""
    stem = safe_stem(path)
    base = prints.base(data)
    digests = prints.digests(base, formats)
    outputs = dict(entry.outputs or {})
    fresh: dict[str, OutputRecord] = {}
    if dependencies_unchanged(entry.depends, path):
        for name in formats:
            output = outputs.get(name)
            if output is None or output.digest != digests[name]:
                continue
            if all((out / stem / f).is_file() for f in output.files):
                fresh[name] = output
    render = tuple(f for f in formats if f not in fresh)
    if not render:
        return PostResult(
            stem,
            str(path),
            Status.SKIPPED,
            files=list(entry.files),
            digest=base,
            depends=dict(entry.depends or {}),
            outputs=outputs,
        )
    remembered = _remembered(entry, failure_key(digests, render), path)
    if remembered is not None:
        result = PostResult(stem, str(path), Status.FAILED, digest=base, outputs=outputs, remembered=True)
        result.failure = remembered
        result.error = f"{path}{':' + str(remembered.line) if remembered.line else ''}: {remembered.message}"
        return result
    if outputs:
        previous = [f for name in render if name in outputs for f in outputs[name].files]
    else:  # a manifest without outputs per format: everything it listed is replaced
        previous = list(entry.files)
    return Job(path, base, digests, render, tuple(sorted(set(previous))), fresh)


def _remembered(entry: Entry, key: str, path: Path) -> Diagnostic | None:
    """The failure the manifest remembers for exactly this input, if any."""
    record = entry.failed
    if record is None or record.key != key or not dependencies_unchanged(record.depends, path):
        return None
    return Diagnostic("error", f"{record.message} ({REMEMBERED})", record.format, record.rule, record.line)


# --- what the manifest says after a build ---------------------------------------------------------


def entry_for(result: PostResult, previous: Entry | None, out: Path) -> Entry | None:
    """The manifest entry of a post after this build; None when it has nothing to record."""
    source = Path(result.source)
    if result.status == Status.SKIPPED and previous is not None:
        return previous
    if result.status in (Status.BUILT, Status.SKIPPED):
        outputs = {**((previous.outputs or {}) if previous else {}), **result.outputs}
        return Entry(
            files=tuple(sorted({f for o in outputs.values() for f in o.files} | set(result.files))),
            source=source.name,
            folder=folder_entry(source.parent, out),
            digest=result.digest,
            outputs=dict(sorted(outputs.items())),
            depends=dict(sorted(result.depends.items())),
        )
    # failed: its previous outputs are still there; a failure that will recur is remembered
    entry = previous or Entry(source=source.name, folder=folder_entry(source.parent, out))
    failure: Failure | None = None
    if result.remembered and previous is not None:
        failure = previous.failed
    elif result.failure_key and result.failure is not None:
        error = result.failure
        failure = Failure(
            result.failure_key, error.message, error.format, error.rule, error.line, dict(result.depends)
        )
    entry = replace(entry, failed=failure)
    if not entry.files and entry.failed is None:
        return None
    return entry


def folder_entry(folder: Path, out: Path) -> str:
    """The folder a post was read from, as the manifest keeps it: relative to the output folder."""
    return Path(os.path.relpath(folder.resolve(), out.resolve())).as_posix()


def covers(src: Path, entry: Entry, out: Path) -> bool:
    """True when the post a manifest entry was built from belonged to `src`.

    A single post covers only itself. A folder covers the posts read from it; an entry written
    before the manifest kept folders is taken to be the folder's, as builds then took it.
    """
    if not src.is_dir():
        return False
    if entry.folder is None:
        return True
    return (out / entry.folder).resolve() == src.resolve()


class Saver:
    """Saves the manifest while a build runs, at most every `SAVE_EVERY` seconds."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= SAVE_EVERY

    def save(self, posts: Mapping[str, Entry]) -> None:
        self.last = time.monotonic()
        with contextlib.suppress(PipelineError):  # the final save reports it; the build goes on
            save(self.out, posts, complete=False)
