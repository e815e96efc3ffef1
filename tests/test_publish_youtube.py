"""`episode publish youtube` and `episode auth youtube` against a fake YouTube on loopback.

Google's real client (googleapiclient, google-auth, google-auth-oauthlib) talks HTTP to
`tests/fake_youtube.py`; nothing else is faked and nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import socket
import stat
import subprocess
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import PipelineError
from pipeline.reports import shown_path
from pipeline.settings.config import Settings, load_settings
from pipeline.user_files import MB
from pipeline.youtube.api import quota_day, quota_reset
from pipeline.youtube.auth import SCOPES, load_credentials, run_auth_flow, token_path
from pipeline.youtube.ledger import Ledger
from pipeline.youtube.publish import (
    BUILD_FOLDER,
    Options,
    PublishSummary,
    description_problems,
    normalized,
    publish_youtube,
)

from .conftest import memory_cap, run_episode
from .fake_youtube import (
    CLIENT_ID,
    CLIENT_SECRET,
    HUGE,
    REFRESH_TOKEN,
    FakeYouTube,
    huge_json,
    running,
    video,
)

ONE = "AAAAAAAAAA1"
TWO = "BBBBBBBBBB2"
OLD = "The old description, pasted by hand.\n\n0:00 Start"


def post_text(n: int, video_id: str | None, extra: str = "", body: str = "") -> str:
    front = f'title: "Episode {n}"\ndate: 2025-01-0{n} 10:00:00 +0000\n'
    if video_id:
        front += f"youtubeID: {video_id}\n"
    body = body or (
        f"Episode {n} is about careful publishing. We talk about backups and ledgers.\n\n"
        "## Chapters\n\n0:00 Welcome\n\n1:00 Backups\n\n2:30 Ledgers\n"
    )
    return f"---\n{front}{extra}---\n{body}"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site folder: settings file, two posts with videos and one without."""
    root = tmp_path / "site"
    posts = root / "posts"
    posts.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.pipeline]\nshow_name = "Test Show"\n')
    (posts / "2025-01-01-one.md").write_text(post_text(1, ONE))
    (posts / "2025-01-02-two.md").write_text(post_text(2, TWO))
    (posts / "2025-01-03-three.md").write_text(post_text(3, None))
    return root


def site_settings(site: Path) -> Settings:
    return load_settings(site / "pyproject.toml")


def write_token(path: Path, token: str = "access-1", expiry: str | None = None) -> Path:
    expiry = expiry or (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = {
        "token": token,
        "refresh_token": REFRESH_TOKEN,
        "token_uri": "https://oauth2.googleapis.com/token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": list(SCOPES),
        "expiry": expiry,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info))
    path.chmod(0o600)
    return path


@pytest.fixture
def fake() -> Any:
    with running(FakeYouTube()) as server:
        server.add(ONE, OLD)
        server.add(TWO, OLD)
        yield server


@pytest.fixture
def env(tmp_path: Path, fake: FakeYouTube) -> dict[str, str]:
    token = write_token(tmp_path / "config" / "youtube-token.json")
    return {
        "PIPELINE_YOUTUBE_API_ROOT": fake.root,
        "PIPELINE_YOUTUBE_TOKEN_URI": fake.token_uri,
        "PIPELINE_YOUTUBE_TOKEN": str(token),
    }


class Run:
    """One publish run in this process: its summary and every line it printed."""

    def __init__(self, summary: PublishSummary, lines: list[str]) -> None:
        self.summary = summary
        self.lines = lines
        self.text = "\n".join(lines)

    def status(self, video_id: str) -> str:
        return next(r.status for r in self.summary.results if r.video_id == video_id)


def publish(
    site: Path,
    env: dict[str, str],
    sleeps: list[float] | None = None,
    clock: Any = None,
    **options: Any,
) -> Run:
    lines: list[str] = []
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    summary = publish_youtube(
        site / "posts",
        site_settings(site),
        Options(**options),
        env=env,
        emit=lines.append,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **extra,
    )
    return Run(summary, lines)


