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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from ..errors import PipelineError
from ..processes import pid_alive
from ..results import Diagnostic, PostResult, Status
from ..source.discovery import safe_stem
from .fingerprints import Fingerprints
from .output_folder import reason, write_atomic

MANIFEST = ".manifest.json"
VERSION = 2
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
SAVE_EVERY = 2.0  # seconds between saves while a build runs
REMEMBERED = "failed the same way in an earlier build; --force tries again"


@dataclass
class Loaded:
    """A manifest as read: its posts (only plain names trusted), and whether the build that
    wrote it was killed before it finished."""

    posts: dict[str, dict[str, object]] = field(default_factory=dict)
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
    # The manifest names folders to prune and files to delete: trust only plain names.
    return Loaded(
        {
            stem: {**entry, "files": [f for f in entry.get("files", []) if plain_name(f)]}
            for stem, entry in posts.items()
            if plain_name(stem) and isinstance(entry, dict) and isinstance(entry.get("files", []), list)
        },
        interrupted,
    )


def plain_name(name: object) -> bool:
    """A single path component that is not hidden: no `/`, `..` or `.manifest.json`."""
    return isinstance(name, str) and bool(name) and Path(name).name == name and not name.startswith(".")


def save(out: Path, posts: Mapping[str, Mapping[str, object]], *, complete: bool = True) -> None:
    """Write the manifest atomically; a PipelineError (one line) when it cannot be written."""
    data: dict[str, object] = {"version": VERSION, "complete": complete, "posts": dict(sorted(posts.items()))}
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


def dependencies_unchanged(depends: object, post: Path) -> TypeGuard[dict[str, str]]:
    """True when every file of `depends` (a manifest entry's, by path from `post`'s folder) is unchanged."""
    if not isinstance(depends, dict):
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
    kept: Mapping[str, Mapping[str, object]]  # the up-to-date outputs of the other requested formats


