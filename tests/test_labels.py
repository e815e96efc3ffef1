"""Sections as the author labelled them: a label is known by its form, in the Markdown copy, in
the feed HTML and in an HTML-only body; a boilerplate section ends at the next label; a clips
list becomes the chapters only when it can be them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.builder.run import build
from pipeline.model import BulletList, Episode, Paragraph
from pipeline.normalize.spans import links, list_entries
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings

from .conftest import CORPUS, write_post

VIDEO = "jOj4d3JNBDU"
SUMMARY = "A long talk about sentence embeddings and the future of search with our guest."
SHOW_LINKS = "Resources to learn more about Learning from Machine Learning"


def _post(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    head = f"---\ntitle: {name}\ndate: 2025-01-01\nyoutubeID: {VIDEO}\n---\n"
    return write_post(folder, f"2025-01-01-{name}.md", head + body)


def _sections(episode: Episode) -> list[tuple[str | None, list[str]]]:
    """Each section's heading and the link targets under it, in order."""
    out = []
    for section in episode.sections:
        urls: list[str] = []
        for block in section.blocks:
            if isinstance(block, BulletList):
                urls += [u for entry in list_entries(block.items) for u in links(entry.spans)]
            elif isinstance(block, Paragraph):
                urls += links(block.spans)
        out.append((section.heading, urls))
    return out


def _settings(settings: Settings, *sections: str) -> Settings:
    return dataclasses.replace(settings, boilerplate_sections=tuple(sections))


REFERENCES = [("References in the Episode", ["https://a.example/1", "https://a.example/2"])]

# Each shape in the feed HTML (after a Markdown copy of the summary), in Markdown, and HTML only.
SHAPES = {
    "plain-label-before-ul": (
        f"<p>{SUMMARY}</p><p>References in the Episode</p>"
        '<ul><li><a href="https://a.example/1">One</a></li><li><a href="https://a.example/2">Two</a></li></ul>',
        f"{SUMMARY}\n\nReferences in the Episode\n\n- [One](https://a.example/1)\n- [Two](https://a.example/2)\n",
        REFERENCES,
    ),
    "label-before-link-paragraphs": (
        f"<p>{SUMMARY}</p><p>References in the Episode</p>"
        '<p><a href="https://a.example/1">https://a.example/1</a></p>'
        '<p><a href="https://a.example/2">https://a.example/2</a></p>',
        f"{SUMMARY}\n\nReferences in the Episode\n\n<https://a.example/1>\n\n<https://a.example/2>\n",
        REFERENCES,
    ),
    "italic-label": (
        f"<p>{SUMMARY}</p><p><em>References in the Episode</em></p>"
        '<ul><li><a href="https://a.example/1">One</a></li><li><a href="https://a.example/2">Two</a></li></ul>',
        f"{SUMMARY}\n\n*References in the Episode*\n\n- [One](https://a.example/1)\n- [Two](https://a.example/2)\n",
        REFERENCES,
    ),
    "bold-label": (
        f"<p>{SUMMARY}</p><p><strong>References in the Episode</strong></p>"
        '<ul><li><a href="https://a.example/1">One</a></li><li><a href="https://a.example/2">Two</a></li></ul>',
        f"{SUMMARY}\n\n**References in the Episode**\n\n- [One](https://a.example/1)\n- [Two](https://a.example/2)\n",
        REFERENCES,
    ),
    "colon-label": (
        f"<p>{SUMMARY}</p><p>References in the Episode:</p>"
        '<p><a href="https://a.example/1">https://a.example/1</a></p>'
        '<p><a href="https://a.example/2">https://a.example/2</a></p>',
        f"{SUMMARY}\n\nReferences in the Episode:\n\n- <https://a.example/1>\n- <https://a.example/2>\n",
        REFERENCES,
    ),
    "last-sentence-label": (
        f"<p>{SUMMARY} References in the Episode:</p>"
        '<p><a href="https://a.example/1">https://a.example/1</a></p>'
        '<p><a href="https://a.example/2">https://a.example/2</a></p>',
        f"{SUMMARY} References in the Episode:\n\n<https://a.example/1>\n\n<https://a.example/2>\n",
        REFERENCES,
    ),
    "label-with-its-first-link": (
        f'<p>{SUMMARY}</p><p>References in the Episode: <a href="https://a.example/1">https://a.example/1</a></p>'
        '<p><a href="https://a.example/2">https://a.example/2</a></p>',
        f"{SUMMARY}\n\nReferences in the Episode: <https://a.example/1>\n\n<https://a.example/2>\n",
        REFERENCES,
    ),
}


