"""Everything that happens to a post's body before pandoc sees it: control characters out
(reported), Liquid resolved, HTML blocks written again well-formed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .liquid import resolve_liquid
from .model import Note
from .source import INVISIBLE, RawPost


@dataclass(frozen=True)
class Prepared:
    """A post read and made ready for pandoc: control characters out, Liquid resolved, HTML well-formed."""

    raw: RawPost
    body: str
    notes: tuple[Note, ...]
    depends_on: tuple[Path, ...] = ()  # posts its `{% post_url %}` links were resolved from


def prepare(raw: RawPost, settings: Settings) -> Prepared:
    """Everything that happens to a body before pandoc sees it."""
    notes: list[Note] = []
    body = _drop_control_characters(raw, notes)
    body, liquid_notes, depends_on = resolve_liquid(body, settings, raw.front_matter.values, raw.path)
    notes += liquid_notes
    return Prepared(raw, well_formed_html(body), tuple(notes), tuple(depends_on))


def well_formed_html(body: str) -> str:
    """The body with each top-level HTML block parsed and written again by html5lib.

    pandoc's HTML reader takes exponential time on some ill-formed feed HTML (unclosed `<a>`
    repeated in list items: 30 s for 1 KB); html5lib builds the tree a browser would, in linear
    time, and writes it well-formed, so pandoc reads the same content in milliseconds. Nothing
    is dropped or sanitized (the lossless check reads the author's body, not this one). Only
    HTML blocks as CommonMark finds them change, never code spans or fenced code; a block whose
    new text would not be one HTML block of as many lines (a `<pre>` with blank lines, say)
    stays as written.
    """
    if "<" not in body:
        return body
    from .inventory import _MD

    lines = body.split("\n")
    changed = False
    for token in reversed(_MD.parse(body)):  # from the end: the line numbers before stay valid
        if token.type != "html_block" or token.level != 0 or token.map is None:
            continue
        start, end = token.map
        original = "\n".join(lines[start:end])
        rewritten = _reserialize(original)
        if rewritten is None or rewritten == original:
            continue
        lines[start:end] = rewritten.split("\n")
        changed = True
    return "\n".join(lines) if changed else body


def _reserialize(html: str) -> str | None:
    """`html` as html5lib writes it, as many lines long; None when it would not stay one block."""
    import html5lib

    from .inventory import _MD, _parse_html

    try:
        text: str = html5lib.serialize(
            _parse_html(html), tree="etree", omit_optional_tags=False, quote_attr_values="always"
        )
    except RecursionError:
        return None
    text = text.rstrip("\n")
    count = html.count("\n") - text.count("\n")
    if count < 0 or any(not line.strip() for line in text.split("\n")):
        return None
    text += "\n" * count
    tokens = _MD.parse(text)
    if len(tokens) != 1 or tokens[0].type != "html_block":
        return None
    return text


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
