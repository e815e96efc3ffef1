"""The platform rules (`pipeline.platform_*`): byte budgets, angle brackets, chapter rules, drop
order, options, and `check.check_platforms`.

Also home of the helpers the youtube/podcast/chapter-file tests share: hypothesis strategies
for episodes and chapter lists, and the golden-file check (`UPDATE_GOLDEN=1` rewrites goldens).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import strategies as st

from pipeline.cli.check import check_platforms
from pipeline.errors import ConfigError, RenderError
from pipeline.formats.descriptions.budget import (
    KEEP,
    RANK_CHAPTERS,
    RANK_FIRST_PARAGRAPH,
    RANK_HASHTAGS,
    RANK_LATER_PARAGRAPH,
    RANK_LINK_ITEM,
    RANK_SUBSTACK,
    Group,
    Layout,
    Part,
    budget_result,
    fit_to_budget,
    utf8_len,
)
from pipeline.formats.descriptions.chapters import (
    PODCAST_RULES,
    YOUTUBE_RULES,
    clock,
    is_long,
    plan_chapters,
    podcast_time,
)
from pipeline.formats.descriptions.options import description_options
from pipeline.formats.descriptions.text import (
    angle_bracket_result,
    clean_text,
    decode_entities,
    replace_angle_brackets,
    sanitize_podcast_html,
)
from pipeline.model import BulletList, Chapter, Episode, ListItem, Paragraph, Section, Span
from pipeline.settings.config import Settings

from .conftest import CORPUS, GOLDEN
from .sample_episode import sample_episode

UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"
CORPUS_CASES = sorted(
    (p.parent.name, p) for d in ("imported", "imported-truncated") for p in (CORPUS / d).glob("*.markdown")
)
CORPUS_IDS = [f"{c}/{p.stem[:40]}" for c, p in CORPUS_CASES]


def check_golden(corpus: str, path: Path, name: str, actual: bytes | None) -> None:
    """Compare one output with tests/golden/<corpus>/<stem>/<name>; rewrite it with UPDATE_GOLDEN=1.

    `actual` None means the output must not exist.
    """
    expected = GOLDEN / corpus / path.stem / name
    if UPDATE_GOLDEN:
        if actual is None:
            expected.unlink(missing_ok=True)
        else:
            expected.parent.mkdir(parents=True, exist_ok=True)
            expected.write_bytes(actual)
    if actual is None:
        assert not expected.exists(), f"{expected} should not exist"
        return
    assert expected.is_file(), f"no golden file {expected}; rerun with UPDATE_GOLDEN=1"
    assert actual == expected.read_bytes()


def with_tables(**tables: dict[str, Any]) -> Settings:
    """Default settings with some `[tool.pipeline.<format>]` tables."""
    formats = MappingProxyType({k: MappingProxyType(v) for k, v in tables.items()})
    return Settings(formats=formats, source="test.toml")


# --- strategies -----------------------------------------------------------------------------

# Letters, punctuation that needs escaping, emoji (4 bytes), CJK (3 bytes), and entities.
_SPECIAL = ["\u2013", "\u2014", "😀", "🎙️", "é", "漢", "\u00a0", "&amp;", "&lt;", "\n"]
_ALPHABET = st.sampled_from([*"abcdefghij ABCXYZ.,!?-'\"&<>#:/()[]*_`", *_SPECIAL])
words = st.lists(_ALPHABET, min_size=1, max_size=60).map("".join)
huge = st.builds(lambda text, n: text * n, words, st.integers(1, 400))
urls = st.sampled_from(
    [
        "https://example.org/a?b=1&c=2",
        "http://x.test/<tag>",
        "mailto:a@b.c",
        "/relative",
        "javascript:alert(1)",
    ]
)


@st.composite
def spans(draw: st.DrawFn) -> tuple[Span, ...]:
    """Some inline spans, a few of them links or marked."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        out.append(
            Span(
                draw(st.one_of(words, huge) if draw(st.booleans()) else words),
                url=draw(st.none() | urls),
                strong=draw(st.booleans()),
            )
        )
    return tuple(out)


