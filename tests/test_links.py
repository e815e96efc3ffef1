"""Links in post bodies: redirects unwrapped, trackers removed, visible URLs cleaned, site links kept."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pipeline.formats.post import canonical_markdown
from pipeline.model import Episode, Note, Paragraph
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings
from pipeline.text.links import (
    SUBSTACK_POST,
    absolute_url,
    is_absolute,
    strip_tracking,
    substack_post,
    text_is_url,
    unwrap_redirect,
)

from .conftest import write_post

SITE = "https://splevine.github.io"
BASE = "/learning-from-machine-learning"
SITE_SETTINGS = dataclasses.replace(Settings(), site_url=SITE, baseurl=BASE)
YOUTUBE_REDIRECT = (
    "https://www.youtube.com/redirect?event=video_description&redir_token=QUFF"
    "&q=https%3A%2F%2Fwww.sbert.net%2F&v=jOj4d3JNBDU"
)
TRACKERS = Settings().tracking_params
LFML = "https://lfml.substack.com"
NEWSLETTER = "https://newsletter.example.org"


def normalize(tmp_path: Path, body: str, settings: Settings | None = None) -> tuple[str, Episode]:
    """The post.md body (after the front matter) and the episode of a one-paragraph post."""
    path = write_post(tmp_path, "2024-01-01-t.md", f"---\ntitle: T\ndate: 2024-01-01\n---\n\n{body}\n")
    episode = normalize_file(path, settings or Settings())
    return canonical_markdown(episode).split("\n---\n", 1)[1].strip(), episode


# --- absolute_url -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{BASE}/2023/01/01/x.html", f"{SITE}{BASE}/2023/01/01/x.html"),  # baseurl not doubled
        ("/about/", f"{SITE}/about/"),  # a leading slash is the host root, as a browser reads it
        ("#chapters", "#chapters"),  # the post's own page
        ("?page=2", "?page=2"),
    ],
)
def test_site_links_resolve_as_a_browser_on_the_site_would(url: str, expected: str) -> None:
    assert absolute_url(url, SITE, BASE) == expected
    assert absolute_url(url, SITE + "/", BASE + "/") == expected


def test_paths_without_a_leading_slash_resolve_under_the_baseurl() -> None:
    assert absolute_url("x.html", SITE, BASE) == f"{SITE}{BASE}/x.html"
    assert absolute_url("2023/01/01/x.html?a=1#b", SITE, BASE) == f"{SITE}{BASE}/2023/01/01/x.html?a=1#b"
    assert absolute_url(f"{BASE}/x.html", SITE, BASE) == f"{SITE}{BASE}/x.html"  # not {BASE}{BASE}


@pytest.mark.parametrize("url", ["/x", "/2023/01/01/x.html", "x.html", "#anchor", "?q=1", "a/b c.html"])
def test_without_site_url_site_links_are_kept_as_written(url: str) -> None:
    assert absolute_url(url, "", "") == url
    assert absolute_url(f"  {url} ", "", BASE) == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "/\\evil.example/x",  # a browser reads `/\host` as `//host`
        "\\\\evil.example/x",
        "\x01javascript:alert(1)",  # a browser drops the control character, then sees the scheme
        "java\tscript:alert(1)",
        "http://[oops",
        "",
    ],
)
def test_keeping_relative_links_never_keeps_what_cannot_be_a_link(url: str) -> None:
    assert absolute_url("/kept", "", "") == "/kept"  # relative links stay as written …
    assert absolute_url(url, "", "") is None  # … these never do, with or without site_url
    assert absolute_url(url, SITE, BASE) is None


# --- unwrap_redirect ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (YOUTUBE_REDIRECT, "https://www.sbert.net/"),
        (
            "https://youtube.com/redirect?q=https%3A%2F%2Fexample.org%2Fa%3Fb%3D1%26c%3D2",
            "https://example.org/a?b=1&c=2",
        ),
        ("https://m.youtube.com/redirect?q=https://example.org/", "https://example.org/"),
        ("https://www.google.com/url?sa=t&q=https%3A%2F%2Fexample.org%2Fx&usg=AOv", "https://example.org/x"),
        ("https://www.google.co.uk/url?url=https%3A%2F%2Fexample.org%2F&rct=j", "https://example.org/"),
        ("https://google.de/url?q=https%3A%2F%2Fexample.org%2F", "https://example.org/"),
        (
            "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fp%3Fid%3D3&h=AT0",
            "https://example.org/p?id=3",
        ),
        ("https://t.umblr.com/redirect?z=https%3A%2F%2Fexample.org%2F&t=abc", "https://example.org/"),
        ("https://out.reddit.com/t3_abc?url=https%3A%2F%2Fexample.org%2F&token=x", "https://example.org/"),
        ("https://href.li/?https://example.org/page?x=1#part", "https://example.org/page?x=1#part"),
        ("https://href.li/?https%3A%2F%2Fexample.org%2F", "https://example.org/"),
        ("https://www.youtube.com/redirect?q=javascript:alert(1)", "javascript:alert(1)"),
        ("https://www.youtube.com/redirect?q=https%3A%2F%2Fexample.org%2Fa%20b", "https://example.org/a%20b"),
        (  # a wrapper around a wrapper
            "https://www.google.com/url?q=https%3A%2F%2Fl.facebook.com%2Fl.php"
            "%3Fu%3Dhttps%253A%252F%252Fexample.org%252F",
            "https://example.org/",
        ),
    ],
)
def test_unwrap_redirect_finds_the_real_target(url: str, target: str) -> None:
    assert unwrap_redirect(url) == target


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=jOj4d3JNBDU&q=https://example.org/",
        "https://www.youtube.com/redirect?event=video_description",  # no target
        "https://www.youtube.com/redirect?q=",
        "https://www.google.com/search?q=https://example.org/",
        "https://evil.example/url?q=https://example.org/",
        "https://google.evil.example/url?q=https://example.org/",
        "https://www.facebook.com/l.php?u=https://example.org/",
        "https://href.li/",
        "https://example.org/?u=https://example.org/",
        "/redirect?q=https://example.org/",
        "javascript:alert(1)",
        "http://[oops",
    ],
)
def test_unwrap_redirect_is_none_for_anything_else(url: str) -> None:
    assert unwrap_redirect(url) is None


def test_an_unwrapped_javascript_target_is_not_a_link() -> None:
    target = unwrap_redirect("https://www.youtube.com/redirect?q=javascript:alert(1)")
    assert target is not None and not is_absolute(target)
    hidden = unwrap_redirect("https://www.youtube.com/redirect?q=%01javascript:alert(1)")
    assert hidden == "%01javascript:alert(1)"  # the decoded control character is encoded again


# --- strip_tracking and substack_post -----------------------------------------------------


def test_strip_tracking_removes_the_substack_referral_on_any_domain_when_told() -> None:
    url = "https://newsletter.example.org/p/slug?r=2abc&utm_source=x&keep=1"
    assert strip_tracking(url, TRACKERS) == "https://newsletter.example.org/p/slug?r=2abc&keep=1"
    assert strip_tracking(url, TRACKERS, substack=True) == "https://newsletter.example.org/p/slug?keep=1"
    assert strip_tracking("https://x.substack.com/p/s?r=1", TRACKERS) == "https://x.substack.com/p/s"


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://lfml.substack.com/p/episode-12?r=2abc&utm_medium=web#c", "", f"{LFML}/p/episode-12"),
        ("https://LFML.substack.com/p/episode-12/comments", "Comments", f"{LFML}/p/episode-12"),
        (
            "https://newsletter.example.org/p/episode-12?r=2abc",
            "Available on Substack: https://newsletter.example.org/p/episode-12?r=2abc",
            "https://newsletter.example.org/p/episode-12",
        ),
        (f"{NEWSLETTER}/p/episode-12", "Read on Substack", f"{NEWSLETTER}/p/episode-12"),
        (f"{NEWSLETTER}/p/ep?r=1", "Read more on substack", f"{NEWSLETTER}/p/ep"),
        (f"{NEWSLETTER}/p/ep", "Read more on the blog", None),  # a custom domain needs "Substack"
        ("http://lfml.substack.com/p/episode-12", "Read on Substack", None),  # https only
        ("https://lfml.substack.com/episode-12", "Read on Substack", None),  # no /p/<slug>
        ("https://lfml.substack.com/p/", "Read on Substack", None),
        ("https://substack.com/p/x", "", None),  # substack.com itself has no publication posts
        ("https://user@newsletter.example.org/p/x", "Substack", None),
        ("javascript:alert(1)//substack.com/p/x", "Substack", None),
    ],
)
def test_substack_post(url: str, label: str, expected: str | None) -> None:
    assert substack_post(url, label) == expected


def test_substack_post_pattern_still_matches_for_existing_callers() -> None:
    match = SUBSTACK_POST.match("https://lfml.substack.com/p/episode-12?r=2")
    assert match is not None and match.group(0) == substack_post(match.group(0), "")


# --- text_is_url --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url", "strict", "loose"),
    [
        ("https://youtu.be/X?si=abc", "https://youtu.be/X?si=abc", True, True),
        (" https://youtu.be/X?si=abc ", "https://youtu.be/X?si=abc", True, True),
        ("youtu.be/X?si=abc", "https://youtu.be/X?si=abc", False, True),
        ("https://www.sbert.net", "https://www.sbert.net/", False, True),
        ("www.sbert.net/", "https://www.sbert.net", False, True),
        ("https://de.wikipedia.org/wiki/Ärger", "https://de.wikipedia.org/wiki/%C3%84rger", False, True),
        ("a@example.org", "mailto:a@example.org", False, True),
        ("/about/", "/about/", False, True),  # a site link's text is not rewritten by default
        ("the video", "https://youtu.be/X?si=abc", False, False),
        ("youtu.be", "https://youtu.be/X", False, False),
        ("", "https://youtu.be/X", False, False),
    ],
)
def test_text_is_url(text: str, url: str, strict: bool, loose: bool) -> None:
    assert text_is_url(text, url) is strict
    assert text_is_url(text, url, loose=True) is loose


# --- end to end: post.md and the report ---------------------------------------------------


def test_a_link_showing_its_own_url_shows_the_clean_url(tmp_path: Path) -> None:
    body, episode = normalize(tmp_path, "Watch [https://youtu.be/X?si=abc](https://youtu.be/X?si=abc) now.")
    assert body == "Watch <https://youtu.be/X> now."
    assert "si=" not in canonical_markdown(episode)
    assert Note("tracking-parameters", "https://youtu.be/X?si=abc") in episode.notes


def test_autolinks_and_html_links_show_the_clean_url(tmp_path: Path) -> None:
    body, episode = normalize(
        tmp_path,
        '<https://youtu.be/X?si=abc>, <a href="https://youtu.be/Y?si=d">https://youtu.be/Y?si=d</a>,'
        " [the talk](https://youtu.be/Z?si=e) and [youtu.be/W?si=f](https://youtu.be/W?si=f).",
    )
    # A text that is not the exact URL stays as written (only its target is cleaned): the lossless
    # check accounts for a changed text only when the report names that very text.
    assert body == (
        "<https://youtu.be/X>, <https://youtu.be/Y>, [the talk](https://youtu.be/Z)"
        " and [youtu.be/W?si=f](https://youtu.be/W)."
    )
    tracked = {n.message for n in episode.notes if n.kind == "tracking-parameters"}
    assert tracked == {f"https://youtu.be/{v}" for v in ("X?si=abc", "Y?si=d", "Z?si=e", "W?si=f")}


def test_a_youtube_redirect_becomes_its_target(tmp_path: Path) -> None:
    body, episode = normalize(
        tmp_path, f"Docs: [{YOUTUBE_REDIRECT}]({YOUTUBE_REDIRECT}) and [SBERT]({YOUTUBE_REDIRECT})."
    )
    assert body == "Docs: <https://www.sbert.net/> and [SBERT](https://www.sbert.net/)."
    assert Note("redirect", YOUTUBE_REDIRECT) in episode.notes
    assert not [n for n in episode.notes if n.kind == "redirect" and n.message != YOUTUBE_REDIRECT]


def test_a_redirect_to_a_tracked_url_loses_both(tmp_path: Path) -> None:
    wrapped = "https://www.google.com/url?q=https%3A%2F%2Fexample.org%2Fa%3Futm_source%3Dx%26id%3D1&sa=D"
    body, episode = normalize(tmp_path, f"See [this]({wrapped}).")
    assert body == "See [this](https://example.org/a?id=1)."
    assert Note("redirect", wrapped) in episode.notes
    assert Note("tracking-parameters", wrapped) in episode.notes


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/redirect?event=video_description&q=javascript:alert(1)",
        "https://www.youtube.com/redirect?q=javascript%3Aalert(1)",
        "https://www.youtube.com/redirect?q=%2Fpath%2Fon%2Fyoutube",
    ],
)
def test_a_redirect_to_something_that_is_no_link_keeps_only_the_text(tmp_path: Path, url: str) -> None:
    body, episode = normalize(tmp_path, f"Click [here]({url}) please.")
    assert body == "Click here please."
    assert Note("dropped", url) in episode.notes
    assert not [n for n in episode.notes if n.kind == "redirect"]


def test_a_dropped_link_reports_its_whole_target(tmp_path: Path) -> None:
    target = "javascript:alert('" + "x" * 120 + "')"
    body, episode = normalize(tmp_path, f"Click [here]({target}) please.")
    assert body == "Click here please."
    assert Note("dropped", target) in episode.notes
    assert not [n for n in episode.notes if n.kind == "changed"]


def test_tracking_notes_name_the_whole_original_url(tmp_path: Path) -> None:
    url = "https://example.org/a?utm_source=newsletter&utm_medium=email&id=" + "9" * 100
    body, episode = normalize(tmp_path, f"Read [it]({url}).")
    assert body == "Read [it](https://example.org/a?id=" + "9" * 100 + ")."
    assert [n for n in episode.notes if n.kind == "tracking-parameters"] == [Note("tracking-parameters", url)]


def test_site_links_without_site_url_stay_as_written(tmp_path: Path) -> None:
    body, episode = normalize(
        tmp_path,
        f"Earlier: [episode 3]({BASE}/2023/05/01/ep3.html), [about](about.html) and [chapters](#chapters).",
    )
    assert body == (
        f"Earlier: [episode 3]({BASE}/2023/05/01/ep3.html), [about](about.html) and [chapters](#chapters)."
    )
    assert not [n for n in episode.notes if n.kind in ("dropped", "changed")]


def _link_targets(episode: Episode) -> list[str]:
    """Every link target of the episode's blocks, in order: what every output links to."""
    spans = [s for b in episode.summary if isinstance(b, Paragraph) for s in b.spans]
    return [s.url for s in spans if s.url is not None]


