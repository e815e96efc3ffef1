"""show-notes.pdf: content, links, outline, metadata, reproducibility, and hostile input."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import StreamObject

from pipeline.errors import ConfigError, RenderError
from pipeline.formats.pdf import show_notes as shownotes
from pipeline.formats.pdf.engine import html_to_pdf
from pipeline.formats.pdf.options import pdf_options
from pipeline.formats.pdf.show_notes import parse_title
from pipeline.model import Paragraph, Section, Span
from pipeline.settings.config import Settings
from tests.sample_episode import SEED_CHAPTERS, sample_episode

ROOT = Path(__file__).resolve().parent.parent
LFML = "Learning from Machine Learning"


def _settings(**pdf: Any) -> Settings:
    return Settings(
        show_name="Learning from Machine Learning",
        author="Seth Levine",
        formats=MappingProxyType({"pdf": MappingProxyType(pdf)}),
    )


def _pdf(**pdf: Any) -> bytes:
    return shownotes.render(sample_episode(), _settings(**pdf)).files["show-notes.pdf"]


@pytest.fixture(scope="module")
def seed_pdf() -> bytes:
    return _pdf()


@pytest.fixture(scope="module")
def reader(seed_pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(seed_pdf))


def _text(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _link_uris(reader: PdfReader) -> list[str]:
    uris = []
    for page in reader.pages:
        for annot in page.get("/Annots", []):
            action = annot.get_object().get("/A", {})
            if "/URI" in action:
                uris.append(str(action["/URI"]))
    return uris


def _outline_titles(items: list[Any]) -> list[str]:
    titles: list[str] = []
    for item in items:
        if isinstance(item, list):
            titles.extend(_outline_titles(item))
        else:
            titles.append(str(item.title))
    return titles


def _stream_data(reader: PdfReader) -> Iterator[bytes]:
    """Every decoded stream of the file, whatever refers to it."""
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(number)
        except Exception:  # free or unreadable entries of the xref table
            continue
        if isinstance(obj, StreamObject):
            yield obj.get_data()


def _struct_elements(reader: PdfReader) -> Iterator[Any]:
    """Every element of the structure tree (tagged PDF)."""
    stack = [reader.trailer["/Root"]["/StructTreeRoot"].get_object()]
    while stack:
        element = stack.pop().get_object()
        if not hasattr(element, "get"):
            continue
        yield element
        kids = element.get("/K")
        stack.extend(kids if isinstance(kids, list) else [kids] if kids is not None else [])


# --- content, links, structure ------------------------------------------------------------


def test_render_produces_one_pdf(seed_pdf: bytes) -> None:
    assert seed_pdf.startswith(b"%PDF-1.7")


def test_text_has_title_guest_summary_and_chapters(reader: PdfReader) -> None:
    text = _text(reader)
    assert "Thinking beyond Transformers" in text
    assert "Maxime Labonne" in text
    assert "Episode 12" in text
    assert "Learning from Machine Learning" in text
    assert "28 May 2025" in text
    assert "We traced his journey from cybersecurity" in text
    for chapter in SEED_CHAPTERS:
        assert chapter.title in text
    assert "1:00:38" in text
    assert "Category Theory in Context" in text


def test_metadata_comes_from_the_post(reader: PdfReader) -> None:
    episode = sample_episode()
    info = reader.metadata
    assert info is not None
    assert info["/Title"] == episode.title
    assert info["/Author"] == "Seth Levine"
    assert info["/Subject"] == (
        "On this episode of Learning from Machine Learning, I had the privilege of speaking "
        "with Maxime Labonne, Head of Post-Training at Liquid AI."
    )
    assert info["/Keywords"] == "machine learning updates"
    assert info["/CreationDate"].startswith("D:20250528223030")


def test_author_is_configurable() -> None:
    info = PdfReader(io.BytesIO(_pdf(author="Someone Else"))).metadata
    assert info is not None
    assert info["/Author"] == "Someone Else"


def test_links_point_to_the_video_and_each_chapter(reader: PdfReader) -> None:
    episode = sample_episode()
    uris = _link_uris(reader)
    assert episode.video_url in uris
    for chapter in SEED_CHAPTERS:
        assert f"https://www.youtube.com/watch?v=IOC2k5k8oto&t={chapter.start}s" in uris
    assert "https://amzn.to/48ka3aU" in uris


def test_outline_has_sections_and_chapters(reader: PdfReader) -> None:
    titles = _outline_titles(reader.outline)
    assert titles[0] == "Thinking beyond Transformers"
    assert {"Summary", "Episode Timestamps", "References"} <= set(titles)
    for chapter in SEED_CHAPTERS:
        assert chapter.title in titles


def test_tagged_pdf_ua_with_language(reader: PdfReader) -> None:
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert b'pdfuaid:part="1"' in root["/Metadata"].get_object().get_data()


def test_qr_code_links_to_the_video(reader: PdfReader) -> None:
    # The QR code is an SVG drawn into the page; its link is a square about 28 mm wide.
    video = sample_episode().video_url
    squares = [
        [float(v) for v in a.get_object()["/Rect"]]
        for a in reader.pages[0]["/Annots"]
        if a.get_object()["/A"]["/URI"] == video
    ]
    assert any(75 < r[2] - r[0] < 85 and 75 < abs(r[3] - r[1]) < 85 for r in squares)
    alts = [str(e.get("/Alt")) for e in _struct_elements(reader) if e.get("/S") == "/Figure"]
    assert "QR code linking to the video" in alts


def test_page_size_a4_or_letter(reader: PdfReader) -> None:
    a4 = reader.pages[0].mediabox
    assert (round(float(a4.width)), round(float(a4.height))) == (595, 842)
    letter = PdfReader(io.BytesIO(_pdf(page_size="letter"))).pages[0].mediabox
    assert (round(float(letter.width)), round(float(letter.height))) == (612, 792)


def test_two_renders_are_byte_identical(seed_pdf: bytes) -> None:
    assert _pdf() == seed_pdf


@pytest.mark.slow
def test_renders_are_identical_across_processes(seed_pdf: bytes) -> None:
    code = (
        "import sys; from types import MappingProxyType; from pipeline.settings.config import Settings; "
        "from pipeline.formats.pdf import show_notes as shownotes; from tests.sample_episode import sample_episode; "
        "s = Settings(show_name='Learning from Machine Learning', author='Seth Levine', "
        "formats=MappingProxyType({'pdf': MappingProxyType({})})); "
        "sys.stdout.buffer.write(shownotes.render(sample_episode(), s).files['show-notes.pdf'])"
    )
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, check=True)
    assert other.stdout == seed_pdf


def test_source_date_epoch_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "12345")
    _pdf()
    import os

    assert os.environ["SOURCE_DATE_EPOCH"] == "12345"


def test_long_urls_wrap_inside_the_page() -> None:
    url = "https://example.org/" + "a-very-long-path-segment/" * 20
    episode = sample_episode(sections=(Section("links", "Links", (Paragraph((Span(url, url=url),)),)),))
    pdf = PdfReader(io.BytesIO(shownotes.render(episode, _settings()).files["show-notes.pdf"]))
    width = float(pdf.pages[0].mediabox.width)
    rects = [
        [float(v) for v in a.get_object()["/Rect"]]
        for page in pdf.pages
        for a in page.get("/Annots", [])
        if a.get_object().get("/A", {}).get("/URI") == url
    ]
    assert len(rects) > 1, "a long URL should break over several lines"
    assert all(r[0] >= 0 and r[2] <= width for r in rects)


def test_only_web_links_become_links() -> None:
    episode = sample_episode(
        sections=(
            Section(
                "links",
                "Links",
                (
                    Paragraph(
                        (
                            Span("bad", url="javascript:alert(1)"),
                            Span(" local", url="file:///etc/passwd"),
                            Span(" ok", url="https://example.org/ok"),
                            Span(" old", url="http://old.example.org/"),
                        )
                    ),
                ),
            ),
        )
    )
    rendered = shownotes.render(episode, _settings())
    pdf = PdfReader(io.BytesIO(rendered.files["show-notes.pdf"]))
    uris = _link_uris(pdf)
    assert "https://example.org/ok" in uris
    assert not [u for u in uris if u.startswith(("javascript:", "file:", "http:"))]
    assert "bad local ok old" in _text(pdf)
    # The shared policy keeps https and mailto links; every other one is reported, never silent.
    unlinked = [w for w in rendered.warnings if "kept as text only" in w]
    assert len(unlinked) == 3 and any("'http://old.example.org/'" in w for w in unlinked)


def test_episode_without_video_has_no_qr_or_chapter_links() -> None:
    rendered = shownotes.render(sample_episode(youtube_id=None), _settings())
    pdf = PdfReader(io.BytesIO(rendered.files["show-notes.pdf"]))
    assert not [u for u in _link_uris(pdf) if "youtube.com" in u]
    assert SEED_CHAPTERS[0].title in _text(pdf)


def test_emoji_and_cjk_title_renders() -> None:
    title = "田中さん: 機械学習 🤖🚀 | Learning from Machine Learning #99"
    rendered = shownotes.render(sample_episode(title=title), _settings())
    pdf = rendered.files["show-notes.pdf"]
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None
    assert info["/Title"] == title
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "機械学習" in text
    # This machine has no CJK or emoji font: the build says so instead of failing, and names a
    # package that draws them.
    [missing] = [w for w in rendered.warnings if "no installed font has these characters" in w]
    assert "fonts-noto-color-emoji" in missing, missing


def test_weasyprint_warnings_are_returned() -> None:
    html = '<html lang="en"><head><title>t</title></head><body><p style="color: nonsense">x</p>'
    output = html_to_pdf(html, _settings())
    assert any("nonsense" in w for w in output.warnings)


def test_weasyprint_is_imported_lazily() -> None:
    code = (
        "import sys, pipeline.formats.pdf.show_notes, pipeline.formats; "
        "assert 'weasyprint' not in sys.modules, 'imported at module load'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# --- title shapes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Maxime Labonne: Thinking beyond Transformers | Learning from Machine Learning #12",
            ("Maxime Labonne", "Thinking beyond Transformers", LFML, 12),
        ),
        (
            "Lukas Biewald | You think you're late, but you're early | Learning from ML #13",
            ("Lukas Biewald", "You think you're late, but you're early", "Learning from ML", 13),
        ),
        ("Bonus: a live show", None),
        ("Guest: Topic | Show without number", None),
        ("Just a topic | Show #3", None),
    ],
)
def test_parse_title(title: str, expected: tuple[str, str, str, int] | None) -> None:
    parts = parse_title(title)
    if expected is None:
        assert parts is None
    else:
        assert parts is not None
        assert (parts.guest, parts.topic, parts.show, parts.number) == expected


def test_unusual_title_is_shown_whole() -> None:
    title = "A special live episode from the conference floor"
    pdf = shownotes.render(sample_episode(title=title), _settings()).files["show-notes.pdf"]
    assert title in _text(PdfReader(io.BytesIO(pdf)))


# --- hostile input ------------------------------------------------------------------------


class _Counter(BaseHTTPRequestHandler):
    requests: list[str] = []  # shared on purpose: the server makes one handler per request

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that counts the requests it gets."""
    _Counter.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Counter.requests
    finally:
        server.shutdown()
        server.server_close()