@st.composite
def bullet_lists(draw: st.DrawFn) -> BulletList:
    items = []
    for _ in range(draw(st.integers(1, 12))):
        children = tuple(ListItem(draw(spans())) for _ in range(draw(st.integers(0, 2))))
        items.append(ListItem(draw(spans()), children))
    return BulletList(tuple(items), ordered=draw(st.booleans()))


chapter_titles = (
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40)
    .map(lambda t: " ".join(t.split()))
    .filter(bool)
)


@st.composite
def chapter_lists(draw: st.DrawFn, max_size: int = 30) -> tuple[Chapter, ...]:
    """Strictly ascending chapters with titles of any printable text."""
    starts = sorted(draw(st.sets(st.integers(0, 5 * 3600), max_size=max_size)))
    return tuple(Chapter(s, draw(chapter_titles)) for s in starts)


@st.composite
def episodes(draw: st.DrawFn) -> Episode:
    """Episodes with huge, emoji-laden or bracket-filled text, and any kind of chapter list."""
    summary = tuple(
        draw(st.one_of(spans().map(Paragraph), bullet_lists())) for _ in range(draw(st.integers(0, 6)))
    )
    sections = [Section("summary", None, summary), Section("chapters", "Chapters")]
    for _ in range(draw(st.integers(0, 3))):
        blocks = tuple(
            draw(st.one_of(bullet_lists(), spans().map(Paragraph))) for _ in range(draw(st.integers(1, 2)))
        )
        sections.append(Section("links", draw(words), blocks))
    chapters = draw(chapter_lists())
    return sample_episode(
        description=draw(st.none() | words | huge),
        substack_url=draw(st.none() | st.just("https://x.substack.com/p/a-post")),
        duration=draw(st.none() | st.integers(1, 6 * 3600)),
        sections=tuple(sections),
        chapters=chapters,
        chapter_problems=draw(st.sampled_from([(), ("'1:75' is not a valid time",)])),
        chapter_lines=draw(
            st.sampled_from([(), ((Span("0:46 <A>"),), (Span("1:75 B"),), (Span("2:00 C"),))])
        ),
    )


hashtag_settings = st.lists(st.from_regex(r"#?[A-Za-z0-9_]{1,30}", fullmatch=True), max_size=15).map(
    lambda tags: with_tables(youtube={"hashtags": tags})
)


# --- text -----------------------------------------------------------------------------------


def test_bytes_count_utf8_so_an_emoji_is_four() -> None:
    assert utf8_len("a") == 1
    assert utf8_len("é") == 2
    assert utf8_len("😀") == 4
    assert utf8_len("a😀b") == 6


def test_budget_messages_are_plain_words() -> None:
    ok = budget_result("youtube.bytes", "YouTube", 3120, 5000)
    assert ok.passed
    assert ok.message == "YouTube: 3,120 of 5,000 bytes"
    over = budget_result("podcast.bytes", "Apple", 4312, 4000)
    assert not over.passed
    assert over.message == "Apple: 4,312 bytes, over 4,000 by 312"
    dropped = budget_result("podcast.bytes", "Apple", 4312, 4000, ["References: 'AlexNet'"], 3990)
    assert dropped.message == (
        "Apple: 4,312 bytes, over 4,000 by 312; dropped References: 'AlexNet' (3,990 bytes now)"
    )


def test_angle_brackets_become_single_quotation_marks() -> None:
    assert replace_angle_brackets("a <b> c") == "a \u2039b\u203a c"
    result = angle_bracket_result("<x>")
    assert result.passed
    assert result.adjusted
    assert "replaced 2 angle brackets" in result.message
    assert not angle_bracket_result("plain").adjusted


def test_entities_are_decoded_but_bare_ampersands_stay() -> None:
    assert decode_entities("Weights &amp; Biases &#8217; &lt;b&gt;") == "Weights & Biases \u2019 <b>"
    assert decode_entities("https://x.test/?a=1&notify=2&t=5s") == "https://x.test/?a=1&notify=2&t=5s"
    assert decode_entities("&unknown;") == "&unknown;"


def test_clean_text_removes_controls_and_bidi_overrides() -> None:
    assert clean_text("a\x00b\u202ec\x85d\nx") == "abcd\nx"


