"""The `[import]` settings table, checked: light, for the settings loader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..settings.schema import option, table_options

if TYPE_CHECKING:
    from ..settings.config import Settings

CHANNEL_FEED = "https://www.youtube.com/feeds/videos.xml?channel_id="
_CHANNEL_ID = re.compile(r"UC[0-9A-Za-z_-]{22}")


def _feed(value: str) -> str | None:
    """Why a feed setting is refused: it is a URL of another scheme than http(s)."""
    scheme = value.partition(":")[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value) else ""
    if scheme and scheme not in ("http", "https"):
        return f"expected an http:// or https:// URL or a file path, got {value!r}"
    if any(ord(c) < 32 for c in value):
        return "must not contain control characters"
    return None


def _channel(value: str) -> str | None:
    if value and not _CHANNEL_ID.fullmatch(value):
        return f"expected a YouTube channel id (UC and 22 letters, digits, - or _), got {value!r}"
    return None


@dataclass(frozen=True)
class ImportOptions:
    """The `[import]` table (`[tool.pipeline.import]` in a pyproject.toml), checked."""

    podcast_feed: str = option("", check=_feed)
    """The podcast's RSS feed: its items are the episodes (URL or file path; required)."""
    youtube_feed: str = option("", check=_feed)
    youtube_channel_id: str = option("", check=_channel)
    """A shorthand for the channel's own feed (`UC…`)."""
    substack_feed: str = option("", check=_feed)
    drafts: bool = False
    """New posts go to `_drafts/` instead of `_posts/`."""
    categories: tuple[str, ...] = ()
    """Categories of a new post (else those of the site's most recent post)."""
    layout: str = ""
    """The `layout` of a new post (else that of the site's most recent post, else `post`)."""

    @property
    def video_feed(self) -> str:
        """The YouTube feed to read: `youtube_feed`, else the channel's feed, else none."""
        if self.youtube_feed:
            return self.youtube_feed
        return CHANNEL_FEED + self.youtube_channel_id if self.youtube_channel_id else ""


def _both_youtube(options: ImportOptions) -> list[str]:
    if options.youtube_feed and options.youtube_channel_id:
        return ["youtube_feed and youtube_channel_id name the same feed: keep one"]
    return []


def import_options(settings: Settings) -> ImportOptions:
    """The `[import]` options: those checked at load, else checked now."""
    return table_options(settings, "import", ImportOptions, whole=_both_youtube)
