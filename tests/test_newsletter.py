"""The newsletter edition: HTML that mail clients can show, its text twin, and the `.eml`."""

from __future__ import annotations

import dataclasses
import email
import hashlib
import quopri
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import html5lib
import pytest
from hypothesis import assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.errors import ConfigError, RenderError
from pipeline.formats import load_format
from pipeline.formats.newsletter.edition import NewsletterParts, render, render_parts
from pipeline.formats.newsletter.message import build_message, message_bytes, subject_line
from pipeline.formats.newsletter.options import DEFAULT_MAX_HTML_BYTES, newsletter_options, options_from_table
from pipeline.model import BulletList, Chapter, Episode, ListItem, Paragraph, Section, Span
from pipeline.settings.config import Settings, load_settings
from tests.browser import with_newsletter_options
from tests.sample_episode import SEED_CHAPTERS, sample_episode

from .conftest import examples

PYPROJECT = Path(__file__).resolve().parent.parent / "samples" / "episode.toml"
XHTML = "{http://www.w3.org/1999/xhtml}"
WATCH = "https://www.youtube.com/watch?v=IOC2k5k8oto"


@pytest.fixture(scope="module")
def project_settings() -> Settings:
    return load_settings(PYPROJECT)


@pytest.fixture(scope="module")
def files(project_settings: Settings) -> dict[str, bytes]:
    return render(sample_episode(), project_settings).files


def built(episode: Episode, settings: Settings, parts: NewsletterParts | None = None) -> EmailMessage:
    """The message of `newsletter.eml`, parsed back: what the format gives `email_message`."""
    parts = parts if parts is not None else render_parts(episode, settings)
    return build_message(episode, settings, newsletter_options(settings), parts)


