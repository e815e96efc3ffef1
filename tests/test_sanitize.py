"""The shared HTML allow-list: idempotent, removes what can run or fetch, a no-op on our own HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from pipeline.formats.newsletter import edition as newsletter
from pipeline.formats.pdf import show_notes as shownotes
from pipeline.formats.sanitize import is_allowed_url, sanitize_html, unlink_disallowed
from pipeline.model import Block, Paragraph, Section, Span
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings
from pipeline.source.post_file import BIDI_CONTROLS
from pipeline.text.block_writers import blocks_to_html

from .conftest import CORPUS, FIXTURES, ROOT, examples
from .sample_episode import sample_episode
from .test_platform_rules import bullet_lists, spans

# Pieces that make parsers disagree with themselves: table cells that nest `a` in `a` or `p` in
# `p`, raw-text elements, comments, entities (bidi ones too), broken tags, NUL and CR.
_PIECES = [
    "<a href=\"", "https://x.test/", "javascript:", "jav&#x61;script:", "data:text/html,", "\">",
    "<a>", "</a>", "<p>", "</p>", "<ul>", "<ol>", "<li>", "</li>", "<table>", "<tr>", "<td>",
    "</table>", "<b>", "<strong>", "</strong>", "<em>", "<code>", "<br>", "<pre>", "<h1>",
    "<script>", "</script>", "<style>", "<svg>", "<math>", "<mi>", "<textarea>", "<select>",
    "<option>", "<template>", "<noscript>", "<xmp>", "<plaintext>", "<iframe>", "<form>",
    "<button>", "<frameset>", "<body>", "<html>", "<title>", "<!--", "-->", "<![CDATA[", "<?x",
    "</", "<", ">", "&", "&amp;", "&lt;", "&#x202e;", "&nbsp;", "\u202e", "\u2066", "\u00a0",
    "\x00", "\r", "\n", " ", "'", '"', "=", "<img src=x onerror=alert(1)>", "<a href='mailto:a@b.c'>",
]  # fmt: skip
html_text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=8)), max_size=40).map("".join)


@hyp_settings(max_examples=examples(400), deadline=None)
@given(html_text)
def test_sanitizing_twice_changes_nothing(text: str) -> None:
    once = sanitize_html(text)
    assert sanitize_html(once) == once
    assert not BIDI_CONTROLS.search(once)


@hyp_settings(max_examples=examples(200), deadline=None)
@given(st.text())
def test_sanitizing_any_text_twice_changes_nothing(text: str) -> None:
    once = sanitize_html(text)
    assert sanitize_html(once) == once


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>a<script>alert(1)</script>b</p>", "<p>ab</p>"),
        ("<style>p{color:red}</style><p>x</p>", "<p>x</p>"),
        ('<iframe src="https://evil.test/"><b>fallback</b></iframe>ok', "ok"),
        ('<p onclick="alert(1)" style="x">t<img src=x onerror="alert(1)"></p>', "<p>t</p>"),
        ('<a href="javascript:alert(1)">j</a>', "<a>j</a>"),
        ('<a href=" JaVaScRiPt:alert(1)">j</a>', "<a>j</a>"),
        ('<a href="jav&#x61;script:alert(1)">e</a>', "<a>e</a>"),
        ('<a href="java\tscript:alert(1)">t</a>', "<a>t</a>"),
        ('<a href="java&#x202e;script:alert(1)">b</a>', "<a>b</a>"),
        ('<a href="data:text/html,<b>x</b>">d</a>', "<a>d</a>"),
        ('<a href="vbscript:msgbox">v</a>', "<a>v</a>"),
        ('<a href="/relative">r</a><a href="//host.test/x">p</a>', "<a>r</a><a>p</a>"),
        ('<a href="http://plain.test/">h</a>', "<a>h</a>"),
        (
            '<a href="https://ok.test/?a=1&amp;b=2" target="_blank">ok</a>',
            '<a href="https://ok.test/?a=1&amp;b=2">ok</a>',
        ),
        ('<a href="mailto:me@example.org">m</a>', '<a href="mailto:me@example.org">m</a>'),
        ("<svg><script>alert(1)</script></svg>x", "x"),
        ("a\u202eb&#x2066;c<!-- comment -->", "abc"),
        ("<h1>T</h1><div><strong>b</strong></div>", "T<strong>b</strong>"),
    ],
)
def test_what_can_run_or_fetch_is_removed(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


def test_podcast_tags_are_a_narrower_use_of_the_same_policy() -> None:
    dirty = '<p><strong>b</strong> <a href="http://x.test/">h</a> <a href="https://x.test/">s</a></p>'
    assert sanitize_html(dirty, {"p", "a"}) == '<p>b <a>h</a> <a href="https://x.test/">s</a></p>'


def test_allowed_urls() -> None:
    assert is_allowed_url("https://example.org/a?b=1&c='d'")
    assert is_allowed_url("mailto:someone@example.org")
    for url in (
        "http://example.org/",
        "javascript:alert(1)",
        "/relative",
        "https://exa mple.org/",
        "data:,x",
    ):
        assert not is_allowed_url(url), url


# --- our own HTML passes unchanged -------------------------------------------------------------


@hyp_settings(max_examples=examples(150), deadline=None)
@given(st.lists(st.one_of(spans().map(Paragraph), bullet_lists()), max_size=4))
def test_blocks_with_allowed_links_pass_unchanged(blocks: list[Block]) -> None:
    fragment = blocks_to_html(unlink_disallowed(blocks, []))
    assert sanitize_html(fragment) == fragment


POSTS = sorted(
    [
        *(CORPUS / "imported").glob("*.markdown"),
        *(CORPUS / "imported-truncated").glob("*.markdown"),
        *(CORPUS / "cleaned").glob("*.markdown"),
        *(ROOT / "samples").glob("*.markdown"),
        *(p for p in (FIXTURES / "hostile").glob("*.md") if "{PORT}" not in p.read_text("utf-8")),
    ]
)


@pytest.mark.parametrize("path", POSTS, ids=lambda p: f"{p.parent.name}/{p.stem[:30]}")
def test_newsletter_and_pdf_html_are_unchanged_by_sanitizing(
    path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    episode = normalize_file(path, settings)
    options = shownotes.pdf_options(settings)
    sanitized = (newsletter.render(episode, settings), shownotes.episode_html(episode, settings, options))
    monkeypatch.setattr(newsletter, "sanitize_html", lambda text: text)
    monkeypatch.setattr(shownotes, "sanitize_html", lambda text: text)
    raw = (newsletter.render(episode, settings), shownotes.episode_html(episode, settings, options))
    assert sanitized[0].files == raw[0].files
    assert sanitized[1] == raw[1]


def test_no_bidi_control_reaches_html_or_text_from_any_span() -> None:
    # A code span keeps its characters through parsing; the preheader is plain template text.
    summary = Paragraph((Span("Start \u202eevil\u202c ", code=True), Span("and \u2066more\u2069.")))
    episode = sample_episode(sections=(Section("summary", None, (summary,)),))
    settings = Settings()
    files = newsletter.render(episode, settings).files
    for name in ("newsletter.html", "newsletter.txt"):
        assert not BIDI_CONTROLS.search(files[name].decode()), name
    assert "Start evil and more." in files["newsletter.txt"].decode()
    html = shownotes.episode_html(episode, settings, shownotes.pdf_options(settings))
    assert not BIDI_CONTROLS.search(html)
