"""`invoke check`: everything a build would warn about, for the whole archive, writing nothing."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .build import discover
from .config import Settings
from .errors import PipelineError
from .formats import FORMATS, load_format
from .normalize import normalize_file

# The PDF is left out by default: rendering it only to look for warnings costs ~0.3 s a post.
CHECKED_FORMATS = ("newsletter", "youtube", "podcast", "chapters")


@dataclass
class PostCheck:
    source: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ArchiveCheck:
    posts: list[PostCheck]
    archive: list[str]

    @property
    def ok(self) -> bool:
        return not self.archive and not any(p.error for p in self.posts)

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "archive": self.archive, "posts": [asdict(p) for p in self.posts]}


def _platform_rules(episode: object, settings: Settings) -> list[str]:
    try:
        rules = importlib.import_module("pipeline.platform_rules")
    except ImportError:
        return []
    results = rules.check_platforms(episode, settings)
    return [f"{'ok  ' if r.passed else 'FAIL'} {r.message}" for r in results]


def check_archive(src: Path, settings: Settings, formats: Sequence[str] = CHECKED_FORMATS) -> ArchiveCheck:
    """Normalize every post and run each format's checks in memory."""
    posts, rejected = discover(src)
    checks = [PostCheck(r.source, error=r.error) for r in rejected]
    seen_ids: dict[str, str] = {}
    archive: list[str] = []
    for path in posts:
        check = PostCheck(str(path))
        checks.append(check)
        try:
            episode = normalize_file(path, settings)
            check.warnings += [n.warning_text for n in episode.notes if n.is_warning]
            check.notes += [f"{n.kind}: {n.message}" for n in episode.notes if not n.is_warning]
            for name in formats:
                if name in FORMATS:
                    check.warnings += [
                        f"{name}: {w}" for w in load_format(name).render(episode, settings).warnings
                    ]
            check.rules = _platform_rules(episode, settings)
        except PipelineError as exc:
            check.error = str(exc)
            continue
        if episode.youtube_id:
            if episode.youtube_id in seen_ids:
                first = seen_ids[episode.youtube_id]
                archive.append(f"youtubeID {episode.youtube_id} is used by {first} and {path.name}")
            else:
                seen_ids[episode.youtube_id] = path.name
    return ArchiveCheck(sorted(checks, key=lambda c: c.source), archive)