def test_site_links_with_baseurl_are_not_doubled(tmp_path: Path) -> None:
    text = f"Earlier: [episode 3]({BASE}/2023/05/01/ep3.html) and [about](about.html)."
    resolved = [f"{SITE}{BASE}/2023/05/01/ep3.html", f"{SITE}{BASE}/about.html"]
    _, episode = normalize(tmp_path, text, SITE_SETTINGS)
    assert _link_targets(episode) == resolved
    assert not [n for n in episode.notes if n.kind in ("dropped", "changed")]


def test_a_site_link_with_trackers_is_cleaned_and_kept_relative(tmp_path: Path) -> None:
    body, episode = normalize(tmp_path, "See [the list](/tags/?utm_source=x&tag=ml).")
    assert body == "See [the list](/tags/?tag=ml)."
    assert Note("tracking-parameters", "/tags/?utm_source=x&tag=ml") in episode.notes


def test_cleaned_post_normalizes_to_the_same_bytes(tmp_path: Path) -> None:
    first, _ = normalize(
        tmp_path,
        "A [https://youtu.be/X?si=abc](https://youtu.be/X?si=abc),"
        f" [SBERT]({YOUTUBE_REDIRECT}), [x](/x.html).",
    )
    again, episode = normalize(tmp_path, first)
    assert again == first == "A <https://youtu.be/X>, [SBERT](https://www.sbert.net/), [x](/x.html)."
    assert not [n for n in episode.notes if n.kind in ("redirect", "tracking-parameters", "dropped")]


def test_a_disguised_script_link_is_dropped_as_one_and_the_post_still_builds(tmp_path: Path) -> None:
    """Before: pandoc escaped the space and the tab (`%20JaVaScRiPt:…`, `java%09script:…`), the
    target passed as a relative link, and the lossless check, reading it as a browser does, failed
    the post on every build."""
    body = (
        "A paragraph with enough words in it for the check to read.\n\n"
        '<p>See <a href=" JaVaScRiPt:alert(1)">this link</a> and '
        '<a href="java&#x09;script:alert(2)">that one</a> today.</p>\n'
    )
    post = write_post(tmp_path, "2025-01-01-t.md", "---\ntitle: T\ndate: 2025-01-01\n---\n" + body)
    episode = normalize_file(post, Settings())
    assert [(n.kind, n.message) for n in episode.notes] == [
        ("dropped", "JaVaScRiPt:alert(1)"),
        ("dropped", "javascript:alert(2)"),
    ]
    assert "script" not in canonical_markdown(episode).split("---\n", 2)[2]
