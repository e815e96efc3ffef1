"""Read posts as a stream and have pandoc convert their bodies ahead of the caller.

Posts are read and prepared in batches; each batch's bodies go to one `pandoc lua` process
(convert.Batch) that is started before the caller uses the previous batch, so the conversion
runs on another core while Python renders. At most two batches are held, as pandoc's JSON
bytes; the JSON is parsed and the post normalized only when the caller asks (`episode()`),
which may be in a worker process: what crosses to it is flat text, never a deep tree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..settings.config import Settings
from ..source.post_file import read_post
from ..source.prepare import Prepared, prepare
from .convert import Batch, Raw

# Each pandoc process costs ~90 ms of CPU before its first body (reader set-up), then ~6 ms a
# body: a small first batch so the first post renders soon, then ever larger ones. At 128 a
# batch holds a few MB of JSON, and 1,000 posts pay the set-up 11 times, ~1 ms a post.
FIRST_BATCH = 4
MAX_BATCH = 128


@dataclass
class Converted:
    """One post of the stream: read, prepared and converted by pandoc, or the error that stopped it."""

    path: Path
    prepared: Prepared | None = None
    raw: Raw | None = None  # pandoc's JSON, or the error pandoc gave this body
    error: Exception | None = None  # reading or preparing failed
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Pending:
    items: list[Converted]
    batch: Batch


def batch_sizes(count: int) -> Iterator[int]:
    """4, 8, 16, 32, 64, 128, 128, ... adding up to `count`."""
    size = FIRST_BATCH
    while count > 0:
        yield min(size, count)
        count -= size
        size = min(size * 2, MAX_BATCH)


def _start(paths: Sequence[Path], settings: Settings) -> _Pending:
    items: list[Converted] = []
    for path in paths:
        item = Converted(path)
        started = time.perf_counter()
        try:
            item.prepared = prepare(read_post(path), settings)
        except Exception as exc:  # reported with the post; the stream goes on
            item.error = exc
        item.timings["read"] = time.perf_counter() - started
        items.append(item)
    bodies = [(i.prepared.body, i.path) for i in items if i.prepared is not None]
    return _Pending(items, Batch(bodies))


def _finish(pending: _Pending) -> list[Converted]:
    started = time.perf_counter()
    converted = iter(pending.batch.raw_results())
    # pandoc's time as the caller feels it (the wait), shared out over the batch
    waited = (time.perf_counter() - started) / max(1, len(pending.items))
    for item in pending.items:
        if item.prepared is not None:
            item.raw = next(converted)
            item.timings["pandoc"] = waited
    return pending.items


def converted(
    paths: Sequence[Path], settings: Settings, meanwhile: Callable[[], None] | None = None
) -> Generator[Converted, None, None]:
    """Each post read and converted, in the order given; the next batch converts meanwhile.

    `meanwhile` is called once, when pandoc has its first batch and there is nothing else to
    do but wait for it (the build imports WeasyPrint there). Stopping early (an exception in
    the caller, Ctrl-C, `close()`) stops pandoc and removes its temporary files.
    """
    chunks: list[Sequence[Path]] = []
    offset = 0
    for size in batch_sizes(len(paths)):
        chunks.append(paths[offset : offset + size])
        offset += size
    running: list[_Pending] = []
    try:
        for chunk in chunks:
            running.append(_start(chunk, settings))  # pandoc converts it while the last is used
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            if len(running) == 2:
                yield from _finish(running.pop(0))
        while running:
            yield from _finish(running.pop(0))
    finally:
        for pending in running:
            pending.batch.close()