def ledger_entries(site: Path) -> list[dict[str, Any]]:
    text = (site / ".episode" / "youtube" / "ledger.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def built_text(site: Path, stem: str) -> str:
    return normalized((site / ".episode" / "youtube" / "build" / stem / "youtube.txt").read_text("utf-8"))


def backups(site: Path, video_id: str) -> list[Path]:
    folder = site / ".episode" / "youtube" / video_id
    return sorted(folder.iterdir()) if folder.is_dir() else []


# --- the publishing runs ---------------------------------------------------------------------


def test_dry_run_lists_and_diffs_but_changes_nothing(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    run = publish(site, env, dry_run=True)
    assert run.status(ONE) == "would update" and run.status(TWO) == "would update"
    assert run.summary.ok
    # one list call for both ids, no update
    gets = fake.calls("GET")
    assert len(gets) == 1 and gets[0].query["id"] == [f"{ONE},{TWO}"] and gets[0].query["part"] == ["snippet"]
    assert fake.calls("PUT") == []
    assert f"--- a/youtube/{ONE}" in run.text and "+++ b/2025-01-01-one/youtube.txt" in run.text
    assert "-The old description, pasted by hand." in run.text
    assert "+Episode 1 is about careful publishing." in run.text
    assert fake.description(ONE) == OLD
    assert backups(site, ONE) == []
    assert [e["event"] for e in ledger_entries(site)] == ["call"]  # the list call's quota unit


def test_first_publish_sends_the_whole_snippet_back_and_keeps_a_backup(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    before = json.loads(json.dumps(fake.videos[ONE]["snippet"]))
    run = publish(site, env)
    assert run.summary.ok, run.text
    assert run.status(ONE) == "updated" and "adopted" in run.text
    puts = fake.calls("PUT")
    assert len(puts) == 2 and puts[0].query["part"] == ["snippet"]
    sent = puts[0].body
    assert sent["id"] == ONE
    expected = built_text(site, "2025-01-01-one")
    assert sent["snippet"]["description"] == expected
    # every field videos.list returned is sent back unchanged, but the description
    assert {k: v for k, v in sent["snippet"].items() if k != "description"} == {
        k: v for k, v in before.items() if k != "description"
    }
    after = fake.videos[ONE]["snippet"]
    assert after["description"] == expected
    assert after["tags"] == before["tags"] and after["title"] == before["title"]
    assert after["categoryId"] == "28" and after["defaultLanguage"] == "en"
    # the description found on YouTube is kept, privately
    (saved,) = backups(site, ONE)
    assert saved.read_text("utf-8") == OLD
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((site / ".episode").stat().st_mode) == 0o700
    ledger = site / ".episode" / "youtube" / "ledger.jsonl"
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600
    sent_entries = [e for e in ledger_entries(site) if e["event"] == "sent"]
    assert [e["video"] for e in sent_entries] == [ONE, TWO]
    assert sent_entries[0]["description"] == expected and sent_entries[0]["time"].endswith("Z")
    # quota: 1 list + 2 updates
    assert run.summary.quota_used == 101
    assert "quota used today (Pacific) 101/10000" in run.summary.line()


def test_second_run_sends_nothing(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    publish(site, env)
    fake.requests.clear()
    run = publish(site, env)
    assert run.status(ONE) == "unchanged" and run.status(TWO) == "unchanged"
    assert fake.calls("PUT") == [] and len(fake.calls("GET")) == 1
    assert run.summary.quota_used == 102  # 1 + 100 + 1


def test_trailing_white_space_and_crlf_on_youtube_count_as_equal(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    publish(site, env)
    fake.edit_in_studio(ONE, fake.description(ONE).replace("\n", "  \r\n") + "\n\n")
    fake.requests.clear()
    run = publish(site, env)
    assert run.status(ONE) == "unchanged" and fake.calls("PUT") == []


def test_an_edit_in_studio_is_refused_then_replaced_with_force(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    publish(site, env)
    studio = "Edited by hand in Studio."
    fake.edit_in_studio(ONE, studio)
    (site / "posts" / "2025-01-01-one.md").write_text(post_text(1, ONE, body="A new summary.\n"))
    fake.requests.clear()
    run = publish(site, env, dry_run=True)  # a dry run says so too
    assert run.status(ONE) == "refused" and not run.summary.ok
    run = publish(site, env)
    assert run.status(ONE) == "refused" and not run.summary.ok
    (line,) = [line for line in run.lines if line.startswith("refused")]
    assert ONE in line and "2025-01-01-one.md" in line and "--force" in line
    assert fake.description(ONE) == studio and fake.calls("PUT") == []
    assert run.status(TWO) == "unchanged"

    run = publish(site, env, force=True)
    assert run.status(ONE) == "updated" and run.summary.ok
    assert fake.description(ONE) == "A new summary."
    assert [p.read_text("utf-8") for p in backups(site, ONE)] == [OLD, studio]


def test_a_new_youtube_txt_replaces_what_we_sent(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    publish(site, env)
    (site / "posts" / "2025-01-01-one.md").write_text(post_text(1, ONE, body="A newer summary.\n"))
    run = publish(site, env)  # rebuilt first: never a stale youtube.txt
    assert run.status(ONE) == "updated" and "adopted" not in run.text
    assert fake.description(ONE) == "A newer summary."


def test_quota_exceeded_stops_the_run_and_says_when_it_resets(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    fake.quota_exceeded = True
    run = publish(site, env)
    assert not run.summary.ok
    assert run.summary.stopped and "quotaExceeded" in run.summary.stopped
    assert "resets at midnight Pacific time" in run.summary.stopped
    assert {r.status for r in run.summary.results} == {"not tried"}
    assert len(fake.calls()) == 1  # not retried


def test_the_quota_option_stops_before_it_would_be_passed(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    run = publish(site, env, quota=60)  # 1 (list) + 50 fits, a second update would not
    assert run.status(ONE) == "updated" and run.status(TWO) == "not tried"
    assert run.summary.stopped and "--quota 60" in run.summary.stopped and "51" in run.summary.stopped
    assert len(fake.calls("PUT")) == 1 and not run.summary.ok


def test_quota_days_turn_at_midnight_pacific(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    # 07:59 UTC on 2 June is 00:59 PDT: the Pacific day is 2 June; 06:59 UTC is still 1 June.
    late = dt.datetime(2025, 6, 2, 6, 59, tzinfo=dt.UTC)
    early = dt.datetime(2025, 6, 2, 7, 1, tzinfo=dt.UTC)
    assert quota_day(late) == "2025-06-01" and quota_day(early) == "2025-06-02"
    assert quota_reset(late).astimezone(dt.UTC) == dt.datetime(2025, 6, 2, 7, 0, tzinfo=dt.UTC)
    run = publish(site, env, clock=lambda: late, dry_run=True)
    assert run.summary.quota_used == 1
    run = publish(site, env, clock=lambda: early, dry_run=True)
    assert run.summary.quota_used == 1  # a new day
    run = publish(site, env, clock=lambda: early, dry_run=True)
    assert run.summary.quota_used == 2


def test_a_500_is_retried_with_backoff(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    fake.fail_next("PUT", 500)
    sleeps: list[float] = []
    run = publish(site, env, sleeps=sleeps)
    assert run.summary.ok and run.status(ONE) == "updated" and run.status(TWO) == "updated"
    assert sleeps == [1.0]
    assert [r.query.get("part") for r in fake.calls("PUT")] == [["snippet"]] * 3
    assert run.summary.quota_used == 151  # the failed attempt is counted too


def test_a_server_that_keeps_failing_fails_that_video_only(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    for _ in range(5):
        fake.fail_next("PUT", 503)
    sleeps: list[float] = []
    run = publish(site, env, sleeps=sleeps)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert run.status(ONE) == "failed" and run.status(TWO) == "updated"
    (line,) = [line for line in run.lines if line.startswith("failed")]
    assert ONE in line and "HTTP 503" in line and "\n" not in line


def test_network_errors_are_retried_then_stop_the_run(site: Path, env: dict[str, str]) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    sleeps: list[float] = []
    run = publish(site, {**env, "PIPELINE_YOUTUBE_API_ROOT": f"http://127.0.0.1:{port}/"}, sleeps=sleeps)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert run.summary.stopped and "network error after 5 attempts" in run.summary.stopped
    assert {r.status for r in run.summary.results} == {"not tried"} and not run.summary.ok
    assert run.lines[0].startswith("stopped: videos.list: network error")


def test_404_403_and_400_fail_one_video_each_and_the_run_goes_on(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    (site / "posts" / "2025-01-03-three.md").write_text(post_text(3, "CCCCCCCCCC3"))
    (site / "posts" / "2025-01-04-four.md").write_text(post_text(4, "DDDDDDDDDD4"))
    fake.add("DDDDDDDDDD4", OLD)
    fake.forbidden.add(ONE)
    fake.invalid.add(TWO)
    run = publish(site, env)
    assert run.status(ONE) == "failed" and "403 forbidden" in run.text
    assert run.status(TWO) == "failed" and "400 invalidDescription" in run.text
    assert run.status("CCCCCCCCCC3") == "failed" and "no such video" in run.text
    assert run.status("DDDDDDDDDD4") == "updated"
    assert not run.summary.ok
    failed = [line for line in run.lines if line.startswith("failed")]
    assert len(failed) == 3 and all(".md: " in line for line in failed)


def test_an_expired_access_token_is_refreshed_and_saved(
    site: Path, env: dict[str, str], fake: FakeYouTube, tmp_path: Path
) -> None:
    token = Path(env["PIPELINE_YOUTUBE_TOKEN"])
    write_token(token, token="access-revoked")  # looks valid to the client; the server says 401
    run = publish(site, env, dry_run=True)
    assert run.summary.ok, run.text
    (refresh,) = [r for r in fake.requests if r.path == "/token"]
    assert refresh.body["grant_type"] == "refresh_token" and refresh.body["refresh_token"] == REFRESH_TOKEN
    gets = fake.calls("GET")
    assert [g.headers["authorization"] for g in gets] == ["Bearer access-revoked", "Bearer access-2"]
    saved = json.loads(token.read_text())
    assert saved["token"] == "access-2" and saved["refresh_token"] == REFRESH_TOKEN
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


def test_a_token_past_its_expiry_is_refreshed_before_the_call(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    write_token(Path(env["PIPELINE_YOUTUBE_TOKEN"]), token="access-old", expiry="2020-01-01T00:00:00Z")
    run = publish(site, env, dry_run=True)
    assert run.summary.ok
    assert [r.path for r in fake.requests] == ["/token", "/youtube/v3/videos"]


def test_a_revoked_refresh_token_is_one_line(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    write_token(Path(env["PIPELINE_YOUTUBE_TOKEN"]), token="access-old", expiry="2020-01-01T00:00:00Z")
    fake.refresh_tokens.clear()
    run = publish(site, env, dry_run=True)
    assert run.summary.stopped and "episode auth youtube" in run.summary.stopped
    assert "invalid_grant" in run.summary.stopped and "\n" not in run.summary.stopped


def test_refusals_before_any_call(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    posts = site / "posts"
    (posts / "2025-01-01-one.md").write_text(post_text(1, ONE, extra="published: false\n"))
    future = post_text(2, TWO).replace("2025-01-02 10:00:00", "2999-01-02 10:00:00")
    (posts / "2025-01-02-two.md").write_text(future)
    run = publish(site, env)
    assert run.status(ONE) == "refused" and "published: false" in run.text
    assert run.status(TWO) == "refused" and "in the future" in run.text
    assert fake.requests == [] and not run.summary.ok  # no token needed, no call made
    run = publish(site, env, force=True)
    assert run.status(ONE) == "updated" and run.status(TWO) == "updated"


def test_two_posts_with_one_video_are_refused(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    (site / "posts" / "2025-01-03-three.md").write_text(post_text(3, ONE))
    run = publish(site, env)
    refused = [r for r in run.summary.results if r.status == "refused"]
    assert len(refused) == 2 and all("same youtubeID" in r.message for r in refused)
    assert run.status(TWO) == "updated"


def test_strict_refuses_a_post_with_warnings(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    body = "A summary.\n\n## Chapters\n\n0:00 One\n\n0:05 Too short\n\n1:00 Three\n"
    (site / "posts" / "2025-01-01-one.md").write_text(post_text(1, ONE, body=body))
    run = publish(site, env, dry_run=True)
    assert run.status(ONE) == "would update"  # plain timestamps, a build warning
    run = publish(site, env, strict=True, dry_run=True)
    (result,) = [r for r in run.summary.results if r.post.endswith("2025-01-01-one.md")]
    assert result.status == "failed" and "--strict" in result.message


def test_description_rules() -> None:
    assert description_problems("0:00 A\n0:30 B\n1:00 C") == []
    assert description_problems("x" * 5001) == ["5001 bytes, YouTube takes at most 5000"]
    assert "it contains < or >, which YouTube refuses" in description_problems("a <b>")
    assert "the first time is 0:10, not 0:00" in description_problems("0:10 A\n0:30 B\n1:00 C")
    assert any("at least 10 s" in p for p in description_problems("0:00 A\n0:05 B\n1:00 C"))
    assert any("at least 3" in p for p in description_problems("0:00 A\n1:00 B"))


def test_ledger_lines_survive_a_torn_write(tmp_path: Path) -> None:
    folder = tmp_path / "youtube"
    with Ledger(folder).opened() as ledger:
        ledger.record_sent(ONE, "post.md", "text", None)
    with (folder / "ledger.jsonl").open("a") as handle:
        handle.write('{"event": "sent", "vid')  # a crash mid-line
    with Ledger(folder).opened() as ledger:
        assert ledger.sent[ONE].description == "text" and ledger.unreadable == [2]
        with pytest.raises(PipelineError, match="another"), Ledger(folder).opened():
            pass


def test_http_endpoints_are_loopback_only(site: Path, env: dict[str, str]) -> None:
    env = {**env, "PIPELINE_YOUTUBE_API_ROOT": "http://youtube.example.org/"}
    with pytest.raises(PipelineError, match="https"):
        publish(site, env, dry_run=True)


def test_a_token_inside_the_site_is_refused(site: Path, env: dict[str, str]) -> None:
    inside = write_token(site / "youtube-token.json")
    with pytest.raises(PipelineError, match="inside the site"):
        publish(site, {**env, "PIPELINE_YOUTUBE_TOKEN": str(inside)}, dry_run=True)


def test_no_token_says_what_to_run(site: Path, env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="episode auth youtube --client-secrets"):
        publish(site, {**env, "PIPELINE_YOUTUBE_TOKEN": str(tmp_path / "none.json")}, dry_run=True)


# --- the command, end to end -----------------------------------------------------------------


def run_command(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run_episode(cwd, *args, timeout=timeout, merged=False, env=env, preexec_fn=memory_cap)


def test_the_command_end_to_end(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    dry = run_command(["publish", "youtube", "--dry-run", "--src", "posts"], env, site)
    assert dry.returncode == 0, dry.stderr + dry.stdout
    assert f"would update posts/2025-01-01-one.md: {ONE}" in dry.stdout
    assert "+++ b/2025-01-01-one/youtube.txt" in dry.stdout
    assert fake.calls("PUT") == []

    done = run_command(["publish", "youtube", "--src", "posts"], env, site)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "youtube: updated 2, failed 0" in done.stdout
    assert fake.description(ONE) == built_text(site, "2025-01-01-one")

    fake.edit_in_studio(TWO, "Changed in Studio")
    (site / "posts" / "2025-01-02-two.md").write_text(post_text(2, TWO, body="Fresh text.\n"))
    refused = run_command(["publish", "youtube", "--src", "posts"], env, site)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    (line,) = [line for line in refused.stdout.splitlines() if line.startswith("refused")]
    assert "2025-01-02-two.md" in line and TWO in line

    unknown = run_command(["publish", "vimeo"], env, site)
    assert unknown.returncode == 2 and "unknown platform 'vimeo'" in unknown.stderr


# --- episode auth youtube --------------------------------------------------------------------


def client_secrets(tmp_path: Path, fake: FakeYouTube) -> Path:
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "auth_uri": f"{fake.root}o/oauth2/auth",
                    "token_uri": fake.token_uri,
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return secrets


def authorize(
    fake: FakeYouTube, secrets: Path, token: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Run the installed-app flow in a thread and do what the browser does after consent: what
    `run_auth_flow` returned or raised, and the query of the URL it printed."""
    fake.auth_codes.add("code-1")
    result: dict[str, Any] = {}

    def flow() -> None:
        try:
            result["path"] = run_auth_flow(secrets, token, open_browser=False, port=0)
        except Exception as exc:  # shown by the caller's assertions
            result["error"] = exc

    thread = threading.Thread(target=flow)
    thread.start()
    url = ""
    for _ in range(200):
        out = capsys.readouterr().out
        url = next((w for w in out.split() if w.startswith(fake.root)), url)
        if url:
            break
        thread.join(0.05)
    assert url, "the URL to open was not printed"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    redirect = query["redirect_uri"][0]
    assert redirect.startswith("http://localhost:")
    # what the browser does after consent: Google redirects to the local server
    back = f"{redirect}?code=code-1&state={query['state'][0]}&scope={urllib.parse.quote(SCOPES[0])}"
    with urllib.request.urlopen(back, timeout=10) as answer:
        assert answer.status == 200
    thread.join(10)
    return result, query


def test_auth_flow_prints_the_url_and_stores_the_token(
    tmp_path: Path, fake: FakeYouTube, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The installed-app flow against the fake's token endpoint: no browser, no Google.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token endpoint is http
    token = tmp_path / "config" / "episode-pipeline" / "youtube-token.json"
    result, query = authorize(fake, client_secrets(tmp_path, fake), token, capsys)
    assert query["scope"] == [SCOPES[0]] and query["client_id"] == [CLIENT_ID]
    assert query["access_type"] == ["offline"] or "access_type" not in query
    assert "error" not in result, result.get("error")
    assert result["path"] == token
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    stored = json.loads(token.read_text())
    assert stored["refresh_token"].startswith("refresh-token-") and stored["client_id"] == CLIENT_ID
    (exchange,) = [r for r in fake.requests if r.path == "/token"]
    assert exchange.body["grant_type"] == "authorization_code" and exchange.body["code"] == "code-1"
    # and the stored token is what publishing reads
    credentials = load_credentials(token, {"PIPELINE_YOUTUBE_TOKEN_URI": fake.token_uri})
    assert credentials.refresh_token == stored["refresh_token"] and credentials.token_uri == fake.token_uri


def test_without_the_override_the_token_endpoint_is_googles(tmp_path: Path) -> None:
    token = write_token(tmp_path / "t.json")
    data = json.loads(token.read_text())
    data["token_uri"] = "http://127.0.0.1:9/steal"
    token.write_text(json.dumps(data))
    assert load_credentials(token, {}).token_uri == "https://oauth2.googleapis.com/token"


def test_default_token_place_is_the_user_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert token_path({}) == tmp_path / "xdg" / "episode-pipeline" / "youtube-token.json"
    assert token_path({"PIPELINE_YOUTUBE_TOKEN": str(tmp_path / "t.json")}) == tmp_path / "t.json"


def test_auth_command_mistakes_are_one_line(tmp_path: Path) -> None:
    env = {"PIPELINE_YOUTUBE_TOKEN": str(tmp_path / "config" / "token.json")}
    missing = run_command(["auth", "youtube"], env, tmp_path)
    assert missing.returncode == 2 and "--client-secrets FILE is required" in missing.stderr
    absent = run_command(["auth", "youtube", "--client-secrets", "nope.json", "--no-browser"], env, tmp_path)
    assert (
        absent.returncode == 1 and absent.stderr.strip() == "nope.json: error: --client-secrets: no such file"
    )
    assert not (tmp_path / "config").exists()


# --- hostile answers: every one checked before use, nothing saved from one that fails --------


def saved_state(site: Path, env: dict[str, str]) -> tuple[bytes, list[dict[str, Any]], list[str]]:
    """What a run may write from an answer: the token file, the ledger's sent entries, backups."""
    folder = site / ".episode" / "youtube"
    ledger = folder / "ledger.jsonl"
    sent = [e for e in ledger_entries(site) if e["event"] == "sent"] if ledger.exists() else []
    saved = sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and BUILD_FOLDER not in p.parts
    )
    return Path(env["PIPELINE_YOUTUBE_TOKEN"]).read_bytes(), sent, [n for n in saved if n != "ledger.jsonl"]


def list_answer(*videos: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "youtube#videoListResponse", "items": list(videos)}


def _huge_list(with_length: bool) -> tuple[Any, dict[str, Any]]:
    length, chunks = huge_json(list_answer(video(ONE, HUGE)), 100 * MB)
    return chunks, {"headers": {"Content-Length": str(length)}} if with_length else {}


HTML = b"<!DOCTYPE html><html><head><title>Error 502 (Server Error)</title></head><body>502</body></html>"
BAD_LISTS: dict[str, tuple[Any, dict[str, Any], str]] = {
    "plain text": (b"Service Unavailable", {"content_type": "text/plain"}, "not JSON (it starts 'Service"),
    "html": (HTML, {"content_type": "text/html; charset=UTF-8"}, "not JSON (it starts '<!DOCTYPE html>"),
    "empty": (b"", {}, "cannot be used: empty"),
    "items null": ({"items": None}, {}, "has no list of videos (items is null)"),
    "a list": ([], {}, "not a JSON object but a list"),
    "not utf-8": (b'{"items": ["\xff"]}', {}, "not UTF-8 text"),
    "nested": (b"[" * 100_000, {}, "JSON nested too deeply"),
    "an item that is no video": (list_answer(5), {}, "an item of YouTube's answer is not a video"),  # type: ignore[arg-type]
    "a snippet that is text": (
        list_answer({"id": ONE, "snippet": "s"}),
        {},
        f"video '{ONE}' in YouTube's answer has no snippet",
    ),
    "description of 6,000 bytes": (
        list_answer(video(ONE, "x" * 6000)),
        {},
        "is 6,000 bytes, and YouTube keeps at most 5,000",
    ),
    "description null": (list_answer(video(ONE, None)), {}, "is not text but null"),  # type: ignore[arg-type]
    "description a lone surrogate": (list_answer(video(ONE, "\ud800")), {}, "a lone surrogate"),
    "gzip": (
        gzip.compress(json.dumps(list_answer(video(ONE, OLD))).encode()),
        {"headers": {"Content-Encoding": "gzip"}},
        "compressed (gzip) although it was asked not to be",
    ),
}


@pytest.mark.parametrize("case", [*BAD_LISTS, "100 MB", "100 MB with Content-Length"])
def test_a_malformed_video_list_stops_the_run_in_one_line_and_saves_nothing(
    site: Path, env: dict[str, str], fake: FakeYouTube, case: str
) -> None:
    publish(site, env, dry_run=True)  # the ledger exists, the build is done
    before = saved_state(site, env)
    if case.startswith("100 MB"):
        body, options = _huge_list(with_length="Content-Length" in case)
        said = "100.1 MB, over the 10 MB taken" if "Content-Length" in case else "over the 10 MB taken"
    else:
        body, options, said = BAD_LISTS[case]
    fake.answer_next("GET", body, **options)
    run = publish(site, env)
    assert run.summary.stopped and run.summary.stopped.startswith("videos.list: "), run.text
    assert said in run.summary.stopped and "\n" not in run.summary.stopped
    assert run.lines[0] == f"stopped: {run.summary.stopped}"
    assert {r.status for r in run.summary.results} == {"not tried"} and not run.summary.ok
    assert fake.calls("PUT") == [] and saved_state(site, env) == before
    if case.startswith("100 MB"):
        for _ in range(100):  # the client closed the connection: the rest was never read
            if fake.aborted:
                break
            threading.Event().wait(0.05)
        assert fake.aborted == 1
    fake.answers.clear()
    assert publish(site, env).summary.ok  # and the next run, with a sane answer, publishes


def test_a_malformed_answer_is_one_line_from_the_command(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    fake.answer_next("GET", HTML, content_type="text/html; charset=UTF-8")
    done = run_command(["publish", "youtube", "--src", "posts"], env, site)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("stopped")]
    assert "videos.list: YouTube's answer (HTTP 200) cannot be used: not JSON" in line


def _expired_token(env: dict[str, str]) -> Path:
    return write_token(Path(env["PIPELINE_YOUTUBE_TOKEN"]), token="access-old", expiry="2020-01-01T00:00:00Z")


def _token_answer(**fields: Any) -> dict[str, Any]:
    return {"access_token": "access-9", "expires_in": 3599, "token_type": "Bearer", **fields}


BAD_TOKENS: dict[str, tuple[Any, dict[str, Any], str]] = {
    "not json": (b"all good", {"content_type": "text/plain"}, "not JSON"),
    "a list": ([], {}, "not a JSON object but a list"),
    "not utf-8": (b'{"access_token": "\xff"}', {}, "not UTF-8 text"),
    "expires_in soon": (
        _token_answer(expires_in="soon"),
        {},
        "expires_in is not a number of seconds ('soon')",
    ),
    "expires_in 1e30": (_token_answer(expires_in=10**30), {}, "expires_in is not a number of seconds"),
    "CR LF in the token": (
        _token_answer(access_token="access-9\r\nX-Evil: 1", refresh_token="../../evil"),
        {},
        "an access token with a character no Bearer token holds ('\\r')",
    ),
    "no access token": ({"token_type": "Bearer"}, {}, "no access token"),
    "a refresh token with NUL": (_token_answer(refresh_token="r\x00"), {}, "a refresh token with a control"),
    "scope not text": (_token_answer(scope=["x"]), {}, "its scope is not text"),
    "an error that is a list": ([], {"status": 400}, "not a JSON object but a list"),
}


@pytest.mark.parametrize("case", [*BAD_TOKENS, "a token of 50 MB"])
def test_a_malformed_token_answer_is_one_line_and_the_token_file_is_unchanged(
    site: Path, env: dict[str, str], fake: FakeYouTube, case: str
) -> None:
    token = _expired_token(env)
    before = token.read_bytes()
    if case == "a token of 50 MB":
        body, options = huge_json(_token_answer(access_token=HUGE), 50 * MB)[1], {}
        said = "over the 64 KB taken"
    else:
        body, options, said = BAD_TOKENS[case]
    fake.answer_next("POST", body, **options)
    run = publish(site, env, dry_run=True)
    assert run.summary.stopped and "\n" not in run.summary.stopped, run.text
    assert run.summary.stopped.startswith("the token endpoint's answer (HTTP ")
    assert said in run.summary.stopped and "the token file is as it was" in run.summary.stopped
    assert token.read_bytes() == before and b"evil" not in token.read_bytes()
    assert fake.calls() == []  # no request went out with it
    assert {r.status for r in run.summary.results} == {"not tried"} and not run.summary.ok


def test_a_token_file_holding_a_token_no_header_can_carry_is_one_line(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    token = write_token(Path(env["PIPELINE_YOUTUBE_TOKEN"]), token="access-1\r\nX-Evil: 1")
    with pytest.raises(PipelineError, match="no Bearer token holds") as caught:
        publish(site, env, dry_run=True)
    assert "\n" not in str(caught.value) and "episode auth youtube" in str(caught.value)
    assert fake.requests == [] and b"X-Evil" in token.read_bytes()  # left as it was, never sent


def test_a_token_file_others_can_read_is_used_with_a_warning(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    token = Path(env["PIPELINE_YOUTUBE_TOKEN"])
    token.chmod(0o644)
    run = publish(site, env, dry_run=True)
    assert run.summary.ok
    (warning,) = [line for line in run.lines if line.startswith("warning:")]
    assert warning == (
        f"warning: {token}: other users can read the YouTube token (mode 0644); "
        f"`chmod 600 {token}` keeps it yours"
    )
    token.chmod(0o600)
    assert not [line for line in publish(site, env, dry_run=True).lines if line.startswith("warning:")]


ODD_UPDATES: dict[str, tuple[Any, dict[str, Any], str]] = {
    "a snippet that is text": ({"id": ONE, "snippet": "str"}, {}, "no snippet"),
    "not json": (b"OK", {"content_type": "text/plain"}, "not JSON"),
    "a list": ([], {}, "not a JSON object but a list"),
    "description of 6,000 bytes": (video(ONE, "y" * 6000), {}, "6,000 bytes"),
}


@pytest.mark.parametrize("case", [*ODD_UPDATES, "description of 50 MB"])
def test_an_update_accepted_but_answered_oddly_is_recorded_as_sent(
    site: Path, env: dict[str, str], fake: FakeYouTube, case: str
) -> None:
    if case == "description of 50 MB":
        length, chunks = huge_json(video(ONE, HUGE), 50 * MB)
        body, options, said = chunks, {"headers": {"Content-Length": str(length)}}, "over the 10 MB taken"
    else:
        body, options, said = ODD_UPDATES[case]
    fake.answer_next("PUT", body, applied=True, **options)
    run = publish(site, env)
    expected = built_text(site, "2025-01-01-one")
    assert fake.description(ONE) == expected  # the update happened
    assert run.status(ONE) == "updated" and run.status(TWO) == "updated"
    (line,) = [line for line in run.lines if ONE in line and line.startswith("updated")]
    assert "videos.update: YouTube accepted the update, but" in line and said in line
    assert "recorded in the ledger as sent" in line and "\n" not in line
    assert not run.summary.ok  # a server that answers so is worth a look: exit code 1
    (sent,) = [e for e in ledger_entries(site) if e["event"] == "sent" and e["video"] == ONE]
    assert sent["description"] == expected and "stored" not in sent
    ledger = site / ".episode" / "youtube" / "ledger.jsonl"
    assert ledger.stat().st_size < 64 * 1024
    again = publish(site, env)  # the ledger knows it is ours: nothing is refused
    assert again.status(ONE) == "unchanged" and again.summary.ok


def test_an_error_answer_nested_too_deeply_fails_that_video_only(
    site: Path, env: dict[str, str], fake: FakeYouTube
) -> None:
    fake.answer_next("PUT", b"[" * 100_000, status=400)
    run = publish(site, env)
    assert run.status(ONE) == "failed" and run.status(TWO) == "updated"
    (line,) = [line for line in run.lines if line.startswith("failed")]
    assert "videos.update: YouTube's answer (HTTP 400) cannot be used: JSON nested too deeply" in line


def test_the_auth_flow_saves_no_token_a_header_cannot_carry(
    tmp_path: Path, fake: FakeYouTube, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    fake.answer_next("POST", _token_answer(access_token="access-9\r\nX-Evil: 1", refresh_token="../../evil"))
    token = tmp_path / "config" / "youtube-token.json"
    result, _ = authorize(fake, client_secrets(tmp_path, fake), token, capsys)
    error = result.get("error")
    assert isinstance(error, PipelineError), error
    assert "no Bearer token holds" in str(error) and "nothing was saved" in str(error)
    assert not token.exists()


# --- hostile files: the token file, the ledger, client secrets -------------------------------


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_token_file_that_is_a_fifo_or_a_device_is_one_line(
    site: Path, env: dict[str, str], fake: FakeYouTube, kind: str, tmp_path: Path
) -> None:
    token = tmp_path / "token-fifo.json"
    if kind == "fifo":
        os.mkfifo(token)
    else:
        token = Path("/dev/zero")
    done = run_command(
        ["publish", "youtube", "--src", "posts"],
        {**env, "PIPELINE_YOUTUBE_TOKEN": str(token)},
        site,
        timeout=60,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    what = "a FIFO" if kind == "fifo" else "a device"
    assert (
        done.stderr.strip() == f"{token}: error: cannot read the YouTube token: is {what}, not a regular file"
    )
    assert fake.requests == []


def test_a_ledger_that_is_a_fifo_is_one_line(site: Path, env: dict[str, str], fake: FakeYouTube) -> None:
    folder = site / ".episode" / "youtube"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "ledger.jsonl")
    done = run_command(["publish", "youtube", "--src", "posts"], env, site, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.stderr.strip() == ".episode/youtube/ledger.jsonl: error: is a FIFO, not a regular file"


def test_ledger_lines_that_are_not_utf8_or_too_long_are_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "youtube"
    with Ledger(folder).opened() as ledger:
        ledger.record_sent(ONE, "post.md", "text", None)
    with (folder / "ledger.jsonl").open("ab") as handle:
        handle.write(b'{"event": "sent", "video": "\xff"}\n')  # not UTF-8
        handle.write(b"x" * (3 * 256 * 1024) + b"\n")  # longer than any entry
        handle.write(json.dumps({"event": "sent", "video": TWO, "time": "t", "description": "two"}).encode())
    with Ledger(folder).opened() as ledger:
        assert ledger.unreadable == [2, 3]
        assert ledger.sent[ONE].description == "text" and ledger.sent[TWO].description == "two"


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_client_secrets_that_are_a_fifo_or_a_device_are_one_line(tmp_path: Path, kind: str) -> None:
    secrets = tmp_path / "client_secret.json"
    if kind == "fifo":
        os.mkfifo(secrets)
    else:
        secrets = Path("/dev/zero")
    env = {"PIPELINE_YOUTUBE_TOKEN": str(tmp_path / "config" / "token.json")}
    done = run_command(
        ["auth", "youtube", "--client-secrets", str(secrets), "--no-browser"], env, tmp_path, timeout=60
    )
    what = "a FIFO" if kind == "fifo" else "a device"
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert (
        done.stderr.strip()
        == f"{shown_path(secrets, tmp_path)}: error: --client-secrets: is {what}, not a regular file"
    )
    assert not (tmp_path / "config").exists()


def test_client_secrets_over_64_kb_or_of_the_wrong_shape_are_one_line(tmp_path: Path) -> None:
    env = {"PIPELINE_YOUTUBE_TOKEN": str(tmp_path / "config" / "token.json")}
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"installed": {"client_id": "x" * 70_000}}))
    done = run_command(["auth", "youtube", "--client-secrets", str(big), "--no-browser"], env, tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip() == (
        "big.json: error: --client-secrets: is 68.4 KB; client secrets files are at most 64 KB"
    )
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"installed": {"client_id": "a\r\nb", "client_secret": "s"}}))
    done = run_command(["auth", "youtube", "--client-secrets", str(odd), "--no-browser"], env, tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "a client_id with a control or non-ASCII character ('\\r')" in done.stderr.strip()


@pytest.mark.parametrize(
    "text",
    [
        "0:00 A\n0:30 B\n1:00 C",
        "0:10 A\n0:30 B\n1:00 C",
        "0:00 A\n1:00 B",
        "0:00 A\n0:05 B\n1:00 C",
        "0:00 A\n2:00 B\n1:00 C",
        "Intro\n\n0:00 Intro\n2:29 Why ML\n1:02:03 The end\nsee 3:00 later\n",
        "no chapters here",
    ],
)
def test_publish_and_the_preview_judge_chapters_with_one_rule(text: str) -> None:
    """`publish` refuses a description's chapters exactly when the preview says YouTube makes none."""
    from pipeline.formats.descriptions.chapters import written_chapters
    from pipeline.preview.pages import youtube_chapters

    written = written_chapters(text)
    chapter_problems = [p for p in description_problems(text) if p in written.problems]
    assert chapter_problems == list(written.problems)
    assert (youtube_chapters(text).problem == "") == (bool(written.lines) and not written.problems)
