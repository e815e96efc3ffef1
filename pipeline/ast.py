"""Turn pandoc's JSON AST into the neutral blocks, keeping only what every output can carry.

Images become their alt text, raw HTML its text, unsafe link schemes plain text; each such
loss is recorded as a Note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from .model import BulletList, ListItem, Note, Paragraph, Span
from .source import BIDI_CONTROLS

Origin = Literal["md", "html"]

PandocNode = dict[str, Any]
"""One element of pandoc's JSON AST, `{"t": tag, "c": contents}`.

The shape of "c" depends on the tag (a string, a list of nodes, an [attr, ...] array, or
absent), so the walkers below read it as `Any` and index it as pandoc's format defines.
"""


@dataclass(frozen=True)
class Heading:
    level: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Rule:
    """A `---` separator: a boundary between labelled blocks, never text."""


Item = Paragraph | BulletList | Heading | Rule


@dataclass(frozen=True)
class SourceItem:
    origin: Origin
    item: Item


@dataclass
class Walker:
    """Walks one AST; `notes` collects what could not be kept as it was."""

    resolve_url: Callable[[str], str | None]
    notes: list[Note]

    # --- inlines ------------------------------------------------------------------------

    def inlines(self, nodes: list[PandocNode], mark: Span | None = None) -> Iterator[Span]:
        mark = mark if mark is not None else Span("")
        words: list[str] = []  # runs of words and spaces become one Span, not one per word
        for node in nodes:
            kind = node["t"]
            if kind == "Str":
                words.append(node["c"])
            elif kind in ("Space", "SoftBreak", "LineBreak"):
                words.append(" ")
            else:
                if words:
                    yield replace(mark, text=BIDI_CONTROLS.sub("", "".join(words)))
                    words.clear()
                yield from self.inline(node, mark)
        if words:
            yield replace(mark, text=BIDI_CONTROLS.sub("", "".join(words)))

    def inline(self, node: PandocNode, mark: Span) -> Iterator[Span]:
        kind: str = node["t"]
        content: Any = node.get("c")  # None for Space, SoftBreak and LineBreak
        if kind == "Str":
            yield replace(mark, text=BIDI_CONTROLS.sub("", content))
        elif kind in ("Space", "SoftBreak", "LineBreak"):
            yield replace(mark, text=" ")
        elif kind == "Strong":
            yield from self.inlines(content, replace(mark, strong=True))
        elif kind == "Emph":
            yield from self.inlines(content, replace(mark, emph=True))
        elif kind in ("Underline", "Strikeout", "SmallCaps", "Superscript", "Subscript"):
            yield from self.inlines(content, mark)
        elif kind == "Span" or kind == "Cite":
            yield from self.inlines(content[1], mark)
        elif kind == "Quoted":
            quote = '"' if content[0]["t"] == "DoubleQuote" else "'"
            yield replace(mark, text=quote)
            yield from self.inlines(content[1], mark)
            yield replace(mark, text=quote)
        elif kind == "Code":
            yield replace(mark, text=BIDI_CONTROLS.sub("", content[1]), code=True)
        elif kind == "Math":
            yield replace(mark, text=content[1])
        elif kind == "Link":
            yield from self.link(content, mark)
        elif kind == "Image":
            alt = "".join(s.text for s in self.inlines(content[1]))
            self.notes.append(Note("dropped", f"image {content[2][0][:80]!r} (kept its alt text {alt!r})"))
            if alt.strip():
                yield replace(mark, text=alt)
        elif kind == "RawInline":
            text = re.sub(r"<[^>]*>", "", content[1])
            if content[1].strip():
                self.notes.append(Note("dropped", f"raw {content[0]} markup {content[1][:60]!r}"))
            if text.strip():
                yield replace(mark, text=text)
        elif kind == "Note":
            self.notes.append(Note("dropped", "a footnote"))

    def link(self, content: list[Any], mark: Span) -> Iterator[Span]:
        target = BIDI_CONTROLS.sub("", content[2][0]).strip()
        url = self.resolve_url(target)
        children = list(self.inlines(content[1], mark))
        if url is None:
            if target:
                self.notes.append(
                    Note(
                        "changed",
                        f"link to {target[:80]!r} kept as text (not an http(s) or mailto address)",
                    )
                )
            yield from children
            return
        if not any(s.text.strip() for s in children):
            children = [replace(mark, text=url)]
        for span in children:
            yield replace(span, url=url)

    # --- blocks -------------------------------------------------------------------------

    def blocks(self, nodes: list[PandocNode], origin: Origin) -> Iterator[SourceItem]:
        for node in nodes:
            yield from self.block(node, origin)

    def block(self, node: PandocNode, origin: Origin) -> Iterator[SourceItem]:
        kind: str = node["t"]
        content: Any = node.get("c")  # None for HorizontalRule
        if kind in ("Para", "Plain"):
            yield SourceItem(origin, Paragraph(tidy(self.inlines(content))))
        elif kind == "Header":
            yield SourceItem(origin, Heading(content[0], tidy(self.inlines(content[2]))))
        elif kind == "BulletList":
            yield SourceItem(origin, BulletList(tuple(self.list_item(i) for i in content)))
        elif kind == "OrderedList":
            yield SourceItem(origin, BulletList(tuple(self.list_item(i) for i in content[1]), ordered=True))
        elif kind == "Div":
            inner: Origin = "html" if "from-html" in content[0][1] else origin
            yield from self.blocks(content[1], inner)
        elif kind in ("BlockQuote", "Figure"):
            yield from self.blocks(content if kind == "BlockQuote" else content[2], origin)
        elif kind == "LineBlock":
            for line in content:
                yield SourceItem(origin, Paragraph(tidy(self.inlines(line))))
        elif kind == "CodeBlock":
            yield SourceItem(origin, Paragraph((Span(BIDI_CONTROLS.sub("", content[1]), code=True),)))
        elif kind == "HorizontalRule":
            yield SourceItem(origin, Rule())
        elif kind == "Table":
            yield from self.table(content, origin)
        elif kind == "RawBlock":
            if content[1].strip():
                self.notes.append(Note("dropped", f"raw {content[0]} block {content[1][:60]!r}"))
        elif kind == "DefinitionList":
            for term, definitions in content:
                yield SourceItem(origin, Paragraph(tidy(self.inlines(term))))
                for definition in definitions:
                    yield from self.blocks(definition, origin)

    def list_item(self, blocks: list[PandocNode]) -> ListItem:
        spans: list[Span] = []
        children: list[ListItem] = []
        for node in blocks:
            for source in self.block(node, "md"):
                item = source.item
                if isinstance(item, BulletList):
                    children.extend(item.items)
                elif isinstance(item, Paragraph | Heading):
                    if spans and item.spans:
                        spans.append(Span(" "))
                    spans.extend(item.spans)
        return ListItem(tidy(spans), tuple(children))

    def table(self, content: list[Any], origin: Origin) -> Iterator[SourceItem]:
        # Tables have no place in descriptions or email text: one paragraph per row.
        self.notes.append(Note("changed", "a table was flattened to one paragraph per row"))
        head, bodies = content[3], content[4]
        rows = list(head[1]) + [row for body in bodies for row in body[2] + body[3]]
        for row in rows:
            cells = []
            for cell in row[1]:
                text = [s for b in cell[4] for si in self.block(b, origin) for s in _spans_of(si.item)]
                cells.append(tidy(text))
            joined: list[Span] = []
            for index, cell_spans in enumerate(cells):
                if index:
                    joined.append(Span(" | "))
                joined.extend(cell_spans)
            yield SourceItem(origin, Paragraph(tidy(joined)))


def _spans_of(item: Item) -> tuple[Span, ...]:
    return item.spans if isinstance(item, Paragraph | Heading) else ()


def tidy(spans: Any) -> tuple[Span, ...]:
    """Collapse runs of white space across spans and trim both ends."""
    out: list[Span] = []
    previous_space = True
    for span in spans:
        text = re.sub(r"\s+", " ", span.text.replace("\u00a0", " "))
        if previous_space:
            text = text.lstrip(" ")
        if not text:
            continue
        previous_space = text.endswith(" ")
        out.append(span if text == span.text else replace(span, text=text))
    while out:
        last = out[-1]
        stripped = last.text.rstrip(" ")
        if stripped:
            out[-1] = last if stripped == last.text else replace(last, text=stripped)
            break
        out.pop()
    return tuple(out)

