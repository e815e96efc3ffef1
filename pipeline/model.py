"""The format-neutral episode: what every output is rendered from. No I/O here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Span:
    """A run of inline text with one set of marks; `url` makes it (part of) a link."""

    text: str
    url: str | None = None
    strong: bool = False
    emph: bool = False
    code: bool = False


Inlines = tuple[Span, ...]


@dataclass(frozen=True)
class Paragraph:
    spans: Inlines
    code_language: str | None = None
    """Not None for a code block (one code span, its lines kept): the fence's language or ""."""


@dataclass(frozen=True)
class ListItem:
    spans: Inlines
    children: tuple[ListItem, ...] = ()


@dataclass(frozen=True)
class BulletList:
    items: tuple[ListItem, ...]
    ordered: bool = False


Block = Paragraph | BulletList


@dataclass(frozen=True)
class Chapter:
    """One chapter marker: start in whole seconds and its title as written."""

    start: int
    title: str


SectionKind = Literal["summary", "chapters", "links", "text"]


OPENER = re.compile(r"\{\{|\{%")
"""What opens Liquid: `{{` (output) and `{%` (a tag)."""


@dataclass(frozen=True)
class LiquidLeft:
    """The Liquid a body still holds once resolved: `kept`, the tags left for Jekyll to run
    (unresolved, kept as written); `shows_text`, whether the body also shows Liquid-looking text
    as text (from `{% raw %}` blocks, or a Liquid string such as `{{ "{{" }}`)."""

    kept: tuple[str, ...] = ()
    shows_text: bool = False

    def _pattern(self) -> re.Pattern[str]:
        """A kept tag (group 1; `(?!)`, which never matches, when there is none), or an opener."""
        tags = "|".join(re.escape(k) for k in sorted(self.kept, key=len, reverse=True)) or "(?!)"
        return re.compile(f"({tags})|{OPENER.pattern}")

    def openers_shown(self, text: str) -> list[re.Match[str]]:
        """Each `{{` or `{%` of `text` that does not open one of the `kept` tags."""
        return [m for m in self._pattern().finditer(text) if not m.group(1)]

    def protect(self, text: str) -> str:
        """`text` for Jekyll to show as it reads: every `{{` and `{%` that opens no kept tag
        written as a Liquid string (`{{ "{{" }}`), which Jekyll and this reader both show as
        `{{`; a kept tag stays for Jekyll to run."""
        if not self.shows_text:
            return text

        def shown(match: re.Match[str]) -> str:
            return match.group() if match.group(1) else '{{ "' + match.group() + '" }}'

        return self._pattern().sub(shown, text)


@dataclass(frozen=True)
class Section:
    """A part of the body: the summary (no heading), the chapters, or a headed block."""

    kind: SectionKind
    heading: str | None
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Comment:
    """An HTML comment of the body, as written: `post.md` keeps it, no other output shows it.

    It stands before block `block` of section `section`; with `section` None, after the body
    (where it stood is gone from the Episode, or nothing of the body followed it).
    """

    text: str
    section: int | None = None
    block: int = 0


# Why a piece of the source is not in `post.md` as written: a closed list, one per report line.
Reason = Literal[
    "merged",  # the other copy's twin is kept
    "reworded",  # both wordings are named
    "boilerplate",  # a configured rule
    "player",
    "badge",
    "own-video-link",
    "substack-link",  # moved to front matter
    "tracking-parameters",
    "redirect",
    "control-characters",
    "embed",
    "comment",  # words in an HTML comment: post.md keeps it, every other output hides it
    "separator",  # a `---` line between parts: the Episode has parts, not lines
    "dropped",  # anything else
]
REASONS: tuple[str, ...] = Reason.__args__  # type: ignore[attr-defined]
# Reasons that are also warnings (`--strict` stops on them).
WARNING_REASONS = frozenset({"embed", "dropped"})


@dataclass(frozen=True)
class Note:
    """One line of a post's report: `<kind>: <message>`.

    For a `Reason`, the message is the whole sentence or the whole original URL, never cut.
    `warning` is a problem that is not a lost piece (an unresolved Liquid tag, a chapter list
    YouTube cannot use); `changed` a change of form that loses nothing (a table flattened).
    """

    kind: Reason | Literal["warning", "changed"]
    message: str

    @property
    def is_warning(self) -> bool:
        return self.kind == "warning" or self.kind in WARNING_REASONS

    @property
    def warning_text(self) -> str:
        """As a warning line: `embed: <…>` keeps its reason; a plain warning is its message."""
        return self.message if self.kind == "warning" else f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Episode:
    """A canonical episode, normalized from one post file."""

    stem: str
    source_name: str
    title: str
    date: dt.datetime
    youtube_id: str | None
    substack_url: str | None
    description: str | None
    categories: tuple[str, ...]
    duration: int | None
    sections: tuple[Section, ...]
    chapters: tuple[Chapter, ...]
    chapter_problems: tuple[str, ...]
    front_matter_text: str
    """The original front matter (between the `---` lines), plus keys normalization added."""
    notes: tuple[Note, ...] = field(default=())
    unchanged_source: str | None = None
    """The post file's text when normalization had nothing to remove, move or change in it:
    `post.md` is then that text, byte for byte (a clean post is never reformatted)."""
    chapter_lines: tuple[Inlines, ...] = field(default=())
    """The chapter list as written in the body (`00:46 Title`, links kept), invalid lines included."""
    comments: tuple[Comment, ...] = field(default=())
    """The body's HTML comments, for `post.md` only, in the order of the body."""
    liquid: LiquidLeft = field(default_factory=LiquidLeft)
    """The Liquid the body still holds: a `post.md` written from the Episode protects what it
    shows as text, so Jekyll shows it instead of running it, and leaves Jekyll's tags alone."""

    @property
    def report(self) -> tuple[Note, ...]:
        """The notes `report.txt` and the build show: a separator line is named only when
        `post.md` is written from the Episode (a post kept as written keeps its separators)."""
        if self.unchanged_source is None:
            return self.notes
        return tuple(n for n in self.notes if n.kind != "separator")

    @property
    def summary(self) -> tuple[Block, ...]:
        """The summary paragraphs (the body before the first headed section)."""
        return tuple(b for s in self.sections if s.kind == "summary" for b in s.blocks)

    @property
    def chapters_valid(self) -> bool:
        return bool(self.chapters) and not self.chapter_problems

    @property
    def video_url(self) -> str | None:
        if self.youtube_id is None:
            return None
        return f"https://www.youtube.com/watch?v={self.youtube_id}"

    def chapter_url(self, chapter: Chapter) -> str | None:
        """The video at this chapter's start, or None without a video."""
        if self.video_url is None:
            return None
        return f"{self.video_url}&t={chapter.start}s"
