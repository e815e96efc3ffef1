"""What the HTML formats (newsletter, PDF show notes) show alike: the date as read, chapter rows.

Plain values for templates, no HTML: each format writes its own markup and sanitizes its own
fragments. Not a format itself (no `render`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..model import Episode
from ..text.chapters import format_time

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def date_text(date: dt.datetime) -> str:
    """The date as people read it: `28 May 2025` (no locale, so always the same bytes)."""
    return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


@dataclass(frozen=True)
class ChapterRow:
    """One chapter as a table row: its time, its title, the video at that time (None: no video)."""

    time: str
    title: str
    url: str | None


def chapter_rows(episode: Episode) -> tuple[ChapterRow, ...]:
    """The chapters with `MM:SS` times, or `H:MM:SS` for all when any passes an hour, and links."""
    long = any(c.start >= 3600 for c in episode.chapters)
    return tuple(
        ChapterRow(format_time(c.start, hours=long, pad_minutes=not long), c.title, episode.chapter_url(c))
        for c in episode.chapters
    )
