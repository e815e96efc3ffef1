"""The one HTML allow-list every HTML output's post content passes through (nh3/ammonia).

Post content reaches HTML as fragments made by `block_writers.py` (`p`, lists, `a`, `strong`, `em`,
`code`); the newsletter, the PDF and `podcast.html` run those fragments through `sanitize_html`
before templating, so even a bug upstream cannot put a script, an event handler or a
`javascript:` link into an output. Links: absolute `https:` and `mailto:` only; the formats turn
any other link into plain text with a warning first (`unlink_disallowed`), so on their own
fragments the sanitizer changes nothing. Bidi controls (source.BIDI_CONTROLS) are removed.

`sanitize_html(sanitize_html(x)) == sanitize_html(x)` for any text: one nh3 pass is not always
stable (a table cell can nest `<a>` in `<a>`, which the next parse splits), so passes repeat
until nothing changes, with the text alone as the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set

import nh3

from ..model import Block, Span
from ..source.post_file import BIDI_CONTROLS
from ..text.block_writers import html_attribute, map_spans

CONTENT_TAGS = frozenset({"p", "ul", "ol", "li", "a", "strong", "em", "code", "br"})
URL_SCHEMES = frozenset({"https", "mailto"})
# Removed with everything inside them (other tags are unwrapped and keep their text).
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "textarea", "select",
     "svg", "math", "title", "xmp", "noembed", "noframes"}
)  # fmt: skip
_ALLOWED_HREF = re.compile(r"(?i)(https://[^/\s]|mailto:[^\s@]+@[^\s@])")
_MAX_PASSES = 4


def _href_filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep an `href` only when, bidi controls removed, it is an absolute https or mailto link."""
    if tag == "a" and attribute == "href":
        value = BIDI_CONTROLS.sub("", value)
        return value if _ALLOWED_HREF.match(value) else None
    return None


def _once(text: str, tags: Set[str]) -> str:
    cleaned = nh3.clean(
        BIDI_CONTROLS.sub("", text),
        tags=set(tags),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={"a": {"href"}} if "a" in tags else {},
        attribute_filter=_href_filter,
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        link_rel=None,
        strip_comments=True,
    )
    # Entities such as `&#x202e;` become characters only in the parse.
    return BIDI_CONTROLS.sub("", cleaned)


def sanitize_html(text: str, tags: Set[str] = CONTENT_TAGS) -> str:
    """`text` as an HTML fragment with only `tags`, `a[href]` to https/mailto, no bidi controls."""
    current = text
    for _ in range(_MAX_PASSES):
        cleaned = _once(current, tags)
        if cleaned == current:
            return cleaned
        current = cleaned
    return _once(current, frozenset())  # still changing: keep the words, drop every tag


def is_allowed_url(url: str) -> bool:
    """True when a link to `url` passes the sanitizer unchanged."""
    link = f'<a href="{html_attribute(url)}">x</a>'
    return _once(link, CONTENT_TAGS) == link


def unlink_disallowed(blocks: Iterable[Block], removed: list[str]) -> tuple[Block, ...]:
    """The blocks with every link the sanitizer would refuse as plain text; its URL added to `removed`."""

    def unlink(span: Span) -> Span:
        if span.url is None or is_allowed_url(span.url):
            return span
        if span.url not in removed:
            removed.append(span.url)
        return Span(span.text, None, span.strong, span.emph, span.code)

    return map_spans(blocks, unlink)


def unlinked_message(url: str) -> str:
    """The warning for a link shown as text only."""
    why = "an http:// link" if url.lower().startswith("http:") else "not an absolute https or mailto link"
    return f"link {url!r} kept as text only: {why} (only https and mailto links are allowed)"
