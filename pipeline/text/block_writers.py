"""Render the neutral blocks (paragraphs, lists, spans) as Markdown, HTML or plain text.

Every output format uses these, so a link is written the same way everywhere.
"""

from __future__ import annotations

import dataclasses
import html
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..model import Block, BulletList, Inlines, ListItem, Paragraph, Span


def map_spans(blocks: Iterable[Block], change: Callable[[Span], Span]) -> tuple[Block, ...]:
    """The blocks with `change` applied to every span, nested list items included, in order."""

    def item(entry: ListItem) -> ListItem:
        return ListItem(tuple(map(change, entry.spans)), tuple(item(c) for c in entry.children))

    return tuple(
        dataclasses.replace(b, spans=tuple(map(change, b.spans)))
        if isinstance(b, Paragraph)
        else BulletList(tuple(item(i) for i in b.items), b.ordered)
        for b in blocks
    )


def plain_text(spans: Inlines) -> str:
    """The words of some spans, without marks or URLs."""
    return "".join(s.text for s in spans)


def _link_runs(spans: Inlines) -> Iterator[tuple[str | None, list[Span]]]:
    """Group consecutive spans that share one link target."""
    run: list[Span] = []
    url: str | None = None
    for span in spans:
        if run and span.url != url:
            yield url, run
            run = []
        url = span.url
        run.append(span)
    if run:
        yield url, run


# --- Markdown -----------------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"([\\`*\[\]<>|~])")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])(?=\s|$)")


def _md_escape(text: str) -> str:
    text = _MD_ESCAPE.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    # `&copy;`-like text must stay text, not become an entity.
    return re.sub(r"&(?=#?\w+;)", r"\\&", text)


def _md_marked(span: Span) -> str:
    if span.code:
        ticks = "``" if "`" in span.text else "`"
        pad = " " if span.text.startswith("`") or span.text.endswith("`") else ""
        return f"{ticks}{pad}{span.text}{pad}{ticks}"
    text = _md_escape(span.text)
    stripped = text.strip()
    if not stripped or not (span.strong or span.emph):
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    mark = ("**" if span.strong else "") + ("*" if span.emph else "")
    return f"{lead}{mark}{stripped}{mark[::-1]}{trail}"


def _md_url(url: str) -> str:
    if re.search(r"[\s()<>]", url):
        return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"
    return url


def spans_to_markdown(spans: Inlines) -> str:
    """Markdown for inline spans; a link whose text is its URL becomes an autolink."""
    out: list[str] = []
    for url, run in _link_runs(_merge_marks(spans)):
        inner = "".join(_md_marked(s) for s in run)
        if url is None:
            out.append(inner)
        elif plain_text(tuple(run)) == url and re.match(r"^(https?|mailto):[^\s<>]*$", url):
            out.append(f"<{url}>")
        else:
            out.append(f"[{inner}]({_md_url(url)})")
    text = "".join(out)
    text = _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    return " ".join(text.split("\n"))


def _merge_marks(spans: Inlines) -> Inlines:
    """Join neighbours with equal marks so `**a** **b**` is written as `**a b**`."""
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        prev = merged[-1] if merged else None
        if prev and (prev.url, prev.strong, prev.emph, prev.code) == (
            span.url,
            span.strong,
            span.emph,
            span.code,
        ):
            merged[-1] = Span(prev.text + span.text, span.url, span.strong, span.emph, span.code)
        else:
            merged.append(span)
    return tuple(merged)


def _md_items(items: Sequence[ListItem], ordered: bool, depth: int) -> Iterator[str]:
    indent = "  " * depth if not ordered else "   " * depth
    for number, item in enumerate(items, 1):
        bullet = f"{number}." if ordered else "-"
        yield f"{indent}{bullet} {spans_to_markdown(item.spans)}".rstrip()
        yield from _md_items(item.children, ordered, depth + 1)


def _code_lines(block: Paragraph) -> list[str]:
    return plain_text(block.spans).split("\n")


def _md_code_block(block: Paragraph) -> str:
    """A fenced code block, its fence longer than any run of backticks inside."""
    text = plain_text(block.spans)
    fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}{block.code_language or ''}\n{text}\n{fence}"


