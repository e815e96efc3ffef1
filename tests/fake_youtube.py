"""A fake YouTube Data API v3 on loopback: `videos.list`, `videos.update` and an OAuth token endpoint.

Real HTTP (http.server in a thread) with the request and response shapes of the real API, so
the tests drive Google's own client (`googleapiclient`, `google-auth`) against it. Everything it
receives is recorded in `requests`; failures are scripted:

- `quota_exceeded = True`: every API call answers 403 `quotaExceeded` (domain youtube.quota);
- `fail_next(method, status, reason)`: the next calls of that method answer an error once each;
- `forbidden` / `invalid` sets of video ids: update answers 403 `forbidden` / 400 `invalidDescription`;
- an unknown id is left out of `videos.list` (the real API's answer) and is 404 `videoNotFound`
  on update;
- only tokens in `access_tokens` are accepted (else 401 with `WWW-Authenticate`); `POST /token`
  with a known refresh token issues a new one;
- `answer_next(method, body, …)`: the next call of that method gets this answer instead, as it
  is, whatever it is: not JSON, HTML, the wrong shape, a body of 100 MB (an iterable of chunks,
  sent as it is made, with or without a Content-Length), gzip. With `applied=True` (a PUT) the
  update is made first, as the real API would, and only the answer is odd. `aborted` counts the
  answers the client stopped reading (the connection closed under the fake).

`videos.update(part=snippet)` behaves as the real one does: the writable fields of the snippet
are replaced by what is sent, and a writable field not sent is erased.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

API_PATH = "/youtube/v3/videos"
TOKEN_PATH = "/token"
# What videos.update(part=snippet) writes; every other snippet field is read-only.
WRITABLE = ("title", "description", "tags", "categoryId", "defaultLanguage", "defaultAudioLanguage")
REFRESH_TOKEN = "refresh-token-1"
CLIENT_ID = "client-id.apps.googleusercontent.com"
CLIENT_SECRET = "client-secret"


def video(video_id: str, description: str, **snippet: Any) -> dict[str, Any]:
    """A video resource as videos.list(part=snippet) returns it."""
    full = {
        "publishedAt": "2025-05-28T22:30:30Z",
        "channelId": "UCabcdefghijklmnopqrstuv",
        "title": f"Episode {video_id}",
        "description": description,
        "thumbnails": {
            "default": {"url": f"https://i.ytimg.com/vi/{video_id}/default.jpg", "width": 120, "height": 90}
        },
        "channelTitle": "Learning from Machine Learning",
        "tags": ["machine learning", "podcast"],
        "categoryId": "28",
        "liveBroadcastContent": "none",
        "defaultLanguage": "en",
        "defaultAudioLanguage": "en",
        "localized": {"title": f"Episode {video_id}", "description": description},
    }
    full.update(snippet)
    return {"kind": "youtube#video", "etag": f"etag-{video_id}", "id": video_id, "snippet": full}


def error_body(code: int, reason: str, message: str, domain: str = "youtube.video") -> dict[str, Any]:
    """The error document of Google's APIs."""
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


@dataclass
class Answer:
    """A scripted answer, sent as it is."""

    body: bytes | Iterable[bytes]
    status: int = 200
    content_type: str = "application/json; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True
    """Send a Content-Length (only for bytes); else the body ends when the connection closes."""
    applied: bool = False
    """For a PUT: make the update first, then answer this."""


HUGE = "@HUGE@"


def huge_json(document: Any, size: int) -> tuple[int, Iterator[bytes]]:
    """`document` as JSON, its one string `HUGE` replaced by `size` x's made as they are sent:
    (the length of the whole, the chunks). A 100 MB answer costs no memory to send."""
    before, after = json.dumps(document).split(HUGE, 1)
    head, tail = before.encode(), after.encode()
    chunk = b"x" * (1 << 16)
    count, rest = divmod(size, len(chunk))

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(count):
            yield chunk
        yield chunk[:rest]
        yield tail

    return len(head) + size + len(tail), chunks()


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    @property
    def api(self) -> bool:
        return self.path == API_PATH


