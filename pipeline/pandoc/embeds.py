"""Players, scripts, forms and badges: the HTML a post cannot carry, found in pandoc's raw HTML nodes.

Only what pandoc parsed as HTML is looked at here (RawBlock and RawInline nodes, and images
inside links), so a `<button>` in a code span or a `<script>` in a fenced block stays text.
Each element is one tag string at a time; nothing here reads a whole body with a regex.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

# Elements whose content goes with them (a player's fallback text, a form's labels). A
# `<textarea>`, `<noscript>`, `<xmp>`, `<noembed>` or `<plaintext>` is markup only: its words
# are text a reader sees (a page without scripts shows `<noscript>`).
CONTAINERS = frozenset(
    {
        "iframe", "object", "video", "audio", "canvas", "script", "style", "template",
        "svg", "form", "select", "button", "frameset",
    }
)  # fmt: skip
VOID = frozenset({"embed", "input", "source", "track", "param", "link", "meta", "base", "frame"})
MEDIA = frozenset({"iframe", "object", "embed", "video", "audio", "frame"})
PLAYER_HOSTS = (
    "youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com", "spotify.com", "apple.com",
    "rss.com", "anchor.fm", "buzzsprout.com", "libsyn.com", "simplecast.com", "podbean.com",
    "soundcloud.com", "megaphone.fm", "omny.fm", "transistor.fm", "captivate.fm", "podomatic.com",
    "spreaker.com", "acast.com", "audioboom.com", "substack.com", "riverside.fm", "art19.com",
)  # fmt: skip
BADGE_TEXT = re.compile(
    r"^(listen|watch|subscribe|follow|get it|available|download)\b.{0,40}\b(on|in|at|to|from)\b",
    re.I,
)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)([^>]*)>", re.S)
_URL_ATTR = re.compile(r"""\b(?:src|data|href|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_COMMENT = re.compile(r"<!--.*?(-->|\Z)", re.S)


@dataclass(frozen=True)
class Tag:
    """The first tag of a raw HTML string."""

    name: str  # lower case
    closing: bool
    url: str  # its src / data / href / action, entities decoded ("" when none)
    whole: bool  # the string holds the element's end too (`<script>…</script>`)


@lru_cache(maxsize=4096)
def first_tag(raw: str) -> Tag | None:
    """The first tag of `raw` (comments skipped), or None when it holds none."""
    match = _TAG.search(_COMMENT.sub("", raw))
    if match is None:
        return None
    name = match.group(2).lower()
    found = _URL_ATTR.search(match.group(3))
    url = html.unescape(next((g for g in found.groups() if g is not None), "")) if found else ""
    closing = match.group(1) == "/"
    whole = not closing and _closing_tag(name).search(raw) is not None
    return Tag(name, closing, url.strip(), whole or match.group(3).rstrip().endswith("/"))


@lru_cache(maxsize=64)
def _closing_tag(name: str) -> re.Pattern[str]:
    return re.compile(rf"</\s*{re.escape(name)}\s*>", re.I)


def is_embed(tag: Tag) -> bool:
    return tag.name in CONTAINERS or tag.name in VOID


def comments_in(raw: str) -> list[str]:
    """The HTML comments of a raw HTML string, each as written (`<!--` to `-->`)."""
    if "<!--" not in raw:
        return []
    return [m.group() for m in _COMMENT.finditer(raw)]


def text_of_raw(raw: str) -> str:
    """The visible text of a raw HTML string: tags and comments out, entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", _COMMENT.sub("", raw))).split())


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _on(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def reason_for(tag: Tag) -> str:
    """`player` for a media element from a podcast or video host, else `embed`."""
    if tag.name in MEDIA and _on(_host(tag.url), PLAYER_HOSTS):
        return "player"
    return "embed"


def describe(tag: Tag, inner_text: str) -> str:
    """The report's words for one removed element: the tag, its whole URL, its whole text."""
    parts = [f"<{tag.name}>"]
    if tag.url:
        parts.append(tag.url)
    if inner_text.strip():
        parts.append(" ".join(inner_text.split()))
    return " ".join(parts)


def is_badge(alt: str, href: str) -> bool:
    """An image link that only advertises a platform ("Listen on Apple Podcasts")."""
    return bool(BADGE_TEXT.match(alt.strip())) or (not alt.strip() and _on(_host(href), PLAYER_HOSTS))
