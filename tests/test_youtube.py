"""youtube.txt: paste-ready, within 5000 bytes, no angle brackets, chapters YouTube accepts."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from pipeline.errors import ConfigError
from pipeline.formats.descriptions import youtube
from pipeline.model import BulletList, Chapter, Episode, ListItem, Paragraph, Section, Span
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings
from pipeline.text.chapters import parse_time

from .conftest import examples
from .sample_episode import sample_episode
from .test_platform_rules import (
    CORPUS_CASES,
    CORPUS_IDS,
    check_golden,
    episodes,
    hashtag_settings,
    with_tables,
)

CHAPTER_LINE = re.compile(r"^(\d{1,2}:\d{2}(?::\d{2})?) (.*)$")


def _text(episode: Episode, settings: Settings | None = None) -> str:
    rendered = youtube.render(episode, settings or Settings())
    assert list(rendered.files) == ["youtube.txt"]
    return rendered.files["youtube.txt"].decode("utf-8")


def _chapter_lines(text: str) -> list[tuple[int, str]]:
    """(seconds, title) of every line that starts with a time."""
    out = []
    for line in text.split("\n"):
        match = CHAPTER_LINE.match(line)
        if match:
            seconds = parse_time(match.group(1))
            assert seconds is not None
            out.append((seconds, match.group(2)))
    return out


def assert_youtube_valid(text: str) -> None:
    """What the issue checks on every post: bytes, brackets, chapters from 0:00 and 10 s apart."""
    assert len(text.encode("utf-8")) <= 5000
    assert "<" not in text
    assert ">" not in text
    chapters = _chapter_lines(text)
    if chapters:
        assert chapters[0][0] == 0
        assert len(chapters) >= 3
        starts = [s for s, _ in chapters]
        assert all(b - a >= 10 for a, b in itertools.pairwise(starts))


def test_the_seed_episode() -> None:
    text = _text(sample_episode())
    assert text.startswith(
        "On this episode of Learning from Machine Learning, I had the privilege of speaking"
    )
    assert "\n\nChapters\n0:00 Intro\n0:46 Introduction and Maxime's Background\n" in text
    assert "\n1:00:38 Life Lessons from Machine Learning\n" in text
    assert "- Emily Riehl - Category Theory in Context (https://amzn.to/48ka3aU)\n" in text
    assert "  - Learning from Machine Learning Episode 1 (https://youtu.be/bLW_RH2Y6oI)" in text
    assert "machine learning (https://example.org/ml) systems." in text
    assert text.endswith(
        "Read more on Substack: "
        "https://mindfulmachines.substack.com/p/maxime-labonne-thinking-beyond-transformers\n"
    )
    assert_youtube_valid(text)


def test_the_0_00_intro_is_an_info_line_not_a_warning() -> None:
    rendered = youtube.render(sample_episode(), Settings())
    assert rendered.warnings == []
    assert "YouTube: chapters start at 0:46, added 0:00 Intro" in rendered.notes


def test_the_front_matter_description_is_the_hook() -> None:
    text = _text(sample_episode(description="Maxime Labonne on &amp; beyond <transformers>."))
    assert text.startswith("Maxime Labonne on & beyond \u2039transformers\u203a.\n\nOn this episode")


def test_configured_intro_title_and_hashtags() -> None:
    settings = with_tables(youtube={"intro_title": "Cold open", "hashtags": ["ml", "#podcast"]})
    text = _text(sample_episode(), settings)
    assert "\n0:00 Cold open\n" in text
    assert text.endswith("\n\n#ml #podcast\n")


def test_too_many_hashtags_is_a_config_error() -> None:
    settings = with_tables(youtube={"hashtags": [f"t{i}" for i in range(16)]})
    with pytest.raises(ConfigError, match="at most 15"):
        youtube.render(sample_episode(), settings)


def test_angle_brackets_and_entities_in_the_post() -> None:
    episode = sample_episode(
        sections=(Section("summary", None, (Paragraph((Span("Use <b>tags</b> &amp; more &#8212; x"),)),)),),
        chapters=(Chapter(0, "A <intro>"), Chapter(60, "B"), Chapter(120, "C")),
    )
    text = _text(episode)
    assert text.startswith("Use \u2039b\u203atags\u2039/b\u203a & more \u2014 x\n")
    assert "0:00 A \u2039intro\u203a\n" in text
    assert_youtube_valid(text)


def test_a_list_youtube_cannot_use_is_printed_as_plain_timestamps() -> None:
    episode = sample_episode(chapters=(Chapter(46, "A"), Chapter(50, "B"), Chapter(300, "C")))
    rendered = youtube.render(episode, Settings())
    text = rendered.files["youtube.txt"].decode()
    assert "\n\nTimestamps\n- 0:46 A\n- 0:50 B\n- 5:00 C\n" in text
    assert "Intro" not in text
    assert _chapter_lines(text) == []
    assert len(rendered.warnings) == 1
    assert "YouTube will not make chapters from them" in rendered.warnings[0]


def test_unreadable_times_are_printed_as_written() -> None:
    episode = sample_episode(
        chapters=(Chapter(0, "A"), Chapter(200, "C")),
        chapter_problems=("'1:75' is not a valid time",),
        chapter_lines=((Span("0:00 A"),), (Span("1:75 B"),), (Span("3:20 C"),)),
    )
    rendered = youtube.render(episode, Settings())
    text = rendered.files["youtube.txt"].decode()
    assert "\n\nTimestamps\n- 0:00 A\n- 1:75 B\n- 3:20 C\n" in text
    assert _chapter_lines(text) == []
    assert "'1:75' is not a valid time" in rendered.warnings[0]


def test_references_go_before_later_summary_paragraphs() -> None:
    references = BulletList(
        tuple(ListItem((Span(f"Book {i} " + "x" * 80, url=f"https://b.test/{i}"),)) for i in range(60))
    )
    episode = sample_episode(
        sections=(*sample_episode().sections[:2], Section("links", "References", (references,)))
    )
    rendered = youtube.render(episode, Settings())
    text = rendered.files["youtube.txt"].decode()
    assert_youtube_valid(text)
    assert "His framework for data quality" in text  # the later summary paragraph stays
    assert "Book 0 " in text
    assert "Book 59 " not in text  # the last item went first
    assert len(rendered.warnings) == 1
    warning = rendered.warnings[0]
    assert warning.startswith("YouTube: ")
    assert "over 5,000 by" in warning
    assert "References: 'Book 59" in warning
    assert "0:00 Intro" in text  # never a chapter line


def test_a_huge_first_paragraph_leaves_its_first_sentence() -> None:
    huge = "First sentence here. " + "More words 🎙️ " * 800
    episode = sample_episode(sections=(Section("summary", None, (Paragraph((Span(huge),)),)),))
    rendered = youtube.render(episode, Settings())
    text = rendered.files["youtube.txt"].decode()
    assert text.startswith("First sentence here.\n\nChapters\n0:00 Intro\n")
    assert "summary paragraph 1 (kept its first sentence)" in rendered.warnings[0]
    assert_youtube_valid(text)


def test_output_is_deterministic() -> None:
    assert youtube.render(sample_episode(), Settings()) == youtube.render(sample_episode(), Settings())


@given(episode=episodes(), settings=hashtag_settings)
@hypothesis_settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_always_within_5000_bytes_and_free_of_angle_brackets(episode: Episode, settings: Settings) -> None:
    text = _text(episode, settings)
    assert_youtube_valid(text)
    if any(b for b in episode.summary) or episode.description:
        assert text.strip()


@pytest.mark.parametrize(("corpus", "path"), CORPUS_CASES, ids=CORPUS_IDS)
def test_corpus_post_matches_golden(corpus: str, path: Path, settings: Settings) -> None:
    episode = normalize_file(path, settings)
    rendered = youtube.render(episode, settings)
    text = rendered.files["youtube.txt"]
    assert_youtube_valid(text.decode("utf-8"))
    check_golden(corpus, path, "youtube.txt", text)
