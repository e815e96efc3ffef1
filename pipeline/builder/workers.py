"""Normalize, render and write posts: in this process, or in a pool of worker processes.

The main process reads the posts as a stream (pandoc converting ahead in its own process); each
converted post is finished (normalized, checked, rendered, written) here with one worker, or in
a worker process fed one post at a time, at most a few posts ahead, so memory stays flat. Workers
die with the build (`processes.die_with_parent`) and are replaced, a pool at a time, once one of
them has rendered `RECYCLE_AFTER` posts or holds more than `MAX_WORKER_RSS` bytes: WeasyPrint's
caches grow with every document.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PipelineError, StrictFailure
from ..formats import render_format
from ..model import Episode
from ..results import (
    Diagnostic,
    OutputRecord,
    PostResult,
    failed,
    internal_error,
    report_diagnostics,
)
from ..settings.config import Settings
from ..source.discovery import output_dir, safe_stem
from .manifest import Job, dependency_digests, failure_key
from .output_folder import replace_folder, write_error

if TYPE_CHECKING:
    from ..pandoc.stream import Converted

log = logging.getLogger(__name__)

AHEAD_PER_WORKER = 3  # posts handed to the pool before the oldest one's result is awaited
# WeasyPrint allocates millions of short-lived objects per PDF; collecting the young generation
# every 50,000 allocations instead of every 700 renders ~5% faster (`invoke bench` shows both).
GC_THRESHOLD = (50_000, 20, 100)
RECYCLE_AFTER = 500  # posts a pool's worker renders before the pool is replaced
MAX_WORKER_RSS = 1024 * 1024 * 1024  # bytes a worker may hold after a post before the pool is replaced


@dataclass(frozen=True)
class Target:
    """What every post of one build shares; crosses to the workers with each post."""

    out: Path
    settings: Settings
    strict: bool


@dataclass(frozen=True)
class Rendering:
    """The outputs of the formats rendered for one post, in memory."""

    files: dict[str, bytes]
    warnings: list[Diagnostic]
    notes: list[Diagnostic]
    outputs: dict[str, OutputRecord]  # per format: what it wrote and said
    timings: dict[str, float]


def render_episode(episode: Episode, settings: Settings, job: Job) -> Rendering:
    """Render the formats `job.render` of one normalized post; the warnings and notes of its
    up-to-date formats (`job.kept`) are repeated, so a post's result always tells all of them."""
    timings: dict[str, float] = {}
    files: dict[str, bytes] = {}
    warnings, notes = report_diagnostics(episode)
    outputs: dict[str, OutputRecord] = {}
    for name in job.digests:
        if name in job.render:
            started = time.perf_counter()
            rendered = render_format(name, episode, settings)
            timings[name] = time.perf_counter() - started
            files.update(rendered.files)
            own = [d for d in rendered.diagnostics if d.severity == "warning"]
            news = [d for d in rendered.diagnostics if d.severity == "info"]
            outputs[name] = OutputRecord(
                job.digests[name], tuple(sorted(rendered.files)), tuple(own), tuple(news)
            )
        else:
            own, news = list(job.kept[name].warnings), list(job.kept[name].notes)
        warnings.extend(own)
        shown = {d.message for d in notes if d.severity == "info"}
        notes.extend(d for d in news if d.message not in shown)
    return Rendering(files, warnings, notes, outputs, timings)


