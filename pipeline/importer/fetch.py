"""Feeds as bytes: a file of the site, or an http(s) URL fetched with limits and remembered.

Over HTTP a feed is asked for with the validators of its last answer (`If-None-Match`,
`If-Modified-Since`): an unchanged feed is one small request, its body read from the copy
kept in `.episode/import/feeds/`. Every answer is bounded (time, bytes, redirects) and a
redirect may only keep its scheme or go from http to https. No parser sees a feed that
declares a DTD or entities.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..builder.output_folder import write_atomic
from ..errors import PipelineError
from ..user_files import UserFileError, private_folder, read_bytes, size_text

MAX_FEED_BYTES = 20 * 1024 * 1024
TIMEOUT = 20.0
"""Seconds a server has to answer each read, and (four times) to send the whole feed."""
MAX_REDIRECTS = 5
USER_AGENT = f"episode-pipeline/{__version__} (feed import)"
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class FeedError(PipelineError):
    """A feed that cannot be read: one line naming the feed and why."""


@dataclass(frozen=True)
class Fetched:
    data: bytes
    """The feed; after a 304 (the feed is as it was), the copy kept."""
    charset: str | None = None
    """The charset of the answer's Content-Type, which an XML parser takes over the declaration."""
    remember: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Keeps this answer for the next conditional request: called once the feed has been read
    (a copy that does not parse is never kept)."""


def is_url(source: str) -> bool:
    return re.match(r"^https?://", source, re.IGNORECASE) is not None


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)
# XML 1.0 Appendix F: the first bytes of `<?xml` in the encodings a parser may detect without a BOM.
_SNIFF = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # EBCDIC
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def as_utf8(data: bytes, field: str, charset: str | None = None) -> bytes:
    """The feed as UTF-8, its XML declaration saying so, after checking it declares no DTD and no
    entities. The check reads the text in the encoding an XML parser would use (a BOM, XML's
    Appendix F, the declaration), and the parser is then given exactly the text checked."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    encoding = encoding or next((name for start, name in _SNIFF if data.startswith(start)), None)
    if encoding is None and charset:
        encoding = charset
    if encoding is None:
        declared = _DECLARED.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        text = data.decode(encoding)
    except LookupError:
        raise FeedError(f"declares an unknown encoding {encoding!r}", field=field) from None
    except UnicodeDecodeError as exc:
        raise FeedError(f"is not {encoding} text (byte {exc.start:,})", field=field) from None
    text = text.removeprefix("\ufeff")
    if _DECLARATION.search(text):
        raise FeedError("declares a DTD or entities (<!DOCTYPE, <!ENTITY): refused", field=field)
    text = re.sub(r"""^(<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""", r'\1"utf-8"', text)
    return text.encode("utf-8")


def fetch_feed(source: str, *, base: Path, cache: Path, field: str) -> Fetched:
    """The bytes of one feed, as UTF-8 (`as_utf8`): `source` is an http(s) URL or a file path
    (relative to `base`)."""
    if not is_url(source):
        try:
            data = read_bytes(base / source, "feed", field=field)
        except UserFileError as exc:
            raise FeedError(exc.message, path=exc.path, field=field) from None
        return Fetched(as_utf8(data, field))
    fetched = _fetch_url(source, cache, field)
    return replace(fetched, data=as_utf8(fetched.data, field, fetched.charset))


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        old, new = urlsplit(req.full_url).scheme.lower(), urlsplit(newurl).scheme.lower()
        if new != old and (old, new) != ("http", "https"):
            raise FeedError(f"redirected from {old}: to {new or 'a relative'}: address {newurl!r}: refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_Redirects())


def _kept(cache: Path, url: str) -> tuple[Path, Path]:
    name = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    return cache / f"{name}.xml", cache / f"{name}.json"


def _validators(meta: Path, body: Path) -> dict[str, str]:
    if not (meta.is_file() and body.is_file()):
        return {}
    try:
        kept = json.loads(meta.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in kept.items() if k in ("etag", "last_modified", "charset") and isinstance(v, str)}


def _fetch_url(url: str, cache: Path, field: str) -> Fetched:
    body_file, meta_file = _kept(cache, url)
    validators = _validators(meta_file, body_file)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    if "etag" in validators:
        request.add_header("If-None-Match", validators["etag"])
    if "last_modified" in validators:
        request.add_header("If-Modified-Since", validators["last_modified"])
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as answer:
            if answer.status != 200:
                raise FeedError(f"the server answered {answer.status} {answer.reason}", field=field)
            data = _read_bounded(answer, field)
            headers = answer.headers
            charset = headers.get_content_charset()
    except urllib.error.HTTPError as exc:
        exc.close()  # the answer's socket, now: not whenever the collector finds it
        if exc.code == 304 and ("etag" in validators or "last_modified" in validators):
            return Fetched(body_file.read_bytes(), charset=validators.get("charset"))
        if exc.code == 304:
            why = "the server answered 304 Not Modified to a request with nothing to compare"
            raise FeedError(why, field=field) from None
        location = exc.headers.get("Location", "") if exc.headers else ""
        if 300 <= exc.code < 400 and urlsplit(location).scheme.lower() not in ("http", "https", ""):
            raise FeedError(
                f"redirected to {location!r}: refused (http and https only)", field=field
            ) from None
        if 300 <= exc.code < 400 and not location:
            raise FeedError(
                f"the server answered {exc.code} {exc.reason} without a Location", field=field
            ) from None
        if 300 <= exc.code < 400:
            raise FeedError(f"more than {MAX_REDIRECTS} redirects, or a redirect loop", field=field) from None
        raise FeedError(f"the server answered {exc.code} {exc.reason}", field=field) from None
    except FeedError as exc:
        raise FeedError(exc.message, field=field) from None
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FeedError(f"could not be fetched: {reason}", field=field) from None
    answered = {
        "etag": headers.get("ETag"),
        "last_modified": headers.get("Last-Modified"),
        "charset": charset,
    }
    keep = partial(_keep, body_file, meta_file, data, answered)
    return Fetched(data, charset=charset, remember=keep)


def _read_bounded(answer: Any, field: str) -> bytes:
    length = answer.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_FEED_BYTES:
        raise FeedError(
            f"is {size_text(int(length))}: feeds are at most {size_text(MAX_FEED_BYTES)}", field=field
        )
    deadline = time.monotonic() + 4 * TIMEOUT
    chunks: list[bytes] = []
    size = 0
    while chunk := answer.read1(64 * 1024):  # whatever has arrived: the deadline is checked often
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_FEED_BYTES:
            raise FeedError(f"is over {size_text(MAX_FEED_BYTES)}: feeds are at most that", field=field)
        if time.monotonic() > deadline:
            raise FeedError(f"took over {4 * TIMEOUT:.0f} s to arrive", field=field)
    if length is not None and length.isdigit() and size != int(length):
        raise FeedError(f"ended after {size:,} of its {int(length):,} bytes: cut off on the way", field=field)
    return b"".join(chunks)


def _keep(body_file: Path, meta_file: Path, data: bytes, validators: dict[str, str | None]) -> None:
    """The feed and its validators, for the next conditional request (written only when new)."""
    meta = json.dumps(validators, sort_keys=True).encode("utf-8")
    for path, content in ((body_file, data), (meta_file, meta)):
        if path.is_file() and path.read_bytes() == content:
            continue
        private_folder(path.parent)
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise PipelineError(f"cannot keep the feed's copy: {exc.strerror or exc}", path=path) from None
