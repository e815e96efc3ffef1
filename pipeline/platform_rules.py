"""What YouTube, Apple Podcasts and Spotify accept in a pasted description, as plain rules.

The formats `youtube` and `podcast` only lay text out; the rules live here, so the formats,
`invoke check` and the build output say the same thing in the same words (`RuleResult`).

Drop order when a description passes its byte limit. The first step listed goes first; within
a step the part written last goes first. Parts are whole: a paragraph, a list item with its
sub-items, the hashtag line, the Substack line, or the whole chapter list.

1. items of the link sections (resources, references, ...), from the last section's last item
   upwards; a section's heading goes with its last item;
2. summary paragraphs after the first, the last first;
3. the hashtags (YouTube);
4. the Substack link;
5. the first summary paragraph: without a front-matter `description` it is replaced by its
   first sentence (the hook) rather than dropped; with one, the description is the hook;
6. the chapter list, whole, and only when it cannot fit even beside a one-word hook (a
   list of hundreds of chapters); a single chapter line is never dropped;
7. last resort: the hook is cut after the last whole word that fits and ends in "…".
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .blocks import blocks_to_text, first_sentence, map_spans, plain_text
from .chapters import format_time
from .config import Settings
from .errors import ConfigError, RenderError
from .model import Block, BulletList, Chapter, Episode, Paragraph, Span
from .sanitize import sanitize_html
from .source import BIDI_CONTROLS

YOUTUBE_MAX_BYTES = 5000
PODCAST_MAX_BYTES = 4000
MIN_MAX_BYTES = 200
MAX_HASHTAGS = 15
MIN_CHAPTERS = 3
YOUTUBE_MIN_CHAPTER_SECONDS = 10
# A first chapter this close to 0:00 is moved to 0:00 instead of getting an Intro before it,
# since that Intro would itself be shorter than YouTube's 10 s.
SHIFT_TO_ZERO_BELOW = 10
# Apple writes times as 00:00:00 once an episode passes an hour.
LONG_EPISODE_SECONDS = 3600

# Drop ranks (see the module docstring): the highest rank is dropped first, KEEP never.
RANK_LINK_ITEM = 6
RANK_LATER_PARAGRAPH = 5
RANK_HASHTAGS = 4
RANK_SUBSTACK = 3
RANK_FIRST_PARAGRAPH = 2
RANK_CHAPTERS = 1
KEEP = 0

ELLIPSIS = "\u2026"
# Single angle quotation marks stand in for < and >, which YouTube refuses.
LEFT_ANGLE = "\u2039"
RIGHT_ANGLE = "\u203a"

PODCAST_TAGS = frozenset({"p", "ol", "ul", "li", "a", "br"})


@dataclass(frozen=True)
class RuleResult:
    """One platform rule checked on one episode, explained in plain words."""

    name: str
    """A stable id such as `youtube.bytes`."""
    passed: bool
    message: str
    adjusted: bool = False
    """The output was changed to pass (a 0:00 Intro added): worth an info line, not a warning."""


@dataclass(frozen=True)
class Description:
    """A finished platform description and the rules checked while writing it."""

    text: str
    results: tuple[RuleResult, ...]


def warnings_of(results: Sequence[RuleResult]) -> list[str]:
    """The messages of failed rules: what the user should fix or know was lost."""
    return [r.message for r in results if not r.passed]


def notes_of(results: Sequence[RuleResult]) -> list[str]:
    """The messages of rules that passed because the output was adjusted."""
    return [r.message for r in results if r.passed and r.adjusted]


def check_platforms(episode: Episode, settings: Settings) -> list[RuleResult]:
    """Every YouTube and Apple/Spotify rule for one episode, as the formats would write it."""
    # Imported here: the formats import this module for the rules themselves.
    from .formats import podcast, youtube

    return [
        *youtube.describe(episode, settings).results,
        *podcast.describe(episode, settings).results,
    ]


# --- text ---------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def decode_entities(text: str) -> str:
    """`&amp;`, `&#8217;` and the like as characters; a bare `&` (as in URLs) stays as it is."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