def _hostile_html(base: str) -> str:
    return f"""<!DOCTYPE html><html lang="en"><head><title>hostile</title>
<link rel="attachment" href="file:///etc/passwd" title="passwd">
<link rel="stylesheet" href="{base}/style.css">
<style>@import url("{base}/import.css"); body {{ background: url("{base}/bg.png") }}</style>
</head><body>
<p>Hostile post</p>
<img src="file:///etc/passwd" alt="a">
<img src="../pyproject.toml" alt="b">
<img src="{base}/pixel.png" alt="c">
<svg width="10" height="10"><image href="{base}/svg.png" width="10" height="10"/></svg>
<a rel="attachment" href="file:///etc/hostname">attached</a>
</body></html>"""


def test_hostile_html_fetches_nothing(loopback: tuple[str, list[str]]) -> None:
    base, requests = loopback
    output = html_to_pdf(_hostile_html(base), _settings())
    assert requests == []
    reader = PdfReader(io.BytesIO(output.pdf))
    root = reader.trailer["/Root"]
    assert "/EmbeddedFiles" not in root.get("/Names", {})
    passwd = Path("/etc/passwd").read_bytes()
    first_line = passwd.splitlines()[0]
    for data in [output.pdf, *_stream_data(reader)]:
        assert first_line not in data
        assert b"/EmbeddedFile" not in data
    assert "Hostile post" in _text(reader)
    # Each refusal is reported, so --strict fails the post.
    joined = "\n".join(output.warnings)
    assert "refused file:///etc/passwd" in joined
    assert "refused file:///etc/hostname" in joined
    assert f"refused {base}/pixel.png: network access is disabled" in joined
    assert "pyproject.toml: file outside templates/" in joined


