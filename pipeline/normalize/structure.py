"""Labels, sections and chapters: the merged items of a body grouped as the Episode holds them.

A heading, or a short line that introduces links or timestamps (`Links:`, `**Resources**`),
labels the run of list-like items after it; the first run of two or more timestamps is the
chapter list. What is left before the first label is the summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from ..model import Block, BulletList, Chapter, ListItem, Note, Paragraph, Section, SectionKind, Span
from ..pandoc.blocks import Heading, Item, Rule, tidy
from ..settings.config import Settings
from ..text.block_writers import plain_text
from ..text.chapters import NOT_CHAPTER_LABELS, check_order, parse_time, split_timestamp_line
from . import matching
from .boilerplate import section_reason
from .spans import (
    SENTENCE_FINAL,
    is_emphasis_only,
    is_strong_only,
    item_spans,
    links,
    list_entries,
    unlinked_text,
    whole,
)


@dataclass(frozen=True)
class Structure:
    """The body as the Episode holds it: its sections, and its chapters as read and as written."""

    sections: tuple[Section, ...]
    chapters: tuple[Chapter, ...]
    chapter_lines: tuple[tuple[Span, ...], ...]
    """The chapter list as written (clickable times stay links), invalid lines included."""
    problems: tuple[str, ...]
    """Why the chapters cannot be used (no chapter files are written then)."""


def find_structure(
    items: Sequence[Item],
    settings: Settings,
    duration: int | None,
    notes: list[Note],
    youtube_id: str | None = None,
) -> Structure:
    """Group items into sections: summary, labelled lists, the chapter list."""
    items = split_labels(items)
    sections = _Sections(settings, notes, youtube_id)
    index = 0
    while index < len(items):
        index = sections.take(items, index)
    sections.close()
    sections.clips_as_chapters()
    problems = list(sections.problems)
    if duration is not None:
        problems += [
            f"{c.title!r} starts after the episode ends" for c in sections.chapters if c.start >= duration
        ]
    for problem in problems:
        notes.append(Note("warning", f"chapters: {problem}; no chapter files written"))
    return Structure(
        tuple(sections.sections), tuple(sections.chapters), tuple(sections.chapter_lines), tuple(problems)
    )


_NOT_CHAPTERS = "the timestamps under {label!r} are not treated as chapters (its label says so)"


class _Sections:
    """The sections found so far, and the one being filled: its heading, kind and blocks."""

    def __init__(self, settings: Settings, notes: list[Note], youtube_id: str | None = None) -> None:
        self.settings = settings
        self.notes = notes
        self.youtube_id = youtube_id
        # A list of timestamps under a label that says "clips": the chapters if no other list is
        # (its section's index, label, run and timestamps).
        self.clips: tuple[str, list[Item], list[tuple[str, str]]] | None = None
        self.boilerplate = {matching.sentence_key(s) for s in settings.boilerplate_sections}
        self.sections: list[Section] = []
        self.heading: str | None = None
        self.kind: SectionKind = "summary"
        self.blocks: list[Block] = []
        self.chapters: list[Chapter] = []
        self.chapter_lines: list[tuple[Span, ...]] = []
        self.problems: list[str] = []

    def close(self) -> None:
        """The section being filled is done (if it has anything); the next starts empty."""
        if self.heading is not None or self.blocks or self.kind == "chapters":
            kind = self.kind
            if kind not in ("summary", "chapters"):
                has_links = any(isinstance(b, BulletList) or links(item_spans(b)) for b in self.blocks)
                kind = "links" if has_links else "text"
            self.sections.append(Section(kind, self.heading, tuple(self.blocks)))
        self.blocks = []

    def take(self, items: Sequence[Item], index: int) -> int:
        """Take the item at `index` (and the labelled run it starts); the index of the next one."""
        item = items[index]
        following = items[index + 1] if index + 1 < len(items) else None
        if isinstance(item, Rule):
            self.notes.append(Note("separator", "---"))
            if self.heading is not None:  # a `---` ends a labelled section: what follows is not its item
                self.close()
                self.heading, self.kind = None, "text"
            return index + 1
        if isinstance(item, Heading):
            label: str | None = _label_text(item.spans)
            # A section heading is words only: a link in it is named, as a warning.
            self.notes.extend(
                Note("dropped", f"{url} (a link in the heading {label!r})") for url in links(item.spans)
            )
        else:
            label = (
                _label_text(item.spans)
                if isinstance(item, Paragraph) and _is_label(item, following)
                else None
            )
            if label is None and not _has_timestamps(item):
                self.blocks.append(item)
                return index + 1

        # A labelled run (or an unlabelled list of timestamps) starts here.
        start = index + (1 if label is not None else 0)
        end = _run_end(items, start, label, isinstance(item, Heading))
        self._run(label, list(items[start:end]), isinstance(item, Heading))
        return end

    def _run(self, label: str | None, run: list[Item], under_heading: bool) -> None:
        reason = section_reason(label, run, self.boilerplate) if label is not None else None
        if label is not None and reason is not None:
            self.notes.append(Note(reason, label))
            for block in run:
                if isinstance(block, BulletList):
                    self.notes.extend(Note(reason, whole(e.spans)) for e in list_entries(block.items))
                elif isinstance(block, Paragraph | Heading):
                    self.notes.append(Note(reason, whole(block.spans)))
            return

        stamps = _run_timestamps(run)
        label_says_not = label is not None and NOT_CHAPTER_LABELS.search(label)
        if stamps is not None and len(stamps) >= 2 and not label_says_not and not self.has_chapters:
            self._chapters(label, run, stamps)
            return
        if stamps is not None and label_says_not:
            if label is not None and self.clips is None and self._into_own_video(run, stamps):
                self.clips = (label, run, stamps)
            else:
                self.notes.append(Note("warning", _NOT_CHAPTERS.format(label=label)))
        elif stamps is not None and self.has_chapters:
            self.notes.append(
                Note("warning", "a second list of timestamps is kept as a list, not as chapters")
            )

        if label is not None:
            self.close()
            self.heading, self.kind = label, "links"
        self.blocks.extend(_as_blocks(run) if under_heading else _as_list(run))

    @property
    def has_chapters(self) -> bool:
        return bool(self.chapters or self.chapter_lines)

    def _into_own_video(self, run: list[Item], stamps: list[tuple[str, str]]) -> bool:
        """Clips that can be the chapters: three or more, ascending, and every linked one into
        the episode's own video."""
        if self.youtube_id is None or len(stamps) < 3:
            return False
        times = [(t, parse_time(t)) for t, _ in stamps]
        if check_order(times) or any(seconds is None for _, seconds in times):
            return False
        urls = [url for spans in _run_line_spans(run) for url in links(spans)]
        return all(_into_video(url, self.youtube_id) for url in urls)

    def clips_as_chapters(self) -> None:
        """The clips list becomes the chapters when the post has no other chapter list; its label
        stays its heading. Otherwise it stays a list, with the warning a clips list gets."""
        if self.clips is None:
            return
        label, run, stamps = self.clips
        index = next((i for i, section in enumerate(self.sections) if section.heading == label), None)
        if self.has_chapters or index is None:
            self.notes.append(Note("warning", _NOT_CHAPTERS.format(label=label)))
            return
        self.sections[index] = Section("chapters", label, ())
        self.chapter_lines.extend(_run_line_spans(run))
        for title, seconds in ((title, parse_time(t)) for t, title in stamps):
            if seconds is not None:
                self.chapters.append(Chapter(seconds, title))
        self.notes.append(
            Note(
                "changed",
                f"the timestamps under {label!r} are the chapters: the post has no other chapter list,"
                " and they ascend and link into the episode's own video",
            )
        )

    def _chapters(self, label: str | None, run: list[Item], stamps: list[tuple[str, str]]) -> None:
        """The chapter list: a section of its own, its times checked, its lines kept as written."""
        self.close()
        self.heading = label if label is not None else self.settings.chapters_heading
        self.kind = "chapters"
        times = [(t, parse_time(t)) for t, _ in stamps]
        self.problems.extend(check_order(times))
        self.chapter_lines.extend(_run_line_spans(run))  # as written: clickable times stay links
        for (_, title), (_, seconds) in zip(stamps, times, strict=True):
            if seconds is not None:
                self.chapters.append(Chapter(seconds, title))
        self.close()
        self.heading, self.kind = None, "text"