# Unicode categories Cc (but tab and newline) and Cs, as one pattern
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Entities decoded; control, surrogate and bidi-override characters removed."""
    if "&" in text:
        text = decode_entities(text)
    return _CONTROL.sub("", BIDI_CONTROLS.sub("", text))


def one_line(text: str) -> str:
    """`clean_text` on one line: every run of whitespace becomes one space."""
    return " ".join(clean_text(text).split())


def _clean_span(span: Span) -> Span:
    url = (clean_text(span.url).strip() or None) if span.url is not None else None
    text = clean_text(span.text)
    return span if text == span.text and url == span.url else replace(span, text=text, url=url)


def clean_blocks(blocks: Sequence[Block]) -> tuple[Block, ...]:
    """The blocks with `clean_text` applied to every text and URL."""
    return map_spans(blocks, _clean_span)


def replace_angle_brackets(text: str) -> str:
    """`<` and `>` as single angle quotation marks: YouTube refuses a description with either."""
    return text.replace("<", LEFT_ANGLE).replace(">", RIGHT_ANGLE)


def angle_bracket_result(text: str) -> RuleResult:
    """Report the angle brackets of a YouTube text before `replace_angle_brackets`."""
    count = text.count("<") + text.count(">")
    if not count:
        return RuleResult("youtube.angle_brackets", True, "YouTube: no angle brackets")
    return RuleResult(
        "youtube.angle_brackets",
        True,
        f"YouTube: replaced {count:,} angle bracket{'s' if count > 1 else ''} with "
        f"{LEFT_ANGLE} {RIGHT_ANGLE}",
        adjusted=True,
    )


def sanitize_podcast_html(text: str) -> str:
    """The HTML Apple Podcasts and Spotify accept: p, ol, ul, li, a[href] and br only.

    The shared policy of `pipeline.sanitize` (https and mailto links only), with fewer tags.
    """
    return sanitize_html(text, PODCAST_TAGS)


# --- bytes --------------------------------------------------------------------------------


def utf8_len(text: str) -> int:
    """The length platforms count: bytes of UTF-8 (an emoji is 4)."""
    return len(text.encode("utf-8"))


def budget_result(
    name: str, platform: str, size: int, limit: int, dropped: Sequence[str] = (), final: int = 0
) -> RuleResult:
    """`YouTube: 3,120 of 5,000 bytes`, or what passed the limit and what was dropped for it."""
    if size <= limit:
        return RuleResult(name, True, f"{platform}: {size:,} of {limit:,} bytes")
    message = f"{platform}: {size:,} bytes, over {limit:,} by {size - limit:,}"
    if dropped:
        message += f"; dropped {', '.join(dropped)} ({final:,} bytes now)"
    return RuleResult(name, False, message)


@dataclass(frozen=True)
class Part:
    """One piece of a description that is kept or dropped whole."""

    label: str
    """How the part is named when it is dropped."""
    text: str
    rank: int = KEEP
    hook: str | None = None
    """Plain words kept in place of a dropped part; on a KEEP part, what is cut as a last resort."""


@dataclass(frozen=True)
class Group:
    """Parts written together (a heading and its list); it vanishes with its last part."""

    parts: tuple[Part, ...]
    head: str = ""
    tail: str = ""
    sep: str = "\n"


@dataclass(frozen=True)
class Layout:
    """How one format joins groups, writes a hook, and finishes the whole text."""

    join: str
    hook: Callable[[str], str]
    finish: Callable[[str], str]


@dataclass(frozen=True)
class Fitted:
    """A description within its budget, the size it had before, and what was dropped."""

    text: str
    raw: str
    """The kept text before `Layout.finish`."""
    size_before: int
    dropped: tuple[str, ...]


State = list[list[Part | None]]


def _assemble(groups: Sequence[Group], state: State, join: str) -> str:
    chunks = []
    for group, parts in zip(groups, state, strict=True):
        kept = [p.text for p in parts if p is not None]
        if kept:
            chunks.append(group.head + group.sep.join(kept) + group.tail)
    return join.join(chunks)


def _cut_words(words: str, fits: Callable[[str], bool]) -> tuple[str, int]:
    """The longest start of `words` ending in `…` that `fits`, cut between words; its word count."""
    tokens = words.split()
    low, high = 0, len(tokens) - 1  # keeping every token is what did not fit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(" ".join(tokens[:middle]) + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return " ".join(tokens[:low]) + ELLIPSIS, low


class _Budget:
    """The parts of one description while they are being dropped to fit a byte limit."""

    def __init__(self, groups: Sequence[Group], layout: Layout, limit: int) -> None:
        self.groups = groups
        self.layout = layout
        self.limit = limit
        self.state: State = [list(g.parts) for g in groups]
        self.dropped: list[str] = []

    def size(self, state: State | None = None) -> int:
        """Bytes of the finished text of `state` (default: the current one)."""
        raw = _assemble(self.groups, self.state if state is None else state, self.layout.join)
        return utf8_len(self.layout.finish(raw))

    def over(self) -> bool:
        return self.size() > self.limit

    def where(self, keep: Callable[[Part], bool]) -> list[tuple[int, int, Part]]:
        """(group, index, part) of the kept parts `keep` selects, in output order."""
        return [
            (g, i, part) for g, parts in enumerate(self.state) for i, part in enumerate(parts)
            if part is not None and keep(part)
        ]  # fmt: skip

    def hooked(self, part: Part, words: str) -> Part:
        """`part` replaced by its hook words, now never dropped."""
        return Part(part.label, self.layout.hook(words), KEEP, part.hook)

    def without(self, steps: Sequence[tuple[int, int, Part]]) -> State:
        """The current state with `steps` dropped (a part with a hook keeps its hook)."""
        state = [list(parts) for parts in self.state]
        for g, i, part in steps:
            state[g][i] = self.hooked(part, part.hook) if part.hook else None
        return state

    def drop_ranked(self) -> None:
        """Drop steps 1-5: the highest rank first, within a rank the part written last first."""
        order = self.where(lambda part: part.rank > RANK_CHAPTERS)
        order.sort(key=lambda gip: (-gip[2].rank, -gip[0], -gip[1]))
        if not self.over():
            return
        # Each drop only shortens the text, so the fewest drops that fit are found by bisection.
        low, high = 1, len(order)
        while low < high:
            middle = (low + high) // 2
            if self.size(self.without(order[:middle])) <= self.limit:
                high = middle
            else:
                low = middle + 1
        steps = order[:low]
        self.state = self.without(steps)
        for _, _, part in steps:
            kept = " (kept its first sentence)" if part.hook else ""
            self.dropped.append(part.label + kept)

    def drop_chapters_if_hopeless(self) -> None:
        """Drop step 6: the chapter list, only when it does not fit beside a one-word hook."""
        if not self.over():
            return
        shortest = [list(parts) for parts in self.state]
        for g, i, part in self.where(lambda part: part.rank == KEEP and bool(part.hook)):
            shortest[g][i] = self.hooked(part, ELLIPSIS)
        if self.size(shortest) <= self.limit:
            return
        for g, i, part in self.where(lambda part: part.rank == RANK_CHAPTERS):
            self.state[g][i] = None
            self.dropped.append(part.label)

    def cut_hooks(self) -> None:
        """Drop step 7: cut the hook between words, the last hook first."""
        for g, i, part in reversed(self.where(lambda part: part.rank == KEEP and bool(part.hook))):
            if not self.over():
                return
            assert part.hook is not None

            def fits(words: str, g: int = g, i: int = i, part: Part = part) -> bool:
                trial = [list(parts) for parts in self.state]
                trial[g][i] = self.hooked(part, words)
                return self.size(trial) <= self.limit

            words, count = _cut_words(part.hook, fits)
            self.state[g][i] = self.hooked(part, words)
            self.dropped.append(f"{part.label} after its first {count:,} words")


def fit_to_budget(groups: Sequence[Group], layout: Layout, limit: int) -> Fitted:
    """Drop whole parts in the documented order until the finished text is within `limit` bytes."""
    budget = _Budget(groups, layout, limit)
    size_before = budget.size()
    budget.drop_ranked()
    budget.drop_chapters_if_hopeless()
    budget.cut_hooks()
    raw = _assemble(groups, budget.state, layout.join)
    text = layout.finish(raw)
    if utf8_len(text) > limit:
        raise RenderError(f"cannot fit the description into {limit:,} bytes")
    return Fitted(text, raw, size_before, tuple(budget.dropped))


def hook_of(block: Block) -> str | None:
    """The first sentence of a paragraph, or of a list's first item: what is left when it goes."""
    if isinstance(block, BulletList):
        block = Paragraph(block.items[0].spans if block.items else ())
    return first_sentence((block,)) or None


def summary_groups(episode: Episode, render: Callable[[Block], str], layout: Layout) -> list[Group]:
    """The hook and the summary blocks, one group each, ranked for the drop order."""
    groups: list[Group] = []
    description = one_line(episode.description or "")
    if description:
        groups.append(Group((Part("the description", layout.hook(description), KEEP, description),)))
    for number, block in enumerate(clean_blocks(episode.summary), 1):
        if not blocks_to_text((block,)).strip():
            continue
        label = f"summary paragraph {number}"
        if groups:
            part = Part(label, render(block), RANK_LATER_PARAGRAPH)
        else:
            part = Part(label, render(block), RANK_FIRST_PARAGRAPH, hook_of(block))
        groups.append(Group((part,)))
    return groups


def short_label(text: str, width: int = 40) -> str:
    """`text` quoted for a report, cut to `width` characters."""
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1].rstrip() + ELLIPSIS
    return f"'{text}'"


# --- chapters -----------------------------------------------------------------------------


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


# --- options ------------------------------------------------------------------------------


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
