"""The `[youtube]` and `[podcast]` settings tables, read and checked into `DescriptionOptions`.

`description_options` is the one place that reads these tables (`settings.table(...)`), with the
schema of `pipeline.settings.schema`; the settings loader asks it once and keeps the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...settings.schema import fixed, option, table_options
from .limits import MAX_HASHTAGS, PODCAST_MAX_BYTES, YOUTUBE_MAX_BYTES
from .text import one_line

if TYPE_CHECKING:
    from ...settings.config import Settings

# The smallest `max_bytes` a table may set.
MIN_MAX_BYTES = 200
_HASHTAG = re.compile(r"#?(\w+)")


def _line(value: str) -> str | None:
    """What is wrong with a one-line text option (None when fine)."""
    if value != one_line(value) or ("<" in value or ">" in value):
        return "expected one line of text without control characters or < >"
    return None


def _heading(value: str) -> str | None:
    return _line(value) or (None if value else "must not be empty")


def _hashtags(tags: tuple[str, ...]) -> str | None:
    problems = []
    if len(tags) > MAX_HASHTAGS:
        problems.append(f"{len(tags)} given, at most {MAX_HASHTAGS} allowed")
    bad = [tag for tag in tags if not _HASHTAG.fullmatch(tag)]
    problems += [f"{tag!r} is not a hashtag (letters, digits and _ only)" for tag in bad]
    return "; ".join(problems) or None


def _with_hash(tags: tuple[str, ...]) -> tuple[str, ...]:
    """`#tag` for each configured hashtag."""
    return tuple("#" + tag.removeprefix("#") for tag in tags)


@dataclass(frozen=True)
class DescriptionOptions:
    """The `[tool.pipeline.youtube]` table, checked; `[podcast]`'s (`PodcastOptions`) is one too."""

    max_bytes: int = option(YOUTUBE_MAX_BYTES, minimum=MIN_MAX_BYTES, maximum=YOUTUBE_MAX_BYTES)
    intro_title: str = option("Intro", check=_heading)
    chapters_heading: str = option("Chapters", check=_heading)
    """The global `chapters_heading` unless the table sets its own."""
    timestamps_heading: str = option("Timestamps", check=_heading)
    substack_label: str = option("Read more on Substack:", check=_line)
    hashtags: tuple[str, ...] = option((), check=_hashtags, convert=_with_hash)


@dataclass(frozen=True)
class PodcastOptions(DescriptionOptions):
    """The `[tool.pipeline.podcast]` table, checked: a smaller budget, and no hashtags."""

    max_bytes: int = option(PODCAST_MAX_BYTES, minimum=MIN_MAX_BYTES, maximum=PODCAST_MAX_BYTES)
    hashtags: tuple[str, ...] = fixed(())


_TABLES: dict[str, type[DescriptionOptions]] = {"youtube": DescriptionOptions, "podcast": PodcastOptions}


def description_options(settings: Settings, table: str) -> DescriptionOptions:
    """`[tool.pipeline.youtube]` or `[tool.pipeline.podcast]`: the options checked at load, else
    the table checked now, every problem at once."""
    base = {"chapters_heading": settings.chapters_heading}
    return table_options(settings, table, _TABLES[table], base=base)


def youtube_options(settings: Settings) -> DescriptionOptions:
    """The validated `[tool.pipeline.youtube]` table."""
    return description_options(settings, "youtube")


def podcast_options(settings: Settings) -> DescriptionOptions:
    """The validated `[tool.pipeline.podcast]` table."""
    return description_options(settings, "podcast")