def blocks_to_markdown(blocks: Iterable[Block]) -> str:
    """Markdown for blocks, separated by blank lines, with no trailing newline."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph) and block.code_language is not None:
            parts.append(_md_code_block(block))
        elif isinstance(block, Paragraph):
            parts.append(spans_to_markdown(block.spans))
        else:
            parts.append("\n".join(_md_items(block.items, block.ordered, 0)))
    return "\n\n".join(p for p in parts if p)


# --- HTML ---------------------------------------------------------------------------------


def html_text(text: str) -> str:
    """Text escaped as nh3 (html5ever) writes it, `&nbsp;` included: sanitizing changes nothing."""
    return html.escape(text, quote=False).replace("\u00a0", "&nbsp;")


def html_attribute(value: str) -> str:
    """A double-quoted attribute value escaped as nh3 writes it (`'` stays as it is)."""
    return html_text(value).replace('"', "&quot;")


def spans_to_html(spans: Inlines) -> str:
    """Escaped HTML for inline spans (`a`, `strong`, `em`, `code`)."""
    out: list[str] = []
    for url, run in _link_runs(_merge_marks(spans)):
        inner = ""
        for span in run:
            text = html_text(span.text)
            if span.code:
                text = f"<code>{text}</code>"
            if span.emph:
                text = f"<em>{text}</em>"
            if span.strong:
                text = f"<strong>{text}</strong>"
            inner += text
        if url is None:
            out.append(inner)
        else:
            out.append(f'<a href="{html_attribute(url)}">{inner}</a>')
    return "".join(out)


def _html_items(items: Sequence[ListItem], ordered: bool) -> str:
    tag = "ol" if ordered else "ul"
    inner = "".join(
        f"<li>{spans_to_html(i.spans)}" + (_html_items(i.children, ordered) if i.children else "") + "</li>"
        for i in items
    )
    return f"<{tag}>{inner}</{tag}>"


def blocks_to_html(blocks: Iterable[Block]) -> str:
    """HTML for blocks: `p`, `ul`/`ol`, `li` and the inline tags of `spans_to_html`."""
    parts = []
    for block in blocks:
        if isinstance(block, Paragraph) and block.code_language is not None:
            lines = "<br>".join(html_text(line) for line in _code_lines(block))
            parts.append(f"<p><code>{lines}</code></p>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{spans_to_html(block.spans)}</p>")
        else:
            parts.append(_html_items(block.items, block.ordered))
    return "\n".join(parts)


# --- Plain text ---------------------------------------------------------------------------


def spans_to_text(spans: Inlines) -> str:
    """Plain text that keeps every URL: `text (https://…)`, or the bare URL when it is the text."""
    out: list[str] = []
    for url, run in _link_runs(spans):
        text = plain_text(tuple(run))
        if url is None:
            out.append(text)
        elif text.strip() == url or not text.strip():
            out.append(url)
        else:
            out.append(f"{text} ({url})")
    return " ".join("".join(out).split())


def _text_items(items: Sequence[ListItem], ordered: bool, depth: int, width: int | None) -> Iterator[str]:
    for number, item in enumerate(items, 1):
        bullet = f"{number}. " if ordered else "- "
        indent = "  " * depth
        line = spans_to_text(item.spans)
        if width:
            yield textwrap.fill(
                line,
                width,
                initial_indent=indent + bullet,
                subsequent_indent=indent + " " * len(bullet),
                break_long_words=False,
                break_on_hyphens=False,
            )
        else:
            yield indent + bullet + line
        yield from _text_items(item.children, ordered, depth + 1, width)


def blocks_to_text(blocks: Iterable[Block], width: int | None = None) -> str:
    """Plain text for blocks, URLs kept; wrapped at `width` columns when given."""
    parts = []
    for block in blocks:
        if isinstance(block, Paragraph) and block.code_language is not None:
            parts.append("\n".join("    " + line for line in _code_lines(block)))
        elif isinstance(block, Paragraph):
            text = spans_to_text(block.spans)
            if width:
                text = textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)
            parts.append(text)
        elif isinstance(block, BulletList):
            parts.append("\n".join(_text_items(block.items, block.ordered, 0, width)))
    return "\n\n".join(p for p in parts if p)


def first_sentence(blocks: Iterable[Block]) -> str:
    """The first sentence of the first paragraph, as plain text ('' when there is none)."""
    for block in blocks:
        if isinstance(block, Paragraph):
            text = " ".join(plain_text(block.spans).split())
            if text:
                match = re.match(r"(.+?[.!?])(?=\s+[A-Z\"“(]|$)", text)
                return match.group(1) if match else text
    return ""
