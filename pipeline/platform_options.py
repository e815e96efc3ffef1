"""The `[youtube]` and `[podcast]` settings tables, read and checked into `DescriptionOptions`.

`description_options` is the one place that reads these tables (`settings.table(...)`) and
reports every problem in one `ConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .errors import ConfigError
from .platform_limits import MAX_HASHTAGS, PODCAST_MAX_BYTES, YOUTUBE_MAX_BYTES
from .platform_text import one_line

# The smallest `max_bytes` a table may set.
MIN_MAX_BYTES = 200


@dataclass(frozen=True)
class DescriptionOptions:
    """The validated `[tool.pipeline.youtube]` or `[tool.pipeline.podcast]` table."""

    max_bytes: int
    intro_title: str = "Intro"
    chapters_heading: str = "Chapters"
    timestamps_heading: str = "Timestamps"
    substack_label: str = "Read more on Substack:"
    hashtags: tuple[str, ...] = ()


_TEXT_KEYS = ("intro_title", "chapters_heading", "timestamps_heading", "substack_label")
_HASHTAG = re.compile(r"#?(\w+)")


def _text_problem(key: str, value: Any) -> str | None:
    """What is wrong with a one-line text option (None when fine)."""
    if not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    if value != one_line(value) or ("<" in value or ">" in value):
        return "expected one line of text without control characters or < >"
    if not value and key != "substack_label":
        return "must not be empty"
    return None


def _hashtags(value: Any, problems: list[str]) -> tuple[str, ...]:
    """`#tag` for each configured hashtag; problems collected."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append("hashtags: expected a list of strings")
        return ()
    if len(value) > MAX_HASHTAGS:
        problems.append(f"hashtags: {len(value)} given, at most {MAX_HASHTAGS} allowed")
    tags = []
    for tag in value:
        match = _HASHTAG.fullmatch(tag)
        if match is None:
            problems.append(f"hashtags: {tag!r} is not a hashtag (letters, digits and _ only)")
        else:
            tags.append("#" + match.group(1))
    return tuple(tags)


def description_options(settings: Settings, table: str) -> DescriptionOptions:
    """Check `[tool.pipeline.youtube]` or `[tool.pipeline.podcast]`, every problem at once."""
    limit = YOUTUBE_MAX_BYTES if table == "youtube" else PODCAST_MAX_BYTES
    known = {"max_bytes", *_TEXT_KEYS, *(("hashtags",) if table == "youtube" else ())}
    values: dict[str, Any] = {"max_bytes": limit, "chapters_heading": settings.chapters_heading}
    problems: list[str] = []
    raw: Mapping[str, Any] = settings.table(table)
    for key, value in raw.items():
        if key not in known:
            problems.append(f"{key}: unknown setting (known: {', '.join(sorted(known))})")
        elif key == "hashtags":
            values[key] = _hashtags(value, problems)
        elif key == "max_bytes":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"max_bytes: expected an integer, got {type(value).__name__}")
            elif not MIN_MAX_BYTES <= value <= limit:
                problems.append(f"max_bytes: expected {MIN_MAX_BYTES:,} to {limit:,}")
            else:
                values[key] = value
        elif (problem := _text_problem(key, value)) is not None:
            problems.append(f"{key}: {problem}")
        else:
            values[key] = value
    if problems:
        field = f"[tool.pipeline.{table}]"
        raise ConfigError("; ".join(problems), path=settings.source, field=field)
    return DescriptionOptions(**values)


def youtube_options(settings: Settings) -> DescriptionOptions:
    """The validated `[tool.pipeline.youtube]` table."""
    return description_options(settings, "youtube")


def podcast_options(settings: Settings) -> DescriptionOptions:
    """The validated `[tool.pipeline.podcast]` table."""
    return description_options(settings, "podcast")
