"""Everything that happens to a post's body before pandoc sees it: control characters out
(reported), Liquid resolved, HTML blocks written again well-formed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SourceError
from ..model import LiquidLeft, Note
from ..settings.config import Settings
from .liquid import resolve_liquid
from .post_file import INVISIBLE, RawPost

if TYPE_CHECKING:
    from markdown_it.token import Token


@dataclass(frozen=True)
class Prepared:
    """A post read and made ready for pandoc: control characters out, Liquid resolved, HTML well-formed."""

    raw: RawPost
    body: str
    notes: tuple[Note, ...]
    depends_on: tuple[Path, ...] = ()  # posts its `{% post_url %}` links were resolved from
    liquid: LiquidLeft = field(default_factory=LiquidLeft)  # Jekyll's tags left, Liquid-looking text


def prepare(raw: RawPost, settings: Settings) -> Prepared:
    """Everything that happens to a body before pandoc sees it."""
    notes: list[Note] = []
    _check_nesting(raw)
    body = _drop_control_characters(raw, notes)
    body, liquid_notes, depends_on, liquid = resolve_liquid(body, settings, raw.front_matter.values, raw.path)
    notes += liquid_notes
    return Prepared(raw, well_formed_html(body), tuple(notes), tuple(depends_on), liquid)


# HTML parsers (html5lib, pandoc's) take time in the square of the nesting depth: 20,000
# `<div>`s one inside the other cost 30 s. No post nests anywhere near this deep.
MAX_DEPTH = 200
_START_OR_END = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")


def html_depth(html: str) -> tuple[int, int]:
    """The deepest nesting of elements in `html`, and the offset of the tag that reaches it.

    One pass: an end tag closes the latest open element of its name and those opened after it
    (an end tag with nothing to close, a void element and a self-closing tag change nothing).
    """
    stack: list[str] = []
    open_count: Counter[str] = Counter()
    deepest, where = 0, 0
    for match in _START_OR_END.finditer(html):
        name = match.group(2).lower()
        if match.group(1):
            if open_count[name]:
                while stack:
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
        elif name not in _OpenElements.VOID and not match.group(3).rstrip().endswith("/"):
            stack.append(name)
            open_count[name] += 1
            if len(stack) > deepest:
                deepest, where = len(stack), match.start()
    return deepest, where


def _check_nesting(raw: RawPost) -> None:
    """Refuse a body whose HTML nests deeper than MAX_DEPTH, before any parser sees it.

    Each HTML block, and each paragraph's inline HTML, is measured as the parsers read it: on
    its own. Tags in code are text.
    """
    body = raw.body
    if body.count("<") <= MAX_DEPTH:
        return
    from .readers import MARKDOWN

    for token in MARKDOWN.parse(body):
        if token.map is None:
            continue
        if token.type == "html_block":
            html = token.content
        elif token.type == "inline" and token.children:
            html = "".join(c.content for c in token.children if c.type == "html_inline")
        else:
            continue
        depth, offset = html_depth(html)
        if depth > MAX_DEPTH:
            line = (
                raw.body_line
                + token.map[0]
                + (html.count("\n", 0, offset) if token.type == "html_block" else 0)
            )
            raise SourceError(
                f"its HTML nests {depth:,} elements deep; at most {MAX_DEPTH} can be read"
                " (an unclosed tag repeated?)",
                path=raw.path,
                line=line,
            )


def well_formed_html(body: str) -> str:
    """The body with each HTML block, at any depth, parsed and written again by html5lib.

    pandoc's HTML reader takes exponential time on some ill-formed feed HTML (unclosed `<ul>`
    repeated, with or without `<li><a>`: 30 s for 1 KB); html5lib builds the tree a browser
    would, in linear time, and writes it well-formed, so pandoc reads the same content in
    milliseconds. Nothing is dropped or sanitized (the lossless check reads the author's body,
    not this one). Only HTML blocks as CommonMark finds them change, never code spans or fenced
    code. A block in a blockquote or a list item keeps each line's container prefix (`> `, the
    item's marker or indentation) and may get shorter, never longer: a blank line there would
    end the container or loosen the list. A block whose new text would not be one HTML block of
    as many lines (a comment with blank lines, text html5lib moves out of a `<table>`) stays as
    written, with the end tags of the elements it leaves open added to its last line. Inline
    HTML (tags inside a paragraph) is balanced by the Lua filter, where a paragraph is one string.
    """
    if "<" not in body:
        return body
    from .readers import MARKDOWN

    tokens = MARKDOWN.parse(body)
    rewritten = _rewrite_blocks(body, tokens, nested=True)
    if rewritten != body and _shape(MARKDOWN.parse(rewritten)) != _shape(tokens):
        # a rewrite changed the Markdown around it: top-level blocks as before, end tags elsewhere
        return _rewrite_blocks(body, tokens, nested=False)
    return rewritten


def _rewrite_blocks(body: str, tokens: Sequence[Token], *, nested: bool) -> str:
    """`body` with its top-level HTML blocks (and nested ones when `nested`) written again by
    html5lib, and the end tags added to those it could not write again."""
    lines = body.split("\n")
    changed = False
    for token in reversed(tokens):  # from the end: the line numbers before stay valid
        if token.type != "html_block" or token.map is None:
            continue
        start, end = token.map
        new: list[str] | None = None
        if token.level == 0:
            original = "\n".join(lines[start:end])
            text = _reserialize(original)
            if text == original:
                continue
            new = None if text is None else text.split("\n")
        elif nested:
            new = _rewrite_nested(lines[start:end], token.content)
        if new is None:
            new = _closed(lines[start:end], token.content)
        if new is not None:
            lines[start:end] = new
            changed = True
    return "\n".join(lines) if changed else body


def _rewrite_nested(lines: list[str], content: str) -> list[str] | None:
    """The lines of an HTML block inside containers written again, each after its own prefix.

    `content` is the block without its container prefixes, as markdown-it reads it; None when
    a line does not end with its content (a tab the container split) or it cannot be written
    again. White space before the first tag joins the first prefix (a tab there reads as code).
    """
    inner = _content_lines(content)
    if len(inner) != len(lines):
        return None
    inner[0] = inner[0].lstrip(" \t")
    prefixes: list[str] = []
    for line, text in zip(lines, inner, strict=True):
        if not line.endswith(text):
            return None
        prefixes.append(line[: len(line) - len(text)])
    new = _reserialize("\n".join(inner))
    if new is None:
        return None
    new_lines = new.rstrip("\n").split("\n")  # no padding: a blank line would end the container
    if new_lines == inner:
        return None
    return [prefix + text for prefix, text in zip(prefixes, new_lines, strict=False)]


def _content_lines(content: str) -> list[str]:
    return (content[:-1] if content.endswith("\n") else content).split("\n")


def _closed(lines: list[str], content: str) -> list[str] | None:
    """The lines of an HTML block as written, the end tags it lacks after the last; None when
    it lacks none. pandoc's reader is fast on the same HTML once its elements are closed."""
    missing = _missing_end_tags(content)
    if not missing:
        return None
    return [*lines[:-1], lines[-1] + missing]


