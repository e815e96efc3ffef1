"""The YouTube Data API v3 through Google's own client: `videos.list` and `videos.update`.

The client is built from its bundled discovery document (nothing is fetched to start);
`PIPELINE_YOUTUBE_API_ROOT` points it at another root (tests, proxies). Every call goes through
`_call`: quota is charged before each attempt, 5xx, 429 and network errors are retried with
backoff, and every other failure becomes one `ApiError` with YouTube's reason in it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from .auth import AuthError, check_endpoint
from .errors import PipelineError

API_ROOT_ENV = "PIPELINE_YOUTUBE_API_ROOT"
LIST_COST = 1
UPDATE_COST = 50
DAILY_QUOTA = 10_000
MAX_IDS_PER_LIST = 50
PACIFIC = ZoneInfo("America/Los_Angeles")
RETRIES = 4  # after the first attempt: waits of 1, 2, 4, 8 s
BASE_DELAY = 1.0
TIMEOUT = 60.0


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
        return reason, " ".join(str(error.get("message", "")).split())
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return "", ""


def build_service(credentials: Any, env: Mapping[str, str], timeout: float = TIMEOUT) -> Any:
    """The `youtube` v3 service of google-api-python-client, from its bundled discovery document."""
    import google_auth_httplib2
    import httplib2
    from googleapiclient.discovery import build

    options: dict[str, str] = {}
    root = env.get(API_ROOT_ENV, "").strip()
    if root:
        options["api_endpoint"] = check_endpoint(root.rstrip("/") + "/", API_ROOT_ENV)
    http = google_auth_httplib2.AuthorizedHttp(credentials, http=httplib2.Http(timeout=timeout))
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
            for item in response.get("items", []):
                if (
                    isinstance(item, dict)
                    and item.get("id") in chunk
                    and isinstance(item.get("snippet"), dict)
                ):
                    found[item["id"]] = item
        return found

    def update_snippet(self, video_id: str, snippet: Mapping[str, Any]) -> dict[str, Any]:
        """`videos.update(part=snippet)` with `snippet` as given: every field of it is replaced."""
        request = self.service.videos().update(
            part="snippet", body={"id": video_id, "snippet": dict(snippet)}
        )
        result: dict[str, Any] = self._call(request, "videos.update", UPDATE_COST)
        return result

    def _call(self, request: Any, what: str, cost: int) -> Any:
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError
        from httplib2 import HttpLib2Error

        attempt = 0
        while True:
            self.charge(what, cost)
            try:
                return request.execute(num_retries=0)
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
    return " ".join(str(first).split())
