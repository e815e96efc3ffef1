"""`episode serve`: a real headless Chromium (Playwright driving the system's Chromium, never a
downloaded one) against a running preview of a small Jekyll site; plain HTTP for the bytes and
the refusals.

Regenerate the README picture with `python -m tests.test_serve docs/preview.png` (the seed post
of samples/, 1200 px wide).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pipeline.builder.watch import Watched
from pipeline.preview.pages import CHUNK_BYTES, excerpt, youtube_chapters
from pipeline.preview.server import Preview, inside, request_parts
from tests.browser import CHROMIUM, chromium_available

from .conftest import CORPUS, ROOT

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SITE = CORPUS / "site-today"
WELCOME = "2023-01-07-welcome-to-learning-from-machine-learning"
NILS = "2023-02-24-nils-reimers-sentence-transformers-search-future-of-nlp-learning-from-machine-learning-3"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
RELOAD_TIMEOUT_MS = 60_000  # generous: a rebuild takes about a second


def _require_browser() -> None:
    """Skip without Chromium or Playwright on a workstation; in CI (CI=true) that is a failure."""
    missing = []
    if not chromium_available():
        missing.append(f"{CHROMIUM} is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright is not installed (pip install -e '.[dev]')")
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail("; ".join(missing))
    pytest.skip("; ".join(missing))


def make_site(root: Path) -> Path:
    """A Jekyll site with the two posts and the `_config.yml` of site-today."""
    (root / "_posts").mkdir(parents=True)
    shutil.copy(SITE / "_config.yml", root / "_config.yml")
    for post in SITE.glob("*.markdown"):
        shutil.copy(post, root / "_posts" / post.name)
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("serve") / "site")


@pytest.fixture(scope="module")
def preview(site: Path) -> Iterator[Preview]:
    """The preview of `site`, served on a free port in this process."""
    running = Preview(str(site), None, None, port=0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()


def _post_file(site: Path, stem: str) -> Path:
    return site / "_posts" / f"{stem}.markdown"


def _get(preview: Preview, path: str, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A raw GET, the path sent exactly as written (no normalization of `..` or `%2e`)."""
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{preview.port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# --- without a browser ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", [""]),
        ("/a-b/", ["a-b", ""]),
        ("/a-b/post.md?x=1", ["a-b", "post.md"]),
        ("/caf%C3%A9/post.md", ["café", "post.md"]),
        ("/../pyproject.toml", None),
        ("/a/../../x", None),
        ("/%2e%2e/pyproject.toml", None),
        ("/%2E%2E/x", None),
        ("/a%2fb", None),
        ("/a%5cb", None),
        ("/a\\b", None),
        ("/.manifest.json", None),
        ("/.episode/x", None),
        ("/a/.x", None),
        ("//etc/passwd", None),
        ("/a/./b", None),
        ("/a%00", None),
        ("/%ff", None),
        ("http://evil.example/../x", None),
    ],
)
def test_request_paths(target: str, expected: list[str] | None) -> None:
    assert request_parts(target) == expected


def test_inside_follows_no_link_out(tmp_path: Path) -> None:
    root = tmp_path / "out"
    (root / "post").mkdir(parents=True)
    (root / "post" / "a.txt").write_text("a")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (root / "post" / "out.txt").symlink_to(secret)
    (root / "post" / "in.txt").symlink_to(root / "post" / "a.txt")
    (root / "away").symlink_to(tmp_path, target_is_directory=True)
    assert inside(root, ["post", "a.txt"]) == (root / "post" / "a.txt").resolve()
    assert inside(root, ["post", "in.txt"]) == (root / "post" / "a.txt").resolve()
    assert inside(root, ["post", "out.txt"]) is None
    assert inside(root, ["away", "secret.txt"]) is None
    assert inside(root, ["post"]) is None  # a folder is no file
    assert inside(root, ["post", "missing"]) is None


def test_youtube_chapters() -> None:
    chapters = youtube_chapters("Intro\n\n0:00 Intro\n2:29 Why ML\n1:02:03 The end\nsee 3:00 later\n")
    assert chapters.lines == (("0:00", "Intro"), ("2:29", "Why ML"), ("1:02:03", "The end"))
    assert chapters.problem == ""
    assert "not 0:00" in youtube_chapters("0:05 a\n1:00 b\n2:00 c\n").problem
    assert "at least 3" in youtube_chapters("0:00 a\n1:00 b\n").problem
    assert "lasts 5 s, at least 10 s needed" in youtube_chapters("0:00 a\n0:05 b\n2:00 c\n").problem
    assert "no line" in youtube_chapters("no chapters here").problem


