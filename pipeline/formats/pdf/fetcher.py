"""A locked-down URL fetcher for WeasyPrint: post bodies come from third-party feeds.

Only the project's own `templates/` assets may be read from disk; the network is off unless
the configuration turns it on, and then only https, to listed hosts, size-capped, without
redirects to other hosts. Every refusal is recorded (and logged) and never fetched.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import ssl
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from ...settings.config import TEMPLATES_DIR
from ...user_files import TooBigUserFile, UserFileError, read_bytes

log = logging.getLogger(__name__)

# Files that a print template may legitimately pull from templates/.
ASSET_SUFFIXES = frozenset(
    {".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".ttf", ".otf", ".woff", ".woff2"}
)


class ResourceRefused(ValueError):
    """The fetcher would not fetch a resource; WeasyPrint turns this into a warning."""


class ResourceRefusedFatal(FatalURLFetchingError):  # type: ignore[misc]
    """The fetcher would not fetch a resource and the render must stop."""


@dataclass(frozen=True)
class FetchPolicy:
    """What a render may fetch: local assets always, the network only when enabled."""

    assets_dir: Path = TEMPLATES_DIR
    network: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    max_bytes: int = 5_000_000
    max_image_pixels: int = 20_000_000
    timeout: float = 10.0
    fatal: bool = False


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only when it stays on https and on the same host."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urlsplit(req.full_url), urlsplit(newurl)
        if new.scheme != "https" or new.hostname != old.hostname or new.port != old.port:
            raise ResourceRefused(f"redirect to another host refused: {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class SafeURLFetcher(URLFetcher):  # type: ignore[misc]
    """Fetch `templates/` assets and `data:` URLs; refuse everything else unless allowed."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self.refused: list[str] = []
        self.fetched: list[str] = []
        # allowed_protocols stops any scheme we do not handle ourselves, even if a
        # future WeasyPrint calls the base class directly. No ssl_context here: building one
        # loads the system's CA bundle (~20 ms, once per render); `_fetch_network` makes its
        # own, only when a fetch is allowed, and http.client verifies by default anyway.
        super().__init__(
            timeout=self.policy.timeout,
            allowed_protocols=("file", "data", "https"),
            allow_redirects=False,
            fail_on_errors=self.policy.fatal,
        )
        self._assets_root = self.policy.assets_dir.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Return the resource at `url`, or raise when the policy refuses it."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            response = self._fetch_data(url)
        elif scheme == "file":
            response = self._fetch_file(url)
        elif scheme in ("http", "https"):
            response = self._fetch_network(url)
        else:
            self._refuse(url, f"scheme {scheme or '(none)'!r} is not allowed")
        self.fetched.append(_short(url))
        return response

    def _refuse(self, url: str, reason: str) -> NoReturn:
        """Record and raise a refusal (fatal when the policy says so)."""
        message = f"refused {_short(url)}: {reason}"
        self.refused.append(message)
        log.debug("%s", message)
        if self.policy.fatal:
            raise ResourceRefusedFatal(message)
        raise ResourceRefused(message)

    def _fetch_data(self, url: str) -> URLFetcherResponse:
        """Decode a `data:` URL (no I/O), capped like any other resource."""
        if len(url) > self.policy.max_bytes * 4 // 3 + 1024:
            self._refuse(url, f"data: URL over {self.policy.max_bytes} bytes")
        with urllib.request.DataHandler().data_open(urllib.request.Request(url)) as raw:
            body = raw.read()
            content_type = raw.headers.get("Content-Type", "text/plain")
        self._check_body(url, body)
        return URLFetcherResponse(url, body, {"Content-Type": content_type})

    def _fetch_file(self, url: str) -> URLFetcherResponse:
        """Read a file, but only one inside the assets directory."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            self._refuse(url, "file: URL on another host")
        path = Path(urllib.request.url2pathname(unquote(parts.path))).resolve()
        if not path.is_relative_to(self._assets_root):
            self._refuse(url, f"file outside {self._assets_root.name}/")
        if path.suffix.lower() not in ASSET_SUFFIXES:
            self._refuse(url, "not a template asset")
        try:  # a regular file only, never more than max_bytes + 1 read
            body = read_bytes(path, "asset", limit=self.policy.max_bytes)
        except TooBigUserFile:
            self._refuse(url, f"larger than {self.policy.max_bytes} bytes")
        except UserFileError as exc:
            self._refuse(url, f"not a template asset ({exc.message})")
        self._check_body(url, body)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body, {"Content-Type": content_type})

    def _fetch_network(self, url: str) -> URLFetcherResponse:
        """Fetch over https from an allowed host, size-capped, same-host redirects only."""
        parts = urlsplit(url)
        if not self.policy.network:
            self._refuse(url, "network access is disabled ([tool.pipeline.pdf] network)")
        if parts.scheme != "https":
            self._refuse(url, "only https is allowed")
        host = (parts.hostname or "").lower()
        if host not in self.policy.allowed_hosts:
            self._refuse(url, f"host {host!r} is not in allowed_hosts")
        if parts.username or parts.password or parts.port not in (None, 443):
            self._refuse(url, "credentials or a non-standard port in the URL")
        opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.HTTPSHandler(context=ssl.create_default_context()),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPErrorProcessor(),
            _SameHostRedirects(),
        ):
            opener.add_handler(handler)
        request = urllib.request.Request(
            url, headers={"User-Agent": "episode-pipeline", "Accept-Encoding": "identity"}
        )
        with opener.open(request, timeout=self.policy.timeout) as raw:
            length = raw.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > self.policy.max_bytes:
                self._refuse(url, f"larger than {self.policy.max_bytes} bytes")
            body = raw.read(self.policy.max_bytes + 1)
            if len(body) > self.policy.max_bytes:
                self._refuse(url, f"larger than {self.policy.max_bytes} bytes")
            headers = {"Content-Type": raw.headers.get("Content-Type", "")}
            final_url = raw.geturl()
        self._check_body(url, body)
        return URLFetcherResponse(final_url, body, headers)

    def _check_body(self, url: str, body: bytes) -> None:
        """Refuse a raster image whose decoded size is over the pixel cap."""
        from PIL import Image, UnidentifiedImageError

        try:
            with warnings.catch_warnings():
                # The cap below is the check; Pillow's own warning adds nothing.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(body)) as image:
                    width, height = image.size
        except Image.DecompressionBombError:
            self._refuse(url, f"image over the {self.policy.max_image_pixels}-pixel cap")
        except (UnidentifiedImageError, OSError, ValueError):
            return
        if width * height > self.policy.max_image_pixels:
            cap = self.policy.max_image_pixels
            self._refuse(url, f"image of {width}x{height} pixels over the {cap}-pixel cap")


def _short(url: str) -> str:
    """A URL shortened for messages (data: URLs can be megabytes)."""
    return url if len(url) <= 120 else url[:100] + "…"
