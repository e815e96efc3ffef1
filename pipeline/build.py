"""Discover posts, skip the unchanged ones, build the rest (in worker processes), write atomically.

MkDocs-style: every post is read and rendered completely in memory before any of its files is
written, so a failing post leaves its previous outputs as they were.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from .config import TEMPLATES_DIR, Settings
from .errors import PipelineError, SourceError
from .formats import FORMATS, load_format
from .model import Episode
from .output import check_writable, reason, recover, replace_folder, write_error

if TYPE_CHECKING:
    from .stream import Converted

log = logging.getLogger(__name__)

DATED_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-")
POST_SUFFIXES = (".md", ".markdown")
MANIFEST = ".manifest.json"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
PACKAGE_DIR = Path(__file__).resolve().parent
AHEAD_PER_WORKER = 3  # posts handed to the pool before the oldest one's result is awaited
# WeasyPrint allocates millions of short-lived objects per PDF; collecting the young generation
# every 50,000 allocations instead of every 700 renders ~5% faster (`invoke bench` shows both).
GC_THRESHOLD = (50_000, 20, 100)


@dataclass(frozen=True)
class Problem:
    """One warning or error about one post, before it is shown: `cli.problem_line` adds the post's
    path and line, `text` the format's name; nothing else puts either in front of a message."""

    severity: str  # error | warning
    message: str
    format: str | None = None  # the `--only` name of the output it concerns; None: the post itself
    rule: str | None = None  # a platform rule (`youtube.bytes`), a report reason, a front-matter field
    line: int | None = None  # in the post, where known

    @property
    def text(self) -> str:
        """`newsletter: link … kept as text only`; a message that names its format already
        (`YouTube: …` from the youtube format) does not get it twice."""
        if self.format is None or self.message.casefold().startswith(self.format.casefold() + ": "):
            return self.message
        return f"{self.format}: {self.message}"


def note_problems(episode: Episode) -> list[Problem]:
    """The warnings of a post's report (an unresolved Liquid tag, an embed that was dropped)."""
    return [
        Problem("warning", n.warning_text, rule=None if n.kind == "warning" else n.kind)
        for n in episode.notes
        if n.is_warning
    ]


def format_problems(name: str, warnings: Sequence[str]) -> list[Problem]:
    """The warnings one format gave, as problems of that format."""
    return [Problem("warning", w, format=name) for w in warnings]


def _names_post(where: str | None, post: Path) -> bool:
    """True when an error's path is the post itself (its name, or the same file), or unset."""
    if not where:
        return True
    path = Path(where)
    if path.name != post.name:
        return False
    return len(path.parts) == 1 or os.path.abspath(path) == os.path.abspath(post)


def error_problem(exc: PipelineError, post: Path, format: str | None = None) -> Problem:
    """An error about `post` without its location (the line is kept apart); an error located in
    another file (a linked post, a settings file) keeps that file's name in its message."""
    if _names_post(exc.path, post):
        text = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return Problem("error", " ".join(text.split()), format, exc.field, exc.line)
    return Problem("error", str(exc), format, exc.field)