@pytest.mark.parametrize("copy", ["both", "markdown", "html-only"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_label_starts_a_section_in_either_copy(
    tmp_path: Path, settings: Settings, shape: str, copy: str
) -> None:
    html, markdown, expected = SHAPES[shape]
    body = {"both": f"{SUMMARY}\n\n{html}\n", "markdown": markdown, "html-only": f"{html}\n"}[copy]
    episode = normalize_file(_post(tmp_path, shape, body), settings)
    assert [s for s in _sections(episode) if s[0] is not None] == expected
    assert episode.sections[0].heading is None  # the summary
    assert "References" not in " ".join(str(b) for b in episode.sections[0].blocks)


def test_a_colon_line_followed_by_prose_is_no_label(tmp_path: Path, settings: Settings) -> None:
    body = f"{SUMMARY}\n\nHe told me:\n\nWe should all read more papers, and here is why it matters.\n"
    episode = normalize_file(_post(tmp_path, "prose", body), settings)
    assert [s.heading for s in episode.sections] == [None]


BOILERPLATE_THEN_REFERENCES = (
    f"{SUMMARY}\n\n<p>{SUMMARY}</p><p>Listen on your favorite podcast platform:</p>"
    '<p><a href="https://rss.com/podcasts/show/">rss.com/podcasts/show</a></p><p></p>'
    "<p>References in the Episode</p>"
    '<ul><li><a href="https://a.example/1">One</a></li><li><a href="https://a.example/2">Two</a></li></ul>'
    '<p><em>Connect with Paige Bailey</em></p><p><a href="https://p.example/">https://p.example/</a></p>\n'
)


def test_a_boilerplate_section_ends_at_the_next_label_whatever_its_form(
    tmp_path: Path, settings: Settings
) -> None:
    src = tmp_path / "posts"
    _post(src, "boilerplate", BOILERPLATE_THEN_REFERENCES)
    configured = _settings(settings, "listen on your favorite podcast platform", SHOW_LINKS)
    summary = build(src, tmp_path / "out", configured, jobs=1)
    assert not summary.failed, summary.failed[0].error
    out = tmp_path / "out" / "2025-01-01-boilerplate"
    post = (out / "post.md").read_text("utf-8")
    assert (
        "## References in the Episode\n\n- [One](https://a.example/1)\n- [Two](https://a.example/2)" in post
    )
    assert "## Connect with Paige Bailey\n\n- <https://p.example/>" in post
    assert "rss.com" not in post
    report = (out / "report.txt").read_text("utf-8").splitlines()
    assert [line for line in report if line.startswith("boilerplate:")] == [
        "boilerplate: Listen on your favorite podcast platform",
        "boilerplate: rss.com/podcasts/show https://rss.com/podcasts/show/",
    ]
    assert not [line for line in report if "a.example" in line or "p.example" in line]
    # each format shows the label as its own kind of heading, the references under it
    newsletter = (out / "newsletter.html").read_text("utf-8")
    assert ">References in the Episode</h2>" in newsletter and 'href="https://a.example/2"' in newsletter
    assert "\nReferences in the Episode\n- One (https://a.example/1)\n" in (out / "youtube.txt").read_text(
        "utf-8"
    )
    assert "<p>References in the Episode</p>\n<ul><li>" in (out / "podcast.html").read_text("utf-8")
    assert (out / "show-notes.pdf").read_bytes().startswith(b"%PDF")


CLIPS = (
    "<p>{summary}</p><p>Youtube Clips</p>"
    '<p><a href="https://www.youtube.com/watch?v={a}&amp;t=149s">02:29</a> First question</p>'
    "<p>06:32 Second question</p>"
    '<p><a href="https://www.youtube.com/watch?v={c}&amp;t=1682s">28:02</a> Third question</p>\n'
)


def test_clips_into_the_episode_s_own_video_are_its_chapters(tmp_path: Path, settings: Settings) -> None:
    body = CLIPS.format(summary=SUMMARY, a=VIDEO, c=VIDEO)
    episode = normalize_file(_post(tmp_path, "clips", body), settings)
    assert [(c.start, c.title) for c in episode.chapters] == [
        (149, "First question"),
        (392, "Second question"),
        (1682, "Third question"),
    ]
    assert [(s.kind, s.heading) for s in episode.sections] == [
        ("summary", None),
        ("chapters", "Youtube Clips"),
    ]
    assert any(n.kind == "changed" and "'Youtube Clips' are the chapters" in n.message for n in episode.notes)


def test_clips_into_other_videos_stay_a_list(tmp_path: Path, settings: Settings) -> None:
    body = CLIPS.format(summary=SUMMARY, a="AAAAAAAAAAA", c="CCCCCCCCCCC")
    episode = normalize_file(_post(tmp_path, "clips", body), settings)
    assert episode.chapters == ()
    assert [(s.kind, s.heading) for s in episode.sections] == [("summary", None), ("links", "Youtube Clips")]
    assert any("not treated as chapters" in n.message for n in episode.notes)


def test_clips_stay_a_list_beside_a_chapter_list(tmp_path: Path, settings: Settings) -> None:
    body = CLIPS.format(summary=SUMMARY, a=VIDEO, c=VIDEO) + "\nChapters:\n\n00:00 Intro\n\n01:00 Start\n"
    episode = normalize_file(_post(tmp_path, "clips", body), settings)
    assert [c.title for c in episode.chapters] == ["Intro", "Start"]
    assert ("links", "Youtube Clips") in [(s.kind, s.heading) for s in episode.sections]


def test_the_2023_import_keeps_its_guest_links_under_their_label_and_its_clips_as_chapters(
    settings: Settings,
) -> None:
    """The site's own 2023 import, with the show's own links as boilerplate: the guest's links
    are the ones the site's maintainer kept by hand, and the clips are the episode's chapters."""
    [post] = (CORPUS / "older-imports").glob("2023-02-24-nils-*")
    episode = normalize_file(post, _settings(settings, SHOW_LINKS))
    sections = dict(_sections(episode))
    kept = set(sections["Resources to learn more about Nils Reimers and his work"])
    [cleaned] = (CORPUS / "site-today").glob("2023-02-24-nils-*")
    by_hand = cleaned.read_text("utf-8").split("## Connect with Nils Reimers")[1].split("##")[0]
    maintainers = {line.split("](")[1].rstrip(")") for line in by_hand.strip().splitlines()}
    assert maintainers <= kept
    assert kept - maintainers <= {"https://scholar.google.com/citations"}  # the bare text of a cut link
    assert not any("linkedin.com/in/sethplevine" in url for urls in sections.values() for url in urls)
    assert any(n.kind == "boilerplate" and "sethplevine" in n.message for n in episode.notes)
    assert len(episode.chapters) == 8 and episode.chapters[0].start == 149