def parse(html_bytes: bytes) -> Element:
    """The document tree, parsed as a browser would (strict: any parse error fails)."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    tree: Element = parser.parse(html_bytes, transport_encoding="utf-8")
    return tree


def tags(tree: Element, name: str) -> list[Element]:
    return list(tree.iter(f"{XHTML}{name}"))


def text_of(element: Element) -> str:
    return " ".join("".join(element.itertext()).split())


def links(tree: Element) -> dict[str, str]:
    """Link text -> href."""
    return {text_of(a): a.get("href", "") for a in tags(tree, "a")}


def parse_eml(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


# --- the three files ----------------------------------------------------------------------


def test_render_makes_the_three_files_without_warnings(project_settings: Settings) -> None:
    rendered = load_format("newsletter").render(sample_episode(), project_settings)
    assert sorted(rendered.files) == ["newsletter.eml", "newsletter.html", "newsletter.txt"]
    assert rendered.warnings == []


def test_rendering_twice_gives_identical_bytes(project_settings: Settings) -> None:
    first = render(sample_episode(), project_settings).files
    second = render(sample_episode(), project_settings).files
    assert first == second


# --- HTML: structure that survives mail clients ------------------------------------------


def test_html_parses_without_errors_and_is_one_document(files: dict[str, bytes]) -> None:
    html = files["newsletter.html"]
    assert html.startswith(b"<!DOCTYPE html>")
    tree = parse(html)
    assert tree.get("lang") == "en"
    assert len(tags(tree, "body")) == 1


def test_head_has_colour_scheme_meta_and_title(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    metas = {m.get("name"): m.get("content") for m in tags(tree, "meta") if m.get("name")}
    assert metas["color-scheme"] == "light dark"
    assert metas["supported-color-schemes"] == "light dark"
    assert "width=device-width" in metas["viewport"]
    assert text_of(tags(tree, "title")[0]).startswith("Maxime Labonne")


def test_layout_is_presentation_tables_in_a_600px_column(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    tables = tags(tree, "table")
    assert tables
    assert all(t.get("role") == "presentation" for t in tables)
    card = next(t for t in tables if "card" in (t.get("class") or ""))
    assert card.get("width") == "600"
    assert "max-width: 600px" in card.get("style")
    assert not re.search(rb"display:\s*(flex|grid)", files["newsletter.html"])


def test_text_and_background_colours_are_explicit(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    body = tags(tree, "body")[0]
    assert "background-color:" in body.get("style")
    assert re.search(r"(^|;)\s*color:", body.get("style"))
    card = next(t for t in tags(tree, "table") if "card" in (t.get("class") or ""))
    assert card.get("bgcolor") == "#ffffff"


def test_every_style_is_inline_but_the_media_queries(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    styles = tags(tree, "style")
    assert len(styles) == 1
    head = tags(tree, "head")[0]
    assert styles[0] in list(head)
    css = styles[0].text or ""
    assert "@media only screen and (max-width: 620px)" in css
    assert "@media (prefers-color-scheme: dark)" in css
    # Outside the @media blocks nothing is left: strip each balanced block and look.
    rest, depth = [], 0
    for char in re.sub(r"@media[^{]*", "", css):
        depth += char == "{"
        if depth == 0 and char not in "{}":
            rest.append(char)
        depth -= char == "}"
    assert "".join(rest).strip() == ""
    for name in ("h1", "h2", "p", "a", "li", "td"):
        for element in tags(tree, name):
            assert element.get("style"), f"<{name}> without an inline style"


def test_nothing_mail_clients_strip_or_block(files: dict[str, bytes]) -> None:
    html = files["newsletter.html"]
    tree = parse(html)
    for name in ("script", "iframe", "form", "object", "embed", "video", "svg", "input"):
        assert not tags(tree, name), name
    assert not [link for link in tags(tree, "link") if "stylesheet" in (link.get("rel") or "")]
    assert b"data:" not in html
    assert b"javascript:" not in html.lower()
    assert b"base64" not in html


def test_html_is_under_the_size_budget(files: dict[str, bytes]) -> None:
    assert len(files["newsletter.html"]) < DEFAULT_MAX_HTML_BYTES


def test_preheader_is_the_hidden_first_element_of_the_body(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    first = next(iter(tags(tree, "body")[0]))
    assert first.tag == f"{XHTML}div"
    assert "display: none" in first.get("style")
    assert text_of(first).startswith(
        "On this episode of Learning from Machine Learning, I had the privilege of speaking with "
        "Maxime Labonne, Head of Post-Training at Liquid AI."
    )
    assert "We traced" not in text_of(first)


def test_preheader_is_the_description_when_there_is_one(project_settings: Settings) -> None:
    episode = sample_episode(description="Maxime on post-training, data quality and merging.")
    tree = parse(render(episode, project_settings).files["newsletter.html"])
    first = next(iter(tags(tree, "body")[0]))
    assert text_of(first).startswith("Maxime on post-training, data quality and merging.")


def test_title_date_then_thumbnail_linking_to_the_video(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    h1 = tags(tree, "h1")[0]
    assert text_of(h1) == (
        "Maxime Labonne: Thinking beyond Transformers | Learning from Machine Learning #12"
    )
    assert "28 May 2025" in text_of(tags(tree, "body")[0])
    images = tags(tree, "img")
    assert len(images) == 1
    img = images[0]
    assert img.get("src") == "https://i.ytimg.com/vi/IOC2k5k8oto/hqdefault.jpg"
    assert img.get("alt", "").startswith("Watch on YouTube: Maxime Labonne")
    assert (img.get("width"), img.get("height")) == ("536", "402")
    anchor = next(a for a in tags(tree, "a") if img in list(a))
    assert anchor.get("href") == WATCH
    order = [text_of(tags(tree, "body")[0]).find(s) for s in ("Thinking beyond", "28 May 2025")]
    assert order == sorted(order)


def test_every_image_has_alt_text(files: dict[str, bytes]) -> None:
    for img in tags(parse(files["newsletter.html"]), "img"):
        assert img.get("alt")


def test_every_link_is_absolute_https_or_mailto(files: dict[str, bytes]) -> None:
    hrefs = [a.get("href") for a in tags(parse(files["newsletter.html"]), "a")]
    assert hrefs
    for href in hrefs:
        parts = urlsplit(href)
        assert (parts.scheme == "https" and parts.netloc) or parts.scheme == "mailto", href


def test_each_chapter_time_links_to_that_moment(files: dict[str, bytes]) -> None:
    tree = parse(files["newsletter.html"])
    rows = [r for r in tags(tree, "tr") if r.find(f"{XHTML}td[@class='chapter-time']") is not None]
    assert len(rows) == len(SEED_CHAPTERS)
    episode = sample_episode()
    for row, chapter in zip(rows, SEED_CHAPTERS, strict=True):
        anchor = next(iter(tags(row, "a")))
        assert anchor.get("href") == episode.chapter_url(chapter)
        assert anchor.get("href").endswith(f"&t={chapter.start}s")
        assert chapter.title in text_of(row)
    assert text_of(rows[0]).startswith("0:00:46")
    assert text_of(rows[-1]).startswith("1:00:38")
    headings = [text_of(h) for h in tags(tree, "h2")]
    assert headings == ["Episode Timestamps", "References"]


def test_summary_and_reference_links_come_from_the_blocks(files: dict[str, bytes]) -> None:
    found = links(parse(files["newsletter.html"]))
    assert found["machine learning"] == "https://example.org/ml"
    assert found["Category Theory in Context"] == "https://amzn.to/48ka3aU"
    assert found["Learning from Machine Learning Episode 1"] == "https://youtu.be/bLW_RH2Y6oI"
    assert b"<strong" in files["newsletter.html"]


def test_buttons_and_footer(files: dict[str, bytes]) -> None:
    found = links(parse(files["newsletter.html"]))
    assert found["Watch on YouTube"] == WATCH
    assert found["Read on Substack"] == sample_episode().substack_url
    assert found["Unsubscribe"] == "https://example.com/unsubscribe?id=*|UNIQID|*"
    assert b"you subscribed to Learning from Machine Learning" in files["newsletter.html"]


def test_without_substack_there_is_no_substack_button(project_settings: Settings) -> None:
    rendered = render(sample_episode(substack_url=None), project_settings)
    assert "Read on Substack" not in links(parse(rendered.files["newsletter.html"]))
    assert b"Substack" not in rendered.files["newsletter.txt"]


def test_without_video_there_is_no_thumbnail_and_chapters_are_unlinked(
    project_settings: Settings,
) -> None:
    rendered = render(sample_episode(youtube_id=None), project_settings)
    tree = parse(rendered.files["newsletter.html"])
    assert not tags(tree, "img")
    hrefs = [a.get("href") for a in tags(tree, "a")]
    assert not [h for h in hrefs if "youtube.com" in h]
    assert "Life Lessons from Machine Learning" in text_of(tags(tree, "body")[0])
    assert b"youtube.com" not in rendered.files["newsletter.txt"]


def test_unsubscribe_and_thumbnail_urls_are_configurable(project_settings: Settings) -> None:
    settings = with_newsletter_options(
        project_settings,
        unsubscribe_url="*|UNSUB|*",
        thumbnail_url="https://cdn.example.com/thumbs/{youtube_id}.jpg",
    )
    tree = parse(render(sample_episode(), settings).files["newsletter.html"])
    assert links(tree)["Unsubscribe"] == "*|UNSUB|*"
    assert tags(tree, "img")[0].get("src") == "https://cdn.example.com/thumbs/IOC2k5k8oto.jpg"


def test_post_text_is_escaped_not_markup(project_settings: Settings) -> None:
    episode = sample_episode(
        title="<script>alert(1)</script> & <b>bold</b>",
        sections=(Section("summary", None, (Paragraph((Span("<img src=x onerror=alert(1)>"),)),)),),
    )
    html = render(episode, project_settings).files["newsletter.html"]
    tree = parse(html)
    assert not tags(tree, "script")
    assert not tags(tree, "b")
    assert len(tags(tree, "img")) == 1
    assert text_of(tags(tree, "h1")[0]) == "<script>alert(1)</script> & <b>bold</b>"


def test_unusable_links_become_text_with_a_warning(project_settings: Settings) -> None:
    spans = (
        Span("bad", url="javascript:alert(1)"),
        Span(" and "),
        Span("relative", url="/2024/01/01/post.html"),
        Span(" and "),
        Span("data", url="data:text/html,hi"),
        Span(" and "),
        Span("plain http", url="http://old.example.org/"),
    )
    episode = sample_episode(sections=(Section("summary", None, (Paragraph(spans),)),))
    rendered = render(episode, project_settings)
    html = rendered.files["newsletter.html"]
    assert b"javascript:" not in html
    assert b"data:" not in html
    assert b"/2024/01/01/post.html" not in html
    assert b"http://old.example.org/" not in html
    assert b"bad and relative and data and plain http" in html
    assert len(rendered.warnings) == 4
    assert all("kept as text only" in w for w in rendered.warnings)
    assert "an http:// link" in rendered.warnings[-1]


def test_a_non_https_substack_url_is_left_out(project_settings: Settings) -> None:
    rendered = render(sample_episode(substack_url="javascript:alert(1)"), project_settings)
    assert b"javascript" not in rendered.files["newsletter.html"]
    assert any("substack_url" in w for w in rendered.warnings)


def test_an_invalid_video_id_is_a_render_error(project_settings: Settings) -> None:
    with pytest.raises(RenderError, match="youtubeID") as caught:
        render(sample_episode(youtube_id='x" onerror="alert(1)'), project_settings)
    assert "\n" not in str(caught.value)


def _long_episode(paragraphs: int) -> Episode:
    text = "A sentence about machine learning that goes on for a while, with some detail. " * 6
    blocks = tuple(Paragraph((Span(text),)) for _ in range(paragraphs))
    return sample_episode(sections=(Section("summary", None, blocks),))


def test_an_html_over_the_budget_is_a_warning(project_settings: Settings) -> None:
    rendered = render(_long_episode(400), project_settings)
    size = len(rendered.files["newsletter.html"])
    assert size > DEFAULT_MAX_HTML_BYTES
    assert [w for w in rendered.warnings if "Gmail clips" in w and f"{size:,}" in w]


def test_the_size_budget_is_configurable(project_settings: Settings) -> None:
    settings = with_newsletter_options(project_settings, max_html_bytes=2048)
    assert any("2,048 byte budget" in w for w in render(sample_episode(), settings).warnings)


# --- plain text --------------------------------------------------------------------------


def test_text_is_wrapped_and_keeps_every_url(files: dict[str, bytes]) -> None:
    text = files["newsletter.txt"].decode()
    for line in text.splitlines():
        assert len(line) <= 72 or not line.strip().count(" "), line
    assert "machine learning (https://example.org/ml) systems." in " ".join(text.split())
    assert "Category Theory in Context (https://amzn.to/48ka3aU)" in text
    assert f"Watch on YouTube: {WATCH}" in text
    assert "Read on Substack:\nhttps://mindfulmachines.substack.com/p/maxime-labonne-" in text
    assert "Unsubscribe: https://example.com/unsubscribe?id=*|UNIQID|*" in text
    assert "<p>" not in text
    assert "<a " not in text


def test_text_chapters_have_times_and_links(files: dict[str, bytes]) -> None:
    lines = files["newsletter.txt"].decode().splitlines()
    start = lines.index("Episode Timestamps")
    assert lines[start + 1] == "-" * len("Episode Timestamps")
    assert lines[start + 2] == "0:00:46  Introduction and Maxime's Background"
    assert lines[start + 3] == f"         {WATCH}&t=46s"
    assert f"         {WATCH}&t=3638s" in lines


def test_text_width_is_configurable(project_settings: Settings) -> None:
    settings = with_newsletter_options(project_settings, text_width=50)
    text = render(sample_episode(), settings).files["newsletter.txt"].decode()
    prose = [line for line in text.splitlines() if "http" not in line]
    assert max(len(line) for line in prose) <= 50


# --- the .eml ----------------------------------------------------------------------------


def test_eml_is_multipart_alternative_text_first_html_last(files: dict[str, bytes]) -> None:
    message = parse_eml(files["newsletter.eml"])
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().replace("\r\n", "\n") == files["newsletter.txt"].decode()
    assert parts[1].get_content().replace("\r\n", "\n") == files["newsletter.html"].decode()


def test_eml_headers(files: dict[str, bytes]) -> None:
    message = parse_eml(files["newsletter.eml"])
    assert message["Subject"] == (
        "Maxime Labonne: Thinking beyond Transformers | Learning from Machine Learning #12"
    )
    assert message["From"] == "Learning from Machine Learning <newsletter@example.com>"
    assert message["To"] == "subscribers@example.com"
    assert message["Date"] == "Wed, 28 May 2025 22:30:30 +0000"
    assert re.fullmatch(r"<[0-9a-f]{32}@newsletter\.example\.com>", message["Message-ID"])
    assert message["MIME-Version"] == "1.0"


def test_eml_uses_crlf_and_7bit_lines(files: dict[str, bytes]) -> None:
    data = files["newsletter.eml"]
    assert b"\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998


def test_eml_boundary_comes_from_the_content(files: dict[str, bytes], project_settings: Settings) -> None:
    boundary = parse_eml(files["newsletter.eml"]).get_boundary()
    assert boundary is not None
    assert boundary.startswith("==_newsletter_")
    other = render(sample_episode(title="Another title"), project_settings).files["newsletter.eml"]
    assert parse_eml(other).get_boundary() != boundary


def test_message_id_depends_on_stem_and_date_and_domain(project_settings: Settings) -> None:
    def message_id(episode: Episode, settings: Settings) -> str:
        return str(built(episode, settings)["Message-ID"])

    base = message_id(sample_episode(), project_settings)
    assert base == message_id(sample_episode(title="Retitled"), project_settings)
    assert base != message_id(sample_episode(stem="another-stem"), project_settings)
    moved = sample_episode().date.replace(day=29)
    assert base != message_id(sample_episode(date=moved), project_settings)
    settings = with_newsletter_options(project_settings, message_id_domain="mail.example.org")
    assert message_id(sample_episode(), settings).endswith("@mail.example.org>")


def test_from_and_to_are_configurable(project_settings: Settings) -> None:
    settings = with_newsletter_options(
        project_settings, from_address="Seth <seth@example.org>", to_address="list@example.org"
    )
    message = built(sample_episode(), settings)
    assert message["From"] == "Seth <seth@example.org>"
    assert message["To"] == "list@example.org"


def test_a_title_with_line_breaks_cannot_add_a_header(project_settings: Settings) -> None:
    episode = sample_episode(title="Episode 5\r\nBcc: evil@x\nX-Evil: 1\x00\rTo: evil@y")
    data = render(episode, project_settings).files["newsletter.eml"]
    message = parse_eml(data)
    assert message["Subject"] == "Episode 5 Bcc: evil@x X-Evil: 1 To: evil@y"
    assert sorted(message.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]
    )
    assert message.get_all("To") == ["subscribers@example.com"]
    assert b"\x00" not in data


@hypothesis_settings(max_examples=examples(60), deadline=None)
@given(st.text(min_size=1, max_size=200))
@example("00000000 00¡¡¡ࠀࠀ𐀀𐀀𐀀𐀀𐀀 ¡")  # the stdlib folder dropped this space between encoded-words
def test_any_title_gives_one_subject_line(title: str) -> None:
    settings = load_settings(PYPROJECT)
    data = built(sample_episode(title=title), settings).as_bytes()
    message = parse_eml(data)
    assert len(message.keys()) == 7
    subject = str(message["Subject"])
    assert not re.search(r"[\r\n\x00]", subject)
    assert " ".join(subject.split()) == subject_line(title)


# --- configuration ------------------------------------------------------------------------


def test_every_config_problem_is_reported_at_once() -> None:
    table = {
        "thumbnail_url": "http://i.ytimg.com/vi/{youtube_id}/hqdefault.jpg",
        "unsubscribe_url": "javascript:alert(1)",
        "from_address": "not an address",
        "accent_color": "red;}body{display:none",
        "max_html_bytes": "90k",
        "text_width": True,
        "colour": "blue",
    }
    with pytest.raises(ConfigError) as caught:
        options_from_table(table, "pyproject.toml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("pyproject.toml: [tool.pipeline.newsletter]: ")
    for key in table:
        assert f"{key}:" in message


@pytest.mark.parametrize(
    "value",
    [
        "https://example.com/unsubscribe?id=*|UNIQID|*",
        "*|UNSUB|*",
        "{{ unsubscribe_url }}",
        "[unsubscribe]",
        "%unsubscribe%",
        "mailto:unsubscribe@example.com?subject=unsubscribe",
    ],
)
def test_unsubscribe_placeholders_that_are_accepted(value: str) -> None:
    assert options_from_table({"unsubscribe_url": value}).unsubscribe_url == value


@pytest.mark.parametrize(
    "value", ["/unsubscribe", "http://example.com/u", "https://exa mple.com", "data:,x", ""]
)
def test_unsubscribe_urls_that_are_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="unsubscribe_url"):
        options_from_table({"unsubscribe_url": value})


def test_thumbnail_url_allows_only_the_video_id_placeholder() -> None:
    with pytest.raises(ConfigError, match="youtube_id"):
        options_from_table({"thumbnail_url": "https://x.example/{id}.jpg"})
    assert options_from_table({"thumbnail_url": "http://127.0.0.1:8000/t.jpg"})


def test_the_project_settings_are_valid(project_settings: Settings) -> None:
    render(sample_episode(), project_settings)


def test_chapters_without_a_chapters_section_still_show(project_settings: Settings) -> None:
    episode = sample_episode(
        sections=(Section("summary", None, (Paragraph((Span("Hello."),)),)),),
        chapters=(Chapter(0, "Start"), Chapter(75, "Middle")),
    )
    tree = parse(render(episode, project_settings).files["newsletter.html"])
    assert [text_of(h) for h in tags(tree, "h2")] == ["Chapters"]
    assert links(tree)["01:15"] == f"{WATCH}&t=75s"


def test_nested_lists_render(project_settings: Settings) -> None:
    nested = BulletList((ListItem((Span("outer"),), (ListItem((Span("inner"),)),)),))
    episode = sample_episode(sections=(Section("links", "Resources", (nested,)),))
    tree = parse(render(episode, project_settings).files["newsletter.html"])
    assert len(tags(tree, "ul")) == 2


@given(
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
        max_size=400,
    )
)
@hypothesis_settings(max_examples=examples(150), deadline=None)
def test_any_text_survives_the_quoted_printable_body(text: str) -> None:
    """Long lines, trailing spaces, tabs, `=`, emoji: a mail reader decodes what was written."""
    parts = NewsletterParts(html=f"<p>{text}</p>\n", text=text, warnings=[])
    data = built(sample_episode(), Settings(), parts).as_bytes()
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    message = email.message_from_bytes(data, policy=default_policy)
    plain, html = (p.get_content() for p in message.iter_parts())
    assert plain.replace("\r\n", "\n") == text
    assert html.replace("\r\n", "\n") == f"<p>{text}</p>\n"


def _written_by_the_email_package(episode: Episode, settings: Settings, parts: NewsletterParts) -> bytes:
    """The same message built with `EmailMessage` and serialized by the email package."""
    from email.headerregistry import Address
    from email.utils import format_datetime, getaddresses

    from pipeline.formats.newsletter.headers import POLICY
    from pipeline.formats.newsletter.message import message_id

    opts = newsletter_options(settings)
    msg = EmailMessage(policy=POLICY)
    sender = opts.from_address
    if "<" not in sender and settings.show_name:
        sender = str(Address(display_name=settings.show_name, addr_spec=sender))
    for name, value in (("From", sender), ("To", opts.to_address)):
        display, addr = getaddresses([value])[0]
        msg[name] = Address(display_name=display, addr_spec=addr)
    msg["Subject"] = subject_line(episode.title)
    msg["Date"] = format_datetime(episode.date)
    msg["Message-ID"] = message_id(episode, opts.message_id_domain)
    msg["MIME-Version"] = "1.0"
    msg.make_alternative()
    for subtype, text in (("plain", parts.text), ("html", parts.html)):
        part = EmailMessage(policy=POLICY)
        part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
        part["Content-Transfer-Encoding"] = "quoted-printable"
        part.set_payload(quopri.encodestring(text.encode()).decode("ascii"))
        msg.attach(part)
    digest = hashlib.sha256(f"{parts.text}\0{parts.html}".encode()).hexdigest()
    msg.set_boundary(f"==_newsletter_{digest[:40]}")
    return msg.as_bytes()


@hypothesis_settings(max_examples=examples(80), deadline=None)
@given(
    title=st.text(min_size=1, max_size=150),
    show=st.sampled_from(["", "Learning from ML", "Ünïcode Show", 'A "quoted", show']),
    sender=st.sampled_from(["news@example.org", "Seth <seth@example.org>", "Zoë Ø <z@example.org>"]),
)
@example(title="x" * 200, show="Learning from ML", sender="news@example.org")
def test_the_eml_is_what_the_email_package_would_write(title: str, show: str, sender: str) -> None:
    """`message_bytes` writes the MIME itself (speed); the email package is the reference.

    Except for text holding `=?`, which the email package decodes as an encoded word and the
    project keeps as text (tests/test_header_injection.py).
    """
    assume("=?" not in title)
    settings = dataclasses.replace(
        with_newsletter_options(load_settings(PYPROJECT), from_address=sender), show_name=show
    )
    episode = sample_episode(title=title)
    parts = render_parts(episode, settings)
    written = message_bytes(episode, settings, newsletter_options(settings), parts)
    assert written == _written_by_the_email_package(episode, settings, parts)
    # What `invoke send` sends is the same message, parsed and written again (an empty
    # Subject comes back as "Subject: " instead of "Subject:", which means the same).
    sent = built(episode, settings, parts).as_bytes()
    assert sent.replace(b"\r\nSubject: \r\n", b"\r\nSubject:\r\n") == written


def test_the_postal_address_is_in_both_footers(project_settings: Settings) -> None:
    settings = with_newsletter_options(project_settings, postal_address="1 Main Street,\n  Springfield")
    files = render(sample_episode(), settings).files
    assert ">1 Main Street, Springfield</p>" in files["newsletter.html"].decode()
    assert "\n1 Main Street, Springfield\n" in files["newsletter.txt"].decode()
    without = render(sample_episode(), project_settings).files
    assert b"Main Street" not in without["newsletter.txt"]