def test_podcast_sanitizer_keeps_only_its_allow_list() -> None:
    dirty = (
        '<h1>T</h1><p><strong>b</strong> <a href="javascript:alert(1)" class="x">j</a> '
        '<a href="/rel">r</a> <a href="https://ok.test/" target="_blank">ok</a>'
        '<img src="https://x/y.png"><script>bad()</script></p><br><!-- c -->'
    )
    assert sanitize_podcast_html(dirty) == (
        'T<p>b <a>j</a> <a>r</a> <a href="https://ok.test/">ok</a></p><br>'
    )


# --- chapters -------------------------------------------------------------------------------


def _plan(chapters: tuple[Chapter, ...], **changes: object) -> Any:
    return plan_chapters(sample_episode(chapters=chapters, **changes), YOUTUBE_RULES, "Intro")


def test_a_list_starting_later_gets_a_0_00_intro() -> None:
    plan = _plan((Chapter(46, "A"), Chapter(107, "B"), Chapter(210, "C")))
    assert plan.usable
    assert plan.chapters[0] == Chapter(0, "Intro")
    assert len(plan.chapters) == 4
    start = plan.results[0]
    assert start.passed
    assert start.adjusted
    assert start.message == "YouTube: chapters start at 0:46, added 0:00 Intro"


def test_the_intro_title_is_configurable() -> None:
    episode = sample_episode(chapters=(Chapter(46, "A"), Chapter(107, "B"), Chapter(210, "C")))
    plan = plan_chapters(episode, YOUTUBE_RULES, "Cold open")
    assert plan.chapters[0] == Chapter(0, "Cold open")


def test_a_first_chapter_a_few_seconds_in_moves_to_0_00() -> None:
    plan = _plan((Chapter(4, "A"), Chapter(107, "B"), Chapter(210, "C")))
    assert plan.chapters == (Chapter(0, "A"), Chapter(107, "B"), Chapter(210, "C"))
    assert plan.results[0].message == "YouTube: chapters start at 0:04, moved the first to 0:00"


def test_a_list_from_0_00_is_left_alone() -> None:
    chapters = (Chapter(0, "A"), Chapter(107, "B"), Chapter(210, "C"))
    plan = _plan(chapters)
    assert plan.chapters == chapters
    assert not plan.results[0].adjusted
    assert plan.results[-1].message == ("YouTube: 3 chapters from 0:00, ascending, each at least 10 s")


def test_fewer_than_three_chapters_are_plain_timestamps() -> None:
    plan = _plan((Chapter(0, "A"), Chapter(107, "B")))
    assert not plan.usable
    assert plan.chapters == (Chapter(0, "A"), Chapter(107, "B"))
    failed = [r for r in plan.results if not r.passed]
    assert len(failed) == 1
    assert "2 chapters, at least 3 needed" in failed[0].message
    assert "YouTube will not make chapters from them" in failed[0].message


def test_the_intro_counts_towards_three() -> None:
    assert _plan((Chapter(60, "A"), Chapter(120, "B"))).usable


def test_chapters_under_ten_seconds_apart_are_plain_timestamps_on_youtube_only() -> None:
    chapters = (Chapter(0, "A"), Chapter(100, "Short one"), Chapter(105, "C"))
    plan = _plan(chapters)
    assert not plan.usable
    assert "'Short one' at 1:40 lasts 5 s, at least 10 s needed" in plan.results[-1].message
    podcast = plan_chapters(sample_episode(chapters=chapters), PODCAST_RULES, "Intro")
    assert podcast.usable


def test_the_last_chapter_needs_ten_seconds_before_the_end() -> None:
    chapters = (Chapter(0, "A"), Chapter(100, "B"), Chapter(200, "C"))
    assert _plan(chapters, duration=215).usable
    late = _plan(chapters, duration=205)
    assert not late.usable
    assert "'C' at 3:20 lasts 5 s" in late.results[-1].message
    after = _plan(chapters, duration=150)
    assert "starts after the episode ends (2:30)" in after.results[-1].message


