"""Nothing the user wrote is lost: every piece of a post is in post.md or named in report.txt.

Regression tests for each way normalization used to lose words, and the check that makes any
new way fail the post instead of writing it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.accounting.canonical import canonical_markdown, rendered_markdown, report_text
from pipeline.accounting.verify import LostContent
from pipeline.builder.run import build
from pipeline.cli.normalize import normalize_sources
from pipeline.model import REASONS, Note
from pipeline.normalize import stages as normalize_module
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings

from .conftest import CORPUS, write_post

FRONT = "---\ntitle: An episode\ndate: 2024-05-01\n---\n\n"
SITE = {"site_url": "https://splevine.github.io", "baseurl": "/learning-from-machine-learning"}


def normalized(tmp_path: Path, body: str, settings: Settings | None = None) -> tuple[str, str, list[Note]]:
    """(the body every output is made from, report.txt, notes) of a post with this body."""
    path = write_post(tmp_path, "2024-05-01-episode.md", FRONT + body)
    episode = normalize_file(path, settings or Settings())
    return rendered_markdown(episode).split("\n---\n", 1)[1], report_text(episode), list(episode.notes)


def report_lines(report: str) -> list[tuple[str, str]]:
    return [(r, m.strip()) for r, _, m in (line.partition(":") for line in report.splitlines())]


# --- raw HTML is found by a parser, only where it is HTML -----------------------------------


def test_an_unclosed_embed_keeps_every_paragraph_after_it(tmp_path: Path) -> None:
    body, report, _ = normalized(
        tmp_path,
        'Intro to the episode.\n\n<embed src="https://player.example.org/x">\n\n'
        "After the embed we talk about caches.\n\nAnd a last paragraph.\n",
    )
    assert "After the embed we talk about caches." in body
    assert "And a last paragraph." in body
    assert ("embed", "<embed> https://player.example.org/x") in report_lines(report)


def test_an_inline_unclosed_embed_keeps_the_rest_of_its_paragraph(tmp_path: Path) -> None:
    body, report, _ = normalized(
        tmp_path, '<p>Before <embed src="https://e.example.org/1"> then words.</p>\n\nNext paragraph.\n'
    )
    assert "Before then words." in body
    assert "Next paragraph." in body
    assert "embed: <embed> https://e.example.org/1" in report


@pytest.mark.parametrize("code", ["`<button>`", '`<input type="submit">`', "`<iframe src=x>`"])
def test_tags_in_code_spans_are_text(tmp_path: Path, code: str) -> None:
    body, report, _ = normalized(
        tmp_path, f"Why the {code} element matters for forms.\n\nA second paragraph stays.\n"
    )
    assert f"Why the {code} element matters for forms." in body
    assert "A second paragraph stays." in body
    assert "embed:" not in report


def test_a_formula_in_prose_keeps_its_text(tmp_path: Path) -> None:
    body, _, _ = normalized(tmp_path, "The loss <math><mi>x</mi></math> is small.\n")
    assert "The loss x is small." in body


def test_a_fenced_script_stays_code_and_normalizing_again_changes_nothing(tmp_path: Path) -> None:
    source = "Some code:\n\n```html\n<script>alert(1)</script>\n<p>hi</p>\n```\n\nAfter the code.\n"
    body, report, _ = normalized(tmp_path, source)
    assert "```html\n<script>alert(1)</script>\n<p>hi</p>\n```" in body
    assert "After the code." in body
    assert "embed:" not in report
    again = write_post(tmp_path, "2024-05-02-again.md", FRONT + body.lstrip("\n"))
    assert rendered_markdown(normalize_file(again, Settings())).split("\n---\n", 1)[1] == body


def test_a_player_and_a_badge_are_reported_with_their_urls(tmp_path: Path) -> None:
    _, report, _ = normalized(
        tmp_path,
        "Summary.\n\n"
        '<iframe src="https://www.youtube.com/embed/IOC2k5k8oto" title="player"></iframe>\n\n'
        '<a href="https://podcasts.apple.com/us/podcast/x/id1"><img src="https://tools.example.org/badge.svg"'
        ' alt="Listen on Apple Podcasts"></a>\n',
    )
    lines = report_lines(report)
    assert ("player", "<iframe> https://www.youtube.com/embed/IOC2k5k8oto") in lines
    assert (
        "badge",
        "Listen on Apple Podcasts https://podcasts.apple.com/us/podcast/x/id1 https://tools.example.org/badge.svg",
    ) in lines


# --- boilerplate is matched sentence by sentence -------------------------------------------


def test_a_tagline_glued_to_the_introduction_drops_only_the_tagline(settings: Settings) -> None:
    path = next((CORPUS / "imported").glob("2025-07-01-lukas-biewald*.markdown"))
    episode = normalize_file(path, settings)
    body = canonical_markdown(episode)
    assert 'Welcome to "Learning from Machine Learning," a podcast about the insights gained' in body
    assert "A machine learning podcast that explores" not in body
    assert (
        "boilerplate",
        "A machine learning podcast that explores more than just algorithms and data: "
        "Life lessons from the experts.",
    ) in report_lines(report_text(episode))


def test_an_older_import_keeps_the_guest_introduction(settings: Settings) -> None:
    path = next((CORPUS / "older-imports").glob("2023-01-31-vincent*.markdown"))
    episode = normalize_file(path, settings)
    body = canonical_markdown(episode)
    assert "This episode we welcome Vincent Warmerdam, creator of calmcode" in body
    assert (
        "boilerplate",
        "Learning from Machine Learning, a podcast that explores more than just algorithms and data: "
        "Life lessons from the experts.",
    ) in report_lines(report_text(episode))


def test_a_substack_line_drops_only_its_own_sentence(tmp_path: Path) -> None:
    body, report, _ = normalized(
        tmp_path,
        "Summary of the episode.\n\n"
        "Read on at our [Substack](https://mindful.substack.com/p/ep-1) for the full transcript. "
        "The transcript also includes two diagrams of the architecture.\n",
    )
    assert "The transcript also includes two diagrams of the architecture." in body
    assert "full transcript" not in body
    assert (
        "substack-link",
        "Read on at our Substack for the full transcript. https://mindful.substack.com/p/ep-1",
    ) in report_lines(report)


# --- labels start sections -----------------------------------------------------------------


def test_a_boilerplate_section_ends_at_the_next_label(settings: Settings) -> None:
    settings = dataclasses.replace(
        settings,
        boilerplate_sections=(
            "Resources to learn more about Learning from Machine Learning",
            "Listen on your favorite podcast platform",
        ),
    )
    path = next((CORPUS / "older-imports").glob("2023-02-24-nils*.markdown"))
    episode = normalize_file(path, settings)
    body = canonical_markdown(episode)
    assert "## Youtube Clips" in body
    for question in (
        "What attracted you to Machine Learning?",
        "What is sentence transformers?",
        "Benchmarks and P-Hacking",
        "What has a career in ML taught you about life?",
    ):
        assert question in body
    assert "linkedin.com/in/sethplevine" not in body
    assert ("boilerplate", "https://www.linkedin.com/in/sethplevine/") in report_lines(report_text(episode))


# --- chapters typed one per line ----------------------------------------------------------


@pytest.mark.parametrize("label", ["", "Chapters:\n"])
def test_chapter_lines_without_blank_lines_are_one_chapter_each(tmp_path: Path, label: str) -> None:
    path = write_post(
        tmp_path,
        "2024-05-01-episode.md",
        FRONT + "Summary.\n\n" + label + "00:00 Intro\n02:15 Why caches lie\n05:40 Wrap-up\n",
    )
    episode = normalize_file(path, Settings())
    assert [(c.start, c.title) for c in episode.chapters] == [
        (0, "Intro"),
        (135, "Why caches lie"),
        (340, "Wrap-up"),
    ]


# --- control characters --------------------------------------------------------------------


def test_control_characters_are_dropped_and_reported(tmp_path: Path) -> None:
    body, _, notes = normalized(tmp_path, "Hello\x1b[31m world\x07.\n\nNext\x7f para\u202e.\n")
    assert not any(c in body for c in "\x1b\x07\x7f\u202e")
    assert "Hello\\[31m world." in body
    assert "Next para." in body
    reported = [n.message for n in notes if n.kind == "control-characters"]
    assert reported == [
        "U+001B removed on line 6",
        "U+0007 removed on line 6",
        "U+007F removed on line 8",
        "U+202E RIGHT-TO-LEFT OVERRIDE removed on line 8",
    ]


# --- the report ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted(CORPUS.glob("*/*.markdown")), ids=lambda p: f"{p.parent.name}/{p.name[:30]}"
)
def test_every_report_line_has_a_known_reason_and_is_never_cut(path: Path, settings: Settings) -> None:
    for site in (False, True):
        episode = normalize_file(path, dataclasses.replace(settings, **SITE) if site else settings)
        source = path.read_text(encoding="utf-8")
        for reason, message in report_lines(report_text(episode)):
            assert reason in (*REASONS, "warning", "changed", "nothing dropped or changed")
            assert message.count("…") <= source.count("…")


# --- the check itself ----------------------------------------------------------------------


def _losing_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the pipeline, simulated: the merge forgets the last paragraph it made."""
    original = normalize_module.merge_copies

    def forgetful(items, notes):  # type: ignore[no-untyped-def]
        return original(items, notes)[:-1]

    monkeypatch.setattr(normalize_module, "merge_copies", forgetful)


