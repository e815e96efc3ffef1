"""Import furniture and configured boilerplate out of a post, each piece reported whole.

Sentence by sentence inside a paragraph (feeds glue the show's tagline to the guest's
introduction), whole paragraphs for players, badges and links to the episode's own video, and
whole labelled sections (`section_reason`) for configured sections and "Available on …" blocks.
The Substack post a read-more line pointed to is kept for the front matter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import BulletList, ListItem, Note, Paragraph, Reason, Span
from ..pandoc.blocks import Item, Rule, SourceItem, tidy
from ..pandoc.embeds import BADGE_TEXT
from ..settings.config import Settings
from ..text.block_writers import plain_text
from ..text.chapters import split_timestamp_line
from ..text.links import is_own_video, substack_post
from . import matching
from .spans import links, unlinked_text, whole

AVAILABLE_ON = re.compile(r"^(available|listen|watch|subscribe|find us|follow( us)?)\b.*\b(on|at)\b", re.I)
READ_MORE = re.compile(
    r"\b(read more|read (it|this|the rest) on|continue reading|originally published|read on)\b",
    re.I,
)
BARE_URL = re.compile(r"https://[^\s<>()\[\]]+")


@dataclass(frozen=True)
class Cleaned:
    """The items a post keeps once its furniture is out, and the Substack post it linked to."""

    items: tuple[SourceItem, ...]
    substack_url: str | None


def remove_boilerplate(
    items: Iterable[SourceItem], youtube_id: str | None, settings: Settings, notes: list[Note]
) -> Cleaned:
    """Drop player lines, badges, read-more lines and configured sentences; find the Substack link."""
    sentences = _Sentences(settings)
    kept: list[SourceItem] = []
    for source in items:
        item = _clean(source.item, youtube_id, sentences, notes)
        if item is not None:
            kept.append(SourceItem(source.origin, item))
    return Cleaned(tuple(kept), sentences.substack)


def section_reason(label: str, run: list[Item], configured: set[str]) -> Reason | None:
    """`boilerplate` for a configured section, `badge` for an "Available on …" link block."""
    if matching.sentence_key(label) in configured:
        return "boilerplate"
    if AVAILABLE_ON.match(label) and all(
        isinstance(r, BulletList) or (isinstance(r, Paragraph) and links(r.spans)) for r in run
    ):
        return "badge"
    return None


def unmatched_rules(settings: Settings, dropped: Iterable[str]) -> list[tuple[str, str]]:
    """The configured rules that dropped none of `dropped` (the `boilerplate` notes of every post
    checked), as `(setting, rule)`: a paragraph rule matches a sentence's beginning, a section
    rule a whole label, as `_Sentences.reason` and `section_reason` apply them."""
    keys = [matching.sentence_key(text) for text in dropped]
    unmatched = [
        ("boilerplate_paragraphs", rule)
        for rule in settings.boilerplate_paragraphs
        if (rule_key := matching.sentence_key(rule)) and not any(k.startswith(rule_key) for k in keys)
    ]
    unmatched += [
        ("boilerplate_sections", rule)
        for rule in settings.boilerplate_sections
        if matching.sentence_key(rule) not in keys
    ]
    return unmatched


class _Sentences:
    """Judges one sentence at a time; remembers the first Substack post a furniture line named."""

    def __init__(self, settings: Settings) -> None:
        self.configured = [
            k for k in (matching.sentence_key(p) for p in settings.boilerplate_paragraphs) if k
        ]
        self.substack: str | None = None

    def reason(self, sentence: str, piece: tuple[Span, ...]) -> Reason | None:
        """Why one sentence is import furniture or configured boilerplate (None: it is content)."""
        key = matching.sentence_key(sentence)
        if any(key.startswith(c) for c in self.configured):
            return "boilerplate"
        # A bare URL in Markdown text is no link to pandoc, but "Available on Substack: <URL>" is one.
        for url in links(piece) or BARE_URL.findall(sentence):
            post = substack_post(url, sentence)
            if post is not None and self.substack is not None and post != self.substack:
                continue  # another Substack post (a friend's essay) is content
            if post is not None and (
                READ_MORE.search(sentence) or AVAILABLE_ON.match(sentence) or not unlinked_text(piece)
            ):
                self.substack = self.substack or post
                return "substack-link"
        return None

    def drop(self, spans: tuple[Span, ...], notes: list[Note]) -> tuple[Span, ...]:
        """The paragraph without the sentences that have a reason to go; each one reported whole."""
        text = plain_text(spans)
        kept: list[Span] = []
        for start, end in matching.sentence_bounds(text):
            piece = matching.slice_spans(spans, start, end)
            reason = self.reason(text[start:end].strip(), piece)
            if reason is None:
                kept.extend(piece)
            else:
                notes.append(Note(reason, whole(tidy(piece))))
        return tidy(kept)


def _clean(item: Item, youtube_id: str | None, sentences: _Sentences, notes: list[Note]) -> Item | None:
    """The item without its furniture; None when nothing of it stays."""
    if isinstance(item, Paragraph) and item.code_language is None:
        return _clean_paragraph(item, youtube_id, sentences, notes)
    if isinstance(item, BulletList):
        entries = _clean_entries(item.items, youtube_id, notes)
        return BulletList(entries, item.ordered) if entries else None
    return item  # code is text, never boilerplate; headings and rules stay


def _clean_paragraph(
    item: Paragraph, youtube_id: str | None, sentences: _Sentences, notes: list[Note]
) -> Item | None:
    text = plain_text(item.spans).strip()
    targets = links(item.spans)
    if not text:
        return None
    if text.strip("-–—*_ ") == "" and len(text) >= 3:  # noqa: RUF001 (dashes are data)
        return Rule()
    if (
        targets
        and all(is_own_video(u, youtube_id) for u in targets)
        and len(unlinked_text(item.spans)) <= 40
        and split_timestamp_line(text) is None  # a clickable chapter line is content
    ):
        notes.append(Note("own-video-link", whole(item.spans)))
        return None
    if targets and not unlinked_text(item.spans) and len(text) <= 60 and BADGE_TEXT.match(text):
        notes.append(Note("badge", whole(item.spans)))
        return None
    spans = sentences.drop(item.spans, notes)
    return Paragraph(spans) if spans else None


def _clean_entries(
    items: tuple[ListItem, ...], youtube_id: str | None, notes: list[Note]
) -> tuple[ListItem, ...]:
    """A list's entries without those that only link to the episode's own video."""
    out = []
    for item in items:
        targets = links(item.spans)
        children = _clean_entries(item.children, youtube_id, notes)
        if (
            targets
            and all(is_own_video(u, youtube_id) for u in targets)
            and not unlinked_text(item.spans)
            and not children
        ):
            notes.append(Note("own-video-link", whole(item.spans)))
            continue
        out.append(ListItem(item.spans, children))
    return tuple(out)
