"""Text a platform description may hold: cleaned of entities and control characters.

Also the two character rules of the platforms: no `<` or `>` on YouTube (replaced with single
angle quotation marks), and the small HTML allow-list of Apple Podcasts and Spotify. And
`short_label`, how a piece of text is quoted in a report line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace

from ...model import Block, Span
from ...source.post_file import BIDI_CONTROLS
from ...text.block_writers import map_spans
from ..sanitize import sanitize_html
from .limits import RuleResult

ELLIPSIS = "\u2026"
# Single angle quotation marks stand in for < and >, which YouTube refuses.
LEFT_ANGLE = "\u2039"
RIGHT_ANGLE = "\u203a"

PODCAST_TAGS = frozenset({"p", "ol", "ul", "li", "a", "br"})

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def decode_entities(text: str) -> str:
    """`&amp;`, `&#8217;` and the like as characters; a bare `&` (as in URLs) stays as it is."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


# Unicode categories Cc (but tab and newline) and Cs, as one pattern
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Entities decoded; control, surrogate and bidi-override characters removed."""
    if "&" in text:
        text = decode_entities(text)
    return _CONTROL.sub("", BIDI_CONTROLS.sub("", text))


def one_line(text: str) -> str:
    """`clean_text` on one line: every run of whitespace becomes one space."""
    return " ".join(clean_text(text).split())


def _clean_span(span: Span) -> Span:
    url = (clean_text(span.url).strip() or None) if span.url is not None else None
    text = clean_text(span.text)
    return span if text == span.text and url == span.url else replace(span, text=text, url=url)


def clean_blocks(blocks: Sequence[Block]) -> tuple[Block, ...]:
    """The blocks with `clean_text` applied to every text and URL."""
    return map_spans(blocks, _clean_span)


def short_label(text: str, width: int = 40) -> str:
    """`text` quoted for a report, cut to `width` characters."""
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1].rstrip() + ELLIPSIS
    return f"'{text}'"


def replace_angle_brackets(text: str) -> str:
    """`<` and `>` as single angle quotation marks: YouTube refuses a description with either."""
    return text.replace("<", LEFT_ANGLE).replace(">", RIGHT_ANGLE)


def angle_bracket_result(text: str) -> RuleResult:
    """Report the angle brackets of a YouTube text before `replace_angle_brackets`."""
    count = text.count("<") + text.count(">")
    if not count:
        return RuleResult("youtube.angle_brackets", True, "YouTube: no angle brackets")
    return RuleResult(
        "youtube.angle_brackets",
        True,
        f"YouTube: replaced {count:,} angle bracket{'s' if count > 1 else ''} with "
        f"{LEFT_ANGLE} {RIGHT_ANGLE}",
        adjusted=True,
    )


def sanitize_podcast_html(text: str) -> str:
    """The HTML Apple Podcasts and Spotify accept: p, ol, ul, li, a[href] and br only.

    The shared policy of `pipeline.formats.sanitize` (https and mailto links only), with fewer tags.
    """
    return sanitize_html(text, PODCAST_TAGS)
