"""`episode publish youtube`: put each post's `youtube.txt` on its video, never destroying what is there.

For the posts with a `youtubeID`, after building what is out of date:

1. `videos.list(part=snippet)`, 50 ids a call;
2. a unified diff of the description on YouTube against `youtube.txt` (`--dry-run` stops here);
3. the description on YouTube is saved in `.episode/youtube/<video id>/<UTC time>.txt`;
4. `videos.update(part=snippet)` with the snippet as read and only `description` changed
   (`part=snippet` replaces every field of the snippet: a field not sent back is erased);
5. the ledger (`.episode/youtube/ledger.jsonl`, append-only, never pruned) records what was sent,
   also when YouTube accepted the update but answered with something that is not the video.

A video whose description is neither what the ledger says we last sent nor already `youtube.txt`
was edited in Studio: it is refused unless `--force`. A video without a ledger entry is adopted.
The ledger also counts the quota units spent per Pacific day; the run stops before `--quota`
would be passed.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..builder.run import build
from ..errors import PipelineError
from ..formats.descriptions.chapters import written_chapters
from ..formats.descriptions.limits import YOUTUBE_MAX_BYTES
from ..places import shown_path
from ..results import PostResult, Reporter
from ..settings.config import Settings
from ..source.post_file import read_post
from ..user_files import private_folder
from .api import (
    DAILY_QUOTA,
    LIST_COST,
    UPDATE_COST,
    ApiError,
    QuotaExceeded,
    UpdateAnsweredOddly,
    YouTubeApi,
    build_service,
    reset_text,
)
from .auth import AuthError, load_credentials, save_credentials, token_path
from .ledger import Clock, Ledger, _utc_now, normalized, save_backup

BUILD_FOLDER = "build"

Emit = Callable[[str], None]


class QuotaLimit(PipelineError):
    """The next call would pass `--quota`: the run stops before it."""


# --- descriptions ------------------------------------------------------------------------------


def description_problems(text: str) -> list[str]:
    """Why YouTube would refuse `text` or not make chapters of it: bytes, `<` `>`, chapter rules."""
    problems: list[str] = []
    size = len(text.encode("utf-8"))
    if size > YOUTUBE_MAX_BYTES:
        problems.append(f"{size} bytes, YouTube takes at most {YOUTUBE_MAX_BYTES}")
    if "<" in text or ">" in text:
        problems.append("it contains < or >, which YouTube refuses")
    problems += written_chapters(text).problems
    return problems


def description_diff(current: str, new: str, video_id: str, stem: str) -> str:
    """A unified diff of the description on YouTube (`a/`) against `youtube.txt` (`b/`)."""
    old_lines = [line + "\n" for line in normalized(current).split("\n")] if normalized(current) else []
    new_lines = [line + "\n" for line in normalized(new).split("\n")] if normalized(new) else []
    return "".join(
        difflib.unified_diff(old_lines, new_lines, f"a/youtube/{video_id}", f"b/{stem}/youtube.txt")
    )


# --- one run -----------------------------------------------------------------------------------


@dataclass
class VideoResult:
    """What happened to one post's video: `updated`, `unchanged`, `would update`, `refused`, `failed`,
    `not tried` (the run stopped first)."""

    post: str
    video_id: str | None
    status: str
    message: str = ""
    backup: Path | None = None
    diff: str = ""
    odd_answer: bool = False
    """YouTube accepted the update but answered with something else than the video: updated, and
    the run still ends with exit code 1 (a server that answers so is worth a look)."""

    @property
    def line(self) -> str:
        where = f"{self.post}: {self.video_id}" if self.video_id else self.post
        tail = f": {self.message}" if self.message else ""
        kept = f" (previous description kept in {shown_path(self.backup)})" if self.backup else ""
        return f"{self.status:<12} {where}{tail}{kept}"


@dataclass
class PublishSummary:
    results: list[VideoResult] = field(default_factory=list)
    stopped: str | None = None
    quota_used: int = 0
    quota_limit: int = DAILY_QUOTA
    build_failed: int = 0
    emit: Emit = field(default=lambda line: None, repr=False)

    def add(self, result: VideoResult) -> None:
        """Record one video's outcome and show it (its diff first)."""
        self.results.append(result)
        if result.diff:
            self.emit(result.diff.rstrip("\n"))
        self.emit(result.line)

    @property
    def ok(self) -> bool:
        return self.stopped is None and not any(
            r.status in ("refused", "failed", "not tried") or r.odd_answer for r in self.results
        )

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def line(self) -> str:
        counts = ", ".join(
            f"{status} {self.count(status)}"
            for status in ("updated", "unchanged", "would update", "refused", "failed", "not tried")
            if self.count(status) or status in ("updated", "failed")
        )
        return f"youtube: {counts}; quota used today (Pacific) {self.quota_used}/{self.quota_limit} units"