def outputs_of(entry: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """A manifest entry's outputs per format, each with a digest and plain file names."""
    raw = entry.get("outputs")
    found: dict[str, dict[str, object]] = {}
    if not isinstance(raw, dict):
        return found
    for name, output in raw.items():
        if (
            not isinstance(name, str)
            or not isinstance(output, dict)
            or not isinstance(output.get("digest"), str)
        ):
            continue
        files = output.get("files")
        if not isinstance(files, list) or not all(plain_name(f) for f in files):
            continue
        found[name] = {
            "digest": output["digest"],
            "files": list(files),
            "warnings": [w for w in output.get("warnings", ()) if Diagnostic.from_json(w) is not None],
            "notes": [n for n in output.get("notes", ()) if Diagnostic.from_json(n) is not None],
        }
    return found


def failure_key(digests: Mapping[str, str], render: Iterable[str]) -> str:
    """What a failure is remembered under: the digests of the formats that were to be rendered."""
    return hashlib.sha256(json.dumps([[f, digests[f]] for f in sorted(render)]).encode()).hexdigest()


def plan(
    path: Path,
    data: bytes,
    prints: Fingerprints,
    formats: Sequence[str],
    entry: Mapping[str, object],
    out: Path,
) -> Job | PostResult:
    """The Job that brings a post's outputs up to date, or its result when nothing is to render:
    skipped, or a failure remembered from the build before."""
    stem = safe_stem(path)
    base = prints.base(data)
    digests = prints.digests(base, formats)
    outputs = outputs_of(entry)
    depends = entry.get("depends", {})
    fresh: dict[str, dict[str, object]] = {}
    if dependencies_unchanged(depends, path):
        for name in formats:
            output = outputs.get(name)
            if output is None or output["digest"] != digests[name]:
                continue
            listed = output["files"]
            if isinstance(listed, list) and all((out / stem / str(f)).is_file() for f in listed):
                fresh[name] = output
    render = tuple(f for f in formats if f not in fresh)
    if not render:
        listed = entry.get("files", [])
        files = [str(f) for f in listed] if isinstance(listed, list) else []
        return PostResult(
            stem,
            str(path),
            Status.SKIPPED,
            files=files,
            digest=base,
            depends=dict(depends) if isinstance(depends, dict) else {},
            outputs=outputs,
        )
    remembered = _remembered(entry, failure_key(digests, render), path)
    if remembered is not None:
        result = PostResult(stem, str(path), Status.FAILED, digest=base, outputs=outputs, remembered=True)
        result.failure = remembered
        result.error = f"{path}{':' + str(remembered.line) if remembered.line else ''}: {remembered.message}"
        return result
    if outputs:
        previous = [str(f) for name in render for f in listed_files(outputs.get(name, {}))]
    else:  # a manifest without outputs per format: everything it listed is replaced
        previous = [str(f) for f in listed_files(entry)]
    return Job(path, base, digests, render, tuple(sorted(set(previous))), fresh)


def listed_files(entry: Mapping[str, object]) -> list[object]:
    """The files a manifest entry (or one output's record) lists."""
    files = entry.get("files", [])
    return files if isinstance(files, list) else []


def _remembered(entry: Mapping[str, object], key: str, path: Path) -> Diagnostic | None:
    """The failure the manifest remembers for exactly this input, if any."""
    record = entry.get("failed")
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    if not dependencies_unchanged(record.get("depends", {}), path):
        return None
    message, line = record.get("message"), record.get("line")
    if not isinstance(message, str):
        return None
    fmt, rule = record.get("format"), record.get("rule")
    return Diagnostic(
        "error",
        f"{message} ({REMEMBERED})",
        fmt if isinstance(fmt, str) else None,
        rule if isinstance(rule, str) else None,
        line if isinstance(line, int) and not isinstance(line, bool) else None,
    )


# --- what the manifest says after a build ---------------------------------------------------------


def entry_for(
    result: PostResult, previous: Mapping[str, object] | None, out: Path
) -> dict[str, object] | None:
    """The manifest entry of a post after this build; None when it has nothing to record."""
    source = Path(result.source)
    if result.status == Status.SKIPPED and previous is not None:
        return dict(previous)
    if result.status in (Status.BUILT, Status.SKIPPED):
        outputs = {**(outputs_of(previous) if previous else {}), **result.outputs}
        entry: dict[str, object] = {
            "digest": result.digest,
            "files": sorted({str(f) for o in outputs.values() for f in listed_files(o)} | set(result.files)),
            "source": source.name,
            "folder": folder_entry(source.parent, out),
            "outputs": dict(sorted(outputs.items())),
        }
        if result.depends:
            entry["depends"] = dict(sorted(result.depends.items()))
        return entry
    # failed: its previous outputs are still there; a failure that will recur is remembered
    entry = (
        dict(previous)
        if previous
        else {"files": [], "source": source.name, "folder": folder_entry(source.parent, out)}
    )
    entry.pop("failed", None)
    if result.remembered and previous and "failed" in previous:
        entry["failed"] = previous["failed"]
    elif result.failure_key and result.failure is not None:
        failure = result.failure
        entry["failed"] = {
            "key": result.failure_key,
            "message": failure.message,
            "format": failure.format,
            "rule": failure.rule,
            "line": failure.line,
            "depends": dict(sorted(result.depends.items())),
        }
    if not entry.get("files") and "failed" not in entry:
        return None
    return entry


def folder_entry(folder: Path, out: Path) -> str:
    """The folder a post was read from, as the manifest keeps it: relative to the output folder."""
    return Path(os.path.relpath(folder.resolve(), out.resolve())).as_posix()


def covers(src: Path, entry: Mapping[str, object], out: Path) -> bool:
    """True when the post a manifest entry was built from belonged to `src`.

    A single post covers only itself. A folder covers the posts read from it; an entry written
    before the manifest kept folders is taken to be the folder's, as builds then took it.
    """
    if not src.is_dir():
        return False
    folder = entry.get("folder")
    if not isinstance(folder, str):
        return True
    return (out / folder).resolve() == src.resolve()


class Saver:
    """Saves the manifest while a build runs, at most every `SAVE_EVERY` seconds."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= SAVE_EVERY

    def save(self, posts: Mapping[str, Mapping[str, object]]) -> None:
        self.last = time.monotonic()
        with contextlib.suppress(PipelineError):  # the final save reports it; the build goes on
            save(self.out, posts, complete=False)