def finish_post(item: Converted, job: Job, target: Target) -> PostResult:
    """Normalize, render and write one converted post; never raises for the user's mistakes."""
    from ..normalize.stages import normalize_converted

    path = job.path
    result = PostResult(safe_stem(path), str(path), digest=job.digest, timings=dict(item.timings))
    result.worker = os.getpid()
    try:
        folder = output_dir(target.out, path)
        if item.prepared is not None:
            result.depends = dependency_digests(path, item.prepared.depends_on)
        started = time.perf_counter()
        episode = normalize_converted(item, target.settings)
        result.timings["normalize"] = time.perf_counter() - started
        rendering = render_episode(episode, target.settings, job)
        result.warnings, result.notes = rendering.warnings, rendering.notes
        result.timings.update(rendering.timings)
        if target.strict and result.warnings:
            raise StrictFailure(f"{len(result.warnings)} warning(s) and --strict is on", path=path)
        started = time.perf_counter()
        try:
            replace_folder(folder, rendering.files, job.previous)
        except OSError as exc:  # a full disk, a read-only folder: one line, the old outputs kept
            raise write_error(exc, path) from None
        result.timings["write"] = time.perf_counter() - started
        result.outputs = {**job.kept, **rendering.outputs}
        result.rendered = list(job.render)
        result.files = sorted({f for o in result.outputs.values() for f in o.files})
    except PipelineError as exc:
        failed(result, exc)
        if not exc.transient:
            result.failure_key = failure_key(job.digests, job.render)
    except Exception as exc:  # a bug, not the user's mistake: keep the traceback
        internal_error(result, exc)
    result.worker_rss = resident_bytes()
    return result


def resident_bytes() -> int:
    """This process's resident memory now, in bytes (0 where the system does not say)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux
        return 0


# --- processes --------------------------------------------------------------------------------


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector at GC_THRESHOLD for a while, then as it was."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def warm_up(settings: Settings, formats: Sequence[str]) -> None:
    """Import the renderers `formats` need and parse their stylesheets, once per process.

    Only a head start: if it fails (WeasyPrint cannot load Pango, say), the first render meets
    the same problem and reports it with its post, as it would have without the warm-up.
    """
    if "pdf" not in formats:
        return
    try:
        from ..formats.pdf import engine as pdf_engine

        pdf_engine.warm_up(settings)
    except Exception as exc:  # reported by the renders that follow
        log.debug("warming up the PDF renderer failed: %s", exc)


def _nothing() -> None:
    """A task that only makes the pool start its worker processes."""


PARENT_CHECK_SECONDS = 1.0


def watch_parent(parent: int, every: float = PARENT_CHECK_SECONDS) -> threading.Thread:
    """Exit this process once `parent` is gone (it is then no longer our parent).

    Where the kernel offers no parent-death signal (every system but Linux) this is what stops a
    worker of a killed build; on Linux it backs `PR_SET_PDEATHSIG` up at the cost of a wake-up a
    second.
    """

    def check() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(1)

    thread = threading.Thread(target=check, name="episode-parent-watch", daemon=True)
    thread.start()
    return thread


def _start_worker(settings: Settings, formats: tuple[str, ...], parent: int) -> None:
    from ..processes import die_with_parent

    die_with_parent(parent)  # a build killed with `kill -9` leaves no worker behind
    watch_parent(parent)
    gc.set_threshold(*GC_THRESHOLD)  # a worker process lives only for one build
    warm_up(settings, formats)


def run(
    jobs: Sequence[Job], target: Target, workers: int, formats: Sequence[str]
) -> Generator[PostResult, None, None]:
    """Each job's result, in the order given."""
    from ..pandoc.stream import converted

    one_process = workers <= 1 or len(jobs) <= 1
    # WeasyPrint is imported while pandoc converts the first batch, rather than after it.
    warm = partial(warm_up, target.settings, formats) if one_process else None
    items = converted([job.path for job in jobs], target.settings, warm)
    try:
        if one_process:
            for job, item in zip(jobs, items, strict=True):
                yield finish_post(item, job, target)
        else:
            yield from _run_in_pool(jobs, items, target, min(workers, len(jobs)), tuple(formats))
    finally:
        items.close()  # stops pandoc and removes its files if we stopped early


MANAGER_JOIN_SECONDS = 10


