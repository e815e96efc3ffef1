"""URLs in post bodies: tracking parameters, redirect wrappers, the episode's own links, site links."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from ipaddress import ip_address
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit, urlunsplit

SUBSTACK_POST = re.compile(r"^https://[a-z0-9-]+\.substack\.com/p/[^?#\s]+", re.I)
SUBSTACK_LABEL = re.compile(r"\bsubstack\b", re.I)
SLUG = re.compile(r"^/p/([^/?#\s]+)")
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
# The referral parameter of every Substack publication, whatever its domain.
SUBSTACK_PARAMS = ("r",)
ABSOLUTE = re.compile(r"^(https?|mailto):", re.I)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
# A relative address a browser would not read as written: `/\host` and `\\host` are
# protocol-relative to a browser, and control characters are removed before it reads a scheme.
UNSAFE_RELATIVE = re.compile(r"[\\\x00-\x1f\x7f]")
MAX_REDIRECTS = 5


def _host_matches(host: str, suffixes: Sequence[str]) -> bool:
    return any(host == s or host.endswith("." + s) for s in suffixes)


def strip_tracking(url: str, patterns: Sequence[str], *, substack: bool = False) -> str:
    """The URL without tracking parameters; everything else stays byte for byte.

    `substack=True` says the URL is a Substack post on any domain (a publication's own domain
    too): its referral parameter `r` goes as well, as it does on every `*.substack.com` link.
    """
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
        if substack and name in SUBSTACK_PARAMS:
            continue
        kept.append(piece)
    return urlunsplit(parts._replace(query="&".join(kept)))


def _redirect_parameters(host: str, path: str) -> tuple[str, ...]:
    """The query parameters that may hold the target on a known redirect wrapper."""
    if (host in YOUTUBE_HOSTS or _host_matches(host, ("youtube.com",))) and path == "/redirect":
        return ("q",)
    if re.fullmatch(r"(www\.)?google(\.[a-z]{2,3}){1,2}", host) and path == "/url":
        return ("q", "url")
    if host in ("l.facebook.com", "lm.facebook.com") and path == "/l.php":
        return ("u",)
    if host == "t.umblr.com" and path == "/redirect":
        return ("z",)
    if host == "out.reddit.com":
        return ("url",)
    return ()


def _unwrap_once(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    if host == "href.li":
        # `https://href.li/?https://example.org/page?x=1#part`: everything after the first `?`.
        target = url.split("?", 1)[1] if "?" in url else ""
        if re.match(r"^https?%3a", target, re.I):
            target = unquote(target)
        return target.strip() or None
    values = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in _redirect_parameters(host, parts.path):
        target = values.get(name, "").strip()
        if target:
            return target
    return None


def unwrap_redirect(url: str) -> str | None:
    """The real target of a redirect wrapper (YouTube, Google, Facebook, Tumblr, Reddit, href.li).

    The target is percent-decoded once (as the wrapper's query carries it) and may be anything:
    the caller checks it like any other link. None when `url` is no wrapper or names no target.
    A wrapper around a wrapper is unwrapped too.
    """
    target = _unwrap_once(url)
    if target is None:
        return None
    for _ in range(MAX_REDIRECTS):
        inner = _unwrap_once(target)
        if inner is None:
            break
        target = inner
    # Decoded white space and control characters go back to %XX: a URL never holds them raw.
    return re.sub(r"[\x00-\x20\x7f]", lambda m: f"%{ord(m.group()):02X}", target)


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


def substack_post(url: str, label: str) -> str | None:
    """The Substack post a link points at: `https://host/p/<slug>` (query and fragment dropped).

    Any `https://<name>.substack.com/p/<slug>` is one; so is `https://<any host>/p/<slug>` when
    `label` (the link's text, or its paragraph's) says Substack: a publication on its own domain
    ("Available on Substack: https://newsletter.example.org/p/slug"). Else None.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    match = SLUG.match(parts.path)
    if parts.scheme.lower() != "https" or not host or parts.username is not None or not match:
        return None
    on_substack = re.fullmatch(r"[a-z0-9-]+\.substack\.com", host) is not None
    if not on_substack and not SUBSTACK_LABEL.search(label):
        return None
    return f"https://{host}{f':{port}' if port is not None else ''}/p/{match.group(1)}"


def site_root(site_url: str, baseurl: str) -> str:
    """`https://site/base/`: the address every relative path (`x.html`) is resolved against."""
    base = baseurl.strip("/")
    return site_url.rstrip("/") + "/" + (base + "/" if base else "")


def is_absolute(url: str) -> bool:
    """True for an `http:`, `https:` or `mailto:` URL."""
    return bool(ABSOLUTE.match(url))


def href_as_read(target: str) -> str:
    """A link target as a browser reads it (the URL standard's first step): tabs and newlines
    removed, leading and trailing spaces and control characters stripped, pandoc's escapes of
    them (`%09`, `%0A`, `%0D`, an outer `%20`) read the same way. `" java&#9;script:x"` is a
    `javascript:` URL, and is dropped as one."""
    url = re.sub(r"%0[9AaDd]|[\t\n\r]", "", target)
    url = re.sub(r"^(?:%20|[\x00-\x20])+|(?:%20|[\x00-\x20])+$", "", url)
    return url


def absolute_url(url: str, site_url: str, baseurl: str) -> str | None:
    """The link target a post keeps, or None when it cannot stay a link.

    `http(s):` and `mailto:` URLs stay as written. With `site_url`, a path that starts with `/`
    is on the site's host, as a browser on the Jekyll site reads it (`/base/x.html` ->
    `https://site/base/x.html`), and a path without one is under the site root, baseurl included
    (`x.html` -> `https://site/base/x.html`). Without `site_url`, site-relative links (`/x`,
    `x.html`) stay exactly as written. `#anchor` and `?query` belong to the post's own page and
    always stay as written. Any other scheme (`javascript:`, `data:`, `file:`, `vbscript:` …),
    a protocol-relative `//host`, a backslash or a control character: None.
    """
    url = url.strip()
    try:
        urlsplit(url)  # e.g. "http://[oops" is not a URL at all
    except ValueError:
        return None
    if ABSOLUTE.match(url):
        return url
    if not url or SCHEME.match(url) or url.startswith("//") or UNSAFE_RELATIVE.search(url):
        return None  # javascript:, data:, file:, protocol-relative…: never kept as a link
    if url.startswith(("#", "?")) or not site_url:
        return url
    if url.startswith("/"):
        return urljoin(site_url.rstrip("/") + "/", url)
    return urljoin(site_root(site_url, baseurl), url)


def _comparable(text: str) -> str:
    text = unquote(text.strip())
    return text[:-1] if text.endswith("/") else text


def text_is_url(text: str, url: str, *, loose: bool = False) -> bool:
    """True when a link's visible text is its own target: the same absolute URL, white space aside.

    `loose` also accepts the forms people write: the URL without its scheme (`youtu.be/x` for
    `https://youtu.be/x`), with or without a trailing slash, percent-encoded or not. Normalization
    uses the strict form: the lossless check (accounting/inventory.py) accounts for a changed link
    text only when the report names that very text, which a tracking or redirect note (the whole
    original target) does only for the exact URL.
    """
    if not loose:
        return bool(text.strip()) and text.strip() == url.strip() and is_absolute(url.strip())
    shown, target = _comparable(text), _comparable(url)
    if not shown or not target:
        return False
    bare = re.sub(r"^(https?://|mailto:)", "", target, flags=re.I)
    return shown == target or (bare != target and shown == bare)


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals (`127.0.0.1`, `[::1]`); names are not resolved."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
