"""`invoke watch`: notice changes to posts and templates by polling (no extra dependency)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from .config import TEMPLATES_DIR


def snapshot(src: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every post and template file."""
    paths = [src] if src.is_file() else sorted(src.glob("*"))
    paths += sorted(p for p in TEMPLATES_DIR.rglob("*") if p.is_file())
    state = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        state[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return state


def watch_changes(src: Path, interval: float) -> Iterator[None]:
    """Yield once at start and again after every change; runs until interrupted."""
    previous = snapshot(src)
    yield
    while True:
        time.sleep(interval)
        current = snapshot(src)
        if current != previous:
            previous = current
            yield