def test_a_lost_paragraph_fails_the_post_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _losing_merge(monkeypatch)
    path = write_post(
        tmp_path, "2024-05-01-episode.md", FRONT + "First paragraph.\n\nThe forgotten one, in full.\n"
    )
    with pytest.raises(LostContent) as caught:
        normalize_file(path, Settings())
    assert str(caught.value) == f'{path}:8: normalization lost "The forgotten one, in full."'


def test_a_lost_paragraph_writes_no_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _losing_merge(monkeypatch)
    src = tmp_path / "posts"
    src.mkdir()
    write_post(src, "2024-05-01-episode.md", FRONT + "First paragraph.\n\nThe forgotten one.\n")
    summary = build(src, tmp_path / "out", Settings(), jobs=1, only=["post"])
    [result] = summary.results
    assert result.status == "failed"
    assert 'normalization lost "The forgotten one."' in (result.error or "")
    assert not (tmp_path / "out" / "2024-05-01-episode").exists()


def test_normalize_write_leaves_a_losing_post_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _losing_merge(monkeypatch)
    text = FRONT + "First paragraph.\n\n\nThe forgotten one.\n"
    path = write_post(tmp_path, "2024-05-01-episode.md", text)
    [status] = normalize_sources(path, Settings(), write=True)
    assert status.status == "failed"
    assert path.read_text(encoding="utf-8") == text
    assert not list(tmp_path.glob("*.orig*"))


