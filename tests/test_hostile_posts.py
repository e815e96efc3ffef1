"""Hostile bodies: the whole build runs, fetches nothing, leaks nothing, and never crashes."""

from __future__ import annotations

import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.builder.run import build
from pipeline.settings.config import Settings
from pipeline.source.post_file import BIDI_CONTROLS

from .conftest import FIXTURES, SEED

HOSTILE = FIXTURES / "hostile"


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Counter.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[tuple[int, list[str]]]:
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Counter.hits
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hostile_build(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> tuple[Path, object, list[str]]:
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    root = tmp_path_factory.mktemp("hostile")
    src = root / "posts"
    src.mkdir()
    for path in HOSTILE.glob("*.md"):
        (src / path.name).write_text(path.read_text("utf-8").replace("{PORT}", str(port)), "utf-8")
    shutil.copy(SEED, src)
    summary = build(src, root / "out", settings, jobs=2)
    server.shutdown()
    server.server_close()
    return root, summary, list(_Counter.hits)


def test_no_request_reaches_the_loopback_server(
    hostile_build: tuple[Path, object, list[str]],
) -> None:
    _, _, hits = hostile_build
    assert hits == []


def test_every_post_builds_or_fails_cleanly(hostile_build: tuple[Path, object, list[str]]) -> None:
    root, summary, _ = hostile_build
    results = summary.results  # type: ignore[attr-defined]
    assert len(results) == len(list(HOSTILE.glob("*.md"))) + 1
    for result in results:
        assert result.bug is None, result.bug
        if result.status == "failed":
            assert result.error and "\n" not in result.error and Path(result.source).name in result.error
    assert (root / "out" / SEED.stem / "show-notes.pdf").is_file()


def test_nothing_from_the_machine_or_scripts_in_outputs(
    hostile_build: tuple[Path, object, list[str]],
) -> None:
    root, _, _ = hostile_build
    written = [p for p in root.rglob("*") if p.is_file() and "posts" not in p.parts]
    assert written and all(p.is_relative_to(root / "out") for p in written)
    assert not [p for p in written if p.name.endswith(".tmp")]
    for path in written:
        data = path.read_bytes()
        assert b"root:x:0:0" not in data, path
        if path.suffix in (".html", ".eml", ".txt", ".md") and path.name != "report.txt":
            lowered = data.lower()
            for bad in (
                b"<script",
                b"javascript:",
                b"vbscript:",
                b"<iframe",
                b"onerror=",
                b"\xe2\x80\xae",
            ):
                assert bad not in lowered, (path, bad)
            # Same rules in text outputs as in HTML: no data: URL, no bidi control of any kind.
            assert not re.search(rb"(?<![a-z])data:(?!\s)", lowered), path
            assert not BIDI_CONTROLS.search(data.decode("utf-8")), path


def test_text_outputs_of_hostile_posts_were_written(
    hostile_build: tuple[Path, object, list[str]],
) -> None:
    root, _, _ = hostile_build
    for stem in ("2024-01-01-js-links", "2024-01-01-bidi-controls", "2024-01-01-emoji-cjk-rtl"):
        for name in ("youtube.txt", "newsletter.txt", "newsletter.html", "podcast.html"):
            assert (root / "out" / stem / name).is_file(), (stem, name)


def test_bad_chapters_are_reported_not_reordered(
    hostile_build: tuple[Path, object, list[str]],
) -> None:
    root, summary, _ = hostile_build
    result = next(r for r in summary.results if "chapters-bad" in r.source)  # type: ignore[attr-defined]
    assert result.status == "built"
    assert any("do not ascend" in w.text for w in result.warnings)
    assert any("99:99" in w.text for w in result.warnings)
    post = (root / "out" / "2024-01-01-chapters-bad" / "post.md").read_text()
    assert post.index("05:00 B") < post.index("03:00 C")
    assert not (root / "out" / "2024-01-01-chapters-bad" / "chapters.json").exists()


def test_template_syntax_in_a_post_stays_text(
    hostile_build: tuple[Path, object, list[str]],
) -> None:
    root, _, _ = hostile_build
    post = (root / "out" / "2024-01-01-liquid-jinja" / "post.md").read_text()
    # Markdown reads __class__ as bold "class": the text is kept, never evaluated.
    assert "{{ ''." in post and "class" in post and "mro" in post and "<class" not in post
    assert "{% include evil.html %}" in post
    # post.md is the Jekyll source: Liquid stays for Jekyll; the outputs never link to it.
    assert "[old]({% post_url 2023-01-09-episode-one %})" in post
    newsletter = (root / "out" / "2024-01-01-liquid-jinja" / "newsletter.txt").read_text()
    assert "post_url" not in newsletter and "old" in newsletter


def test_yaml_block_inside_a_body_is_kept(hostile_build: tuple[Path, object, list[str]]) -> None:
    root, _, _ = hostile_build
    post = (root / "out" / "2024-01-01-yaml-in-body" / "post.md").read_text()
    assert "Before." in post and "After." in post and "injected" in post