@dataclass
class Candidate:
    post: str
    stem: str
    video_id: str
    text: str


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    force: bool = False
    strict: bool = False
    quota: int = DAILY_QUOTA


def _not_yet(published: object, date: dt.datetime, now: dt.datetime) -> str | None:
    """Why a post is not to be published yet (without --force), or None."""
    if published is False:
        return "the post says `published: false`; --force publishes it anyway"
    if date > now:
        return f"the post is dated {date:%Y-%m-%d %H:%M %z}, in the future; --force publishes it anyway"
    return None


def _candidates(
    results: Sequence[PostResult],
    build_dir: Path,
    options: Options,
    now: dt.datetime,
    summary: PublishSummary,
) -> list[Candidate]:
    """The posts with a video whose `youtube.txt` may be published; the others as refused lines."""
    found: list[Candidate] = []
    for result in results:
        if result.status == "failed":
            summary.add(VideoResult(result.source, None, "failed", f"not built: {result.error}"))
            continue
        try:
            front = read_post(Path(result.source)).front_matter
        except PipelineError as exc:
            summary.add(VideoResult(result.source, None, "failed", str(exc)))
            continue
        if front.youtube_id is None:
            continue
        why = _not_yet(front.values.get("published"), front.date, now) if not options.force else None
        if why:
            summary.add(VideoResult(result.source, front.youtube_id, "refused", why))
            continue
        try:
            text = (build_dir / result.stem / "youtube.txt").read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            summary.add(
                VideoResult(
                    result.source, front.youtube_id, "failed", f"cannot read the built youtube.txt: {exc}"
                )
            )
            continue
        problems = description_problems(normalized(text))
        if problems:
            why = f"youtube.txt breaks YouTube's rules: {'; '.join(problems)}"
            summary.add(VideoResult(result.source, front.youtube_id, "refused", why))
            continue
        found.append(Candidate(result.source, result.stem, front.youtube_id, normalized(text)))
    by_video: dict[str, list[Candidate]] = {}
    for candidate in found:
        by_video.setdefault(candidate.video_id, []).append(candidate)
    unique: list[Candidate] = []
    for candidate in found:
        same = by_video[candidate.video_id]
        if len(same) > 1:
            others = ", ".join(Path(c.post).name for c in same if c is not candidate)
            summary.add(
                VideoResult(candidate.post, candidate.video_id, "refused", f"{others} has the same youtubeID")
            )
        else:
            unique.append(candidate)
    return unique


def site_folder(settings: Settings) -> Path | None:
    """The folder of the settings file in use (the site), or None with default settings."""
    origin = Path(settings.source)
    return origin.resolve().parent if origin.is_file() else None


class _Quiet(Reporter):
    """The build's progress is not this command's business; failures come back as results."""


def publish_youtube(
    src: Path,
    settings: Settings,
    options: Options,
    *,
    env: Mapping[str, str],
    emit: Emit,
    clock: Clock = _utc_now,
    sleep: Callable[[float], None] | None = None,
) -> PublishSummary:
    """Build what is out of date, then publish each post's `youtube.txt` to its video."""
    if options.quota <= 0:
        raise PipelineError("must be a positive number of units", field="--quota")
    state = settings.state_dir
    private_folder(state)
    folder = private_folder(state / "youtube")
    summary = PublishSummary(quota_limit=options.quota, emit=emit)
    with Ledger(folder, clock).opened() as ledger:
        if ledger.unreadable:
            lines = ", ".join(map(str, ledger.unreadable[:5]))
            emit(f"warning: {ledger.path}: line(s) {lines} unreadable, ignored")
        built = build(
            src,
            folder / BUILD_FOLDER,
            settings,
            jobs=1,
            only=["youtube"],
            strict=options.strict,
            force=options.strict,  # a skipped post's warnings are not known: look again
            reporter=_Quiet(),
        )
        summary.build_failed = len(built.failed)
        candidates = _candidates(built.results, folder / BUILD_FOLDER, options, clock(), summary)
        summary.quota_used = ledger.used_today()
        if candidates:
            _publish(
                candidates, ledger, folder, options, env, emit, clock, sleep, summary, site_folder(settings)
            )
        summary.quota_used = ledger.used_today()
    return summary


