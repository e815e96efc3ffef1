"""A real HTTP server on loopback that serves feeds as a podcast host would: each path its bytes,
an ETag and Last-Modified answered with 304 when the client sends them back, and any answer a
test wants instead (an error, a redirect, a body that never ends). It remembers every request."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LAST_MODIFIED = "Wed, 02 Jul 2025 12:00:00 GMT"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FeedServer:
    port: int = 0
    feeds: dict[str, bytes] = field(default_factory=dict)
    special: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def asked(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # the HTTP verb's name
            server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            if self.path in server.special:
                server.special[self.path](self)
                return
            data = server.feeds.get(self.path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", LAST_MODIFIED)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
