"""podcast.html: Apple Podcasts / Spotify description within its tag set and 4000 bytes."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from pipeline.formats.descriptions import podcast
from pipeline.formats.descriptions.text import sanitize_podcast_html
from pipeline.model import BulletList, Chapter, Episode, ListItem, Paragraph, Section, Span
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings

from .conftest import examples
from .sample_episode import sample_episode
from .test_platform_rules import CORPUS_CASES, CORPUS_IDS, check_golden, episodes, with_tables

ALLOWED = {"p", "ol", "ul", "li", "a", "br"}


class _Tags(HTMLParser):
    """Every tag and attribute of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[tuple[str, str]] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            self.attributes.add((tag, name))
            if name == "href" and value is not None:
                self.hrefs.append(value)


def assert_podcast_valid(text: str) -> None:
    """Within 4000 bytes, only the allowed tags, `a[href]` only, absolute http(s)/mailto links."""
    assert len(text.encode("utf-8")) <= 4000
    parser = _Tags()
    parser.feed(text)
    assert parser.tags <= ALLOWED
    assert parser.attributes <= {("a", "href")}
    assert all(re.match(r"(https?://|mailto:)", href) for href in parser.hrefs)
    assert sanitize_podcast_html(text.removesuffix("\n")) == text.removesuffix("\n")


def _html(episode: Episode, settings: Settings | None = None) -> str:
    rendered = podcast.render(episode, settings or Settings())
    assert list(rendered.files) == ["podcast.html"]
    return rendered.files["podcast.html"].decode("utf-8")


def test_the_seed_episode() -> None:
    text = _html(sample_episode())
    assert text.startswith("<p>On this episode of Learning from Machine Learning,")
    assert '<a href="https://example.org/ml">machine learning</a>' in text
    assert "<strong>" not in text
    # The seed passes an hour, so every time is 00:00:00 style, one paragraph each from zero.
    assert (
        "<p>Chapters</p>\n<p>00:00:00 Intro</p>\n<p>00:00:46 Introduction and Maxime's Background</p>"
    ) in text
    assert "<p>01:00:38 Life Lessons from Machine Learning</p>" in text
    assert "<p>References</p>\n<ul><li>Maarten Grootendorst<ul><li><a href=" in text
    assert text.endswith(
        '<p>Read more on Substack: <a href="https://mindfulmachines.substack.com/p/maxime-labonne-'
        'thinking-beyond-transformers">https://mindfulmachines.substack.com/p/maxime-labonne-'
        "thinking-beyond-transformers</a></p>\n"
    )
    assert_podcast_valid(text)


def test_short_episodes_use_minutes_and_seconds() -> None:
    chapters = (Chapter(46, "A"), Chapter(107, "B"), Chapter(210, "C"))
    text = _html(sample_episode(chapters=chapters, duration=1800))
    assert "<p>00:00 Intro</p>\n<p>00:46 A</p>\n<p>01:47 B</p>\n<p>03:30 C</p>" in text


def test_a_known_duration_past_an_hour_switches_to_hours() -> None:
    chapters = (Chapter(0, "A"), Chapter(107, "B"), Chapter(210, "C"))
    text = _html(sample_episode(chapters=chapters, duration=3700))
    assert "<p>00:00:00 A</p>\n<p>00:01:47 B</p>" in text


def test_two_chapters_are_plain_timestamps_with_a_warning() -> None:
    episode = sample_episode(chapters=(Chapter(0, "A"), Chapter(300, "B")), duration=600)
    rendered = podcast.render(episode, Settings())
    text = rendered.files["podcast.html"].decode()
    assert "<p>Timestamps</p>\n<ul><li>00:00 A</li><li>05:00 B</li></ul>" in text
    assert rendered.warnings == [
        "Apple/Spotify: 2 chapters, at least 3 needed; printed as plain timestamps, "
        "Apple/Spotify will not make chapters from them"
    ]


def test_unsafe_links_and_markup_are_removed() -> None:
    summary = Paragraph(
        (
            Span("Click "),
            Span("here", url="javascript:alert(1)"),
            Span(" or "),
            Span("there", url="/relative/page"),
            Span(" <script>alert(2)</script> & "),
            Span("code", code=True),
            Span(" and "),
            Span("old", url="http://old.example.org/page"),
        )
    )
    episode = sample_episode(sections=(Section("summary", None, (summary,)),))
    rendered = podcast.render(episode, Settings())
    text = rendered.files["podcast.html"].decode("utf-8")
    # Links outside the shared policy (https, mailto) become text, each with a warning.
    assert text.startswith(
        "<p>Click here or there &lt;script&gt;alert(2)&lt;/script&gt; &amp; code and old</p>"
    )
    unlinked = [w for w in rendered.warnings if "kept as text only" in w]
    assert len(unlinked) == 3 and any("'http://old.example.org/page'" in w for w in unlinked)
    assert_podcast_valid(text)


def test_entities_in_the_post_are_decoded_once() -> None:
    summary = Paragraph((Span("Weights &amp; Biases &#8212; R&D", url="https://x.test/?a=1&amp;b=2"),))
    text = _html(sample_episode(sections=(Section("summary", None, (summary,)),)))
    assert text.startswith(
        '<p><a href="https://x.test/?a=1&amp;b=2">Weights &amp; Biases \u2014 R&amp;D</a></p>'
    )


def test_ordered_link_lists_stay_ordered() -> None:
    links = BulletList((ListItem((Span("One"),)), ListItem((Span("Two"),))), ordered=True)
    episode = sample_episode(sections=(Section("links", "Read", (links,)),), chapters=())
    assert _html(episode).startswith("<p>Read</p>\n<ol><li>One</li><li>Two</li></ol>\n")


def test_over_4000_bytes_drops_references_first_and_says_so() -> None:
    references = BulletList(
        tuple(ListItem((Span(f"Paper {i} é", url=f"https://p.test/{i}"),)) for i in range(150))
    )
    episode = sample_episode(
        sections=(*sample_episode().sections[:2], Section("links", "References", (references,)))
    )
    rendered = podcast.render(episode, Settings())
    text = rendered.files["podcast.html"].decode()
    assert_podcast_valid(text)
    assert "Paper 0 é" in text
    assert "Paper 149 é" not in text
    assert "His framework for data quality" in text
    assert "<p>00:00:00 Intro</p>" in text
    assert text.endswith("</a></p>\n")  # the Substack link outlives the references
    [warning] = rendered.warnings
    assert warning.startswith("Apple: ")
    assert ", over 4,000 by " in warning
    assert "References: 'Paper 149 é'" in warning


def test_max_bytes_is_configurable() -> None:
    settings = with_tables(podcast={"max_bytes": 600})
    rendered = podcast.render(sample_episode(), settings)
    assert len(rendered.files["podcast.html"]) <= 600
    assert rendered.warnings


def test_output_is_deterministic() -> None:
    assert podcast.render(sample_episode(), Settings()) == podcast.render(sample_episode(), Settings())


@given(episode=episodes())
@hypothesis_settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_always_within_the_tag_set_and_4000_bytes(episode: Episode) -> None:
    assert_podcast_valid(_html(episode))


@pytest.mark.parametrize(("corpus", "path"), CORPUS_CASES, ids=CORPUS_IDS)
def test_corpus_post_matches_golden(corpus: str, path: Path, settings: Settings) -> None:
    episode = normalize_file(path, settings)
    html = podcast.render(episode, settings).files["podcast.html"]
    assert_podcast_valid(html.decode("utf-8"))
    check_golden(corpus, path, "podcast.html", html)