def test_chapter_problems_found_while_normalizing_make_plain_timestamps() -> None:
    plan = _plan(
        (Chapter(0, "A"), Chapter(100, "B"), Chapter(200, "C")),
        chapter_problems=("1:40 comes after 3:20 (times do not ascend)",),
    )
    assert not plan.usable
    assert "times do not ascend" in plan.results[0].message


def test_a_list_with_unreadable_times_keeps_its_lines_as_written() -> None:
    plan = _plan(
        (Chapter(0, "A"), Chapter(200, "C")),
        chapter_problems=("'1:75' is not a valid time",),
        chapter_lines=((Span("0:00 A"),), (Span("1:75  B"),), (Span("3:20 C"),)),
    )
    assert not plan.usable
    assert plan.written == ("0:00 A", "1:75 B", "3:20 C")
    assert plan.results[0].message == (
        "YouTube: the chapter list has problems ('1:75' is not a valid time); "
        "printed as plain timestamps, YouTube will not make chapters from them"
    )


def test_no_chapters_is_not_a_problem() -> None:
    plan = _plan(())
    assert plan.chapters == ()
    assert all(r.passed for r in plan.results)


def test_times_past_an_hour_have_hours() -> None:
    assert clock(0) == "0:00"
    assert clock(46) == "0:46"
    assert clock(725) == "12:05"
    assert clock(3638) == "1:00:38"
    assert podcast_time(46, long=False) == "00:46"
    assert podcast_time(46, long=True) == "00:00:46"
    assert podcast_time(3638, long=True) == "01:00:38"
    assert is_long([Chapter(3600, "x")], None)
    assert is_long([Chapter(0, "x")], 3601)
    assert not is_long([Chapter(3599, "x")], 3600)


# --- the drop order -------------------------------------------------------------------------

TEXT = Layout(join="\n\n", hook=lambda words: words, finish=lambda text: text)


def _groups() -> list[Group]:
    """A description with every kind of part, 10 bytes each (plus separators)."""
    return [
        Group((Part("p1", "P1 aaaaaaa", RANK_FIRST_PARAGRAPH, "P1 hook"),)),
        Group((Part("p2", "P2 bbbbbbb", RANK_LATER_PARAGRAPH),)),
        Group((Part("p3", "P3 ccccccc", RANK_LATER_PARAGRAPH),)),
        Group((Part("chapters", "0:00 A\n1:00 B", RANK_CHAPTERS),), head="Chapters\n"),
        Group(
            (Part("r1", "- r1 xxxxx", RANK_LINK_ITEM), Part("r2", "- r2 yyyyy", RANK_LINK_ITEM)),
            head="Resources\n",
        ),
        Group((Part("ref1", "- ref1 zzz", RANK_LINK_ITEM),), head="References\n"),
        Group((Part("substack", "S https://s", RANK_SUBSTACK),)),
        Group((Part("tags", "#a #b", RANK_HASHTAGS),)),
    ]


def _dropped_in_order() -> list[str]:
    """The labels dropped as the limit shrinks byte by byte, in the order they go."""
    groups = _groups()
    full = fit_to_budget(groups, TEXT, 10_000)
    order: list[str] = []
    for limit in range(full.size_before, 0, -1):
        try:
            fitted = fit_to_budget(groups, TEXT, limit)
        except RenderError:
            break
        assert utf8_len(fitted.text) <= limit
        order.extend(label for label in fitted.dropped if label not in order)
    return order


def test_parts_are_dropped_in_the_documented_order() -> None:
    order = _dropped_in_order()
    assert order[:8] == [
        "ref1",
        "r2",
        "r1",
        "p3",
        "p2",
        "tags",
        "substack",
        "p1 (kept its first sentence)",
    ]
    assert "chapters" in order
    assert order.index("chapters") > order.index("p1 (kept its first sentence)")


def test_nothing_is_dropped_when_the_text_fits() -> None:
    fitted = fit_to_budget(_groups(), TEXT, 10_000)
    assert fitted.dropped == ()
    assert fitted.text.startswith("P1 aaaaaaa\n\nP2 bbbbbbb")
    assert "Resources\n- r1 xxxxx\n- r2 yyyyy\n\nReferences\n- ref1 zzz" in fitted.text


