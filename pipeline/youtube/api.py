"""The YouTube Data API v3 through Google's own client: `videos.list` and `videos.update`.

The client is built from its bundled discovery document (nothing is fetched to start);
`PIPELINE_YOUTUBE_API_ROOT` points it at another root (tests, proxies). Every call goes through
`_call`: quota is charged before each attempt, 5xx, 429 and network errors are retried with
backoff, and every other failure becomes one `ApiError` with YouTube's reason in it.

Every answer is checked before anything uses it (`CheckedHttp`, the transport under Google's
client): no more than 10 MB is read from the API and 64 KB from the token endpoint, nothing
compressed (a small gzip can hold gigabytes), a 2xx answer of the API is a JSON object and one of
the token endpoint a usable token (`auth.token_answer_problem`), so google-auth never stores or
sends a token a header cannot carry. Then the shapes: `videos.list` answers a list of videos
whose descriptions are text of at most 5,000 bytes, as YouTube keeps them; so does
`videos.update`, and when it does not although the update was accepted, `UpdateAnsweredOddly`
says the description was sent all the same.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httplib2

from ..errors import PipelineError
from ..formats.descriptions.limits import YOUTUBE_MAX_BYTES
from ..user_files import MB, size_text
from .auth import TOKEN_ANSWER_BYTES, AuthError, check_endpoint, json_kind, token_answer_problem

API_ROOT_ENV = "PIPELINE_YOUTUBE_API_ROOT"
LIST_COST = 1
UPDATE_COST = 50
DAILY_QUOTA = 10_000
MAX_IDS_PER_LIST = 50
PACIFIC = ZoneInfo("America/Los_Angeles")
RETRIES = 4  # after the first attempt: waits of 1, 2, 4, 8 s
BASE_DELAY = 1.0
TIMEOUT = 60.0
API_ANSWER_BYTES = 10 * MB
"""The most an answer of the API may hold: 50 videos' snippets are well under 1 MB."""
SERVER_TEXT_CHARS = 300
"""The most of a server's own words (an error message) a line shows."""


