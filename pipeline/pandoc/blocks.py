"""Turn pandoc's JSON AST into the neutral blocks, keeping only what every output can carry.

Images become their alt text, raw HTML its text, unsafe link schemes plain text; each such
loss is recorded as a Note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ..model import BulletList, ListItem, Note, Paragraph, Span
from ..source.post_file import BIDI_CONTROLS
from ..text.chapters import split_timestamp_line
from ..text.links import href_as_read, text_is_url
from . import embeds

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
    ends: dict[int, dict[int, int]] = field(default_factory=dict)
    """Per list of sibling nodes (by id, while the AST is alive): container open -> close index."""
    comments: list[tuple[Item | None, str]] = field(default_factory=list)
    """The HTML comments met, as pandoc read them, each with the item it stands before (None:
    nothing followed it)."""
    _pending: list[str] = field(default_factory=list)  # met, but no item after them yet

    # --- inlines ------------------------------------------------------------------------

    def inlines(self, nodes: list[PandocNode], mark: Span | None = None) -> Iterator[Span]:
        mark = mark if mark is not None else Span("")
        words: list[str] = []  # runs of words and spaces become one Span, not one per word
        index = 0
        while index < len(nodes):
            node = nodes[index]
            kind = node["t"]
            if kind == "Str":
                words.append(node["c"])
            elif kind in ("Space", "SoftBreak", "LineBreak"):
                words.append(" ")
            elif kind == "RawInline" and (taken := self.raw_embed(nodes, index)):
                index += taken
                continue
            else:
                if words:
                    yield replace(mark, text=BIDI_CONTROLS.sub("", "".join(words)))
                    words.clear()
                yield from self.inline(node, mark)
            index += 1
        if words:
            yield replace(mark, text=BIDI_CONTROLS.sub("", "".join(words)))

    def _element_ends(self, nodes: list[PandocNode], raw_kind: str) -> dict[int, int]:
        """Where each container element opened among `nodes` is closed, in one pass."""
        key = id(nodes)
        if key not in self.ends:
            ends: dict[int, int] = {}
            open_at: dict[str, list[int]] = {}
            for position, node in enumerate(nodes):
                if node["t"] != raw_kind or node["c"][0] != "html":
                    continue
                tag = embeds.first_tag(node["c"][1])
                if tag is None or tag.name not in embeds.CONTAINERS or (tag.whole and not tag.closing):
                    continue
                if not tag.closing:
                    open_at.setdefault(tag.name, []).append(position)
                elif open_at.get(tag.name):
                    ends[open_at[tag.name].pop()] = position
            self.ends[key] = ends
        return self.ends[key]

    def raw_embed(self, nodes: list[PandocNode], index: int) -> int:
        """How many of `nodes` from `index` on are one player, script, form … (0: not one).

        The element ends at its closing tag among the same siblings; an element that is never
        closed is its opening tag alone, so it cannot take the rest of the body with it.
        """
        raw_kind = nodes[index]["t"]
        fmt, raw = nodes[index]["c"]
        tag = embeds.first_tag(raw) if fmt == "html" else None
        if tag is None or not embeds.is_embed(tag):
            return 0
        if tag.closing:
            return 1  # a stray end tag: markup only
        end = index
        if tag.name in embeds.CONTAINERS and not tag.whole:
            end = self._element_ends(nodes, raw_kind).get(index, index)
        # Every word goes into the report, a script's and a style's code included: the author wrote it.
        inner = " ".join([embeds.text_of_raw(raw)] + [node_text(n) for n in nodes[index + 1 : end]])
        self.notes.append(Note(embeds.reason_for(tag), embeds.describe(tag, inner)))  # type: ignore[arg-type]
        return end - index + 1

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
        elif kind == "Link" and (badge := _badge(content)) is not None:
            self.notes.append(Note("badge", badge))
        elif kind == "Link":
            yield from self.link(content, mark)
        elif kind == "Image":
            alt = "".join(s.text for s in self.inlines(content[1]))
            self.notes.append(Note("embed", f"<img> {content[2][0]} (its alt text is kept: {alt!r})"))
            if alt.strip():  # where the image stood, in its sentence: `Text [alt] more text.`
                yield replace(mark, text=f"[{alt.strip()}]")
        elif kind == "RawInline":
            # Markup only (a stray `<span>`, `<br>`): its text, if any, stays; comments are kept apart.
            if content[0] == "html":
                self._pending.extend(embeds.comments_in(content[1]))
            text = embeds.text_of_raw(content[1]) if content[0] == "html" else content[1]
            if text.strip():
                yield replace(mark, text=text)
        elif kind == "Note":
            self.notes.append(Note("dropped", "a footnote"))

    def link(self, content: list[Any], mark: Span) -> Iterator[Span]:
        target = href_as_read(BIDI_CONTROLS.sub("", content[2][0]))
        url = self.resolve_url(target)
        children = list(self.inlines(content[1], mark))
        if url is None:
            if target:
                self.notes.append(Note("dropped", target))  # the text stays, without its link
            yield from children
            return
        shown = "".join(s.text for s in children)
        if not shown.strip():
            children = [replace(mark, text=url)]
        elif url != target and text_is_url(shown, target):
            # `[https://youtu.be/x?si=…](https://youtu.be/x?si=…)`, `<https://…>`: the text
            # shows the clean URL; the note naming the whole original URL accounts for it.
            children = [replace(children[0], text=url)]
        for span in children:
            # A link inside this one (nested unclosed `<a>` in feed HTML) keeps its own target.
            yield replace(span, url=span.url or url)

    # --- blocks -------------------------------------------------------------------------

    def blocks(self, nodes: list[PandocNode], origin: Origin) -> Iterator[SourceItem]:
        index = 0
        while index < len(nodes):
            if nodes[index]["t"] == "RawBlock" and (taken := self.raw_embed(nodes, index)):
                index += taken
                continue
            for source in self.block(nodes[index], origin):
                if self._pending and _has_content(source.item):
                    self.comments.extend((source.item, text) for text in self._pending)
                    self._pending.clear()
                yield source
            index += 1

    def comments_after_the_body(self) -> None:
        """The comments no item followed: they stand after the body."""
        self.comments.extend((None, text) for text in self._pending)
        self._pending.clear()

    def block(self, node: PandocNode, origin: Origin) -> Iterator[SourceItem]:
        kind: str = node["t"]
        content: Any = node.get("c")  # None for HorizontalRule
        if kind in ("Para", "Plain"):
            for line in _chapter_lines(content):
                yield SourceItem(origin, Paragraph(tidy(self.inlines(line))))
        elif kind == "Header":
            yield SourceItem(origin, Heading(content[0], tidy(self.inlines(content[2]))))
        elif kind == "BulletList":
            yield SourceItem(origin, BulletList(tuple(self.list_item(i) for i in content)))
        elif kind == "OrderedList":
            yield SourceItem(origin, BulletList(tuple(self.list_item(i) for i in content[1]), ordered=True))
        elif kind == "Div":
            inner: Origin = "html" if "from-html" in content[0][1] else origin
            yield from self.blocks(content[1], inner)
        elif kind == "BlockQuote":
            yield from self.blocks(content, origin)
        elif kind == "Figure":  # [attr, [short caption, caption blocks], body blocks]
            yield from self.blocks(content[2], origin)
            yield from self.blocks(content[1][1], origin)
        elif kind == "LineBlock":
            for line in content:
                yield SourceItem(origin, Paragraph(tidy(self.inlines(line))))
        elif kind == "CodeBlock":
            language = content[0][1][0] if content[0][1] else ""
            code = BIDI_CONTROLS.sub("", content[1]).rstrip("\n")
            if code.strip():
                yield SourceItem(origin, Paragraph((Span(code, code=True),), code_language=language))
        elif kind == "HorizontalRule":
            yield SourceItem(origin, Rule())
        elif kind == "Table":
            yield from self.table(content, origin)
        elif kind == "RawBlock":
            # Markup only (`<p>` left open by a cut feed, `<div>`): its text, if any, stays.
            if content[0] == "html":
                self._pending.extend(embeds.comments_in(content[1]))
            text = embeds.text_of_raw(content[1]) if content[0] == "html" else content[1]
            if text.strip():
                yield SourceItem(origin, Paragraph((Span(BIDI_CONTROLS.sub("", text)),)))
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


def _chapter_lines(inlines: list[PandocNode]) -> list[list[PandocNode]]:
    """A paragraph of timestamp lines typed without blank lines, as one paragraph per line.

    `00:00 Intro` / `02:15 Why caches lie` on lines of their own are chapters, one each; a first
    line without a time ("Chapters:") is their label. Any other paragraph stays whole.
    """
    lines: list[list[PandocNode]] = [[]]
    for node in inlines:
        if node["t"] in ("SoftBreak", "LineBreak"):
            lines.append([])
        else:
            lines[-1].append(node)
    if len(lines) < 2:
        return [inlines]
    stamped = [split_timestamp_line(node_text(line)) is not None for line in lines]
    if sum(stamped[1:]) >= 2 and all(stamped[1:]):
        return lines
    return [inlines]


def node_text(node: Any) -> str:
    """All the words of a pandoc node, for naming what a removed element held."""
    if isinstance(node, list):
        return " ".join(t for t in (node_text(n) for n in node) if t)
    if not isinstance(node, dict):
        return ""
    kind = node.get("t")
    content: Any = node.get("c")
    if kind == "Str":
        return str(content)
    if kind in ("Code", "CodeBlock", "Math"):
        return str(content[1])
    if kind in ("RawInline", "RawBlock"):
        return embeds.text_of_raw(content[1])
    if kind == "Link":  # its words, then where it pointed: a removed element's links are named too
        return " ".join(t for t in (node_text(content[1]), str(content[2][0])) if t)
    return node_text(content) if isinstance(content, list) else ""


def _badge(content: list[Any]) -> str | None:
    """The report's words for a link that is only a platform badge image, else None."""
    images = [n for n in content[1] if n["t"] not in ("Space", "SoftBreak", "LineBreak")]
    if not images or any(n["t"] != "Image" for n in images):
        return None
    alt = " ".join(node_text(n["c"][1]) for n in images)
    href = content[2][0]
    if not embeds.is_badge(alt, href):
        return None
    sources = " ".join(n["c"][2][0] for n in images)
    return " ".join(p for p in (alt, href, sources) if p)


def _has_content(item: Item) -> bool:
    """Whether `item` stays a block of its own (an empty paragraph is dropped later)."""
    return not isinstance(item, Paragraph) or bool(item.spans)


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