def test_hostile_html_fails_when_refusals_are_fatal(loopback: tuple[str, list[str]]) -> None:
    base, requests = loopback
    with pytest.raises(RenderError, match="refused"):
        html_to_pdf(_hostile_html(base), _settings(on_refused_resource="fail"))
    assert requests == []


def test_network_allowlist_still_refuses_loopback_http(loopback: tuple[str, list[str]]) -> None:
    base, requests = loopback
    settings = _settings(network=True, allowed_hosts=["127.0.0.1"])
    output = html_to_pdf(_hostile_html(base), settings)
    assert requests == []
    assert any("only https is allowed" in w for w in output.warnings)


def test_image_over_the_pixel_cap_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    html = f'<html lang="en"><head><title>t</title></head><body><img src="{uri}" alt="x">'
    output = html_to_pdf(html, _settings(max_image_pixels=1000))
    assert any("refused data:image/png" in w and "1000-pixel cap" in w for w in output.warnings)


# --- configuration ------------------------------------------------------------------------


def test_defaults() -> None:
    options = pdf_options(Settings())
    assert options.page_size == "A4"
    assert options.pdf_variant == "pdf/ua-1"
    assert options.network is False


def test_config_errors_are_reported_together() -> None:
    settings = _settings(
        page_size="A5",
        qr_code="yes",
        max_image_pixels=True,
        colour="blue",
        allowed_hosts=["https://example.org/"],
    )
    with pytest.raises(ConfigError) as caught:
        pdf_options(settings)
    message = str(caught.value)
    assert "[tool.pipeline.pdf]" in message
    assert "page_size: expected one of 'A4', 'Letter', got 'A5'" in message
    assert "qr_code: expected true or false" in message
    assert "max_image_pixels: expected a positive integer" in message
    assert "colour: unknown setting" in message
    assert "allowed_hosts: not host names: 'https://example.org/'" in message
    assert "\n" not in message