def _run_end(items: Sequence[Item], start: int, label: str | None, under_heading: bool) -> int:
    """Where the labelled run starting at `start` ends (the index after its last item)."""
    end = start
    while end < len(items):
        candidate = items[end]
        if isinstance(candidate, Heading | Rule):
            break
        if (
            isinstance(candidate, Paragraph)
            and is_strong_only(candidate.spans)
            and not links(candidate.spans)
        ):
            break
        after = items[end + 1] if end + 1 < len(items) else None
        if end > start and _is_label(candidate, after) and _starts_a_section(candidate, after):
            break  # the next label starts the next section, a boilerplate one included
        if not under_heading and not _item_like(candidate):
            break
        if label is None and not _has_timestamps(candidate):
            break
        end += 1
    return end


def _starts_a_section(label: Item, after: Item | None) -> bool:
    """Inside a run, a label starts the next section when it is one by its form alone (a colon
    line, emphasis) or, a short plain line, when a list, a link-only line or a timestamp line
    follows it directly ("References in the Episode" above its `<ul>`)."""
    spans = item_spans(label)
    if plain_text(spans).rstrip().endswith(":") or is_emphasis_only(spans):
        return True
    if after is None:
        return False
    if isinstance(after, BulletList) or _timestamp(after):
        return not _timestamp(label)
    return isinstance(after, Paragraph) and bool(links(after.spans)) and not unlinked_text(after.spans)


