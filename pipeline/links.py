"""URLs in post bodies: tracking parameters, the episode's own links, relative addresses."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit, urlunsplit

SUBSTACK_POST = re.compile(r"^https://[a-z0-9-]+\.substack\.com/p/[^?#\s]+", re.I)
YOUTUBE_HOSTS = {
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "music.youtube.com",
    "youtu.be",
    "www.youtube-nocookie.com",
    "youtube-nocookie.com",
}
# Parameters that are tracking only on some hosts.
HOST_PARAMS = {"r": ("substack.com",), "feature": ("youtube.com", "youtu.be")}


def _host_matches(host: str, suffixes: Sequence[str]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def strip_tracking(url: str, patterns: Sequence[str]) -> str:
    """The URL without tracking parameters; everything else stays byte for byte."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    host = (parts.hostname or "").lower()
    kept = []
    for piece in parts.query.split("&"):
        name = piece.split("=", 1)[0]
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            continue
        if name in HOST_PARAMS and _host_matches(host, HOST_PARAMS[name]):
            continue
        kept.append(piece)
    return urlunsplit(parts._replace(query="&".join(kept)))


def youtube_video_id(url: str) -> str | None:
    """The video id of any YouTube URL form (watch, youtu.be, embed, shorts, live), else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in YOUTUBE_HOSTS:
        return None
    path = parts.path
    if host == "youtu.be":
        candidate = path.strip("/").split("/")[0]
    elif path == "/watch":
        match = re.search(r"(?:^|&)v=([^&]+)", parts.query)
        candidate = match.group(1) if match else ""
    else:
        match = re.match(r"^/(?:embed|shorts|live|v|e)/([^/?#]+)", path)
        candidate = match.group(1) if match else ""
    return candidate if re.fullmatch(r"[A-Za-z0-9_-]{11}", candidate) else None


def is_own_video(url: str, youtube_id: str | None) -> bool:
    """True when the URL points at this episode's own video."""
    return youtube_id is not None and youtube_video_id(url) == youtube_id


def site_root(site_url: str, baseurl: str) -> str:
    """`https://site/base/`: the address every site-relative path is resolved against."""
    base = baseurl.strip("/")
    return site_url.rstrip("/") + "/" + (base + "/" if base else "")


def absolute_url(url: str, site_url: str, baseurl: str) -> str | None:
    """An absolute http(s)/mailto URL, resolving site-relative paths against `site_url`."""
    url = url.strip()
    try:
        urlsplit(url)  # e.g. "http://[oops" is not a URL at all
    except ValueError:
        return None
    if re.match(r"^(https?|mailto):", url, re.I):
        return url
    if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I) or url.startswith("//") or not url:
        return None  # javascript:, data:, file:, protocol-relative…: never kept as a link
    if url.startswith("#") or not site_url:
        return None
    return urljoin(site_root(site_url, baseurl), url.lstrip("/") if url.startswith("/") else url)