def test_network_needs_hosts() -> None:
    with pytest.raises(ConfigError, match="network: true needs a non-empty allowed_hosts"):
        pdf_options(_settings(network=True))


def test_render_checks_the_config_first() -> None:
    with pytest.raises(ConfigError, match="pdf_variant"):
        shownotes.render(sample_episode(), _settings(pdf_variant="pdf/a-9"))


# --- the corpus ---------------------------------------------------------------------------

CORPUS = sorted((ROOT / "tests" / "fixtures" / "corpus" / "imported").glob("*.markdown"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.name[:40] for p in CORPUS])
def test_corpus_posts_render_without_warnings(path: Path) -> None:
    from pipeline.normalize.stages import normalize_file
    from pipeline.settings.config import load_settings

    settings = load_settings(ROOT / "samples" / "episode.toml")
    episode = normalize_file(path, settings)
    rendered = shownotes.render(episode, settings)
    assert rendered.warnings == []
    reader = PdfReader(io.BytesIO(rendered.files["show-notes.pdf"]))
    uris = _link_uris(reader)
    assert all(episode.chapter_url(c) in uris for c in episode.chapters)
    assert len(reader.pages) <= 2


# --- time limit ---------------------------------------------------------------------------

_SLOW_HTML = '<html lang="en"><head><title>t</title></head><body>' + "<p>words and more words</p>" * 4000


def test_timeout_is_a_positive_number() -> None:
    assert pdf_options(Settings()).timeout == 60.0
    assert pdf_options(_settings(timeout=5)).timeout == 5.0
    for bad in (0, -1, "10", True):
        with pytest.raises(ConfigError, match="timeout: expected a positive number"):
            pdf_options(_settings(timeout=bad))


# The alarm can land in a gc callback (hypothesis installs one), where Python drops the exception
# and says so; _time_limit repeats the alarm until one gets through, which is what this checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_render_over_the_limit_fails_and_restores_the_alarm() -> None:
    import signal

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("the previous timer fired during the test")

    previous = signal.signal(signal.SIGALRM, mine)
    signal.setitimer(signal.ITIMER_REAL, 300)
    try:
        with pytest.raises(RenderError) as caught:
            html_to_pdf(_SLOW_HTML, _settings(timeout=0.2))
        assert str(caught.value) == "show-notes.pdf: rendering took longer than 0.2 s (pdf.timeout)"
        assert signal.getsignal(signal.SIGALRM) is mine
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 200 < remaining <= 300
        assert html_to_pdf(_SLOW_HTML[:2000], _settings(timeout=30)).pdf.startswith(b"%PDF")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_there_is_no_limit() -> None:
    results: list[object] = []
    html = _SLOW_HTML[:20000]
    thread = threading.Thread(target=lambda: results.append(html_to_pdf(html, _settings(timeout=0.001))))
    thread.start()
    thread.join()
    assert len(results) == 1 and results[0].pdf.startswith(b"%PDF")  # type: ignore[attr-defined]


def test_show_notes_over_max_pages_are_refused_before_the_pdf_is_written() -> None:
    import dataclasses

    from pipeline.model import Paragraph, Section, Span

    long_summary = tuple(
        Paragraph((Span(f"Paragraph {n}: " + "words about caches and models " * 20),)) for n in range(60)
    )
    episode = sample_episode(sections=(Section("summary", None, long_summary),))
    from pipeline.settings.config import load_settings

    settings = load_settings(Path(__file__).resolve().parent.parent / "samples" / "episode.toml")
    limited = dataclasses.replace(settings, formats=MappingProxyType({"pdf": {"max_pages": 2}}))
    with pytest.raises(RenderError) as caught:
        shownotes.render(episode, limited)
    message = str(caught.value)
    assert "over the 2-page limit (pdf.max_pages)" in message and "\n" not in message
    assert shownotes.render(episode, settings).files["show-notes.pdf"].startswith(b"%PDF-")  # 40 by default