class Pool:
    """Worker processes: replaced when one dies (out of memory, a crash in native code), and
    recycled when they have rendered many posts or grown large."""

    def __init__(self, workers: int, target: Target, formats: tuple[str, ...]) -> None:
        self.workers = workers
        self.target = target
        self.formats = formats
        self.retired: list[ProcessPoolExecutor] = []
        self.executor = self._new()
        self.submitted = 0
        self.recycled = 0

    def _new(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            max_workers=self.workers,
            initializer=_start_worker,
            initargs=(self.target.settings, self.formats, os.getpid()),
        )
        # Start every worker now, so they import WeasyPrint while the first posts are read and
        # converted, instead of when the first post is ready for them.
        for _ in range(self.workers):
            executor.submit(_nothing)
        self.submitted = 0
        return executor

    def submit(self, item: Converted, job: Job) -> Future[PostResult]:
        if self.submitted >= self.workers * RECYCLE_AFTER:
            self.recycle()
        self.submitted += 1
        try:
            return self.executor.submit(finish_post, item, job, self.target)
        except BrokenProcessPool:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = self._new()
            return self.executor.submit(finish_post, item, job, self.target)

    def recycle(self) -> None:
        """New workers for the posts to come; the old ones finish the posts they have, then exit."""
        self.executor.shutdown(wait=False)
        self.retired.append(self.executor)
        self.executor = self._new()
        self.recycled += 1

    def seen(self, result: PostResult) -> None:
        """A worker's result came back: recycle the pool if that worker grew too large."""
        if result.worker_rss > MAX_WORKER_RSS and result.worker in self._pids(self.executor):
            log.debug("worker %d holds %d bytes: new workers", result.worker, result.worker_rss)
            self.recycle()

    @staticmethod
    def _pids(executor: ProcessPoolExecutor) -> set[int]:
        return set((getattr(executor, "_processes", None) or {}).keys())

    def stop(self) -> None:
        """Kill the workers now (the build was interrupted): posts they render are not awaited.

        The executors' manager threads are waited for (briefly: their workers are dead): one still
        closing its wake-up pipe while the interpreter exits races `concurrent.futures`' exit
        hook, which then prints an `OSError: Bad file descriptor` traceback (CPython 3.11).
        """
        managers = []
        for executor in (*self.retired, self.executor):
            workers = list((getattr(executor, "_processes", None) or {}).values())
            managers.append(getattr(executor, "_executor_manager_thread", None))
            executor.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                if process.is_alive():
                    process.kill()
        for thread in managers:
            if isinstance(thread, threading.Thread) and thread.is_alive():
                thread.join(timeout=MANAGER_JOIN_SECONDS)

    def close(self) -> None:
        for executor in (*self.retired, self.executor):
            executor.shutdown(wait=True, cancel_futures=True)


def _run_in_pool(
    jobs: Sequence[Job], items: Iterator[Converted], target: Target, workers: int, formats: tuple[str, ...]
) -> Iterator[PostResult]:
    pool = Pool(workers, target, formats)
    window: deque[tuple[Job, Converted, Future[PostResult]]] = deque()

    def collect() -> PostResult:
        job, item, future = window.popleft()
        try:
            result = future.result()
        except BrokenProcessPool:  # a worker died, maybe rendering another post: one more try
            try:
                result = pool.submit(item, job).result()
            except Exception as exc:
                return internal_error(PostResult(safe_stem(job.path), str(job.path)), exc)
        except Exception as exc:  # e.g. a post too deeply nested to send to a worker
            return internal_error(PostResult(safe_stem(job.path), str(job.path)), exc)
        pool.seen(result)
        return result

    try:
        for job, item in zip(jobs, items, strict=True):
            if item.error is not None:  # nothing to render: report it from here
                done: Future[PostResult] = Future()
                done.set_result(finish_post(item, job, target))
                window.append((job, item, done))
            else:
                window.append((job, item, pool.submit(item, job)))
            while len(window) > workers * AHEAD_PER_WORKER:
                yield collect()
        while window:
            yield collect()
    except BaseException:  # Ctrl-C, SIGTERM, or the caller stopped early: do not wait for renders
        pool.stop()
        raise
    finally:
        pool.close()


def jobs_default() -> int:
    """One worker per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