@dataclass
class FakeYouTube:
    videos: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=lambda: {"access-1"})
    refresh_tokens: set[str] = field(default_factory=lambda: {REFRESH_TOKEN})
    quota_exceeded: bool = False
    forbidden: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)
    requests: list[Received] = field(default_factory=list)
    scripted: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    auth_codes: set[str] = field(default_factory=set)
    answers: dict[str, list[Answer]] = field(default_factory=dict)
    aborted: int = 0
    port: int = 0
    _tokens: Iterator[int] = field(default_factory=lambda: itertools.count(2))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{TOKEN_PATH}"

    def add(self, video_id: str, description: str, **snippet: Any) -> None:
        self.videos[video_id] = video(video_id, description, **snippet)

    def description(self, video_id: str) -> str:
        return str(self.videos[video_id]["snippet"]["description"])

    def fail_next(self, method: str, status: int, reason: str = "backendError") -> None:
        """The next `method` ("GET", "PUT" or "POST") call answers `status` once."""
        self.scripted.setdefault(method, []).append((status, reason))

    def answer_next(
        self,
        method: str,
        body: Any,
        status: int = 200,
        **options: Any,
    ) -> None:
        """The next `method` ("GET", "PUT", "POST" for the token endpoint) call gets this answer.
        `body`: bytes or an iterable of chunks as they are, a str as UTF-8, anything else as JSON."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes | Iterator):
            body = json.dumps(body).encode("utf-8")
        self.answers.setdefault(method, []).append(Answer(body, status, **options))

    def calls(self, method: str | None = None) -> list[Received]:
        return [r for r in self.requests if r.api and (method is None or r.method == method)]

    def edit_in_studio(self, video_id: str, description: str) -> None:
        self.videos[video_id]["snippet"]["description"] = description

    # --- the handler's work ----------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any] | Answer:
        body: Any
        if headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw or b"null")
        elif raw:
            body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        else:
            body = None
        with self._lock:
            self.requests.append(Received(method, path, query, headers, copy.deepcopy(body)))
            if self.answers.get(method) and path in (API_PATH, TOKEN_PATH):
                answer = self.answers[method].pop(0)
                if answer.applied and method == "PUT":
                    self._update(body)
                return answer
            if path == TOKEN_PATH and method == "POST":
                form = dict(body or {})
                basic = headers.get("authorization", "")
                if basic.startswith("Basic "):  # client credentials in the header, as RFC 6749 allows
                    user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
                    form.setdefault("client_id", unquote(user))
                    form.setdefault("client_secret", unquote(password))
                return self._token(form)
            if path != API_PATH:
                return 404, {}, error_body(404, "notFound", "Not Found", "global")
            if self.scripted.get(method):
                status, reason = self.scripted[method].pop(0)
                return status, {}, error_body(status, reason, f"scripted {status}", "global")
            token = headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.access_tokens:
                message = "Request had invalid authentication credentials."
                answer = error_body(401, "authError", message, "global")
                answer["error"]["status"] = "UNAUTHENTICATED"
                return 401, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}, answer
            if self.quota_exceeded:
                return 403, {}, error_body(403, "quotaExceeded", QUOTA_MESSAGE, "youtube.quota")
            if query.get("part") != ["snippet"]:
                return 400, {}, error_body(400, "invalidPart", "part must be snippet here", "youtube.part")
            if method == "GET":
                return self._list(query)
            if method == "PUT":
                return self._update(body)
            return 405, {}, error_body(405, "methodNotAllowed", "Method not allowed", "global")

    def _list(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        ids = [i for i in ",".join(query.get("id", [])).split(",") if i]
        if len(ids) > 50:
            return 400, {}, error_body(400, "tooManyIds", "too many ids", "youtube.parameter")
        items = [copy.deepcopy(self.videos[i]) for i in ids if i in self.videos]
        return (
            200,
            {},
            {
                "kind": "youtube#videoListResponse",
                "etag": "list-etag",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            },
        )

    def _update(self, body: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, dict) or not isinstance(body.get("snippet"), dict) or "id" not in body:
            return 400, {}, error_body(400, "badRequest", "id and snippet are required", "global")
        video_id, sent = body["id"], body["snippet"]
        if video_id not in self.videos:
            message = "The video that you are trying to update cannot be found."
            return 404, {}, error_body(404, "videoNotFound", message)
        if video_id in self.forbidden:
            return (
                403,
                {},
                error_body(403, "forbidden", "The video that you are trying to update cannot be updated."),
            )
        if not sent.get("title"):
            return (
                400,
                {},
                error_body(
                    400, "invalidTitle", "The request metadata specifies an invalid or empty video title."
                ),
            )
        if not sent.get("categoryId"):
            return (
                400,
                {},
                error_body(
                    400,
                    "invalidCategoryId",
                    "The snippet.categoryId property specifies an invalid category ID.",
                ),
            )
        description = sent.get("description", "")
        if (
            video_id in self.invalid
            or len(description.encode()) > 5000
            or "<" in description
            or ">" in description
        ):
            return (
                400,
                {},
                error_body(
                    400, "invalidDescription", "The request metadata specifies an invalid video description."
                ),
            )
        snippet = self.videos[video_id]["snippet"]
        for key in WRITABLE:
            if key in sent:
                snippet[key] = sent[key]
            else:
                snippet.pop(key, None)  # part=snippet: a writable field not sent is erased
        snippet["localized"] = {
            "title": snippet.get("title", ""),
            "description": snippet.get("description", ""),
        }
        return 200, {}, copy.deepcopy(self.videos[video_id])

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        if self.scripted.get("POST"):
            status, reason = self.scripted["POST"].pop(0)
            return status, {}, {"error": reason, "error_description": f"scripted {status}"}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return (
                401,
                {},
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return (
                    400,
                    {},
                    {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                )
            refresh = None
        elif grant == "authorization_code":
            if form.get("code") not in self.auth_codes:
                return 400, {}, {"error": "invalid_grant", "error_description": "Malformed auth code."}
            self.auth_codes.discard(form["code"])
            refresh = f"refresh-token-{next(self._tokens)}"
            self.refresh_tokens.add(refresh)
        else:
            return 400, {}, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        access = f"access-{next(self._tokens)}"
        self.access_tokens.add(access)
        answer = {
            "access_token": access,
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
            "token_type": "Bearer",
        }
        if refresh:
            answer["refresh_token"] = refresh
        return 200, {}, answer


def _handler(fake: FakeYouTube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            handled = fake.handle(self.command, parts.path, parse_qs(parts.query), headers, raw)
            if isinstance(handled, Answer):
                self._send_raw(handled)
                return
            status, extra, answer = handled
            data = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_raw(self, answer: Answer) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            if isinstance(answer.body, bytes) and answer.length:
                self.send_header("Content-Length", str(len(answer.body)))
            else:
                self.close_connection = True  # the body ends when the connection does
                self.send_header("Connection", "close")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            chunks = [answer.body] if isinstance(answer.body, bytes) else answer.body
            try:
                for chunk in chunks:
                    self.wfile.write(chunk)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                with fake._lock:
                    fake.aborted += 1  # the client stopped reading: what a size limit does
                self.close_connection = True

        do_GET = do_PUT = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running(fake: FakeYouTube | None = None) -> Iterator[FakeYouTube]:
    """Serve `fake` on 127.0.0.1 on a free port for the duration of the block."""
    fake = fake or FakeYouTube()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