def test_a_heading_goes_with_its_last_item() -> None:
    groups = _groups()
    full = fit_to_budget(groups, TEXT, 10_000).size_before
    fitted = fit_to_budget(groups, TEXT, full - 1)
    assert fitted.dropped == ("ref1",)
    assert "References" not in fitted.text
    assert "Resources" in fitted.text


def test_chapter_lines_survive_everything_but_a_hopeless_budget() -> None:
    groups = _groups()
    # Room for the hook and the chapters only: every other part goes, the chapters stay whole.
    fitted = fit_to_budget(groups, TEXT, len("P1 hook\n\nChapters\n0:00 A\n1:00 B"))
    assert fitted.text == "P1 hook\n\nChapters\n0:00 A\n1:00 B"
    assert "chapters" not in fitted.dropped


def test_the_hook_is_cut_between_words_as_a_last_resort() -> None:
    groups = [Group((Part("the description", "one two three four", KEEP, "one two three four"),))]
    fitted = fit_to_budget(groups, TEXT, 12)
    assert fitted.text == "one two\u2026"
    assert fitted.dropped == ("the description after its first 2 words",)


def test_a_budget_that_cannot_be_met_is_an_error() -> None:
    groups = [Group((Part("fixed", "x" * 50),))]
    with pytest.raises(RenderError, match="cannot fit"):
        fit_to_budget(groups, TEXT, 10)


# --- options --------------------------------------------------------------------------------


def test_defaults() -> None:
    youtube = description_options(Settings(), "youtube")
    assert youtube.max_bytes == 5000
    assert youtube.intro_title == "Intro"
    assert youtube.chapters_heading == "Chapters"
    assert youtube.hashtags == ()
    assert description_options(Settings(), "podcast").max_bytes == 4000


def test_the_chapters_heading_defaults_to_the_global_one() -> None:
    settings = dataclasses.replace(Settings(), chapters_heading="Episode Timestamps")
    assert description_options(settings, "podcast").chapters_heading == "Episode Timestamps"


def test_hashtags_get_their_hash() -> None:
    options = description_options(with_tables(youtube={"hashtags": ["ml", "#podcast"]}), "youtube")
    assert options.hashtags == ("#ml", "#podcast")


def test_every_option_problem_is_reported_at_once() -> None:
    settings = with_tables(
        youtube={
            "intro_tittle": "x",
            "max_bytes": 6000,
            "hashtags": [f"t{i}" for i in range(16)] + ["two words"],
            "intro_title": 3,
        }
    )
    with pytest.raises(ConfigError) as caught:
        description_options(settings, "youtube")
    message = str(caught.value)
    assert message.startswith("test.toml: [tool.pipeline.youtube]: ")
    assert "intro_tittle: unknown setting" in message
    assert "max_bytes: expected an integer from 200 to 5,000, got 6000" in message
    assert "17 given, at most 15 allowed" in message
    assert "'two words' is not a hashtag" in message
    assert "intro_title: expected a string, got int" in message


def test_podcast_has_no_hashtags_and_rejects_bools() -> None:
    settings = with_tables(podcast={"hashtags": ["x"], "max_bytes": True})
    with pytest.raises(ConfigError) as caught:
        description_options(settings, "podcast")
    assert "hashtags: unknown setting" in str(caught.value)
    assert "max_bytes: expected an integer from 200 to 4,000, got boolean" in str(caught.value)


def test_check_platforms_explains_both_platforms() -> None:
    descriptions = check_platforms(sample_episode(), Settings())
    assert list(descriptions) == ["youtube", "podcast"]
    results = [r for description in descriptions.values() for r in description.results]
    messages = [r.message for r in results]
    assert "YouTube: chapters start at 0:46, added 0:00 Intro" in messages
    assert "Apple/Spotify: chapters start at 0:46, added 0:00 Intro" in messages
    assert any(m.startswith("YouTube: ") and m.endswith(" of 5,000 bytes") for m in messages)
    assert any(m.startswith("Apple: ") and m.endswith(" of 4,000 bytes") for m in messages)
    assert all(r.passed for r in results)
    assert len({r.name for r in results}) == len(results)
