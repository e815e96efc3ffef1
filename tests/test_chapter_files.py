"""Chapter files: JSON, WebVTT and Podlove from one chapter list, each read back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.formats import chapter_files
from pipeline.formats.chapter_files import chapters_to_psc, chapters_to_vtt
from pipeline.model import Chapter
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings
from pipeline.text.chapters import chapters_to_json

from .chapter_parsers import chapters_from_json, parse_media_time, parse_psc, parse_vtt
from .conftest import examples
from .sample_episode import SEED_CHAPTERS, sample_episode
from .test_platform_rules import CORPUS_CASES, CORPUS_IDS, chapter_lists, check_golden

TRICKY = (
    Chapter(0, "Quotes \"double\" & 'single'"),
    Chapter(59, "Tags <b>bold</b> --> arrows"),
    Chapter(119, "Emoji 🎙️ and 漢字 &amp; an entity"),
    Chapter(3599, "  spaced  out\ttab "),
    Chapter(36_000, "Ten hours in"),
)


def test_json_round_trip() -> None:
    assert chapters_from_json(chapters_to_json(TRICKY)) == TRICKY


def test_vtt_round_trip_and_layout() -> None:
    text = chapters_to_vtt(SEED_CHAPTERS[:2], duration=200)
    assert text == (
        "WEBVTT\n\n"
        "1\n00:00:46.000 --> 00:01:47.000\nIntroduction and Maxime's Background\n\n"
        "2\n00:01:47.000 --> 00:03:20.000\nJourney from Cybersecurity to Machine Learning\n"
    )
    assert parse_vtt(chapters_to_vtt(TRICKY, 40_000)) == TRICKY


def test_vtt_escapes_markup() -> None:
    text = chapters_to_vtt(TRICKY, 40_000)
    assert "Tags &lt;b&gt;bold&lt;/b&gt; --&gt; arrows" in text
    assert "&amp;amp; an entity" in text


def test_psc_round_trip_and_layout() -> None:
    text = chapters_to_psc(SEED_CHAPTERS[:1])
    assert text == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<psc:chapters version="1.2" xmlns:psc="http://podlove.org/simple-chapters">\n'
        '  <psc:chapter start="00:00:46.000" title="Introduction and Maxime\'s Background"/>\n'
        "</psc:chapters>\n"
    )
    assert parse_psc(chapters_to_psc(TRICKY)) == TRICKY


def test_psc_escapes_xml() -> None:
    text = chapters_to_psc(TRICKY)
    assert "title=\"Quotes &quot;double&quot; &amp; 'single'\"" in text
    assert 'title="Tags &lt;b&gt;bold&lt;/b&gt; --&gt; arrows"' in text
    assert 'title="  spaced  out&#9;tab "' in text


def test_media_times() -> None:
    assert parse_media_time("00:01:59.000") == 119
    assert parse_media_time("01:59") == 119
    assert parse_media_time("1:00:38.5") == 3638
    assert parse_media_time("7") == 7
    with pytest.raises(ValueError, match="not a time"):
        parse_media_time("1:2:3:4")


def test_parsers_refuse_other_documents() -> None:
    with pytest.raises(ValueError, match="WEBVTT"):
        parse_vtt("00:00.000 --> 00:01.000\nx\n")
    with pytest.raises(ValueError, match="Podlove"):
        parse_psc("<chapters/>")


chapter_lists_with_titles = chapter_lists(max_size=60)


@given(chapters=chapter_lists_with_titles)
@hypothesis_settings(max_examples=examples(200), deadline=None)
def test_every_format_round_trips(chapters: tuple[Chapter, ...]) -> None:
    assert chapters_from_json(chapters_to_json(chapters)) == chapters
    assert parse_psc(chapters_to_psc(chapters)) == chapters
    end = (chapters[-1].start if chapters else 0) + 1
    assert parse_vtt(chapters_to_vtt(chapters, end)) == chapters


@given(
    chapters=chapter_lists_with_titles.filter(bool),
    extra=st.integers(1, 3600),
)
@hypothesis_settings(max_examples=examples(100), deadline=None)
def test_the_files_agree_with_chapters_json(chapters: tuple[Chapter, ...], extra: int) -> None:
    episode = sample_episode(chapters=chapters, duration=chapters[-1].start + extra)
    files = chapter_files.render(episode, Settings()).files
    assert sorted(files) == ["chapters.json", "chapters.psc.xml", "chapters.vtt"]
    expected = chapters_from_json(files["chapters.json"].decode())
    assert parse_psc(files["chapters.psc.xml"].decode()) == expected
    assert parse_vtt(files["chapters.vtt"].decode()) == expected


def test_no_vtt_without_a_duration() -> None:
    rendered = chapter_files.render(sample_episode(), Settings())
    assert sorted(rendered.files) == ["chapters.json", "chapters.psc.xml"]
    assert rendered.warnings == []


def test_no_vtt_when_the_last_chapter_starts_after_the_end() -> None:
    rendered = chapter_files.render(sample_episode(duration=3600), Settings())
    assert "chapters.vtt" not in rendered.files
    assert rendered.warnings == [
        "chapters.vtt left out: the last chapter starts at 1:00:38, not before the episode ends (1:00:00)"
    ]


def test_vtt_ends_at_the_duration() -> None:
    files = chapter_files.render(sample_episode(duration=3700), Settings()).files
    assert (
        files["chapters.vtt"]
        .decode()
        .endswith("01:00:38.000 --> 01:01:40.000\nLife Lessons from Machine Learning\n")
    )


def test_nothing_without_valid_chapters() -> None:
    problem = sample_episode(chapter_problems=("'1:75' is not a valid time",))
    assert chapter_files.render(problem, Settings()).files == {}
    assert chapter_files.render(sample_episode(chapters=()), Settings()).files == {}


@pytest.mark.parametrize(("corpus", "path"), CORPUS_CASES, ids=CORPUS_IDS)
def test_corpus_post_matches_golden(corpus: str, path: Path, settings: Settings) -> None:
    # chapters.json goldens belong to test_golden_posts; these are the other chapter files.
    episode = normalize_file(path, settings)
    files = chapter_files.render(episode, settings).files
    check_golden(corpus, path, "chapters.psc.xml", files.get("chapters.psc.xml"))
    check_golden(corpus, path, "chapters.vtt", files.get("chapters.vtt"))
    if "chapters.json" in files:
        expected = chapters_from_json(files["chapters.json"].decode())
        assert parse_psc(files["chapters.psc.xml"].decode()) == expected