def _into_video(url: str, video_id: str) -> bool:
    """A link into the video `video_id` (`watch?v=`, `youtu.be/`, with or without a time)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    if host == "youtu.be":
        return parts.path.strip("/") == video_id
    if host in ("youtube.com", "youtube-nocookie.com"):
        return video_id in parse_qs(parts.query).get("v", []) or parts.path.rstrip("/").endswith(
            f"/{video_id}"
        )
    return False


def split_labels(items: Sequence[Item]) -> list[Item]:
    """Labels written inside a paragraph, taken out as paragraphs of their own.

    A paragraph that starts with a label line and a colon and then holds only links ("Resources
    to learn more about … and the host: <a>…</a>") is the label, then its first link. The last
    sentence of a prose paragraph, when it ends with a colon, is short, and a link run follows
    the paragraph ("… from the experts. Resources to learn more about Sebastian Raschka and his
    work:"), is that run's label.
    """
    out: list[Item] = []
    for index, item in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        if isinstance(item, Paragraph) and item.code_language is None:
            out.extend(_label_and_link(item) or _prose_and_label(item, following) or [item])
        else:
            out.append(item)
    return out


_LABEL_WORDS = 12


def _short_label(text: str) -> bool:
    text = text.strip()
    return (
        text.endswith(":")
        and 0 < len(text.split()) <= _LABEL_WORDS
        and not SENTENCE_FINAL.search(text.rstrip(":"))
    )


def _label_and_link(item: Paragraph) -> list[Item] | None:
    spans = item.spans
    first_link = next((i for i, s in enumerate(spans) if s.url), None)
    if not first_link or any(s.url for s in spans[:first_link]):
        return None
    if unlinked_text(spans[first_link:]) or not _short_label(plain_text(spans[:first_link])):
        return None
    return [Paragraph(tidy(spans[:first_link])), Paragraph(tidy(spans[first_link:]))]


def _prose_and_label(item: Paragraph, following: Item | None) -> list[Item] | None:
    if following is None or not _is_link_run_start(following) or links(item.spans):
        return None
    text = plain_text(item.spans)
    bounds = matching.sentence_bounds(text)
    if len(bounds) < 2:
        return None
    start, end = bounds[-1]
    if not _short_label(text[start:end]):
        return None
    prose = tidy(matching.slice_spans(item.spans, 0, start))
    label = tidy(matching.slice_spans(item.spans, start, len(text)))
    return [Paragraph(prose), Paragraph(label)]


def _is_link_run_start(item: Item) -> bool:
    if isinstance(item, BulletList):
        return True
    return isinstance(item, Paragraph) and bool(links(item.spans)) and not unlinked_text(item.spans)


def _timestamp(item: Item) -> tuple[str, str] | None:
    if isinstance(item, Paragraph):
        return split_timestamp_line(plain_text(item.spans))
    return None


def _has_timestamps(item: Item) -> bool:
    """A timestamp line, or a list of nothing but timestamp lines."""
    return bool(_timestamp(item)) or (isinstance(item, BulletList) and bool(_list_timestamps(item)))


def _item_like(item: Item) -> bool:
    if isinstance(item, BulletList):
        return True
    if not isinstance(item, Paragraph) or item.code_language is not None:
        return False
    text = plain_text(item.spans).strip()
    if links(item.spans) or _timestamp(item):
        return True
    return len(text) <= 150 and not SENTENCE_FINAL.search(text) and not is_strong_only(item.spans)


def _is_label(item: Item, following: Item | None) -> bool:
    if not isinstance(item, Paragraph) or item.code_language is not None:
        return False
    if links(item.spans) or _timestamp(item):
        return False
    text = plain_text(item.spans).strip()
    if not text or len(text) > 100 or len(text.split()) > 14 or SENTENCE_FINAL.search(text.rstrip(":")):
        return False
    if following is None or not _item_like(following):
        return False
    if is_strong_only(item.spans):
        return True
    return (
        isinstance(following, BulletList)
        or bool(_timestamp(following))
        or bool(isinstance(following, Paragraph) and links(following.spans))
    )


def _label_text(spans: tuple[Span, ...]) -> str:
    return plain_text(spans).strip().rstrip(":").strip()


def _list_timestamps(item: BulletList) -> list[tuple[str, str]] | None:
    found = [split_timestamp_line(plain_text(i.spans)) for i in item.items]
    if item.items and all(found) and not any(i.children for i in item.items):
        return [f for f in found if f]
    return None


def _run_timestamps(run: list[Item]) -> list[tuple[str, str]] | None:
    stamps: list[tuple[str, str]] = []
    for item in run:
        if isinstance(item, BulletList):
            found = _list_timestamps(item)
            if found is None:
                return None
            stamps.extend(found)
        else:
            stamp = _timestamp(item)
            if stamp is None:
                return None
            stamps.append(stamp)
    return stamps or None


def _run_line_spans(run: list[Item]) -> list[tuple[Span, ...]]:
    """The spans of each line of a run of timestamps, in the order `_run_timestamps` reads them."""
    lines: list[tuple[Span, ...]] = []
    for item in run:
        if isinstance(item, BulletList):
            lines.extend(entry.spans for entry in item.items)
        elif isinstance(item, Paragraph):
            lines.append(item.spans)
    return lines


def _bare_url_to_link(item: ListItem) -> ListItem:
    """`Title - https://x` (a link whose text is its URL) becomes a link titled `Title`."""
    spans = item.spans
    if len(spans) < 2 or not spans[-1].url or spans[-1].text.strip() != spans[-1].url:
        return item
    lead = spans[:-1]
    if any(s.url for s in lead):
        return item
    text = plain_text(lead).rstrip()
    title = re.sub(r"\s*[-–—:|]\s*$", "", text)  # noqa: RUF001 (dashes are data)
    if not title:
        return item
    return ListItem((Span(title, url=spans[-1].url),), item.children)


def _as_list(run: list[Item]) -> list[Block]:
    """Item paragraphs and lists of one labelled run as a single list."""
    entries: list[ListItem] = []
    ordered = False
    for item in run:
        if isinstance(item, BulletList):
            entries.extend(item.items)
            ordered = ordered or item.ordered
        elif isinstance(item, Paragraph | Heading):
            entries.append(ListItem(item.spans))
    if not entries:
        return []
    return [BulletList(tuple(_bare_url_to_link(e) for e in entries), ordered and len(run) == 1)]


def _as_blocks(run: list[Item]) -> list[Block]:
    """The content under a Markdown heading, as written (lists of bare links tidied)."""
    out: list[Block] = []
    for item in run:
        if isinstance(item, BulletList):
            out.append(BulletList(tuple(_bare_url_to_link(e) for e in item.items), item.ordered))
        elif isinstance(item, Paragraph):
            out.append(item)
    return out
