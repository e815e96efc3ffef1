"""YouTube's and Apple/Spotify's chapter rules: when the timestamps of a description become chapters.

A platform makes chapters from a description only when the list starts at 0:00, has at least
three entries, ascends, and (on YouTube) gives each chapter at least 10 s. `plan_chapters`
applies those rules to an episode's chapter list: it adds a 0:00 Intro (or moves a first chapter
a few seconds in back to 0:00) and says, in `RuleResult`s, whether the list qualifies; a list
that does not is printed as plain timestamps. Also how each platform writes a time.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...model import Chapter, Episode
from ...text.block_writers import plain_text
from ...text.chapters import format_time, parse_time
from .limits import MIN_CHAPTERS, YOUTUBE_MIN_CHAPTER_SECONDS, RuleResult
from .text import one_line, short_label

# A first chapter this close to 0:00 is moved to 0:00 instead of getting an Intro before it,
# since that Intro would itself be shorter than YouTube's 10 s.
SHIFT_TO_ZERO_BELOW = 10
# Apple writes times as 00:00:00 once an episode passes an hour.
LONG_EPISODE_SECONDS = 3600


@dataclass(frozen=True)
class ChapterRules:
    """What one platform needs before it turns timestamps in a description into chapters."""

    name: str
    platform: str
    min_count: int = MIN_CHAPTERS
    min_seconds: int = 1


YOUTUBE_RULES = ChapterRules("youtube", "YouTube", min_seconds=YOUTUBE_MIN_CHAPTER_SECONDS)
PODCAST_RULES = ChapterRules("podcast", "Apple/Spotify")


@dataclass(frozen=True)
class ChapterPlan:
    """The timestamps a description prints, and whether they qualify as chapters."""

    chapters: tuple[Chapter, ...]
    usable: bool
    """True: print as chapters (time first, from 0:00); False: as plain timestamps."""
    results: tuple[RuleResult, ...]
    written: tuple[str, ...] = ()
    """The list as written in the post, when its times could not all be read."""


def clock(seconds: int) -> str:
    """A time as people and YouTube write it: `0:46`, `12:05`, `1:00:38`."""
    return format_time(seconds, pad_minutes=False)


def is_long(chapters: Sequence[Chapter], duration: int | None) -> bool:
    """True when the episode passes an hour (by its duration, or by a chapter past 1:00:00)."""
    return (duration or 0) > LONG_EPISODE_SECONDS or any(c.start >= LONG_EPISODE_SECONDS for c in chapters)


def podcast_time(seconds: int, long: bool) -> str:
    """Apple/Spotify time: `00:46`, or `00:00:46` for every chapter of a long episode."""
    return format_time(seconds, hours=long)


def _from_zero(
    chapters: tuple[Chapter, ...], rules: ChapterRules, intro_title: str
) -> tuple[tuple[Chapter, ...], RuleResult]:
    """The chapters starting at 0:00: an Intro added, or a first chapter moved back a little."""
    name, platform = f"{rules.name}.chapters.start", rules.platform
    first = chapters[0]
    if first.start == 0:
        return chapters, RuleResult(name, True, f"{platform}: chapters start at 0:00")
    at = clock(first.start)
    if first.start < SHIFT_TO_ZERO_BELOW:
        message = f"{platform}: chapters start at {at}, moved the first to 0:00"
        return (Chapter(0, first.title), *chapters[1:]), RuleResult(name, True, message, True)
    message = f"{platform}: chapters start at {at}, added 0:00 {intro_title}"
    return (Chapter(0, intro_title), *chapters), RuleResult(name, True, message, True)


def chapter_problems(chapters: Sequence[Chapter], rules: ChapterRules, duration: int | None) -> list[str]:
    """Why `chapters` (already from 0:00) would not become chapters on this platform."""
    problems: list[str] = []
    if len(chapters) < rules.min_count:
        problems.append(f"{len(chapters)} chapters, at least {rules.min_count} needed")
    for a, b in itertools.pairwise(chapters):
        gap = b.start - a.start
        if gap <= 0:
            problems.append(f"{clock(b.start)} {short_label(b.title)} does not come after "
                            f"{clock(a.start)}")  # fmt: skip
        elif gap < rules.min_seconds:
            problems.append(f"{short_label(a.title)} at {clock(a.start)} lasts {gap} s, "
                            f"at least {rules.min_seconds} s needed")  # fmt: skip
    if duration is not None and chapters:
        last = chapters[-1]
        if last.start >= duration:
            problems.append(f"{short_label(last.title)} at {clock(last.start)} starts after "
                            f"the episode ends ({clock(duration)})")  # fmt: skip
        elif duration - last.start < rules.min_seconds:
            lasts = duration - last.start
            problems.append(f"{short_label(last.title)} at {clock(last.start)} lasts {lasts} s, "
                            f"at least {rules.min_seconds} s needed")  # fmt: skip
    return problems


# A line of written text YouTube reads as a chapter: a time at its start, then a title.
CHAPTER_LINE = re.compile(r"^((?:\d{1,2}:)?\d{1,2}:\d{2})\s+(.*\S)")


@dataclass(frozen=True)
class WrittenChapters:
    """The chapter lines of a written description, and why the platform makes no chapters of them."""

    lines: tuple[tuple[str, str], ...]  # (the time as written, the title)
    problems: tuple[str, ...]  # empty: the platform makes chapters of `lines`


def written_chapters(text: str, rules: ChapterRules = YOUTUBE_RULES) -> WrittenChapters:
    """The one check of a description as written (`youtube.txt`, or what a video has now), by
    the rules the build plans chapters with (`chapter_problems`): `check`, the preview and
    `publish` all ask it."""
    lines: list[tuple[str, str]] = []
    chapters: list[Chapter] = []
    for line in text.splitlines():
        match = CHAPTER_LINE.match(line.strip())
        seconds = parse_time(match.group(1)) if match else None
        if match and seconds is not None:
            lines.append((match.group(1), match.group(2)))
            chapters.append(Chapter(seconds, match.group(2)))
    if not chapters:
        return WrittenChapters((), ())
    problems = [] if chapters[0].start == 0 else [f"the first time is {lines[0][0]}, not 0:00"]
    return WrittenChapters(tuple(lines), tuple(problems + chapter_problems(chapters, rules, None)))


def plan_chapters(episode: Episode, rules: ChapterRules, intro_title: str) -> ChapterPlan:
    """Apply a platform's chapter rules: from 0:00, at least three, ascending, long enough."""
    name, platform = f"{rules.name}.chapters", rules.platform
    source = episode.chapters
    fallback = f"printed as plain timestamps, {platform} will not make chapters from them"
    if episode.chapter_problems:
        listed = "; ".join(episode.chapter_problems)
        message = f"{platform}: the chapter list has problems ({listed}); {fallback}"
        written = tuple(one_line(plain_text(line)) for line in episode.chapter_lines)
        return ChapterPlan(source, False, (RuleResult(name, False, message),), written)
    if not source:
        return ChapterPlan((), False, (RuleResult(name, True, f"{platform}: no chapters"),))
    chapters, start = _from_zero(source, rules, intro_title)
    problems = chapter_problems(chapters, rules, episode.duration)
    if problems:
        message = f"{platform}: {'; '.join(problems)}; {fallback}"
        return ChapterPlan(source, False, (start, RuleResult(name, False, message)))
    each = f", each at least {rules.min_seconds} s" if rules.min_seconds > 1 else ""
    message = f"{platform}: {len(chapters)} chapters from 0:00, ascending{each}"
    return ChapterPlan(chapters, True, (start, RuleResult(name, True, message)))
