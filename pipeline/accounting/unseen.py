"""The words of a body that no reader sees: HTML comments and raw-text elements.

The lossless check's own tokenizer, one linear pass, sharing nothing with pandoc, markdown-it or
html5lib: whatever those read as a comment or a script is exactly where a converter may lose
words without noticing, so the check must find such text by itself. It errs towards finding
too much (a `<!--` in indented code is taken as a comment): found text must only be somewhere
in `post.md` or the report, and text a converter keeps is there.

Code is skipped: a fenced block, and a code span (a run of backticks up to the same run before
the next blank line), hold text, never markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

# Elements whose content is text until their own end tag (the HTML standard's raw text and
# escapable raw text elements, and the obsolete ones parsers still honour). `plaintext` never ends.
RAW_TEXT = ("script", "style", "textarea", "title", "xmp", "noembed", "noframes", "noscript", "plaintext")
_ESCAPABLE = frozenset({"textarea", "title"})  # their entities are decoded

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RAW_START = re.compile(rf"<({'|'.join(RAW_TEXT)})(?=[\s/>])[^>]*>", re.I)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class Unseen:
    """One comment or raw-text element: what it holds, where it opens, and whether it ends."""

    kind: str  # "comment" or the element's name
    text: str
    line: int  # 1-based, in the scanned text
    closed: bool


def find_unseen(text: str) -> list[Unseen]:
    """Every comment and raw-text element of `text` outside code, in order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found: list[Unseen] = []
    position = 0
    size = len(text)
    while position < size:
        at_line_start = position == 0 or text[position - 1] == "\n"
        if at_line_start and (fence := _FENCE.match(text, position)):
            position = _after_fence(text, position, fence.group(1))
            continue
        char = text[position]
        if char == "`":
            position = _after_code_span(text, position)
        elif char == "<" and text.startswith("<!--", position):
            position = _comment(text, position, found)
        elif char == "<" and (start := _RAW_START.match(text, position)):
            position = _raw_text(text, start, found)
        else:
            position += 1
    return found


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _after_fence(text: str, position: int, fence: str) -> int:
    """The position after a fenced code block's closing line (the end of `text` if unclosed)."""
    closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M)
    first_line_end = text.find("\n", position)
    if first_line_end < 0:
        return len(text)
    end = closing.search(text, first_line_end + 1)
    return len(text) if end is None else end.end()


def _after_code_span(text: str, position: int) -> int:
    """The position after a code span opening at `position`, or after its backticks if it has no end."""
    run = position
    while run < len(text) and text[run] == "`":
        run += 1
    ticks = text[position:run]
    paragraph_end = _BLANK_LINE.search(text, run)
    limit = paragraph_end.start() if paragraph_end else len(text)
    search = run
    while True:
        close = text.find(ticks, search, limit)
        if close < 0:
            return run  # literal backticks
        after = close + len(ticks)
        if after < len(text) and text[after] == "`":  # a longer run: not this span's end
            while after < len(text) and text[after] == "`":
                after += 1
            search = after
            continue
        return after


def _comment(text: str, position: int, found: list[Unseen]) -> int:
    end = text.find("-->", position + 4)
    closed = end >= 0
    stop = end + 3 if closed else len(text)
    inner = text[position + 4 : end if closed else len(text)]
    found.append(Unseen("comment", inner, _line(text, position), closed))
    return stop


def _raw_text(text: str, start: re.Match[str], found: list[Unseen]) -> int:
    name = start.group(1).lower()
    end = None if name == "plaintext" else re.compile(rf"</{name}\s*>", re.I).search(text, start.end())
    inner = text[start.end() : end.start() if end else len(text)]
    if name in _ESCAPABLE:
        inner = html.unescape(inner)
    found.append(Unseen(name, inner, _line(text, start.start()), end is not None))
    return end.end() if end else len(text)
