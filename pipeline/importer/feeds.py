"""The three feeds read into plain records: the podcast's episodes, the channel's videos, the
Substack posts. feedparser reads RSS and Atom (HTML kept as the feed has it: what a post may
not carry is left out later by the tool's own normalization, and reported)."""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
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
_EPISODE_IN_TITLE = re.compile(r"(?:#|\bep(?:isode)?\.?\s*)(\d{1,5})\b", re.IGNORECASE)


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


def _parse(data: bytes, field: str) -> Any:
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries and (parsed.bozo or not parsed.version):
        why = getattr(parsed, "bozo_exception", None)
        raise FeedError(f"not an RSS or Atom feed{f': {why}' if why else ''}", field=field)
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


def _number(entry: Mapping[str, Any], prefixes: tuple[str, ...]) -> int | None:
    for key in ("itunes_episode", *(f"{p}_episode" for p in prefixes)):
        value = str(entry.get(key) or "").strip()
        if value.isdigit():
            return int(value)
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
    for entry in entries:
        content = entry.get("content") or []
        description = max([c.get("value", "") for c in content] + [entry.get("summary", "")], key=len)
        enclosure = next((e.get("href", "") for e in entry.get("enclosures", []) if e.get("href")), "")
        guid = (entry.get("id") or enclosure or entry.get("link") or "").strip()
        if not guid:
            warnings += (f"an item without a guid, enclosure or link is skipped: {entry.get('title', '')!r}",)
            continue
        items.append(
            Episode(
                guid=guid,
                title=" ".join(html.unescape(entry.get("title", "")).split()),
                published=_date(entry),
                description=description,
                link=entry.get("link", ""),
                enclosure=enclosure,
                number=_number(entry, prefixes),
                duration=str(entry.get("itunes_duration") or "").strip(),
            )
        )
    feed = parsed.get("feed", {})
    return Feed(feed.get("title", ""), feed.get("link", ""), tuple(items), warnings)


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
