"""Read and normalize many posts as a stream, pandoc converting ahead of the caller.

Posts are read and prepared in small batches; each batch's bodies go to one `pandoc lua`
process (convert.Batch) that is started before the caller uses the previous batch, so the
conversion runs on another core while Python renders. At most two batches are in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings
from .convert import Batch, parse_raw
from .model import Episode
from .normalize import Prepared, normalize_prepared, prepare
from .source import read_post

# Each pandoc process costs ~80 ms before its first body (reader set-up), then ~6 ms a body:
# a small first batch so the first post renders soon, then large ones.
FIRST_BATCH = 4
MAX_BATCH = 32


@dataclass
class Normalized:
    """One post of the stream: its Episode, or the exception that stopped it, and stage times."""

    path: Path
    episode: Episode | None = None
    error: Exception | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Pending:
    items: list[Normalized]
    prepared: list[Prepared | None]
    batch: Batch
    started: float


def batch_sizes(count: int) -> Iterator[int]:
    """4, 8, 16, 32, 32, ... adding up to `count`."""
    size = FIRST_BATCH
    while count > 0:
        yield min(size, count)
        count -= size
        size = min(size * 2, MAX_BATCH)


def _start(paths: Sequence[Path], settings: Settings) -> _Pending:
    items: list[Normalized] = []
    prepared: list[Prepared | None] = []
    for path in paths:
        item = Normalized(path)
        started = time.perf_counter()
        try:
            prepared.append(prepare(read_post(path), settings))
        except Exception as exc:  # reported with the post; the stream goes on
            item.error = exc
            prepared.append(None)
        item.timings["read"] = time.perf_counter() - started
        items.append(item)
    bodies = [(p.body, p.raw.path) for p in prepared if p is not None]
    return _Pending(items, prepared, Batch(bodies), time.perf_counter())


def _finish(pending: _Pending, settings: Settings) -> Iterator[Normalized]:
    started = time.perf_counter()
    converted = iter(pending.batch.raw_results())
    # pandoc's time as the caller feels it (the wait), shared out over the batch
    waited = (time.perf_counter() - started) / max(1, len(pending.items))
    for item, prepared in zip(pending.items, pending.prepared, strict=True):
        if prepared is not None:
            item.timings["pandoc"] = waited
            started = time.perf_counter()
            ast = parse_raw(next(converted), prepared.raw.path)
            try:
                if isinstance(ast, Exception):
                    raise ast
                item.episode = normalize_prepared(prepared, ast, settings)
            except Exception as exc:
                item.error = exc
            item.timings["normalize"] = time.perf_counter() - started
        yield item


def normalized(paths: Sequence[Path], settings: Settings) -> Iterator[Normalized]:
    """Each post normalized, in the order given; the next batch converts while this one is used."""
    chunks: list[Sequence[Path]] = []
    offset = 0
    for size in batch_sizes(len(paths)):
        chunks.append(paths[offset : offset + size])
        offset += size
    pending = _start(chunks[0], settings) if chunks else None
    for chunk in chunks[1:]:
        assert pending is not None
        current, pending = pending, _start(chunk, settings)  # pandoc converts it meanwhile
        yield from _finish(current, settings)
    if pending is not None:
        yield from _finish(pending, settings)
