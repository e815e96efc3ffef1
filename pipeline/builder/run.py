"""`build`: bring every post's outputs up to date, as short orchestration of the modules that
own each step: `discovery` (which files are posts), `fingerprints` and `manifest` (what each
output was built from, so only what changed is rendered), `workers` (normalize, render and
write, in worker processes) and `output` (folders switched whole, atomic files).

MkDocs-style: every post is read and rendered completely in memory before any of its files is
written, so a failing post leaves its previous outputs as they were.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

from ..errors import PipelineError, SourceError, UnreadableSource
from ..formats import FORMATS
from ..interrupts import terminate_as_interrupt
from ..results import BuildSummary, PostResult, Reporter, Status, failed
from ..settings.config import Settings
from ..source.discovery import discover_all, reads_folder, safe_stem
from ..user_files import UserFileError, read_bytes
from . import manifest
from .fingerprints import fingerprints
from .manifest import Job
from .output_folder import check_writable, recover
from .workers import Target, fewer_collections, jobs_default, run


def requested_formats(only: Sequence[str] | None) -> tuple[str, ...]:
    """The formats to build: `--only`'s (checked), always with the canonical post; else all."""
    formats = tuple(only) if only else tuple(FORMATS)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise PipelineError(
            f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}",
            field="--only",
        )
    return formats if "post" in formats else ("post", *formats)


def prepare_output(out: Path) -> None:
    """Make the output folder usable: created, writable, and cleared of what killed builds left."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PipelineError(f"cannot use it as the output folder: {exc.strerror}", path=out) from None
    check_writable(out)
    recover(out)  # switches of post folders a killed build left half done
    from ..pandoc.convert import remove_abandoned

    remove_abandoned()  # pandoc's temporary folders of builds that were killed


def build(
    src: Path,
    out: Path,
    settings: Settings,
    *,
    jobs: int | None = None,
    force: bool = False,
    only: Sequence[str] | None = None,
    strict: bool = False,
    prune: bool = False,
    first: Sequence[str] = (),
    reporter: Reporter | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> BuildSummary:
    """Build every post under `src` into `out/<stem>/`: only the outputs whose inputs changed.

    `first`: the output folder names (`safe_stem`) of posts to build before the others (those
    open in the preview).
    """
    started = clock()
    reporter = reporter or Reporter()
    formats = requested_formats(only)
    posts, rejected, ignored = discover_all(src)
    prepare_output(out)
    # Loaded with --force too: the records of posts this build does not cover are kept (a forced
    # build of one post must not make the next build redo the archive); only --prune drops them.
    loaded = manifest.load(out)
    previous = loaded.posts
    prints = fingerprints(settings)

    results: dict[str, PostResult] = {r.source: r for r in rejected}
    pending: list[Job] = []
    wanted_first = set(first)
    for path in sorted(posts, key=lambda p: safe_stem(p) not in wanted_first):
        try:
            data = read_bytes(path, "post")  # a regular file within the posts' limit, never more read
        except UserFileError as exc:
            error = (UnreadableSource if exc.transient else SourceError)(exc.message, path=path)
            results[str(path)] = failed(PostResult(safe_stem(path), str(path)), error)
            continue
        before = manifest.Entry() if force else previous.get(safe_stem(path), manifest.Entry())
        planned = manifest.plan(path, data, prints, formats, before, out)
        if isinstance(planned, Job):
            pending.append(planned)
        else:
            results[str(path)] = planned

    reporter.start(len(posts) + len(rejected), len(pending))
    for done in sorted(results.values(), key=lambda r: r.source):
        reporter.post_done(done)
    entries: dict[str, manifest.Entry] = dict(previous)
    saver = manifest.Saver(out)
    workers = jobs_default() if jobs is None else max(1, jobs)
    stream = run(pending, Target(out, settings, strict), workers, formats)
    # closing: pandoc and workers stop on any exit; SIGTERM stops a build as Ctrl-C does
    with fewer_collections(), terminate_as_interrupt(), closing(stream):
        for result in stream:
            results[result.source] = result
            reporter.post_done(result)
            _record(entries, result, previous, out)
            if saver.due():  # a build killed from here on resumes where it stopped
                saver.save(entries)

    new_manifest: dict[str, manifest.Entry] = {}
    for result in results.values():
        _record(new_manifest, result, previous, out)
    current = {safe_stem(p) for p in posts} | {r.stem for r in rejected}
    # Only what `--src` covers: a single post covers no other post, a folder the posts it held.
    # The outputs of posts from elsewhere (another folder built into the same `out`) stay listed.
    stale = sorted(
        stem
        for stem, entry in previous.items()
        if stem not in current and entry.files and _covers(src, entry, out)
    )
    removed: list[str] = []
    for stem, entry in previous.items():
        if stem in current:
            continue
        if prune and stem in stale:
            shutil.rmtree(out / stem, ignore_errors=True)
            removed.append(stem)
        else:
            new_manifest[stem] = entry
    manifest.save(out, new_manifest)
    ordered = sorted(results.values(), key=lambda r: r.source)
    resumed = sum(1 for r in ordered if r.status == Status.SKIPPED) if loaded.interrupted else 0
    return BuildSummary(
        ordered, sorted(removed), [s for s in stale if s not in removed], clock() - started, ignored, resumed
    )


def _covers(src: Path, entry: manifest.Entry, out: Path) -> bool:
    """`manifest.covers`, and the posts of a `_posts/` folder's sub-folders, which discovery reads too:
    a post deleted from `_posts/2024/` is stale like one deleted from `_posts/`."""
    if manifest.covers(src, entry, out):
        return True
    return entry.folder is not None and src.is_dir() and reads_folder(src, out / entry.folder)


def _record(
    entries: dict[str, manifest.Entry],
    result: PostResult,
    previous: dict[str, manifest.Entry],
    out: Path,
) -> None:
    entry = manifest.entry_for(result, previous.get(result.stem), out)
    if entry is None:
        entries.pop(result.stem, None)
    else:
        entries[result.stem] = entry
