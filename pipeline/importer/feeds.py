"""The three feeds read into plain records: the podcast's episodes, the channel's videos, the
Substack posts. feedparser reads RSS and Atom (HTML kept as the feed has it: what a post may
not carry is left out later by the tool's own normalization, and reported)."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import feedparser

from .fetch import FeedError

PODCAST_NAMESPACES = (
    "https://podcastindex.org/namespace/1.0",
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
)
MAX_ITEMS = 5000
"""Items read from one feed; a feed of more is cut there, with a warning."""
MAX_DESCRIPTION_CHARS = 200_000
"""Characters of one item's description; a longer one is an error for that item."""
_EPISODE_IN_TITLE = re.compile(r"(?:#|\bep(?:isode)?\.?\s*)([0-9]{1,5})\b", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Episode:
    """One podcast item."""

    guid: str
    title: str
    published: dt.datetime | None
    description: str  # HTML
    link: str = ""
    enclosure: str = ""
    number: int | None = None
    duration: str = ""


@dataclass(frozen=True)
class Video:
    video_id: str
    title: str
    published: dt.datetime | None
    description: str  # plain text
    short: bool = False


@dataclass(frozen=True)
class Article:
    url: str
    title: str
    published: dt.datetime | None


@dataclass(frozen=True)
class Feed:
    title: str
    link: str
    items: tuple[Any, ...]
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Items that cannot be imported, one line each: the run fails."""


def _parse(data: bytes, field: str) -> Any:
    """The feed parsed; a FeedError when it is empty, not XML, cut off, or no RSS or Atom feed.
    feedparser reads on past broken XML: a feed cut off in the middle would lose its last
    items without a word, so any XML error refuses the whole feed."""
    if not data.strip():
        raise FeedError("is empty", field=field)
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    error = parsed.get("bozo_exception")
    if isinstance(error, xml.sax.SAXParseException):
        where = f"line {error.getLineNumber()}, column {error.getColumnNumber()}"
        reason = error.getMessage()
        raise FeedError(f"is not well-formed XML ({reason} at {where}): cut off, or not a feed", field=field)
    if not parsed.get("version"):
        raise FeedError("is not an RSS or Atom feed", field=field)
    return parsed


def _date(entry: Mapping[str, Any], key: str = "published") -> dt.datetime | None:
    """The entry's date with the offset it was written with (RFC 822 or ISO 8601)."""
    text = entry.get(key) or ""
    if not text:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def episode_number(text: str) -> int | None:
    """`12` from `… #12` or `Episode 12`; None when the title holds none, or several."""
    found = {int(m.group(1)) for m in _EPISODE_IN_TITLE.finditer(text)}
    return found.pop() if len(found) == 1 else None


def whole_number(text: str, digits: int = 6) -> int | None:
    """`text` as a whole number of ASCII digits (at most `digits` of them), else None."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def _number(entry: Mapping[str, Any], prefixes: tuple[str, ...]) -> int | None:
    for key in ("itunes_episode", *(f"{p}_episode" for p in prefixes)):
        if (number := whole_number(str(entry.get(key) or ""))) is not None:
            return number
    return episode_number(entry.get("title", ""))


def _limited(entries: list[Any], what: str) -> tuple[list[Any], tuple[str, ...]]:
    if len(entries) > MAX_ITEMS:
        return entries[:MAX_ITEMS], (f"{what} has {len(entries):,} items: the first {MAX_ITEMS:,} are read",)
    return entries, ()


def podcast_feed(data: bytes, field: str = "podcast_feed") -> Feed:
    """The podcast's episodes, in the feed's order. A feed without items is an error."""
    parsed = _parse(data, field)
    prefixes = tuple(p for p, uri in parsed.namespaces.items() if uri.rstrip("/") in PODCAST_NAMESPACES)
    entries, warnings = _limited(parsed.entries, "the podcast feed")
    if not entries:
        raise FeedError("the feed has no items", field=field)
    items: list[Episode] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for entry in entries:
        content = entry.get("content") or []
        description = max([c.get("value", "") for c in content] + [entry.get("summary", "")], key=len)
        enclosure = next((e.get("href", "") for e in entry.get("enclosures", []) if e.get("href")), "")
        guid = (entry.get("id") or enclosure or entry.get("link") or "").strip()
        title = " ".join(html.unescape(entry.get("title", "")).split())
        if not guid:
            problems.append(f"{title!r} has no guid, enclosure or link: not imported")
            continue
        if guid in seen:
            problems.append(f"{title!r} has the guid of {seen[guid]!r} ({guid}): not imported")
            continue
        if len(description) > MAX_DESCRIPTION_CHARS:
            problems.append(
                f"{title!r}: its description has {len(description):,} characters, "
                f"at most {MAX_DESCRIPTION_CHARS:,} are imported: not imported"
            )
            continue
        seen[guid] = title
        published = _date(entry)
        if published is None:
            problems.append(f"{title!r} has no publication date (pubDate) that can be read: not imported")
            continue
        items.append(
            Episode(
                guid=guid,
                title=title,
                published=published,
                description=description,
                link=entry.get("link", ""),
                enclosure=enclosure,
                number=_number(entry, prefixes),
                duration=str(entry.get("itunes_duration") or "").strip(),
            )
        )
    feed = parsed.get("feed", {})
    return Feed(feed.get("title", ""), feed.get("link", ""), tuple(items), warnings, tuple(problems))


def video_feed(data: bytes, field: str = "youtube_feed") -> Feed:
    """The channel's videos (its feed holds the latest 15)."""
    parsed = _parse(data, field)
    entries, warnings = _limited(parsed.entries, "the YouTube feed")
    videos: list[Video] = []
    for entry in entries:
        video_id = entry.get("yt_videoid", "")
        if not re.fullmatch(r"[A-Za-z0-9_-]{11}", video_id):
            continue
        title = " ".join(entry.get("title", "").split())
        description = entry.get("summary", "")
        short = "/shorts/" in entry.get("link", "") or "#shorts" in f"{title} {description}".lower()
        videos.append(Video(video_id, title, _date(entry), description, short))
    return Feed(parsed.get("feed", {}).get("title", ""), "", tuple(videos), warnings)


def article_feed(data: bytes, field: str = "substack_feed") -> Feed:
    """The newsletter's posts (Substack's feed holds the latest 20)."""
    parsed = _parse(data, field)
    entries, warnings = _limited(parsed.entries, "the Substack feed")
    articles = [
        Article(entry.get("link", ""), " ".join(entry.get("title", "").split()), _date(entry))
        for entry in entries
        if entry.get("link", "").startswith(("https://", "http://"))
    ]
    return Feed(parsed.get("feed", {}).get("title", ""), "", tuple(articles), warnings)
