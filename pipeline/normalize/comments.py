"""The body's HTML comments: kept in `post.md` as written, hidden from every other output, and
named in the report when they hide words.

A browser, Jekyll's Markdown and pandoc all read `<!--` as the start of a comment, and one that
is never closed as a comment to the end of the file: the author's site hides that text too. So
nothing here removes or closes a comment; the report says what each one hides.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from ..model import Comment, Note, Section
from ..pandoc.blocks import Item, SourceItem

# A marker, not words: `<!-- wp:paragraph -->`, `<!-- /wp:image {"id":12} -->`, `<!--more-->`.
_MARKER = re.compile(r"^\s*/?[\w:.-]*\s*(\{.*\})?\s*/?\s*$", re.S)
_OPEN, _CLOSE = "<!--", "-->"


def inner_text(comment: str) -> str:
    """What a comment holds, without `<!--` and `-->`, its white space collapsed."""
    inner = comment[len(_OPEN) :] if comment.startswith(_OPEN) else comment
    if inner.endswith(_CLOSE):
        inner = inner[: -len(_CLOSE)]
    return " ".join(html.unescape(inner).split())


def holds_words(comment: str) -> bool:
    """More than a marker: the report names it."""
    return _MARKER.match(inner_text(comment)) is None


def unclosed_comment(body: str) -> tuple[int, str] | None:
    """(offset, text to the end) of the comment the body opens last and never closes, if any."""
    start = body.rfind(_OPEN)
    if start < 0 or body.find(_CLOSE, start + len(_OPEN)) >= 0:
        return None
    return start, body[start:].rstrip("\n")


def note_comments(comments: Sequence[str], body: str, body_line: int, notes: list[Note]) -> list[str]:
    """Report what each comment hides; the comments as `post.md` writes them.

    A closed comment with words is `comment: <its words>`. A comment the body never closes is a
    warning naming its line and everything it hides (every output but `post.md` loses it);
    `post.md` keeps it as written, still open. pandoc closes it in its reading, so it is found
    in the body itself: the last `<!--` with no `-->` after it, when pandoc's last comment
    holds the same words (a `<!--` in a code span is no comment).
    """
    kept = list(comments)
    unclosed = unclosed_comment(body)
    if unclosed is not None and kept and inner_text(kept[-1]) == inner_text(unclosed[1]):
        kept[-1] = unclosed[1]
    else:
        unclosed = None
    for index, comment in enumerate(kept):
        if unclosed is not None and index == len(kept) - 1:
            line = body_line + body.count("\n", 0, unclosed[0])
            notes.append(
                Note(
                    "warning",
                    f'line {line}: "<!--" is never closed, so every output but post.md hides the rest'
                    f' of the body: "{inner_text(comment)}"',
                )
            )
        elif holds_words(comment):
            notes.append(Note("comment", inner_text(comment)))
    return kept


def place_comments(
    found: Sequence[tuple[Item | None, str]],
    texts: Sequence[str],
    items: Sequence[SourceItem],
    sections: Sequence[Section],
) -> tuple[Comment, ...]:
    """Each comment before the block it preceded in the body, or the next one that is still
    there as it was (merged, boilerplate or rewritten items are not); after the body when none
    is. Blocks are matched by value: the stages after the walk make new, equal objects."""
    where: dict[object, tuple[int, int]] = {}
    for s, section in enumerate(sections):
        for b, block in enumerate(section.blocks):
            where.setdefault(block, (s, b))
    order = {id(source.item): k for k, source in enumerate(items)}
    placed: list[Comment] = []
    for (anchor, _), text in zip(found, texts, strict=True):
        position = None
        if anchor is not None and id(anchor) in order:
            for source in items[order[id(anchor)] :]:
                position = where.get(source.item)
                if position is not None:
                    break
        if position is None:
            placed.append(Comment(text))
        else:
            placed.append(Comment(text, position[0], position[1]))
    return tuple(placed)