class ApiError(PipelineError):
    """YouTube refused one request (400 invalidDescription, 403 forbidden, 404 videoNotFound…)."""

    def __init__(self, message: str, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    def __reduce__(self) -> Any:
        return (type(self), (self.message, self.status, self.reason))


class QuotaExceeded(ApiError):
    """Google's `quotaExceeded`: nothing more can be done today; the run stops."""


class AnswerError(ApiError):
    """YouTube answered with something the API never sends (not JSON, too big, the wrong
    shape): nothing of it is used or saved."""


class UpdateAnsweredOddly(ApiError):
    """`videos.update` was accepted (a 2xx status) but its answer is not the video: the
    description was sent all the same, and YouTube's copy of it is not known."""


class TokenAnswerError(AuthError):
    """The token endpoint answered with something that is no usable token: nothing is saved."""


class _Refused(Exception):
    """An answer stopped while it was read (too big, compressed): raised through httplib2."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CheckedHttp(httplib2.Http):  # type: ignore[misc]  # httplib2 is untyped
    """`httplib2.Http` that reads no answer past its limit and checks each one before Google's
    client sees it: 10 MB for the API, 64 KB (and a usable token) for the token endpoint
    `token_uri`. An answer that fails is an `AnswerError` or a `TokenAnswerError`, and the
    connection it came on is closed (the rest of it is never read)."""

    def __init__(self, token_uri: str, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.token_uri = _endpoint(token_uri)
        self.answer_limit = API_ANSWER_BYTES
        owner = self

        class Answer(http.client.HTTPResponse):
            def read(self, amt: int | None = None) -> bytes:
                if amt is not None:
                    return super().read(amt)
                limit = owner.answer_limit
                encoding = (self.getheader("content-encoding") or "identity").strip().lower()
                if encoding != "identity":  # asked for none: decompressing could fill the memory
                    self.close()
                    raise _Refused(
                        self.status, f"compressed ({encoding[:20]}) although it was asked not to be"
                    )
                length = (self.getheader("content-length") or "").strip()
                if length.isdigit() and int(length) > limit:
                    self.close()
                    raise _Refused(
                        self.status, f"{size_text(int(length))}, over the {size_text(limit)} taken"
                    )
                data: bytes = super().read(limit + 1)
                if len(data) > limit:
                    self.close()
                    raise _Refused(self.status, f"over the {size_text(limit)} taken")
                return data

        class Plain(httplib2.HTTPConnectionWithTimeout):  # type: ignore[misc]
            response_class = Answer

        class Secure(httplib2.HTTPSConnectionWithTimeout):  # type: ignore[misc]
            response_class = Answer

        self._connections: dict[str, type] = {"http": Plain, "https": Secure}

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
        connection_type: type | None = None,
    ) -> tuple[Any, bytes]:
        token = _endpoint(uri) == self.token_uri
        self.answer_limit = TOKEN_ANSWER_BYTES if token else API_ANSWER_BYTES
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "accept-encoding"}
        sent["accept-encoding"] = "identity"
        kind = connection_type or self._connections.get(urlsplit(uri).scheme.lower())
        try:
            response, content = super().request(uri, method, body, sent, redirections, kind)
        except _Refused as exc:
            self._drop_connections()
            raise _answer_error(token, exc.status, exc.reason) from None
        status = int(response.status)
        problem = token_answer_problem(status, content) if token else _api_answer_problem(status, content)
        if problem:
            raise _answer_error(token, status, problem)
        return response, content

    def _drop_connections(self) -> None:
        connections = dict(self.connections)
        self.connections.clear()
        for connection in connections.values():
            connection.close()


def _endpoint(uri: str) -> str:
    """A URL without its query and fragment, for comparing endpoints."""
    parts = urlsplit(uri)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}{parts.path or '/'}"


def _answer_error(token: bool, status: int, problem: str) -> PipelineError:
    if token:
        return TokenAnswerError(
            f"the token endpoint's answer (HTTP {status}) is no usable token: {problem}; "
            "nothing was saved, the token file is as it was"
        )
    return AnswerError(f"YouTube's answer (HTTP {status}) cannot be used: {problem}", status)


def _api_answer_problem(status: int, content: bytes) -> str | None:
    """Why an answer of the API cannot be given to Google's client, or None."""
    if not content:
        return "empty" if 200 <= status < 300 and status != 204 else None
    try:
        data = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except RecursionError:
        return "JSON nested too deeply"
    except ValueError:
        if 200 <= status < 300:
            return f"not JSON ({_snippet_of(content)})"
        return None  # an error page: HttpError reports its status
    if 200 <= status < 300 and not isinstance(data, dict):
        return f"not a JSON object but {json_kind(data)}"
    return None


def _snippet_of(content: bytes) -> str:
    """The start of a body that is not JSON, for a message: `starts '<!DOCTYPE html>'`."""
    start = content[:30].decode("utf-8", "replace")
    return f"it starts {start!r}" if start.strip() else "it is empty"


def description_problem(value: object) -> str | None:
    """Why a description in an answer cannot be YouTube's (not text, not Unicode, over 5,000
    bytes), or None."""
    if not isinstance(value, str):
        return f"not text but {json_kind(value)}"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "not valid Unicode (a lone surrogate)"
    if size > YOUTUBE_MAX_BYTES:
        return f"{size:,} bytes, and YouTube keeps at most {YOUTUBE_MAX_BYTES:,}"
    return None


def _videos(response: Any, what: str) -> list[dict[str, Any]]:
    """The videos of a `videos.list` answer, each with an id and a snippet whose description is
    one YouTube could hold; an AnswerError for any other answer."""
    items = response.get("items") if isinstance(response, dict) else None
    if not isinstance(items, list):
        raise AnswerError(f"{what}: YouTube's answer has no list of videos (items is {json_kind(items)})")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise AnswerError(f"{what}: an item of YouTube's answer is not a video with an id")
        snippet = item.get("snippet")
        if not isinstance(snippet, dict):
            raise AnswerError(f"{what}: video {item['id'][:20]!r} in YouTube's answer has no snippet")
        problem = description_problem(snippet.get("description", ""))
        if problem:
            raise AnswerError(
                f"{what}: the description of video {item['id'][:20]!r} in YouTube's answer is {problem}"
            )
    return items


def quota_day(now: dt.datetime) -> str:
    """The Pacific-time date quota is counted against (days turn at midnight Pacific)."""
    return now.astimezone(PACIFIC).date().isoformat()


def quota_reset(now: dt.datetime) -> dt.datetime:
    """The next midnight Pacific time after `now`, as an aware datetime in Pacific time."""
    local = now.astimezone(PACIFIC)
    tomorrow = local.date() + dt.timedelta(days=1)
    return dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)


