"""What normalization asks of a run of spans: its links, its words outside links, and the whole
of it that a report line names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..model import BulletList, ListItem, Paragraph, Span
from ..pandoc.blocks import Heading, Item
from ..text.block_writers import plain_text

SENTENCE_FINAL = re.compile(r"[.!?…][\"'”’)]*$")  # noqa: RUF001 (quotes are data)
"""Text that ends as a sentence does (a paragraph of prose, not a label or a list entry)."""


def links(spans: Iterable[Span]) -> list[str]:
    """The link targets of `spans`, in order, repeats kept."""
    return [s.url for s in spans if s.url]


def unlinked_text(spans: Iterable[Span]) -> str:
    """The words of `spans` that are not a link's text."""
    return "".join(s.text for s in spans if not s.url).strip()


def whole(spans: tuple[Span, ...]) -> str:
    """A piece's text and every link target in it, in full: what a report line names."""
    text = plain_text(spans).strip()
    urls = [u for u in dict.fromkeys(links(spans)) if u not in text]
    return " ".join([text, *urls]).strip()


def is_strong_only(spans: tuple[Span, ...]) -> bool:
    """True when every word of `spans` is bold (a label written as `**Links**`)."""
    words = [s for s in spans if s.text.strip()]
    return bool(words) and all(s.strong for s in words)


def is_emphasis_only(spans: tuple[Span, ...]) -> bool:
    """True when every word of `spans` is bold or italic (`**Links**`, `*References*`)."""
    words = [s for s in spans if s.text.strip()]
    return bool(words) and all(s.strong or s.emph for s in words)


def item_spans(item: Item) -> tuple[Span, ...]:
    """The spans of a paragraph or heading; none for a list or a rule."""
    return item.spans if isinstance(item, Paragraph | Heading) else ()


def item_links(item: Item) -> list[str]:
    """Every link target of an item, a list's entries at any depth included."""
    if isinstance(item, BulletList):
        return [url for entry in list_entries(item.items) for url in links(entry.spans)]
    return links(item_spans(item))


def list_entries(items: Iterable[ListItem]) -> Iterator[ListItem]:
    """Every entry of a list, each followed by its children, depth first."""
    for entry in items:
        yield entry
        yield from list_entries(entry.children)
