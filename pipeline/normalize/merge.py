"""The Markdown and feed-HTML copies of a body merged into one: one copy of every sentence.

The Markdown wording is kept where both copies have a sentence; the parts only the HTML copy
has are kept where they stand (after the Markdown they follow, or after what they matched).
Each HTML sentence left out for its twin is reported, and so is a link only the HTML copy had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..model import BulletList, Note, Paragraph, Span
from ..pandoc.blocks import Item, SourceItem, tidy
from ..text.block_writers import plain_text
from . import matching
from .spans import SENTENCE_FINAL, item_links, links, list_entries, whole


def merge_copies(items: Sequence[SourceItem], notes: list[Note]) -> list[Item]:
    """One copy of every sentence: Markdown wording where both have it, HTML-only parts kept in place."""
    markdown = _Markdown.of(items)
    if not any(s.origin == "html" for s in items):
        return list(markdown.items)
    placed = _place_html(items, markdown, notes)

    # A twin kept for its words may lack a link the HTML copy had: that link is named, a warning.
    md_links = {url for block in markdown.items for url in item_links(block)}
    for url in dict.fromkeys(placed.twin_links):
        if url not in md_links:
            notes.append(Note("dropped", f"{url} (a link of the HTML copy; its Markdown twin has no link)"))
    return placed.interleave(markdown.items)


@dataclass(frozen=True)
class _Markdown:
    """The Markdown copy: its items in order, its sentences indexed, its lists as sets of keys."""

    items: tuple[Item, ...]
    index: matching.MarkdownIndex
    position: dict[int, int]  # item number in the body -> position among the Markdown items
    lists: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, items: Sequence[SourceItem]) -> _Markdown:
        index = matching.MarkdownIndex()
        output: list[Item] = []
        position: dict[int, int] = {}
        lists: list[frozenset[str]] = []
        for number, source in enumerate(items):
            if source.origin != "md":
                continue
            if isinstance(source.item, Paragraph) and source.item.code_language is None:
                index.add_paragraph(number, plain_text(source.item.spans))
                position[number] = len(output)
            elif isinstance(source.item, BulletList):
                lists.append(_list_keys(source.item))
            output.append(source.item)
        return cls(tuple(output), index, position, tuple(lists))

    def has_list_of(self, item: BulletList) -> bool:
        """True when a Markdown list holds every entry of `item`."""
        return bool(self.lists) and any(_list_keys(item) <= keys for keys in self.lists)


@dataclass
class _Placed:
    """HTML items to insert, each after a Markdown position (-1: before the first)."""

    inserts: list[tuple[int, int, Item]] = field(default_factory=list)  # (position, order, item)
    twin_links: list[str] = field(default_factory=list)  # links of HTML pieces whose twin is kept

    def interleave(self, markdown: Sequence[Item]) -> list[Item]:
        by_pointer: dict[int, list[Item]] = {}
        for position, _, item in sorted(self.inserts, key=lambda t: (t[0], t[1])):
            by_pointer.setdefault(position, []).append(item)
        merged: list[Item] = list(by_pointer.get(-1, []))
        for position, item in enumerate(markdown):
            merged.append(item)
            merged.extend(by_pointer.get(position, []))
        return merged


def _place_html(items: Sequence[SourceItem], markdown: _Markdown, notes: list[Note]) -> _Placed:
    """Where each HTML item goes: after the Markdown that precedes it, or after what it matched."""
    placed = _Placed()
    index = markdown.index
    pointer = -1
    md_seen = -1
    html_items = [(n, s.item) for n, s in enumerate(items) if s.origin == "html"]
    for order, (number, item) in enumerate(html_items):
        md_seen = max([markdown.position[k] for k in markdown.position if k < number], default=md_seen)
        pointer = max(pointer, md_seen)
        if isinstance(item, BulletList) and markdown.has_list_of(item):
            for entry in list_entries(item.items):
                notes.append(Note("merged", whole(entry.spans)))
                placed.twin_links.extend(links(entry.spans))
            continue
        if not isinstance(item, Paragraph) or item.code_language is not None or not index.sentences:
            placed.inserts.append((pointer, order, item))
            continue
        text = plain_text(item.spans)
        is_last_paragraph = not any(isinstance(i, Paragraph) for _, i in html_items[order + 1 :])
        may_be_cut = not SENTENCE_FINAL.search(text.strip()) and (is_last_paragraph or len(text) > 40)
        matches = matching.match_paragraph(index, text, may_be_cut)
        matching.resolve_rewordings(index, matches)
        kept_spans: list[Span] = []
        for match in matches:
            if match.md is None:
                if match.kind != "empty":
                    piece = tidy(matching.slice_spans(item.spans, match.start, match.end))
                    if kept_spans and piece:
                        kept_spans.append(Span(" "))
                    kept_spans.extend(piece)
                continue
            pointer = max(pointer, markdown.position[index.sentences[match.md].paragraph])
            piece = tidy(matching.slice_spans(item.spans, match.start, match.end))
            _note_match(match, whole(piece), index.sentences[match.md].text, notes)
            placed.twin_links.extend(links(piece))
        if kept_spans:
            placed.inserts.append((pointer, order, Paragraph(tidy(kept_spans))))
    return placed


def _list_keys(item: BulletList) -> frozenset[str]:
    keys: set[str] = set()
    stack = list(item.items)
    while stack:
        entry = stack.pop()
        keys.add(matching.sentence_key(plain_text(entry.spans)))
        stack.extend(entry.children)
    return frozenset(keys)


def _note_match(match: matching.SentenceMatch, html: str, md_text: str, notes: list[Note]) -> None:
    """Report one HTML sentence whose Markdown twin is kept, naming it (and the twin) in full."""
    if match.kind in ("fuzzy", "reworded"):
        notes.append(Note("reworded", f'kept the Markdown "{md_text}" for the HTML "{html}"'))
    elif match.kind == "truncated":
        notes.append(Note("merged", f"{html} (cut off; the Markdown has the whole sentence)"))
    else:
        notes.append(Note("merged", html))