def reset_text(now: dt.datetime) -> str:
    """`midnight Pacific time (2025-06-02 00:00 PDT, in 5 h 12 min)`."""
    reset = quota_reset(now)
    minutes = max(0, int((reset - now).total_seconds() // 60))
    return f"midnight Pacific time ({reset:%Y-%m-%d %H:%M %Z}, in {minutes // 60} h {minutes % 60:02d} min)"


def _error_parts(content: bytes) -> tuple[str, str]:
    """(reason, message) of a Google JSON error body; empty strings when it is not one."""
    try:
        data = json.loads(content.decode("utf-8"))
        error = data["error"]
        if isinstance(error, str):  # an OAuth-style error
            return error, str(data.get("error_description", ""))
        errors = error.get("errors") or [{}]
        reason = str(errors[0].get("reason", "") or error.get("status", ""))
        return _clipped(reason), _clipped(str(error.get("message", "")))
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        return "", ""


def _clipped(text: str) -> str:
    """A server's words on one line, at most `SERVER_TEXT_CHARS` of them."""
    text = " ".join(text.split())
    return text if len(text) <= SERVER_TEXT_CHARS else text[: SERVER_TEXT_CHARS - 1] + "…"


def build_service(credentials: Any, env: Mapping[str, str], timeout: float = TIMEOUT) -> Any:
    """The `youtube` v3 service of google-api-python-client, from its bundled discovery document."""
    import google_auth_httplib2
    from googleapiclient.discovery import build

    options: dict[str, str] = {}
    root = env.get(API_ROOT_ENV, "").strip()
    if root:
        options["api_endpoint"] = check_endpoint(root.rstrip("/") + "/", API_ROOT_ENV)
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=CheckedHttp(credentials.token_uri, timeout=timeout)
    )
    return build(
        "youtube",
        "v3",
        http=http,
        client_options=options or None,
        static_discovery=True,
        cache_discovery=False,
    )


class YouTubeApi:
    """`videos.list` and `videos.update`, each attempt charged, retried and explained."""

    def __init__(
        self,
        service: Any,
        charge: Callable[[str, int], None],
        *,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = RETRIES,
        base_delay: float = BASE_DELAY,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.service = service
        self.charge = charge
        self.sleep = sleep
        self.retries = retries
        self.base_delay = base_delay
        self.clock = clock

    def list_videos(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`{id: video}` for the ids YouTube knows and lets us see (part=snippet), 50 a call."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), MAX_IDS_PER_LIST):
            chunk = list(ids[start : start + MAX_IDS_PER_LIST])
            request = self.service.videos().list(part="snippet", id=",".join(chunk), maxResults=50)
            response = self._call(request, "videos.list", LIST_COST)
            for item in _videos(response, "videos.list"):
                if item["id"] in chunk:
                    found[item["id"]] = item
        return found

    def update_snippet(self, video_id: str, snippet: Mapping[str, Any]) -> dict[str, Any]:
        """`videos.update(part=snippet)` with `snippet` as given: every field of it is replaced."""
        request = self.service.videos().update(
            part="snippet", body={"id": video_id, "snippet": dict(snippet)}
        )
        what = "videos.update"
        accepted = f"{what}: YouTube accepted the update, but"
        try:
            result = self._call(request, what, UPDATE_COST)
        except AnswerError as exc:
            if 200 <= exc.status < 300:
                said = exc.message.removeprefix(f"{what}: ")
                raise UpdateAnsweredOddly(f"{accepted} {said}", exc.status) from None
            raise
        try:
            (video,) = _videos({"items": [result]}, what)
        except AnswerError as exc:
            said = exc.message.removeprefix(f"{what}: ").replace("an item of YouTube's answer", "its answer")
            raise UpdateAnsweredOddly(f"{accepted} {said}", 200) from None
        return video

    def _call(self, request: Any, what: str, cost: int) -> Any:
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError
        from httplib2 import HttpLib2Error

        attempt = 0
        while True:
            self.charge(what, cost)
            try:
                return request.execute(num_retries=0)
            except AnswerError as exc:  # the transport refused what YouTube answered
                raise AnswerError(f"{what}: {exc.message}", exc.status, exc.reason) from None
            except HttpError as exc:
                status = exc.resp.status
                reason, message = _error_parts(exc.content)
                if not ((status >= 500 or status == 429) and attempt < self.retries):
                    raise self._failure(what, status, reason, message) from None
            except RefreshError as exc:
                raise AuthError(
                    f"the YouTube token could not be refreshed ({_refresh_text(exc)}); "
                    "run `episode auth youtube` again"
                ) from None
            except (OSError, HttpLib2Error, TransportError) as exc:
                if attempt >= self.retries:
                    raise ApiError(f"{what}: network error after {attempt + 1} attempts: {exc}") from None
            delay = self.base_delay * 2**attempt
            attempt += 1
            self.sleep(delay)

    def _failure(self, what: str, status: int, reason: str, message: str) -> PipelineError:
        said = f"{reason}: {message}" if reason and message else reason or message or "no details"
        if status == 403 and reason in ("quotaExceeded", "dailyLimitExceeded"):
            return QuotaExceeded(
                f"{what}: YouTube's daily quota is used up ({reason}); it resets at "
                f"{reset_text(self.clock())}",
                status,
                reason,
            )
        if status == 401:
            return AuthError(
                f"{what}: YouTube refused the token (401 {said}); run `episode auth youtube` again"
            )
        return ApiError(f"{what}: HTTP {status} {said}", status, reason)


def _refresh_text(exc: Exception) -> str:
    """A RefreshError in one line: google-auth puts (message, response body) in its args."""
    first = exc.args[0] if exc.args else exc
    return _clipped(str(first))