# --- a clean post is left as it is ---------------------------------------------------------


@pytest.mark.parametrize("site", [False, True], ids=["no-site-url", "site-url"])
def test_the_sites_clean_posts_come_out_of_normalize_write_byte_identical(
    tmp_path: Path, settings: Settings, site: bool
) -> None:
    import shutil

    for path in (CORPUS / "site-today").glob("*.markdown"):
        shutil.copy(path, tmp_path / path.name)
    chosen = dataclasses.replace(settings, **SITE) if site else settings
    statuses = normalize_sources(tmp_path, chosen, write=True)
    assert [s.status for s in statuses] == ["unchanged", "unchanged"]
    for path in (CORPUS / "site-today").glob("*.markdown"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes()
    assert not list(tmp_path.glob("*.orig*"))


def test_a_site_link_resolves_once_under_the_baseurl(settings: Settings) -> None:
    from pipeline.formats.newsletter.edition import render_parts

    path = next((CORPUS / "site-today").glob("2023-01-07-*.markdown"))
    episode = normalize_file(path, dataclasses.replace(settings, **SITE))
    html = render_parts(episode, dataclasses.replace(settings, **SITE)).html
    assert (
        'href="https://splevine.github.io/learning-from-machine-learning/machine/learning/updates/'
        '2023/01/09/episode-one.html"' in html
    )
    assert "learning-from-machine-learning/learning-from-machine-learning" not in html


def test_clickable_timestamps_stay_links(settings: Settings) -> None:
    path = next((CORPUS / "site-today").glob("2023-02-24-*.markdown"))
    source = path.read_text(encoding="utf-8")
    source = source.replace(
        "## Episode Timestamps",
        "Some words [with a tracker](https://example.org/?utm_source=x).\n\n## Episode Timestamps",
    )
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        copy.write_text(source, encoding="utf-8")
        body = canonical_markdown(normalize_file(copy, settings))
    # Rewritten (the tracker went), and the author's clickable times are still links.
    assert "[with a tracker](https://example.org/)" in body
    assert (
        "- [02:29](https://www.youtube.com/watch?v=jOj4d3JNBDU&t=149s) - What attracted you to Machine Learning?"
        in body
    )
    assert "- 06:32 - What is sentence transformers?" in body


def test_embeds_and_dropped_pieces_are_warnings_that_strict_stops_on(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    write_post(
        src,
        "2024-05-01-episode.md",
        FRONT + 'Summary.\n\n<embed src="https://e.example.org/x">\n\n[a link](javascript:alert(1))\n',
    )
    summary = build(src, tmp_path / "out", Settings(), jobs=1, only=["post"])
    [result] = summary.results
    assert "embed: <embed> https://e.example.org/x" in [w.text for w in result.warnings]
    assert "dropped: javascript:alert(1)" in [w.text for w in result.warnings]
    strict = build(src, tmp_path / "strict", Settings(), jobs=1, only=["post"], strict=True)
    assert strict.results[0].status == "failed"
    assert not (tmp_path / "strict" / "2024-05-01-episode").exists()


def test_a_substack_line_on_a_custom_domain_moves_to_front_matter(tmp_path: Path) -> None:
    path = write_post(
        tmp_path,
        "2024-05-01-episode.md",
        FRONT
        + "Summary of it.\n\nAvailable on Substack: https://news.example.org/p/episode-one?r=2x9&utm_source=feed\n",
    )
    episode = normalize_file(path, Settings())
    assert episode.substack_url == "https://news.example.org/p/episode-one"
    text = canonical_markdown(episode)
    assert "substack_url: https://news.example.org/p/episode-one\n" in text
    assert "Available on Substack" not in text.split("\n---\n", 1)[1]


def test_a_paragraph_after_a_rule_reaches_every_description(tmp_path: Path) -> None:
    from pipeline.formats.descriptions import podcast, youtube

    path = write_post(
        tmp_path,
        "2024-05-01-episode.md",
        FRONT
        + "Summary paragraph one.\n\n## References\n\n- Alpha book\n\n---\n\nA closing paragraph after a rule.\n",
    )
    episode = normalize_file(path, Settings())
    assert (
        "A closing paragraph after a rule."
        in youtube.render(episode, Settings()).files["youtube.txt"].decode()
    )
    assert (
        "A closing paragraph after a rule."
        in podcast.render(episode, Settings()).files["podcast.html"].decode()
    )


def test_an_available_on_block_is_reported_as_furniture(settings: Settings) -> None:
    path = next((CORPUS / "imported").glob("2025-07-01-lukas-biewald*.markdown"))
    lines = report_lines(report_text(normalize_file(path, settings)))
    assert ("badge", "Available on all podcast platforms") in lines
    assert ("badge", "https://rss.com/podcasts/learning-from-machine-learning/") in lines


# --- found in review: each a way a piece was lost, or a legitimate post refused -------------


def test_a_link_only_the_html_copy_has_is_named_when_its_twin_is_kept(tmp_path: Path) -> None:
    _, report, notes = normalized(
        tmp_path,
        "We talk about caching today. It is hard to get right.\n\n"
        '<p>We talk about caching today. It is hard to get <a href="https://extra.example/x">right</a>.</p>\n',
    )
    assert (
        "dropped: https://extra.example/x (a link of the HTML copy; its Markdown twin has no link)" in report
    )
    assert any(n.is_warning for n in notes)


def test_a_url_in_the_front_matter_keeps_no_link_of_the_body() -> None:
    from pipeline.accounting.inventory import take_inventory, unaccounted

    pieces = take_inventory("See [docs](https://d.example) here.\n")
    post = "---\nimage: https://d.example\n---\n\nSee docs here.\n"
    assert [p.text for p in unaccounted(pieces, post, "")] == ["https://d.example"]


@pytest.mark.parametrize(
    "body",
    [
        "This is ~~not~~ really fine.",
        "Text.[^1]\n\n[^1]: Note.",
        "## Heading {#id}\n\nWords.",
        "A [phrase]{.mark} here.",
        "a) First.\nb) Second.",
        "## Guests\n\nSee [Guests] above.",
        "- [ ] todo item\n- [x] done item",
        "See [site]({{ site.url }}/about).",
        "Read [the intro]({% link _posts/2023-01-01-x.md %}) first.",
        "## Why \\<b\\> tags matter\n\nText.",
    ],
)
def test_markdown_the_check_reads_alike_normalizes_without_loss(tmp_path: Path, body: str) -> None:
    normalized(tmp_path, body + "\n")  # raises LostContent otherwise


def test_a_heading_link_is_named_and_a_figure_caption_kept(tmp_path: Path) -> None:
    _, report, _ = normalized(tmp_path, "## See [docs](https://d.example) here\n\nSome text.\n")
    assert "dropped: https://d.example (a link in the heading 'See docs here')" in report
    body, _, _ = normalized(
        tmp_path,
        '<figure><img src="https://i.example/a.png" alt="A chart"><figcaption>Figure one shows '
        '<a href="https://fc.example">growth</a>.</figcaption></figure>\n',
    )
    assert "Figure one shows [growth](https://fc.example)." in body


def test_a_removed_form_names_its_words_and_links(tmp_path: Path) -> None:
    _, report, _ = normalized(
        tmp_path,
        'Click <button>Press me now</button> to see it.\n\n<form action="https://f.example/sub">Sign up at '
        '<a href="https://l.example/x">our list</a> today.</form>\n',
    )
    assert "embed: <button> Press me now" in report
    assert "embed: <form> https://f.example/sub Sign up at our list https://l.example/x today." in report


def test_the_baseurl_before_post_url_idiom_gives_one_url(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    write_post(posts, "2023-01-01-x.md", "---\ntitle: One\ndate: 2023-01-01\n---\nOne.\n")
    linking = write_post(
        posts,
        "2023-02-01-y.md",
        "---\ntitle: Two\ndate: 2023-02-01\n---\nSee [p]({{ site.baseurl }}{% post_url 2023-01-01-x %}) now.\n",
    )
    settings = dataclasses.replace(Settings(), site_url="https://s.example", baseurl="/blog")
    body = rendered_markdown(normalize_file(linking, settings))
    assert "See [p](https://s.example/blog/2023/01/01/x.html) now." in body


def test_a_post_url_too_long_for_the_file_system_is_a_warning(tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), site_url="https://s.example")
    _, report, _ = normalized(tmp_path, "See [x]({% post_url 2023-01-01-" + "a" * 300 + " %}).\n", settings)
    assert "warning: " in report


def test_a_clean_post_with_crlf_and_a_bom_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "2024-05-01-episode.md"
    data = ("\ufeff" + FRONT + "A clean post.\n").replace("\n", "\r\n").encode("utf-8")
    path.write_bytes(data)
    [status] = normalize_sources(path, Settings(), write=True)
    assert status.status == "unchanged"
    assert path.read_bytes() == data


def test_another_substack_post_is_content(tmp_path: Path) -> None:
    body, _, notes = normalized(
        tmp_path,
        "Read more on Substack: https://lfml.substack.com/p/ep-1?r=abc. Also, my friend wrote a great "
        "piece, read more at https://friend.substack.com/p/essay today.\n",
    )
    assert "my friend wrote a great piece" in body
    assert [n.message for n in notes if n.kind == "substack-link"] == [
        "Read more on Substack: https://lfml.substack.com/p/ep-1?r=abc."
    ]


def test_a_separator_line_left_out_of_a_rewritten_post_is_named(tmp_path: Path) -> None:
    """Before: `---`, `***` and `<p>---</p>` lines vanished from a rewritten `post.md` unreported."""
    front = "---\ntitle: T\ndate: 2025-01-01\n---\n"
    body = (
        "Hello, see [this](https://example.org/?utm_source=x) paragraph with words.\n\n***\n\n"
        "<p>First part of the feed text.</p><p>---</p><p>Second part of the feed text.</p>\n"
    )
    episode = normalize_file(write_post(tmp_path, "2025-01-01-a.md", front + body), Settings())
    assert report_text(episode).splitlines() == [
        "tracking-parameters: https://example.org/?utm_source=x",
        "separator: ---",
        "separator: ---",
    ]
    assert "---" not in canonical_markdown(episode).split("---\n", 2)[2]
    # A post kept as written keeps its separators, and its report says nothing of them.
    clean = normalize_file(
        write_post(tmp_path, "2025-01-01-b.md", front + body.replace("?utm_source=x", "")), Settings()
    )
    assert clean.unchanged_source is not None and report_text(clean) == "nothing dropped or changed\n"
