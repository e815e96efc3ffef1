"""`invoke normalize`: report (or rewrite in place) posts whose canonical form differs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .build import discover, write_atomic
from .config import Settings
from .errors import PipelineError
from .formats.post import canonical_markdown
from .normalize import normalize_file


@dataclass(frozen=True)
class SourceStatus:
    path: Path
    status: str  # unchanged | would change | rewritten | failed
    error: str | None = None


def normalize_sources(src: Path, settings: Settings, *, write: bool) -> list[SourceStatus]:
    """Compare each post with its canonical form; with `write`, replace it atomically."""
    posts, rejected = discover(src)
    statuses = [SourceStatus(Path(r.source), "failed", r.error) for r in rejected]
    for path in posts:
        try:
            canonical = canonical_markdown(normalize_file(path, settings)).encode("utf-8")
        except PipelineError as exc:
            statuses.append(SourceStatus(path, "failed", str(exc)))
            continue
        if path.read_bytes() == canonical:
            statuses.append(SourceStatus(path, "unchanged"))
        elif write:
            write_atomic(path, canonical)
            statuses.append(SourceStatus(path, "rewritten"))
        else:
            statuses.append(SourceStatus(path, "would change"))
    return sorted(statuses, key=lambda s: str(s.path))