@dataclass
class PostResult:
    """What building one post did; crosses the process boundary, so plain data only."""

    stem: str
    source: str
    status: str = "built"  # built | skipped | failed
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # one line, with the file and line it is about
    failure: Problem | None = None  # the same error, its parts apart (for `cli.problem_line`)
    bug: str | None = None  # a traceback: not the user's fault
    timings: dict[str, float] = field(default_factory=dict)
    digest: str = ""
    # sha256 of each post its `{% post_url %}` links were resolved from, by path from its folder
    depends: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildSummary:
    results: list[PostResult]
    removed: list[str]
    stale: list[str]
    seconds: float
    ignored: list[str] = field(default_factory=list)
    """Files in a Jekyll `_posts/` folder without the date in their name: not posts."""

    @property
    def failed(self) -> list[PostResult]:
        return [r for r in self.results if r.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def warning_count(self) -> int:
        return sum(len(r.warnings) for r in self.results)


class Reporter:
    """Receives progress; the CLI layer decides how to show it."""

    def start(self, total: int, to_build: int) -> None:
        """Called once, before any post is built."""

    def post_done(self, result: PostResult) -> None:
        """Called once per post, in a stable order."""


# --- discovery -------------------------------------------------------------------------------


def discover(src: Path) -> tuple[list[Path], list[PostResult]]:
    """The posts under `src` (a file or a folder), sorted; and posts that cannot be built at all."""
    posts, rejected, _ = discover_all(src)
    return posts, rejected


def discover_all(src: Path) -> tuple[list[Path], list[PostResult], list[str]]:
    """`discover`, plus the names of the files a Jekyll `_posts/` folder holds that are no posts.

    Jekyll reads only `YYYY-MM-DD-title` files in `_posts/`; anywhere else a file without the date
    in its name is still a post (its date comes from its front matter). An empty folder is an error.
    """
    if not src.exists():
        raise PipelineError("no such file or folder", path=src)
    if src.is_file():
        return [src], [], []
    if not src.is_dir():  # a FIFO, a device such as /dev/zero, a socket
        raise PipelineError("not a post file or a folder of posts (a pipe or a device?)", path=src)
    root = src.resolve()
    posts: list[Path] = []
    rejected: list[PostResult] = []
    ignored: list[str] = []
    for path in sorted(src.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in POST_SUFFIXES:
            continue
        if src.name == "_posts" and not DATED_NAME.match(path.name):
            ignored.append(path.name)
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            error = SourceError("a symbolic link to outside the posts folder; not read", path=path)
            rejected.append(_failed(PostResult(path.stem, str(path)), error))
            continue
        if path.is_file():
            posts.append(path)
    by_stem: dict[str, list[Path]] = {}
    for path in posts:
        by_stem.setdefault(safe_stem(path).casefold(), []).append(path)
    clean: list[Path] = []
    for path in posts:
        same = by_stem[safe_stem(path).casefold()]
        if len(same) > 1:
            others = ", ".join(p.name for p in same if p != path)
            error = SourceError(f"its output folder would collide with {others}; rename one", path=path)
            rejected.append(_failed(PostResult(safe_stem(path), str(path)), error))
        else:
            clean.append(path)
    if not clean and not rejected:
        raise PipelineError(
            "no posts here (.md or .markdown files" + (", named YYYY-MM-DD-title" if ignored else "") + ")",
            path=src,
        )
    return clean, rejected, ignored


def safe_stem(path: Path) -> str:
    """The output folder name: the file's stem, made safe as a single path component."""
    stem = path.stem
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip(".-")
    return cleaned[:200] or "post"


def output_dir(out: Path, path: Path) -> Path:
    """`out/<stem>`, checked to stay inside `out`."""
    target = (out / safe_stem(path)).resolve()
    if not target.is_relative_to(out.resolve()) or target == out.resolve():
        raise SourceError("the output folder would fall outside the output directory", path=path)
    return target


# --- fingerprints ----------------------------------------------------------------------------


def _hash_tree(folder: Path, pattern: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob(pattern)):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _renderer_versions() -> str:
    versions = []
    for package in (
        "pypandoc-binary",
        "weasyprint",
        "pydyf",
        "fonttools",
        "jinja2",
        "css-inline",
        "nh3",
        "segno",
    ):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    return ";".join(versions)


def build_fingerprint(settings: Settings, formats: Sequence[str]) -> str:
    """Everything besides the post's own bytes that its outputs depend on."""
    parts = [
        _hash_tree(PACKAGE_DIR, "*"),
        _hash_tree(TEMPLATES_DIR, "*") if TEMPLATES_DIR.is_dir() else "",
        settings.fingerprint(),
        _renderer_versions(),
        ",".join(formats),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def post_digest(data: bytes, fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode() + b"\0" + data).hexdigest()


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


# --- one post --------------------------------------------------------------------------------


_TEMP_NAMES = itertools.count()
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def write_atomic(path: Path, data: bytes) -> bool:
    """Write through a temporary file in the same folder; False when the bytes were already there.

    The temporary name is `.<name>.<pid>.<n>.tmp`, created exclusively (`O_EXCL`, no symlinks
    followed): as safe as `tempfile.mkstemp` and a third of its cost, which a build pays for
    every file. The file gets the usual 0o666 less the umask, as any other tool's output would.
    """
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{next(_TEMP_NAMES)}.tmp"
        try:
            fd = os.open(tmp, _TEMP_FLAGS, 0o666)
            break
        except FileExistsError:  # left by a killed build whose process id we now have
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def render_episode(
    episode: Episode, settings: Settings, formats: Sequence[str]
) -> tuple[dict[str, bytes], list[str], list[str], dict[str, float]]:
    """Render every requested format of one normalized post, in memory.

    The warnings are `Problem.text`: each format's name in front of its own, once.
    """
    timings: dict[str, float] = {}
    files: dict[str, bytes] = {}
    warnings = [p.text for p in note_problems(episode)]
    notes = [f"{n.kind}: {n.message}" for n in episode.notes if not n.is_warning]
    for name in formats:
        started = time.perf_counter()
        rendered = load_format(name).render(episode, settings)
        timings[name] = time.perf_counter() - started
        files.update(rendered.files)
        warnings.extend(p.text for p in format_problems(name, rendered.warnings))
        notes.extend(f"info: {n}" for n in rendered.notes if f"info: {n}" not in notes)
    return files, warnings, notes, timings


@dataclass(frozen=True)
class Job:
    """One post to build, as decided by the manifest."""

    path: Path
    digest: str
    previous: tuple[str, ...]  # the files its last build wrote


@dataclass(frozen=True)
class Target:
    """What every post of one build shares; crosses to the workers with each post."""

    out: Path
    settings: Settings
    formats: tuple[str, ...]
    strict: bool


def finish_post(item: Converted, job: Job, target: Target) -> PostResult:
    """Normalize, render and write one converted post; never raises for the user's mistakes."""
    path = job.path
    result = PostResult(safe_stem(path), str(path), digest=job.digest, timings=dict(item.timings))
    try:
        folder = output_dir(target.out, path)
        started = time.perf_counter()
        episode = item.episode(target.settings)
        result.timings["normalize"] = time.perf_counter() - started
        if item.prepared is not None:
            result.depends = dependency_digests(path, item.prepared.depends_on)
        files, result.warnings, result.notes, timings = render_episode(
            episode, target.settings, target.formats
        )
        result.timings.update(timings)
        if target.strict and result.warnings:
            raise PipelineError(f"{len(result.warnings)} warning(s) and --strict is on", path=path)
        started = time.perf_counter()
        try:
            replace_folder(folder, files, job.previous)
        except OSError as exc:  # a full disk, a read-only folder: one line, the old outputs kept
            raise write_error(exc, path) from None
        result.timings["write"] = time.perf_counter() - started
        result.files = sorted(files)
    except PipelineError as exc:
        _failed(result, exc)
    except Exception as exc:  # a bug, not the user's mistake: keep the traceback
        _internal_error(result, exc)
    return result


def _failed(result: PostResult, exc: PipelineError) -> PostResult:
    result.status, result.error = "failed", str(exc)
    result.failure = error_problem(exc, Path(result.source))
    return result


def _internal_error(result: PostResult, exc: BaseException) -> PostResult:
    message = " ".join(f"internal error: {type(exc).__name__}: {exc}".split())
    result.status = "failed"
    result.error = f"{result.source}: {message}"
    result.failure = Problem("error", message)
    result.bug = "".join(traceback.format_exception(exc))
    return result


# --- the whole build -------------------------------------------------------------------------


def _load_manifest(out: Path) -> dict[str, dict[str, object]]:
    path = out / MANIFEST
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return {}
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, nested too deeply
        return {}
    posts = data.get("posts", {}) if isinstance(data, dict) else {}
    if not isinstance(posts, dict):
        return {}
    # The manifest names folders to prune and files to delete: trust only plain names.
    return {
        stem: {**entry, "files": [f for f in entry.get("files", []) if _plain_name(f)]}
        for stem, entry in posts.items()
        if _plain_name(stem) and isinstance(entry, dict) and isinstance(entry.get("files", []), list)
    }


def _plain_name(name: object) -> bool:
    """A single path component that is not hidden: no `/`, `..` or `.manifest.json`."""
    return isinstance(name, str) and bool(name) and Path(name).name == name and not name.startswith(".")


def _save_manifest(out: Path, posts: dict[str, dict[str, object]]) -> None:
    text = json.dumps({"version": 1, "posts": dict(sorted(posts.items()))}, indent=1, sort_keys=True) + "\n"
    try:
        write_atomic(out / MANIFEST, text.encode())
    except OSError as exc:  # the outputs are written; only the next build's shortcut is lost
        raise PipelineError(
            f"cannot save the build manifest: {reason(exc)}; the next build builds every post again",
            path=out / MANIFEST,
        ) from None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector at GC_THRESHOLD for a while, then as it was."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt for a while (in the main thread), so a build stopped by
    `kill`, `timeout` or a CI runner cleans up and reports as one stopped with Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _warm_up(target: Target) -> None:
    """Import the renderers this build needs and parse their stylesheets, once per process.

    Only a head start: if it fails (WeasyPrint cannot load Pango, say), the first render meets
    the same problem and reports it with its post, as it would have without the warm-up.
    """
    if "pdf" not in target.formats:
        return
    try:
        from .formats import shownotes

        shownotes.warm_up(target.settings)
    except Exception as exc:  # reported by the renders that follow
        log.debug("warming up the PDF renderer failed: %s", exc)


def _nothing() -> None:
    """A task that only makes the pool start its worker processes."""


def _start_worker(target: Target, parent: int) -> None:
    from .convert import die_with_parent

    die_with_parent(parent)  # a build killed with `kill -9` leaves no worker behind
    gc.set_threshold(*GC_THRESHOLD)  # a worker process lives only for one build
    _warm_up(target)


def _run(jobs: Sequence[Job], target: Target, workers: int) -> Generator[PostResult, None, None]:
    """Each job's result, in the order given.

    This process reads the posts as a stream (pandoc converting ahead in its own process);
    normalizing and rendering run here with one worker, or in a pool of worker processes fed
    one post at a time, at most a few posts ahead, so memory stays flat.
    """
    from .stream import converted

    one_process = workers <= 1 or len(jobs) <= 1
    # WeasyPrint is imported while pandoc converts the first batch, rather than after it.
    warm_up = partial(_warm_up, target) if one_process else None
    items = converted([job.path for job in jobs], target.settings, warm_up)
    try:
        if one_process:
            for job, item in zip(jobs, items, strict=True):
                yield finish_post(item, job, target)
        else:
            yield from _run_in_pool(jobs, items, target, min(workers, len(jobs)))
    finally:
        items.close()  # stops pandoc and removes its files if we stopped early


class _Pool:
    """Worker processes, replaced when one dies (out of memory, a crash in native code)."""

    def __init__(self, workers: int, target: Target) -> None:
        self.workers = workers
        self.target = target
        self.executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.workers, initializer=_start_worker, initargs=(self.target, os.getpid())
        )
        # Start every worker now, so they import WeasyPrint while the first posts are read and
        # converted, instead of when the first post is ready for them.
        for _ in range(self.workers):
            executor.submit(_nothing)
        return executor

    def submit(self, item: Converted, job: Job, target: Target) -> Future[PostResult]:
        try:
            return self.executor.submit(finish_post, item, job, target)
        except BrokenProcessPool:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._new()
            return self.executor.submit(finish_post, item, job, target)

    def stop(self) -> None:
        """Kill the workers now (the build was interrupted): posts they render are not awaited."""
        workers = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            if process.is_alive():
                process.kill()


def _run_in_pool(
    jobs: Sequence[Job], items: Iterator[Converted], target: Target, workers: int
) -> Iterator[PostResult]:
    pool = _Pool(workers, target)
    window: deque[tuple[Job, Converted, Future[PostResult]]] = deque()

    def collect() -> PostResult:
        job, item, future = window.popleft()
        try:
            return future.result()
        except BrokenProcessPool:  # a worker died, maybe rendering another post: one more try
            try:
                return pool.submit(item, job, target).result()
            except Exception as exc:
                return _internal_error(PostResult(safe_stem(job.path), str(job.path)), exc)
        except Exception as exc:  # e.g. a post too deeply nested to send to a worker
            return _internal_error(PostResult(safe_stem(job.path), str(job.path)), exc)

    try:
        for job, item in zip(jobs, items, strict=True):
            if item.error is not None:  # nothing to render: report it from here
                done: Future[PostResult] = Future()
                done.set_result(finish_post(item, job, target))
                window.append((job, item, done))
            else:
                window.append((job, item, pool.submit(item, job, target)))
            while len(window) > workers * AHEAD_PER_WORKER:
                yield collect()
        while window:
            yield collect()
    except BaseException:  # Ctrl-C, SIGTERM, or the caller stopped early: do not wait for renders
        pool.stop()
        raise
    finally:
        pool.executor.shutdown(wait=True, cancel_futures=True)


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
    reporter: Reporter | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> BuildSummary:
    """Build every post under `src` into `out/<stem>/`; unchanged posts are skipped."""
    started = clock()
    reporter = reporter or Reporter()
    formats = tuple(only) if only else tuple(FORMATS)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise PipelineError(
            f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}",
            field="--only",
        )
    if "post" not in formats:
        formats = ("post", *formats)
    if "newsletter" in formats:
        # Its settings reach email headers: a bad one is one error before any post is built.
        from .formats.newsletter import newsletter_options

        newsletter_options(settings)
    posts, rejected, ignored = discover_all(src)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PipelineError(f"cannot use it as the output folder: {exc.strerror}", path=out) from None
    check_writable(out)
    recover(out)  # switches of post folders a killed build left half done
    from .convert import remove_abandoned

    remove_abandoned()  # pandoc's temporary folders of builds that were killed
    manifest = {} if force else _load_manifest(out)
    fingerprint = build_fingerprint(settings, formats)

    results: dict[str, PostResult] = {r.source: r for r in rejected}
    pending: list[Job] = []
    for path in posts:
        stem = safe_stem(path)
        try:
            digest = post_digest(path.read_bytes(), fingerprint)
        except OSError as exc:
            error = SourceError(f"cannot read the file: {exc.strerror}", path=path)
            results[str(path)] = _failed(PostResult(stem, str(path)), error)
            continue
        entry = manifest.get(stem, {})
        listed = entry.get("files", ()) if isinstance(entry, dict) else ()
        previous_files = tuple(str(f) for f in listed) if isinstance(listed, list | tuple) else ()
        depends = entry.get("depends", {})
        if (
            entry.get("digest") == digest
            and all((out / stem / f).is_file() for f in previous_files)
            and dependencies_unchanged(depends, path)
        ):
            results[str(path)] = PostResult(
                stem, str(path), "skipped", files=list(previous_files), digest=digest, depends=dict(depends)
            )
            continue
        pending.append(Job(path, digest, previous_files))

    reporter.start(len(posts) + len(rejected), len(pending))
    for skipped in sorted((r for r in results.values() if r.status != "built"), key=lambda r: r.source):
        reporter.post_done(skipped)
    workers = jobs_default() if jobs is None else max(1, jobs)
    stream = _run(pending, Target(out, settings, formats, strict), workers)
    # closing: pandoc and workers stop on any exit; SIGTERM stops a build as Ctrl-C does
    with fewer_collections(), terminate_as_interrupt(), closing(stream):
        for result in stream:
            results[result.source] = result
            reporter.post_done(result)

    new_manifest: dict[str, dict[str, object]] = {}
    for result in results.values():
        stem = result.stem
        if result.status in ("built", "skipped"):
            new_manifest[stem] = {
                "digest": result.digest,
                "files": result.files,
                "source": Path(result.source).name,
                "folder": _folder_entry(Path(result.source).parent, out),
            }
            if result.depends:
                new_manifest[stem]["depends"] = dict(sorted(result.depends.items()))
        elif stem in manifest:
            new_manifest[stem] = manifest[stem]  # its previous outputs are still there
    current = {safe_stem(p) for p in posts} | {r.stem for r in rejected}
    # Only what `--src` covers: a single post covers no other post, a folder the posts it held.
    # The outputs of posts from elsewhere (another folder built into the same `out`) stay listed.
    stale = sorted(stem for stem in manifest if stem not in current and _covers(src, manifest[stem], out))
    removed: list[str] = []
    for stem in manifest:
        if stem in current:
            continue
        if prune and stem in stale:
            shutil.rmtree(out / stem, ignore_errors=True)
            removed.append(stem)
        else:
            new_manifest[stem] = manifest[stem]
    removed.sort()
    _save_manifest(out, new_manifest)
    ordered = sorted(results.values(), key=lambda r: r.source)
    return BuildSummary(ordered, removed, [s for s in stale if s not in removed], clock() - started, ignored)


def _folder_entry(folder: Path, out: Path) -> str:
    """The folder a post was read from, as the manifest keeps it: relative to the output folder."""
    return Path(os.path.relpath(folder.resolve(), out.resolve())).as_posix()


def _covers(src: Path, entry: dict[str, object], out: Path) -> bool:
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


def jobs_default() -> int:
    """One worker per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
