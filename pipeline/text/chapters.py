"""Chapter timestamps: recognise them in text, check them, write them as Podcasting 2.0 JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from ..model import Chapter

# `00:46 Title`, `1:00:38 - Title`, `12:05 – Title`; the time must be followed by a title.
TIMESTAMP_LINE = re.compile(
    r"^\s*\(?(?P<time>\d{1,2}:\d{2}(?::\d{2})?)\)?\s*(?:[-–—:|]\s*)?(?P<title>\S.*?)\s*$"
)

# Labels under which a timestamp list is chapters, and labels that say it is not.
CHAPTER_LABELS = re.compile(r"\b(chapters?|timestamps?|contents|time ?codes?|outline)\b", re.I)
NOT_CHAPTER_LABELS = re.compile(r"\b(clips?|highlights?|shorts|moments)\b", re.I)


def parse_time(text: str) -> int | None:
    """Seconds for `MM:SS`, `H:MM:SS` or `HH:MM:SS`; None when it is not a valid time."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    if len(parts) == 3 and (len(parts[1]) != 2 or numbers[1] > 59):
        return None
    if len(parts[-1]) != 2 or numbers[-1] > 59:
        return None
    if len(parts) == 2 and numbers[0] > 59 and len(parts[0]) > 2:
        return None
    seconds = 0
    for n in numbers:
        seconds = seconds * 60 + n
    return seconds


def split_timestamp_line(text: str) -> tuple[str, str] | None:
    """(`time`, `title`) when a line reads like a chapter marker, else None."""
    match = TIMESTAMP_LINE.match(text)
    if not match:
        return None
    return match.group("time"), match.group("title")


def format_time(seconds: int, *, hours: bool = False, pad_minutes: bool = True) -> str:
    """`MM:SS`, or `H:MM:SS` past an hour (always with hours when `hours`)."""
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h or hours:
        return f"{h}:{m:02d}:{s:02d}" if not pad_minutes or not hours else f"{h:02d}:{m:02d}:{s:02d}"
    return f"{m:02d}:{s:02d}" if pad_minutes else f"{m}:{s:02d}"


def check_order(times: Sequence[tuple[str, int | None]]) -> list[str]:
    """Problems of a chapter list in the order written: invalid, repeated or descending times."""
    problems: list[str] = []
    previous: int | None = None
    previous_text = ""
    for text, seconds in times:
        if seconds is None:
            problems.append(f"'{text}' is not a valid time")
            continue
        if previous is not None:
            if seconds == previous:
                problems.append(f"{text} repeats {previous_text}")
            elif seconds < previous:
                problems.append(f"{text} comes after {previous_text} (times do not ascend)")
        previous, previous_text = seconds, text
    return problems


def chapters_to_json(chapters: Sequence[Chapter]) -> str:
    """Podcasting 2.0 JSON chapters (version 1.2.0), stable key order, newline at the end."""
    doc = {
        "version": "1.2.0",
        "chapters": [{"startTime": c.start, "title": c.title} for c in chapters],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