def _publish(
    candidates: list[Candidate],
    ledger: Ledger,
    folder: Path,
    options: Options,
    env: Mapping[str, str],
    emit: Emit,
    clock: Clock,
    sleep: Callable[[float], None] | None,
    summary: PublishSummary,
    site: Path | None,
) -> None:
    path = token_path(env, site)
    credentials = load_credentials(path, env, warn=lambda message: emit(f"warning: {message}"))
    token_before = credentials.token

    def charge(method: str, units: int) -> None:
        used = ledger.used_today()
        if used + units > options.quota:
            raise QuotaLimit(
                f"stopped before {method} ({units} unit(s)): {used} of --quota {options.quota} units "
                f"already used today; the quota resets at {reset_text(clock())}"
            )
        ledger.record_call(method, units)

    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    api = YouTubeApi(build_service(credentials, env), charge, clock=clock, **extra)
    pending = list(candidates)
    try:
        videos = api.list_videos([c.video_id for c in candidates])
        while pending:
            candidate = pending[0]
            result = _publish_one(
                candidate, videos.get(candidate.video_id), api, ledger, folder, options, clock
            )
            pending.pop(0)
            summary.add(result)
    except (QuotaExceeded, QuotaLimit, AuthError) as exc:
        summary.stopped = str(exc)
        emit(f"stopped: {exc}")
        for candidate in pending:
            summary.add(VideoResult(candidate.post, candidate.video_id, "not tried"))
    except ApiError as exc:  # videos.list itself failed: no video can be published
        summary.stopped = str(exc)
        emit(f"stopped: {exc}")
        for candidate in pending:
            summary.add(VideoResult(candidate.post, candidate.video_id, "not tried"))
    finally:
        if credentials.token != token_before and credentials.token:
            try:
                save_credentials(credentials, path)  # refreshed: keep the new access token
            except AuthError as exc:  # the run's own outcome stands; the next run refreshes again
                emit(f"warning: {exc}")


def _publish_one(
    candidate: Candidate,
    video: dict[str, Any] | None,
    api: YouTubeApi,
    ledger: Ledger,
    folder: Path,
    options: Options,
    clock: Clock,
) -> VideoResult:
    post, video_id = candidate.post, candidate.video_id
    if video is None:
        return VideoResult(
            post, video_id, "failed", "no such video, or not one the authorized channel owns (videos.list)"
        )
    snippet = dict(video["snippet"])
    current = snippet.get("description", "")
    current = current if isinstance(current, str) else ""
    if normalized(current) == candidate.text:
        return VideoResult(post, video_id, "unchanged")
    diff = description_diff(current, candidate.text, video_id, candidate.stem)
    last = ledger.sent.get(video_id)
    if last is not None:
        ours = {normalized(last.description)} | ({normalized(last.stored)} if last.stored else set())
        if normalized(current) not in ours and not options.force:
            return VideoResult(
                post,
                video_id,
                "refused",
                f"the description on YouTube was changed (in Studio?) since this tool sent one on "
                f"{last.time[:16].replace('T', ' ')} UTC; --force replaces it (after a backup)",
                diff=diff,
            )
    if options.dry_run:
        return VideoResult(
            post,
            video_id,
            "would update",
            "adopted: first publish to this video" if last is None else "",
            diff=diff,
        )
    try:
        backup = save_backup(folder, video_id, current, clock())
    except (OSError, PipelineError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return VideoResult(
            post, video_id, "failed", f"cannot save the description on YouTube before replacing it: {why}"
        )
    snippet["description"] = candidate.text
    adopted = "adopted: first publish to this video" if last is None else ""
    try:
        response = api.update_snippet(video_id, snippet)
    except (QuotaExceeded, QuotaLimit, AuthError):
        raise
    except UpdateAnsweredOddly as exc:  # sent all the same: the ledger must know it is ours
        ledger.record_sent(video_id, Path(post).name, candidate.text, None)
        message = "; ".join(filter(None, [adopted, f"{exc}; recorded in the ledger as sent"]))
        return VideoResult(post, video_id, "updated", message, backup=backup, diff=diff, odd_answer=True)
    except ApiError as exc:
        return VideoResult(post, video_id, "failed", str(exc), backup=backup, diff=diff)
    stored = response["snippet"].get("description")  # checked: text of at most 5,000 bytes
    ledger.record_sent(video_id, Path(post).name, candidate.text, stored if isinstance(stored, str) else None)
    return VideoResult(post, video_id, "updated", adopted, backup=backup, diff=diff)


__all__ = [
    "LIST_COST",
    "UPDATE_COST",
    "Ledger",
    "Options",
    "PublishSummary",
    "VideoResult",
    "description_diff",
    "description_problems",
    "normalized",
    "publish_youtube",
]