def _missing_end_tags(html: str) -> str:
    """The end tags of the elements `html` leaves open, innermost first ("" when none)."""
    tags = _OpenElements()
    try:
        tags.feed(html)
        tags.close()
    except AssertionError:  # html.parser on a malformed declaration
        return ""
    return "".join(f"</{tag}>" for tag in reversed(tags.open))


class _OpenElements(HTMLParser):
    """The elements left open: an end tag closes the latest element of its name and those opened
    after it; an end tag with nothing to close, a void element (`<br>`) and a self-closing tag
    (`<x/>`) change nothing. `<script>` and `<style>` content is text, as html5lib reads it."""

    VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param"}
        | {"source", "track", "wbr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]


def _reserialize(html: str) -> str | None:
    """`html` as html5lib writes it, as many lines long; None when it would not stay one block."""
    import html5lib

    from .readers import MARKDOWN, parse_html

    try:
        text: str = html5lib.serialize(
            parse_html(html), tree="etree", omit_optional_tags=False, quote_attr_values="always"
        )
    except RecursionError:
        return None
    text = text.rstrip("\n")
    count = html.count("\n") - text.count("\n")
    if count < 0 or any(not line.strip() for line in text.split("\n")):
        return None
    text += "\n" * count
    tokens = MARKDOWN.parse(text)
    if len(tokens) != 1 or tokens[0].type != "html_block":
        return None
    return text


def _shape(tokens: Sequence[Token]) -> list[tuple[str, int, str]]:
    """What a rewrite must keep: every token's type and depth, and the content of all but HTML blocks."""
    return [(t.type, t.level, "" if t.type == "html_block" else t.content) for t in tokens]


def _drop_control_characters(raw: RawPost, notes: list[Note]) -> str:
    """The body without C0 controls (tab and newline stay), DEL, C1 controls and bidi controls.

    They reach terminals, `post.md` and the email otherwise; each is reported with its line.
    """
    body = raw.body
    if not INVISIBLE.search(body):
        return body
    for match in INVISIBLE.finditer(body):
        char = match.group()
        line = raw.body_line + body.count("\n", 0, match.start())
        name = unicodedata.name(char, "")  # C0 and C1 controls have no name
        label = f"U+{ord(char):04X}" + (f" {name}" if name else "")
        notes.append(Note("control-characters", f"{label} removed on line {line}"))
    return INVISIBLE.sub("", body)