def test_watched_paths(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    settings = tmp_path / "episode.toml"
    settings.write_text("")
    templates = tmp_path / "templates"
    (templates / "sub").mkdir(parents=True)
    watched = Watched(posts, (templates,), (settings,))
    assert watched.wants(posts / "2024-01-01-a.md")
    assert watched.wants(posts / "2024-01-01-a.markdown")
    assert not watched.wants(posts / ".2024-01-01-a.md.swp")
    assert not watched.wants(posts / "notes.txt")
    assert watched.wants(templates / "sub" / "x.j2")
    assert watched.wants(settings)
    assert not watched.wants(tmp_path / "_out" / "x" / "post.md")
    assert not watched.wants(tmp_path / "other.toml")
    assert set(watched.folders()) == {posts, templates, templates / "sub", tmp_path}


def test_served_bytes_are_the_built_files(preview: Preview) -> None:
    """Every output file, over plain HTTP, is byte for byte the file the build wrote."""
    checked = 0
    for folder in (preview.out / WELCOME, preview.out / NILS):
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            url = f"http://127.0.0.1:{preview.port}/{folder.name}/{path.name}"
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.read() == path.read_bytes(), path.name
                assert "frame-ancestors" in response.headers["Content-Security-Policy"]
                assert response.headers["X-Content-Type-Options"] == "nosniff"
            checked += 1
    assert checked >= 18


def test_a_later_run_still_shows_the_warnings_of_unchanged_posts(preview: Preview, site: Path) -> None:
    """Unchanged posts are skipped, not rebuilt: their warnings come from the earlier run's record."""
    again = Preview(str(site), None, None, port=0)
    again.build()
    posts = again.state.snapshot.posts
    assert posts[WELCOME].status == "warnings" and posts[WELCOME].known
    assert any("no installed font" in w for w in posts[WELCOME].warnings)
    assert posts[NILS].status == "built"
    assert again.state.snapshot.summary.startswith("built 0, skipped 2")


def test_the_preview_shows_the_warnings_an_earlier_episode_build_found(tmp_path: Path) -> None:
    """A site built by `episode build` (not by a preview): its posts are skipped, and each shows
    the warnings the manifest keeps, not "unchanged since a build this preview did not see"."""
    from pipeline.builder.run import build
    from pipeline.settings.site import locate

    copy = make_site(tmp_path / "site")
    place = locate(str(copy), None, None)
    build(place.posts, place.out, place.settings, jobs=1)
    later = Preview(str(copy), None, None, port=0)
    later.build()
    posts = later.state.snapshot.posts
    assert later.state.snapshot.summary.startswith("built 0, skipped 2")
    assert posts[WELCOME].known and posts[WELCOME].status == "warnings"
    assert any("no installed font" in w for w in posts[WELCOME].warnings)
    page = later.post_page(posts[WELCOME]).decode("utf-8")
    assert "no installed font" in page and "did not see" not in page


def test_refused_paths_and_hosts(preview: Preview, site: Path, tmp_path: Path) -> None:
    out = preview.out
    (out / ".episode").mkdir(exist_ok=True)
    (out / ".episode" / "x").write_text("journal")
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (out / "linked").symlink_to(tmp_path, target_is_directory=True)
    report = out / NILS / "report.txt"
    kept = report.read_bytes()
    report.unlink()
    report.symlink_to(secret)  # a known output name that leads out of the folder
    try:
        refused = [
            "/../pyproject.toml",
            "/../../../../../../etc/passwd",
            "/%2e%2e/pyproject.toml",
            "/%2E%2E/%2E%2E/pyproject.toml",
            f"/{NILS}%2f..%2f..%2f_config.yml",
            "/.episode/x",
            "/.manifest.json",
            f"/{NILS}/.{NILS}",
            "/linked/secret.txt",
            f"/{NILS}/report.txt",
            "/-/static/../pyproject.toml",
            "/-/static/%2e%2e/pyproject.toml",
            "/_config.yml",
            "/_posts/",
        ]
        for path in refused:
            status, headers, body = _get(preview, path)
            assert status in (403, 404), (path, status)
            assert b"top secret" not in body and b"journal" not in body and b"[project]" not in body
            assert "content-security-policy" in headers
    finally:
        report.unlink()
        report.write_bytes(kept)
        (out / "linked").unlink()
    for host in ("evil.example", f"evil.example:{preview.port}", f"127.0.0.1:{preview.port + 1}", ""):
        for path in ("/", f"/{NILS}/post.md", "/events"):
            status, _, body = _get(preview, path, host=host or " ")
            assert status == 403, (host, path)
            assert b"title:" not in body
    assert _get(preview, "/", host=f"localhost:{preview.port}")[0] == 200
    assert _get(preview, f"/{NILS}/post.md")[0] == 200


def test_command_serves_and_refuses_a_busy_port(site: Path, tmp_path: Path) -> None:
    """`episode serve --port 0` prints where it serves and stops on Ctrl-C; a busy port is one line."""
    copy = make_site(tmp_path / "site")
    command = [sys.executable, "-c", "from pipeline.cli.commands import program; program.run()"]
    process = subprocess.Popen(
        [*command, "serve", "--src", str(copy), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        # Ctrl-C as a terminal delivers it, whatever this test run inherited (a run started in
        # the background of a shell ignores SIGINT, and its children would too).
        preexec_fn=partial(signal.signal, signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Serving on "):
                break
        served = lines[-1].split()[-1]
        assert served.startswith("http://127.0.0.1:") and served.endswith("/"), lines
        with urllib.request.urlopen(served, timeout=10) as response:
            assert b"Nils Reimers" in response.read()
        port = int(served.rstrip("/").rsplit(":", 1)[1])
        busy = subprocess.run(
            [*command, "serve", "--src", str(copy), "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert busy.returncode == 1
        assert busy.stderr.strip() == (
            f"error: --port: port {port} on 127.0.0.1 is in use; choose another with --port (0: any free port)"
        )
        assert "Traceback" not in busy.stdout + busy.stderr
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.rstrip().endswith("stopped")
    assert "Traceback" not in err


# --- hostile sizes and sockets --------------------------------------------------------------

BIG = 50 * 1024 * 1024  # a large output: it must never be held whole, not even once


@contextlib.contextmanager
def _replaced(path: Path) -> Iterator[Path]:
    """Lets a test put anything at a built output's path; the built file is put back after."""
    kept = path.read_bytes()
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        path.write_bytes(kept)


def _wait_for_warm_up() -> None:
    """The preview imports the renderers in a thread once started: not during a measurement."""
    for thread in threading.enumerate():
        if thread.name == "episode-warm-up":
            thread.join(timeout=120)


def _fetched(preview: Preview, path: str, method: str = "GET") -> tuple[int, dict[str, str], str, int]:
    """Status, headers, SHA-256 and length of a response body, read CHUNK_BYTES at a time."""
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=60)
    try:
        connection.request(method, path, headers={"Host": f"127.0.0.1:{preview.port}"})
        response = connection.getresponse()
        digest, length = hashlib.sha256(), 0
        while chunk := response.read(CHUNK_BYTES):
            digest.update(chunk)
            length += len(chunk)
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, digest.hexdigest(), length
    finally:
        connection.close()


def test_a_large_output_is_streamed_not_read_whole(preview: Preview) -> None:
    """Three GETs of a 50 MB output: the very bytes, its size in Content-Length, and the
    process's Python heap (tracemalloc: every thread, the server's too) never grows by the file."""
    with _replaced(preview.out / NILS / "newsletter.eml") as big:
        with big.open("wb") as file:  # sparse, with marks that a misplaced or lost chunk would move
            for offset in range(0, BIG, 1024 * 1024 + 17):
                file.seek(offset)
                file.write(f"[{offset}]".encode())
            file.truncate(BIG)
        expected = hashlib.sha256()
        with big.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                expected.update(chunk)
        _wait_for_warm_up()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for _ in range(3):
                status, headers, digest, length = _fetched(preview, f"/{NILS}/newsletter.eml")
                assert status == 200
                assert (length, digest) == (BIG, expected.hexdigest())
                assert headers["content-length"] == str(BIG)
                assert headers["content-type"] == "message/rfc822"
                assert headers["x-content-type-options"] == "nosniff"
                assert "sandbox" in headers["content-security-policy"]
            growth = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        assert growth < BIG // 10, f"the heap grew by {growth:,} bytes serving a {BIG:,}-byte file"
        status, headers, _, length = _fetched(preview, f"/{NILS}/newsletter.eml", method="HEAD")
        assert (status, headers["content-length"], length) == (200, str(BIG), 0)


def test_a_post_page_shows_the_first_1000_lines_of_a_long_report(preview: Preview) -> None:
    """A report of 5,000 lines: its first 1,000 on the page, how many were left out, a link to
    the whole file, which is served whole."""
    report = "".join(f"report line {n}\n" for n in range(1, 5001))
    with _replaced(preview.out / NILS / "report.txt") as path:
        path.write_text(report, encoding="utf-8")
        status, _, body = _get(preview, f"/{NILS}/")
        assert status == 200
        page = body.decode("utf-8")
        section = page[page.index('<section id="report">') :]
        section = section[: section.index("</section>")]
        assert "report line 1000\n" in section
        assert "report line 1001" not in section
        assert "The first 1,000 of 5,000 lines: 4,000 lines left out." in section
        assert f'<a href="/{NILS}/report.txt">The whole report.txt</a>' in section
        assert f"{len(report.encode()):,} bytes" in section
        assert _get(preview, f"/{NILS}/report.txt")[2] == report.encode()
        # One line of 3 MB, no line break: the page shows at most 1 MB of it.
        path.write_bytes(b"x" * (3 * 1024 * 1024))
        page = _get(preview, f"/{NILS}/")[2].decode("utf-8")
        section = page[page.index('<section id="report">') :]
        assert "Line 1 is shown only in part." in section and "left out" not in section
        assert "x" * (1024 * 1024 + 1) not in page
        assert "x" * (1024 * 1024) in page


def test_a_short_report_is_shown_whole(preview: Preview) -> None:
    page = _get(preview, f"/{NILS}/")[2].decode("utf-8")
    report = (preview.out / NILS / "report.txt").read_text(encoding="utf-8")
    assert report.strip() and 'class="cut"' not in page


@pytest.mark.parametrize(
    ("data", "lines", "shown", "text", "cut_line"),
    [
        (b"", 0, 0, "", False),
        (b"a", 1, 1, "a", False),
        (b"a\nb", 2, 2, "a\nb", False),
        (b"a\nb\n", 2, 2, "a\nb\n", False),
        (b"a\nb\nc", 3, 2, "a\nb\n", False),
        (b"abcdefghij\nk\n", 2, 1, "abcdefgh", True),  # the byte limit cuts line 1
        ("ab\u00e9\u00e9\u00e9\u00e9".encode(), 1, 1, "ab\u00e9\u00e9\u00e9", True),  # never half a character
    ],
)
def test_excerpt_counts_lines(data: bytes, lines: int, shown: int, text: str, cut_line: bool) -> None:
    part = excerpt(io.BufferedReader(io.BytesIO(data)), max_lines=2, max_bytes=8)
    assert (part.lines, part.shown, part.text, part.cut_line, part.size) == (
        lines,
        shown,
        text,
        cut_line,
        len(data),
    )
    assert part.whole == (lines == shown and not cut_line)


def test_a_post_page_shows_no_file_a_link_leads_out_to(preview: Preview, tmp_path: Path) -> None:
    """The page inlines an output only as `/<post>/<file>` would serve it: not through a link out."""
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    with _replaced(preview.out / NILS / "report.txt") as report:
        report.unlink()
        report.symlink_to(secret)
        status, _, body = _get(preview, f"/{NILS}/")
        assert status == 200
        assert b"top secret" not in body
        assert b'<section id="report">' not in body
        assert _get(preview, f"/{NILS}/report.txt")[0] == 404


@contextlib.contextmanager
def _server_only(tmp_path: Path, **options: Any) -> Iterator[Preview]:
    """A preview's server, in a thread, for a site it never builds (its index says so)."""
    running = Preview(str(make_site(tmp_path / "site")), None, None, port=0, **options)
    running.bind()
    assert running.server is not None
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.state.stop()
        running.server.shutdown()
        running.server.server_close()
        thread.join(timeout=30)


def _idle_socket(preview: Preview) -> socket.socket:
    return socket.create_connection(("127.0.0.1", preview.port), timeout=60)


def test_an_idle_connection_is_closed(tmp_path: Path) -> None:
    """A connection that sends nothing, or half a request, is closed after the idle timeout (1 s
    here; 60 s by default); the 60 s this test waits at most are only a margin."""
    with _server_only(tmp_path, idle_timeout=1.0) as running:
        silent, half = _idle_socket(running), _idle_socket(running)
        try:
            half.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n")  # never finished
            for connection in (silent, half):
                try:
                    assert connection.recv(1024) == b""  # closed by the server
                except TimeoutError:
                    pytest.fail("the server kept an idle connection open for 60 s")
        finally:
            silent.close()
            half.close()
        assert _get(running, "/")[0] == 200  # and it serves on


def _events(preview: Preview, query: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    connection = http.client.HTTPConnection("127.0.0.1", preview.port, timeout=60)
    connection.request("GET", f"/events?{query}", headers={"Host": f"127.0.0.1:{preview.port}"})
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    return connection, response


def _next_event(response: http.client.HTTPResponse) -> str:
    lines = []
    while (line := response.readline().decode()) not in ("\n", ""):
        lines.append(line)
    return "".join(lines)


@pytest.mark.slow
def test_an_event_stream_outlives_the_idle_timeout(tmp_path: Path) -> None:
    """An open page's event stream sends nothing for 3 s (its heartbeat here), three times the
    idle timeout, and is not cut: the keep-alive comment comes, then the reload."""
    with _server_only(tmp_path, idle_timeout=1.0, heartbeat_seconds=3.0) as running:
        since = running.state.generation
        asked = time.monotonic()
        connection, response = _events(running, f"since={since}&stem=a-post")
        try:
            assert _next_event(response) == "retry: 1000\n"
            assert _next_event(response) == ": still here\n"
            assert time.monotonic() - asked >= 3.0  # 3 s without a byte either way, and still open
            assert running.state.open_stems() == ["a-post"]
            running.state.publish(running.state.snapshot, rebuilt=["a-post"])
            assert _next_event(response) == f"event: reload\ndata: {since + 1}\n"
        finally:
            connection.close()


def test_connections_beyond_the_limit_are_answered_503(tmp_path: Path) -> None:
    """With two connections held open (idle, or an event stream), a third is answered 503 at once,
    with the usual headers; once they close, the preview serves again."""
    # (a closed event stream's thread ends at its next heartbeat: 0.5 s here)
    with _server_only(tmp_path, max_connections=2, idle_timeout=60.0, heartbeat_seconds=0.5) as running:
        idle = _idle_socket(running)
        connection, _ = _events(running, "since=0")
        try:
            status, headers, body = _get(running, "/")
            assert status == 503
            assert b"too many connections" in body
            assert headers["content-security-policy"] and headers["x-content-type-options"] == "nosniff"
            assert headers["retry-after"] == "5"
        finally:
            idle.close()
            connection.close()
        deadline = time.monotonic() + 60  # the two handler threads see their sockets closed
        while (status := _get(running, "/")[0]) == 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == 200


# --- in a browser ---------------------------------------------------------------------------


def test_index_lists_the_posts(preview: Preview, page: Any) -> None:
    response = page.goto(f"http://127.0.0.1:{preview.port}/", wait_until="domcontentloaded")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    rows = page.locator("tr.post")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-stem") == NILS  # newest first
    text = page.locator("#posts").inner_text()
    assert "Nils Reimers: Sentence Transformers" in text
    assert "Welcome to Learning from Machine Learning" in text
    assert "2023-02-24" in text and "2023-01-07" in text
    welcome = page.locator(f'tr[data-stem="{WELCOME}"]')
    assert welcome.locator(".status").inner_text() == "warnings"
    assert "warning: pdf: no installed font has these characters" in welcome.inner_text()
    page.locator(f'a[href="/{NILS}/"]').click()
    page.wait_for_selector("#title")
    assert "Nils Reimers" in page.locator("#title").inner_text()


def test_post_page_shows_each_output(preview: Preview, page: Any) -> None:
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    folder = preview.out / NILS
    page.goto(f"http://127.0.0.1:{preview.port}/{NILS}/", wait_until="domcontentloaded")

    frames = page.locator("#newsletter iframe")
    assert frames.count() == 2
    assert [frames.nth(i).get_attribute("width") for i in range(2)] == ["600", "375"]
    assert all(frames.nth(i).get_attribute("sandbox") == "" for i in range(2))
    inner = page.frame_locator("#newsletter iframe").first
    assert "Nils Reimers" in inner.locator("h1").inner_text()
    assert "Watch the episode" in page.locator("#plain-text pre").inner_text()

    assert page.locator('#pdf object[type="application/pdf"]').count() == 1
    page.wait_for_function(
        "() => { const i = document.getElementById('page1'); return i.complete && i.naturalWidth > 0; }"
    )
    assert page.evaluate("document.getElementById('page1').naturalWidth") > 0

    youtube = (folder / "youtube.txt").read_bytes()
    assert page.locator("#youtube-bytes").inner_text() == f"{len(youtube):,} of 5,000 bytes"
    timed = [line for line in youtube.decode().splitlines() if line[:1].isdigit() and ":" in line[:6]]
    chapters = page.locator("#youtube-chapters tr")
    assert chapters.count() == len(timed) >= 3
    assert chapters.first.inner_text().split() == ["0:00", "Intro"]

    podcast = (folder / "podcast.html").read_bytes()
    assert page.locator("#podcast-bytes").inner_text() == f"{len(podcast):,} of 4,000 bytes"
    frame = page.locator("#podcast iframe")
    assert frame.get_attribute("sandbox") == ""
    described = page.frame_locator("#podcast iframe")
    assert "Nils Reimers" in described.locator("body").inner_text()
    assert described.locator("p").count() >= 1

    chapters_text = page.locator("#chapters").inner_text()
    for name in ("chapters.json", "chapters.psc.xml"):
        assert name in chapters_text
    assert '"chapters"' in chapters_text
    assert page.locator("#report pre").inner_text().strip() == (folder / "report.txt").read_text().strip()
    files = page.locator("#files").inner_text()
    for path in folder.iterdir():
        if not path.name.startswith("."):
            assert path.name in files
    assert violations == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve-post.png"))


def _replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _evaluate_settled(page: Any, expression: str) -> Any:
    """`page.evaluate`, asked again after a navigation that destroyed its context mid-call."""
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(10):
        try:
            return page.evaluate(expression)
        except PlaywrightError as exc:
            if "Execution context was destroyed" not in str(exc):
                raise
            page.wait_for_load_state("load")
    raise AssertionError("the page kept navigating")


def test_an_edit_appears_without_a_manual_reload(preview: Preview, site: Path, page: Any) -> None:
    from playwright.sync_api import expect

    post = _post_file(site, WELCOME)
    before = post.read_bytes()
    page.goto(f"http://127.0.0.1:{preview.port}/{WELCOME}/", wait_until="load")
    assert "Welcome to Learning from Machine Learning" in page.locator("#title").inner_text()
    page.evaluate("window.notReloaded = true")
    try:
        with page.expect_event("load", timeout=RELOAD_TIMEOUT_MS):
            _replace_in(post, "title:", "title: Edited while serving —")
        # A save reloads the page twice (without the PDF, then with it): wait for what it shows,
        # and ask the page only once it is not navigating.
        expect(page.locator("#title")).to_contain_text("Edited while serving —", timeout=RELOAD_TIMEOUT_MS)
        expect(page.locator("#plain-text pre")).to_contain_text("Edited while serving")
        assert _evaluate_settled(page, "window.notReloaded") is None  # the page reloaded itself
        post.write_bytes(before)
        # The page reloads twice a save (without the PDF, then with it): wait for what it shows.
        expect(page.locator("#title")).to_have_text(
            re.compile("^Welcome to Learning"), timeout=RELOAD_TIMEOUT_MS
        )
    finally:
        if post.read_bytes() != before:
            post.write_bytes(before)


def test_a_broken_post_shows_its_error_and_recovers(preview: Preview, site: Path, page: Any) -> None:
    from playwright.sync_api import expect

    post = _post_file(site, NILS)
    page.goto(f"http://127.0.0.1:{preview.port}/{NILS}/", wait_until="load")
    assert page.locator("#error").count() == 0
    before = post.read_bytes()
    try:
        with page.expect_event("load", timeout=RELOAD_TIMEOUT_MS):
            _replace_in(post, "youtubeID: jOj4d3JNBDU", "youtubeID: 'abc'")
        expect(page.locator("#status")).to_have_text("failed", timeout=RELOAD_TIMEOUT_MS)
        error = page.locator("#error").inner_text()
        assert f"_posts/{NILS}.markdown:" in error
        assert "youtubeID" in error and "abc" in error
        assert page.locator("#status").inner_text() == "failed"
        # its last good outputs are still shown
        assert "Nils Reimers" in page.frame_locator("#newsletter iframe").first.locator("h1").inner_text()
        index = page.context.new_page()
        index.goto(f"http://127.0.0.1:{preview.port}/", wait_until="domcontentloaded")
        assert index.locator(f'tr[data-stem="{NILS}"] .status').inner_text() == "failed"
        index.close()
        post.write_bytes(before)
        expect(page.locator("#status")).to_have_text("built", timeout=RELOAD_TIMEOUT_MS)
    finally:
        if post.read_bytes() != before:
            post.write_bytes(before)
    assert page.locator("#error").count() == 0
    assert _get(preview, "/")[0] == 200  # the server lived through it


# --- the README picture ---------------------------------------------------------------------


def main(argv: list[str]) -> int:
    """Write a picture of the seed post's preview page, 1200 px wide. This machine is offline, so
    the newsletter's YouTube thumbnail is answered by the placeholder of `tests.browser`."""
    from playwright.sync_api import sync_playwright

    from tests.browser import placeholder_thumbnail

    target = Path(argv[0] if argv else "docs/preview.png").resolve()
    seed = next((ROOT / "samples").glob("2025-05-28-*.markdown"))
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        (site / "_posts").mkdir()
        shutil.copy(seed, site / "_posts" / seed.name)
        shutil.copy(ROOT / "samples" / "episode.toml", site / "episode.toml")
        thumbnail = placeholder_thumbnail(site / "thumbnail.jpg").read_bytes()
        os.chdir(site)
        running = Preview("_posts", "_out", None, port=0)
        running.start()
        try:
            with sync_playwright() as playwright:
                launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                opened = launched.new_page(viewport={"width": 1200, "height": 1500})
                opened.route(
                    "https://i.ytimg.com/**",
                    lambda route: route.fulfill(body=thumbnail, content_type="image/jpeg"),
                )
                opened.goto(f"{running.url}{seed.stem}/", wait_until="load")
                opened.wait_for_function("() => document.getElementById('page1').naturalWidth > 0")
                target.parent.mkdir(parents=True, exist_ok=True)
                opened.screenshot(path=str(target), full_page=bool(os.environ.get("FULL_PAGE")))
                launched.close()
        finally:
            running.stop()
            os.chdir(ROOT)
    print(f"wrote {target}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class _Rendered:
    """A reporter that records which formats each rebuilt post rendered, in order."""

    log: list[tuple[str, tuple[str, ...]]] = []

    def start(self, total: int, to_build: int) -> None:
        pass

    def post_done(self, result: Any) -> None:
        if result.status == "built":
            self.log.append((result.stem, tuple(result.rendered)))


def test_an_edit_shows_everything_but_the_pdf_first_and_the_open_post_first(tmp_path: Path) -> None:
    """The page of an edited post reloads once the light outputs are written (the PDF follows in a
    second build); a template edit rebuilds the post open in a browser before the others."""
    site = make_site(tmp_path / "site")
    (site / "templates").mkdir()
    shutil.copy(ROOT / "templates" / "newsletter.txt.j2", site / "templates" / "newsletter.txt.j2")
    _Rendered.log = []
    running = Preview(str(site), None, None, port=0, jobs=1, reporter=_Rendered, debounce_ms=200)
    running.start()
    try:
        _Rendered.log.clear()
        post = site / "_posts" / f"{NILS}.markdown"
        with running.state.page_open(NILS):
            since = running.state.generation
            post.write_text(post.read_text() + "\n\nA paragraph written while the preview runs.\n")
            first = running.state.wait(since, NILS, 60)
            assert first is not None
            assert "A paragraph written while" in (running.out / NILS / "post.md").read_text()
            assert running.state.wait(first, NILS, 60) is not None  # the PDF's build
            assert _Rendered.log == [
                (NILS, ("post", "chapters", "newsletter", "youtube", "podcast")),
                (NILS, ("pdf",)),
            ]
            _Rendered.log.clear()
            since = running.state.generation
            template = site / "templates" / "newsletter.txt.j2"
            template.write_text("Our text edition.\n" + template.read_text())
            assert running.state.wait(since, NILS, 60) is not None
        assert [stem for stem, _ in _Rendered.log] == [NILS, WELCOME]  # the open post first
        assert {formats for _, formats in _Rendered.log} == {("newsletter",)}  # and no PDF
    finally:
        running.stop()
