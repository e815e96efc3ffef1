"""`episode import`: the podcast feed's episodes as clean posts, safely and again and again.

The feeds in `tests/fixtures/feeds/` are made from the corpus: each podcast item carries the
HTML description the site's own importer pasted into the post, the YouTube and Substack feeds
the ids its maintainer gave the cleaned posts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
import re
import shutil
from email.utils import format_datetime
from pathlib import Path

import pytest

from pipeline.errors import PipelineError
from pipeline.importer.feeds import Article, Episode, Video, episode_number, podcast_feed
from pipeline.importer.fetch import FeedError
from pipeline.importer.matching import match_episodes
from pipeline.importer.options import import_options
from pipeline.importer.run import ImportSummary, run_import
from pipeline.normalize.stages import normalize_file
from pipeline.settings.site import locate
from tests.conftest import CORPUS, EPISODE, FIXTURES, ROOT, run_episode
from tests.feed_server import feed_server
from tests.terminal import PseudoTerminal

FEEDS = FIXTURES / "feeds"
SETTINGS = """[import]
podcast_feed = "feeds/podcast.xml"
youtube_feed = "feeds/youtube.xml"
substack_feed = "feeds/substack.xml"
"""
LUKAS = (
    "2025-07-01-lukas-biewald-you-think-youre-late-but-youre-early-learning-from-machine-learning-13.markdown"
)


def make_site(root: Path, settings: str = SETTINGS, posts: bool = True) -> Path:
    """A Jekyll site as the podcast's is today: its `_config.yml`, its two clean 2023 posts."""
    site = root / "site"
    (site / "_posts").mkdir(parents=True)
    shutil.copy(CORPUS / "site-today" / "_config.yml", site / "_config.yml")
    if posts:
        for post in (CORPUS / "site-today").glob("*.markdown"):
            shutil.copy(post, site / "_posts" / post.name)
    shutil.copytree(FEEDS, site / "feeds")
    (site / "episode.toml").write_text(settings)
    return site


def do_import(site: Path, **options: object) -> tuple[ImportSummary, list[str]]:
    lines: list[str] = []
    with contextlib.chdir(site):  # paths are shown relative to the folder a command runs in
        place = locate(None, None, None, cwd=site, env={})
        summary = run_import(place.site or site, place.out, place.settings, say=lines.append, **options)  # type: ignore[arg-type]
    return summary, lines


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and modification time (ns)."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def rss(*items: dict[str, str], extra_ns: str = "") -> bytes:
    """A podcast feed of `items` (title, guid, date as ISO, description HTML, episode, link)."""
    parts = []
    for item in items:
        when = format_datetime(dt.datetime.fromisoformat(item.get("date", "2025-08-01T10:00:00+00:00")))
        parts.append(
            f"<item><title>{html.escape(item['title'])}</title>"
            f'<guid isPermaLink="false">{item["guid"]}</guid><pubDate>{when}</pubDate>'
            + (f"<itunes:episode>{item['episode']}</itunes:episode>" if "episode" in item else "")
            + (f"<link>{item['link']}</link>" if "link" in item else "")
            + f"<description><![CDATA[{item.get('description', '<p>About the episode.</p>')}]]></description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        f'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"{extra_ns}><channel><title>Show</title>'
        + "".join(parts)
        + "</channel></rss>\n"
    ).encode()


# --- a first import -----------------------------------------------------------------------------


def test_a_first_import_writes_one_clean_post_per_new_episode(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    summary, lines = do_import(site)
    assert summary.ok and summary.counts["new"] == 5 and summary.counts["adopted"] == 0
    posts = sorted(p.name for p in (site / "_posts").iterdir())
    assert len(posts) == 7 and LUKAS in posts
    text = (site / "_posts" / LUKAS).read_text()
    front, body = text.split("---\n")[1], text.split("---\n", 2)[2]
    # The key order of the site's most recent post, then the import's own keys.
    keys = [line.split(":")[0] for line in front.splitlines()]
    assert keys == [
        "categories",
        "date",
        "layout",
        "title",
        "youtubeID",
        "substack_url",
        "podcast_guid",
        "duration",
    ]
    assert "date: 2025-07-01 12:18:10 +0000\n" in front and "youtubeID: rrn3GCKOu-U\n" in front
    assert (
        "substack_url: https://mindfulmachines.substack.com/p/lukas-biewald-you-think-youre-late\n" in front
    )
    assert "podcast_guid: e7a1c0de-0000-4000-8000-000000000013\n" in front and "duration: 3723\n" in front
    # The summary once, as Markdown; no HTML left, no player.
    assert body.count("On this episode of Learning from Machine Learning") == 1
    assert "<p>" not in body and "<iframe" not in body
    assert all(
        f"write: _posts/{name}" in lines for name in posts if name.startswith("202") and "2023-0" not in name
    )


def test_what_an_imported_post_leaves_out_is_listed_beside_it(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    name = "2024-01-11-michelle-gill-ai-assisted-drug-discovery-nvidia-biofoundation-models-creating-applied-research-teams-learning-from-machine-learning-8.markdown"
    report = (site / "_out" / "import" / f"{name}.report.txt").read_text()
    assert "player: <iframe> https://www.youtube.com/embed/ZOBKLKzI3xY" in report
    assert "https://podcasts.apple.com/us/podcast/learning-from-machine-learning/id1663925230" in report
    assert "youtube.com/embed" not in (site / "_posts" / name).read_text()


def test_building_an_imported_post_finds_nothing_to_clean(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    place = locate(str(site), None, None, cwd=site, env={})
    for path in sorted((site / "_posts").glob("202[45]-*")):
        episode = normalize_file(path, place.settings)
        assert episode.notes == (), (path.name, episode.notes)


def test_running_it_again_with_the_same_feeds_writes_nothing(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    before = snapshot(site)
    summary, lines = do_import(site)
    assert summary.counts["unchanged"] == 5 and summary.counts["new"] == 0 and lines == []
    assert snapshot(site) == before  # no byte, no modification time


def test_a_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    before = snapshot(site)
    summary, lines = do_import(site, dry_run=True)
    assert summary.counts["new"] == 5 and summary.line().startswith("would import: 5 new")
    assert all(line.startswith("would write: _posts/") for line in lines)
    assert snapshot(site) == before


def test_since_imports_only_the_episodes_published_from_that_date(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    summary, lines = do_import(site, since=dt.date(2025, 5, 28))
    assert summary.counts["new"] == 2
    assert {line.split("_posts/")[1][:10] for line in lines} == {"2025-05-28", "2025-07-01"}


# --- again and again ----------------------------------------------------------------------------


def _change_feed(site: Path, old: str, new: str) -> None:
    feed = site / "feeds" / "podcast.xml"
    text = feed.read_text()
    assert old in text
    feed.write_text(text.replace(old, new))


def test_a_post_as_the_import_wrote_it_follows_its_episode(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    _change_feed(site, "Lukas's philosophy on", "Lukas's way of thinking about")
    summary, lines = do_import(site)
    assert summary.counts["updated"] == 1 and summary.counts["unchanged"] == 4
    assert lines == [f"update: _posts/{LUKAS}: body"]
    assert "Lukas's way of thinking about" in (site / "_posts" / LUKAS).read_text()
    again, _ = do_import(site)
    assert again.counts["unchanged"] == 5


def test_a_post_edited_by_hand_is_never_rewritten(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    post = site / "_posts" / LUKAS
    edited = post.read_text().replace("## Chapters", "## Episode Timestamps")
    post.write_text(edited)
    _change_feed(site, "Lukas's philosophy on", "Lukas's way of thinking about")
    summary, lines = do_import(site)
    assert post.read_text() == edited
    proposal = site / "_out" / "import" / LUKAS
    assert lines == [f"kept: _posts/{LUKAS}: edited by hand; the import's version is in _out/import/{LUKAS}"]
    assert "Lukas's way of thinking about" in proposal.read_text()
    assert summary.counts["kept"] == 1 and summary.ok


def test_an_episode_gone_from_the_feed_never_deletes_its_post(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    feed = site / "feeds" / "podcast.xml"
    text = feed.read_text()
    start = text.index("<item>")
    feed.write_text(text[:start] + text[text.index("</item>") + len("</item>") :])  # the newest item
    summary, _ = do_import(site)
    assert (site / "_posts" / LUKAS).is_file() and summary.counts["unchanged"] == 4


# --- posts the import did not write -------------------------------------------------------------


def test_posts_already_in_the_site_are_adopted_not_rewritten(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    for post in (CORPUS / "cleaned").glob("*.markdown"):  # the maintainer's hand-cleaned posts
        shutil.copy(post, site / "_posts" / post.name)
    before = {p.name: p.read_bytes() for p in (site / "_posts").iterdir()}
    summary, lines = do_import(site)
    assert summary.counts["adopted"] == 5 and summary.counts["new"] == 0, lines
    assert {p.name: p.read_bytes() for p in (site / "_posts").iterdir()} == before
    assert any("(by youtubeID)" in line for line in lines)
    # Without its memory the import adopts the same posts again: never a duplicate.
    shutil.rmtree(site / ".episode")
    again, _ = do_import(site)
    assert again.counts["adopted"] == 5 and len(list((site / "_posts").iterdir())) == 7


def test_a_missing_substack_url_is_added_without_changing_another_byte(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    cleaned = CORPUS / "cleaned" / LUKAS
    original = cleaned.read_text()
    line = "substack_url: https://mindfulmachines.substack.com/p/lukas-biewald-you-think-youre-late\n"
    (site / "_posts" / LUKAS).write_text(original.replace(line, ""))
    _, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert f"add substack_url to _posts/{LUKAS}" in lines
    text = (site / "_posts" / LUKAS).read_text()
    assert text == original.replace(line, "").replace("\n---\n", "\n" + line + "---\n", 1)


def test_no_add_keys_leaves_a_post_it_does_not_own_alone(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    line = "substack_url: https://mindfulmachines.substack.com/p/lukas-biewald-you-think-youre-late\n"
    text = (CORPUS / "cleaned" / LUKAS).read_text().replace(line, "")
    (site / "_posts" / LUKAS).write_text(text)
    do_import(site, since=dt.date(2025, 7, 1), add_missing_keys=False)
    assert (site / "_posts" / LUKAS).read_text() == text


def test_a_file_of_the_same_name_is_never_overwritten(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    other = "---\ntitle: Something else entirely\ndate: 2019-01-01\n---\nMine.\n"
    (site / "_posts" / LUKAS).write_text(other)
    summary, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert not summary.ok and summary.counts["failed"] == 1
    assert (site / "_posts" / LUKAS).read_text() == other
    assert lines[-1].endswith(f"_posts/{LUKAS} exists and is another post: not overwritten")


def test_drafts_go_to_jekylls_drafts_folder_without_a_date_in_the_name(tmp_path: Path) -> None:
    site = make_site(tmp_path, SETTINGS + "drafts = true\n")
    do_import(site, since=dt.date(2025, 7, 1))
    assert (site / "_drafts" / LUKAS[len("2025-07-01-") :]).is_file()


# --- the podcast feed: one line and nothing written when it fails ------------------------------


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        (b"", "is empty"),
        ((FEEDS / "podcast.xml").read_bytes()[:5000], "not well-formed XML .* cut off, or not a feed"),
        (b"<html><body>Not found</body></html>", "not an RSS or Atom feed"),
        (
            '<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"/>'.encode("utf-16-le"),
            "declares a DTD or entities",
        ),
        (
            b'<?xml version="1.0" encoding="cp037"?>'.decode().encode("cp037")
            + "<!DOCTYPE x><rss/>".encode("cp037"),
            "declares a DTD or entities",
        ),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>', "no items"),
        (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss version="2.0"><channel>'
            b"<item><title>&a;</title><guid>1</guid></item></channel></rss>",
            "declares a DTD or entities",
        ),
    ],
)
def test_a_podcast_feed_that_cannot_be_read_writes_nothing(tmp_path: Path, feed: bytes, message: str) -> None:
    site = make_site(tmp_path)
    (site / "feeds" / "podcast.xml").write_bytes(feed)
    before = snapshot(site)
    with pytest.raises(PipelineError, match=message):
        do_import(site)
    assert snapshot(site) == before


def test_a_failing_podcast_feed_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with feed_server() as server:
        site = make_site(tmp_path, SETTINGS.replace('"feeds/podcast.xml"', f'"{server.url("/gone.xml")}"'))
        before = snapshot(site)
        done = run_episode(site, "import")
    assert done.returncode == 1
    assert (
        done.stdout.splitlines()[-1]
        == f"error: podcast_feed: {server.url('/gone.xml')}: the server answered 404 Not Found"
    )
    assert snapshot(site) == before


def test_a_failing_youtube_feed_is_a_warning_and_the_import_goes_on(tmp_path: Path) -> None:
    site = make_site(tmp_path, SETTINGS.replace("feeds/youtube.xml", "feeds/missing.xml"))
    summary, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert summary.ok and summary.counts["new"] == 1
    assert lines[0] == "feeds/missing.xml: warning: youtube_feed: no such file (imported without it)"


# --- over HTTP ----------------------------------------------------------------------------------


def test_an_unchanged_feed_costs_one_conditional_request(tmp_path: Path) -> None:
    with feed_server() as server:
        server.feeds["/podcast.xml"] = (FEEDS / "podcast.xml").read_bytes()
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/podcast.xml")}"\n')
        first, _ = do_import(site)
        before = snapshot(site)
        second, _ = do_import(site)
    assert first.counts["new"] == 5 and second.counts["unchanged"] == 5
    asked = server.asked("/podcast.xml")
    assert len(asked) == 2 and "if-none-match" not in asked[0].headers
    assert asked[1].headers["if-none-match"].startswith('"') and asked[1].headers["if-modified-since"]
    assert snapshot(site) == before


def _redirect(to: str):  # type: ignore[no-untyped-def]
    def answer(handler) -> None:  # type: ignore[no-untyped-def]
        handler.send_response(302)
        handler.send_header("Location", to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def test_redirects_are_followed_a_few_times_and_never_to_another_scheme(tmp_path: Path) -> None:
    with feed_server() as server:
        server.feeds["/podcast.xml"] = (FEEDS / "podcast.xml").read_bytes()
        server.special["/moved"] = _redirect(server.url("/podcast.xml"))
        server.special["/file"] = _redirect("file:///etc/passwd")
        server.special["/loop"] = _redirect(server.url("/loop"))
        site = make_site(tmp_path, "")
        for path, outcome in (("/moved", None), ("/file", "refused"), ("/loop", "redirects")):
            (site / "episode.toml").write_text(f'[import]\npodcast_feed = "{server.url(path)}"\n')
            if outcome is None:
                assert do_import(site, dry_run=True)[0].counts["new"] == 5
            else:
                with pytest.raises(FeedError, match=outcome):
                    do_import(site, dry_run=True)
    assert len(server.asked("/loop")) <= 6


def test_a_feed_over_the_size_limit_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.importer import fetch

    monkeypatch.setattr(fetch, "MAX_FEED_BYTES", 1000)

    def endless(handler) -> None:  # type: ignore[no-untyped-def]
        handler.send_response(200)
        handler.end_headers()  # no Content-Length: the body ends when the server closes
        handler.wfile.write(b"<rss>" + b" " * 5000)

    with feed_server() as server:
        server.special["/big"] = endless
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/big")}"\n')
        with pytest.raises(FeedError, match="feeds are at most"):
            do_import(site)


# --- matching -----------------------------------------------------------------------------------


def _episode(
    title: str, when: str = "2025-08-01T10:00:00+00:00", description: str = "", **more: object
) -> Episode:
    return Episode(
        guid=title, title=title, published=dt.datetime.fromisoformat(when), description=description, **more
    )  # type: ignore[arg-type]


def _video(video_id: str, title: str, when: str = "2025-08-01T12:00:00+00:00", short: bool = False) -> Video:
    return Video(video_id, title, dt.datetime.fromisoformat(when), "", short)


def test_a_player_or_timestamp_link_in_the_description_names_the_video() -> None:
    player = _episode("A", description='<iframe src="https://www.youtube.com/embed/AAAAAAAAAAA"></iframe>')
    stamps = _episode("B", description='<p><a href="https://youtu.be/BBBBBBBBBBB?t=95">1:35</a> Intro</p>')
    reference = _episode(
        "C", description='<p><a href="https://www.youtube.com/watch?v=CCCCCCCCCCC">a talk</a></p>'
    )
    matches = match_episodes([player, stamps, reference], [], [])
    assert matches["A"].video == "AAAAAAAAAAA" and matches["A"].video_rule == "linked"
    assert matches["B"].video == "BBBBBBBBBBB"
    assert matches["C"].video is None  # a reference to another video is not the episode's


def test_episode_numbers_match_when_exactly_one_video_has_it() -> None:
    ep = _episode("Guest | Show #12", number=12)
    videos = [
        _video("AAAAAAAAAAA", "Guest talks | Show #12", "2025-01-01T00:00:00+00:00"),
        _video("BBBBBBBBBBB", "#13"),
    ]
    assert match_episodes([ep], videos, [])[ep.guid].video == "AAAAAAAAAAA"
    twice = [*videos, _video("CCCCCCCCCCC", "Clip of #12")]
    assert match_episodes([ep], twice, [])[ep.guid].video is None


def test_a_close_title_within_three_days_matches_when_clearly_ahead() -> None:
    ep = _episode("Maxime Labonne: Thinking beyond Transformers")
    near = _video("AAAAAAAAAAA", "Maxime Labonne - Thinking Beyond Transformers", "2025-08-02T10:00:00+00:00")
    late = _video("BBBBBBBBBBB", "Maxime Labonne: Thinking beyond Transformers", "2025-08-09T10:00:00+00:00")
    assert match_episodes([ep], [near, late], [])[ep.guid].video == "AAAAAAAAAAA"
    rival = _video("CCCCCCCCCCC", "Maxime Labonne: Thinking beyond Transformer", "2025-08-01T11:00:00+00:00")
    assert match_episodes([ep], [near, rival], [])[ep.guid].video is None  # no clear lead


def test_shorts_are_never_an_episodes_video() -> None:
    ep = _episode(
        "Guest | Show #12", number=12, description='<iframe src="https://www.youtube.com/embed/SSSSSSSSSSS">'
    )
    shorts = [_video("SSSSSSSSSSS", "Guest | Show #12 #shorts", short=True)]
    assert match_episodes([ep], shorts, [])[ep.guid].video is None


def test_a_draft_substack_link_stands_for_the_published_post_of_the_same_title() -> None:
    draft = "https://show.substack.com/p/0f8fad5b-d9cb-469f-a165-70867728950e"
    ep = _episode("Guest: Ideas", description=f'<p><a href="{draft}">Read on Substack</a></p>')
    articles = [Article("https://show.substack.com/p/guest-ideas", "Guest: Ideas", None)]
    assert match_episodes([ep], [], articles)[ep.guid].substack == "https://show.substack.com/p/guest-ideas"


def test_episode_numbers_are_read_from_titles_and_both_podcast_namespaces() -> None:
    assert episode_number("Lukas Biewald | Learning from Machine Learning #13") == 13
    assert episode_number("Episode 7: a guest") == 7 and episode_number("No number") is None
    old_uri = ' xmlns:podcast="https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"'
    feed = rss({"title": "A guest", "guid": "g"}, extra_ns=old_uri).replace(
        b"</guid>", b"</guid><podcast:episode>41</podcast:episode>"
    )
    assert podcast_feed(feed).items[0].number == 41


# --- hostile feeds ------------------------------------------------------------------------------


def test_scripts_players_handlers_and_dangerous_urls_never_reach_a_post(tmp_path: Path) -> None:
    hostile = (
        '<p onclick="steal()">Hello <script>alert(1)</script>world, '
        '<a href="javascript:alert(1)">click</a> and <a href="data:text/html,x">data</a>.</p>'
        '<iframe src="https://evil.example/player"></iframe><p><img src="x" onerror="alert(2)"></p>'
        "<p>The guest explains why sparse models matter for the edge, and what comes next for them.</p>"
    )
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/hostile.xml"\n')
    (site / "feeds" / "hostile.xml").write_bytes(
        rss({"title": "A guest", "guid": "h1", "description": hostile})
    )
    summary, _ = do_import(site)
    assert summary.counts["new"] == 1
    text = next((site / "_posts").glob("2025-08-01-*")).read_text()
    for bad in (
        "<script",
        "alert",
        "onclick",
        "javascript:",
        "data:text",
        "<iframe",
        "onerror",
        "evil.example",
    ):
        assert bad not in text, bad
    assert "sparse models matter" in text
    report = next((site / "_out" / "import").glob("2025-08-01-*.report.txt")).read_text()
    assert "evil.example/player" in report


def test_text_that_looks_like_liquid_is_shown_not_run(tmp_path: Path) -> None:
    description = "<p>We wrote {{ page.title }} and {% include x %} in a template, on air, for fun.</p>"
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/liquid.xml"\n')
    (site / "feeds" / "liquid.xml").write_bytes(
        rss({"title": "Templates", "guid": "l1", "description": description})
    )
    do_import(site)
    post = next((site / "_posts").glob("2025-08-01-*"))
    body = post.read_text().split("---\n", 2)[2]
    # Each `{{` and `{%` written as a Liquid string: Jekyll shows them, whatever Markdown does around.
    assert 'We wrote {{ "{{" }} page.title }} and {{ "{%" }} include x %} in a template' in body
    place = locate(str(site), None, None, cwd=site, env={})
    episode = normalize_file(post, place.settings)
    assert episode.notes == ()  # the reader knows raw: no Liquid warning, nothing resolved
    assert "{{ page.title }}" in "".join(str(b) for s in episode.sections for b in s.blocks)


# --- settings and the command line --------------------------------------------------------------


def test_import_without_a_podcast_feed_names_the_table(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\nyoutube_feed = "feeds/youtube.xml"\n')
    done = run_episode(site, "import")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == (
        "episode.toml: error: [import]: podcast_feed: required (the podcast's RSS feed: a URL or a file)"
    )


def test_a_wrong_import_setting_is_one_line_naming_the_table(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "ftp://x/feed"\nyoutube_channel_id = "nope"\n')
    done = run_episode(site, "import")
    assert done.returncode == 1
    last = done.stdout.splitlines()[-1]
    assert last.startswith("episode.toml: error: [import]: podcast_feed: expected an http:// or https:// URL")
    assert "youtube_channel_id: expected a YouTube channel id" in last


def test_the_command_imports_and_says_so(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    done = run_episode(site / "_posts", "import", "--since", "2025-07-01")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        "settings: ../_config.yml, ../episode.toml",
        f"write: {LUKAS}",
        "imported: 1 new, 0 updated, 0 unchanged, 0 adopted, 0 kept, 0 unmatched, 0 failed",
    ]
    bad = run_episode(site, "import", "--since", "July")
    assert bad.returncode == 1 and bad.stdout.strip() == "error: --since: 'July' is not a date (YYYY-MM-DD)"
    outside = run_episode(tmp_path, "import")
    assert outside.returncode == 1
    assert (
        outside.stdout.strip()
        == "error: import: run it in a Jekyll site (a folder with _config.yml and _posts/)"
    )
    assert not (tmp_path / "_posts").exists() and os.listdir(tmp_path) == ["site"]


# --- what a review found ------------------------------------------------------------------------


def test_an_update_keeps_the_ids_a_feed_that_failed_cannot_give(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site, since=dt.date(2025, 7, 1))
    (site / "feeds" / "youtube.xml").unlink()  # the channel's feed fails, or has moved on
    _change_feed(site, "Lukas's philosophy on", "Lukas's way of thinking about")
    _, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert lines[-1] == f"update: _posts/{LUKAS}: body"
    assert "youtubeID: rrn3GCKOu-U\n" in (site / "_posts" / LUKAS).read_text()


def test_a_second_item_with_the_same_guid_is_refused_not_written_over_the_first(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/twice.xml"\n')
    first = {"title": "First guest", "guid": "same", "date": "2025-08-01T10:00:00+00:00"}
    second = {"title": "Second guest", "guid": "same", "date": "2025-08-08T10:00:00+00:00"}
    (site / "feeds" / "twice.xml").write_bytes(rss(first, second))
    summary, lines = do_import(site)
    assert summary.counts["new"] == 1 and summary.counts["failed"] == 1
    assert "error: podcast_feed: 'Second guest' has the guid of 'First guest' (same): not imported" in lines
    assert "First guest" in (site / "_posts" / "2025-08-01-first-guest.markdown").read_text()


def test_an_item_without_a_date_is_one_line_and_the_others_are_imported(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/nodate.xml"\n')
    feed = rss({"title": "Dated", "guid": "a"}, {"title": "Undated", "guid": "b"})
    feed = feed.replace(
        b"<pubDate>Fri, 01 Aug 2025 10:00:00 +0000</pubDate></item><item><title>Undated",
        b"</item><item><title>Undated",
        1,
    )
    feed = feed.replace(
        b'<guid isPermaLink="false">b</guid><pubDate>Fri, 01 Aug 2025 10:00:00 +0000</pubDate>',
        b'<guid isPermaLink="false">b</guid>',
    )
    (site / "feeds" / "nodate.xml").write_bytes(feed)
    summary, lines = do_import(site)
    assert summary.counts["new"] == 1 and not summary.ok
    assert (
        "error: podcast_feed: 'Undated' has no publication date (pubDate) that can be read: not imported"
        in lines
    )


def test_a_post_that_belongs_to_another_episode_is_never_adopted(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/parts.xml"\n')
    one = {"title": "Ann Lee on retrieval, part 1", "guid": "p1", "link": "https://show.example/ep/1"}
    (site / "feeds" / "parts.xml").write_bytes(rss(one))
    do_import(site)
    two = {"title": "Ann Lee on retrieval, part 2", "guid": "p2", "link": "https://show.example/ep/12"}
    (site / "feeds" / "parts.xml").write_bytes(rss(one, two))
    summary, lines = do_import(site)
    assert summary.counts["new"] == 1 and summary.counts["adopted"] == 0, lines
    assert len(list((site / "_posts").glob("2025-08-01-ann-lee-on-retrieval-part-*"))) == 2


def test_a_link_in_a_body_adopts_only_when_it_is_the_episodes_own(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/one.xml"\n')
    other = "---\ntitle: Episode twelve\ndate: 2025-08-01\n---\nListen: https://show.example/ep/12\n"
    (site / "_posts" / "2025-08-01-episode-twelve.md").write_text(other)
    item = {"title": "Episode one", "guid": "e1", "link": "https://show.example/ep/1"}
    (site / "feeds" / "one.xml").write_bytes(rss(item))
    summary, _ = do_import(site)
    assert summary.counts["new"] == 1 and summary.counts["adopted"] == 0
    (site / "_posts" / "2025-08-01-episode-twelve.md").write_text(other.replace("ep/12", "ep/1."))
    shutil.rmtree(site / ".episode")
    (site / "_posts" / "2025-08-01-episode-one.markdown").unlink()
    summary, lines = do_import(site)
    assert summary.counts["adopted"] == 1 and lines[0].endswith("(by a link to the episode in its body)")


def test_a_guests_substack_essay_is_not_the_episodes_post(tmp_path: Path) -> None:
    essay = '<p>Ann wrote <a href="https://annwrites.substack.com/p/why-rag-fails">why RAG fails</a>.</p>'
    ep = _episode("Ann Lee: retrieval", description=essay)
    own = [Article("https://show.substack.com/p/ann-lee-retrieval", "Ann Lee: retrieval", ep.published)]
    assert match_episodes([ep], [], own)[ep.guid].substack == "https://show.substack.com/p/ann-lee-retrieval"
    assert match_episodes([ep], [], [])[ep.guid].substack is None


def test_an_id_is_added_once_and_a_post_holding_another_episode_is_left_alone(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    line = "substack_url: https://mindfulmachines.substack.com/p/lukas-biewald-you-think-youre-late\n"
    text = (CORPUS / "cleaned" / LUKAS).read_text().replace(line, "")
    (site / "_posts" / LUKAS).write_text(text)
    do_import(site, since=dt.date(2025, 7, 1))
    (site / "_posts" / LUKAS).write_text(text)  # the user takes the added key out again
    _, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert (site / "_posts" / LUKAS).read_text() == text and not any(x.startswith("add ") for x in lines)
    other = "---\ntitle: Not Lukas\ndate: 2025-07-01\npodcast_guid: somebody-else\n---\nBody.\n"
    (site / "_posts" / LUKAS).write_text(other)
    summary, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert (site / "_posts" / LUKAS).read_text() == other and summary.counts["failed"] == 1
    assert "now holds the episode somebody-else: left alone" in lines[-1]


def test_odd_numbers_in_a_feed_are_no_crash() -> None:
    feed = rss({"title": "A guest", "guid": "g", "episode": "²"}).replace(
        b"</guid>", b"</guid><itunes:duration>" + b"9" * 5000 + b"</itunes:duration>"
    )
    [item] = podcast_feed(feed).items
    assert item.number is None and item.duration == "9" * 5000


def test_a_post_that_is_not_utf8_fails_its_episode_and_the_rest_is_remembered(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    (site / "_posts" / LUKAS).write_bytes(b"---\ntitle: caf\xe9\n---\n")
    state = (site / ".episode" / "import" / "posts.json").read_bytes()
    summary, lines = do_import(site)
    assert summary.counts["failed"] == 1 and summary.counts["unchanged"] == 4
    assert "not UTF-8" in lines[-1] or "UTF-8" in " ".join(lines)
    assert (site / ".episode" / "import" / "posts.json").read_bytes() == state


def test_an_added_key_keeps_the_posts_crlf_line_endings(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    line = "substack_url: https://mindfulmachines.substack.com/p/lukas-biewald-you-think-youre-late\n"
    text = (CORPUS / "cleaned" / LUKAS).read_text().replace(line, "")
    (site / "_posts" / LUKAS).write_bytes(text.replace("\n", "\r\n").encode())
    do_import(site, since=dt.date(2025, 7, 1))
    data = (site / "_posts" / LUKAS).read_bytes()
    assert data == text.replace("\n---\n", "\n" + line + "---\n", 1).replace("\n", "\r\n").encode()


def test_posts_in_sub_folders_of_posts_are_found(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site, since=dt.date(2025, 7, 1))
    (site / "_posts" / "2025").mkdir()
    (site / "_posts" / LUKAS).rename(site / "_posts" / "2025" / LUKAS)
    shutil.rmtree(site / ".episode")
    summary, _ = do_import(site, since=dt.date(2025, 7, 1))
    assert summary.counts["new"] == 0 and not (site / "_posts" / LUKAS).exists()


def test_without_its_memory_the_import_owns_its_untouched_posts_again(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    do_import(site)
    shutil.rmtree(site / ".episode")
    summary, lines = do_import(site)
    assert summary.counts["unchanged"] == 5 and lines == []
    _change_feed(site, "Lukas's philosophy on", "Lukas's way of thinking about")
    _, lines = do_import(site)
    assert lines == [f"update: _posts/{LUKAS}: body"]


def test_a_dry_run_over_http_keeps_no_copy_of_the_feed(tmp_path: Path) -> None:
    with feed_server() as server:
        server.feeds["/podcast.xml"] = (FEEDS / "podcast.xml").read_bytes()
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/podcast.xml")}"\n')
        before = snapshot(site)
        do_import(site, dry_run=True)
    assert snapshot(site) == before


def test_a_feed_sent_a_byte_at_a_time_stops_at_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from pipeline.importer import fetch

    monkeypatch.setattr(fetch, "TIMEOUT", 0.25)

    def drip(handler) -> None:  # type: ignore[no-untyped-def]
        handler.send_response(200)
        handler.end_headers()
        try:
            for _ in range(100):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    with feed_server() as server:
        server.special["/drip"] = drip
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/drip")}"\n')
        started = time.monotonic()
        with pytest.raises(FeedError, match="to arrive"):
            do_import(site)
    assert time.monotonic() - started < 5


def test_liquid_that_closes_a_raw_block_stays_text(tmp_path: Path) -> None:
    description = "<p>Liquid ends a block with {% endraw %} and prints with {{ x }}, we explain on air.</p>"
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/raw.xml"\n')
    (site / "feeds" / "raw.xml").write_bytes(rss({"title": "Raw", "guid": "r", "description": description}))
    do_import(site)
    post = next((site / "_posts").glob("2025-08-01-*"))
    place = locate(str(site), None, None, cwd=site, env={})
    episode = normalize_file(post, place.settings)
    assert episode.notes == ()
    text = "".join(str(b) for s in episode.sections for b in s.blocks)
    assert "with {% endraw %} and prints with {{ x }}, we" in text


def test_a_title_without_latin_letters_is_named_by_its_guid(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/kana.xml"\n')
    (site / "feeds" / "kana.xml").write_bytes(
        rss({"title": "ポッドキャスト", "guid": "k1"}, {"title": "エピソード", "guid": "k2"})
    )
    summary, _ = do_import(site)
    assert summary.counts["new"] == 2 and summary.ok
    assert len(list((site / "_posts").glob("2025-08-01-episode-*.markdown"))) == 2


def test_on_a_terminal_the_import_shows_its_progress(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    terminal = PseudoTerminal([*EPISODE, "import"], site, {"PYTHONPATH": str(ROOT), "PIPELINE_CONFIG": ""})
    code, output = terminal.finish(timeout=120)
    assert code == 0, output
    assert "importing" in output  # the bar, drawn while the episodes are made
    assert "imported: 5 new, 0 updated, 0 unchanged" in output


def test_the_charset_a_server_names_is_the_feeds_encoding(tmp_path: Path) -> None:
    """XML served as `text/xml; charset=iso-8859-1` without a declaration is Latin-1 (RFC 7303)."""
    feed = rss({"title": "Café con leche", "guid": "c1"}).replace(b' encoding="UTF-8"', b"").decode()

    def latin1(handler) -> None:  # type: ignore[no-untyped-def]
        data = feed.encode("iso-8859-1")
        handler.send_response(200)
        handler.send_header("Content-Type", "text/xml; charset=iso-8859-1")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    with feed_server() as server:
        server.special["/latin1"] = latin1
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/latin1")}"\n')
        summary, _ = do_import(site)
    assert summary.counts["new"] == 1
    assert "title: Café con leche\n" in (site / "_posts" / "2025-08-01-cafe-con-leche.markdown").read_text()


def test_a_channel_id_stands_for_the_channels_feed(tmp_path: Path) -> None:
    site = make_site(
        tmp_path,
        '[import]\npodcast_feed = "feeds/podcast.xml"\nyoutube_channel_id = "UC7mjJr0Qe4JcQ6zxcX5ZkwQ"\n',
    )
    place = locate(str(site), None, None, cwd=site, env={})
    options = import_options(place.settings)
    assert (
        options.video_feed == "https://www.youtube.com/feeds/videos.xml?channel_id=UC7mjJr0Qe4JcQ6zxcX5ZkwQ"
    )
    both = '[import]\npodcast_feed = "p.xml"\nyoutube_feed = "y.xml"\nyoutube_channel_id = "UC7mjJr0Qe4JcQ6zxcX5ZkwQ"\n'
    (site / "episode.toml").write_text(both)
    with pytest.raises(PipelineError, match="youtube_feed and youtube_channel_id name the same feed"):
        locate(str(site), None, None, cwd=site, env={})


# --- what a second review found -----------------------------------------------------------------


def _live_liquid(text: str) -> list[str]:
    """The Liquid openers of `text` that are not written as Liquid strings (`{{ "{{" }}`)."""
    return re.findall(r"\{\{|\{%", text.replace('{{ "{{" }}', "").replace('{{ "{%" }}', ""))


@pytest.mark.parametrize(
    "text",
    [
        "Hello {%  include  secrets.html  %} there, said on air.",
        "Print {{ site.data | jsonify }} to see it all, we said.",
        "Type {{ to open a tag, and %} to close one, we explained.",
    ],
)
def test_liquid_looking_text_of_a_feed_never_reaches_a_post_live(tmp_path: Path, text: str) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/liquid.xml"\n')
    (site / "feeds" / "liquid.xml").write_bytes(
        rss({"title": "Templates", "guid": "t", "description": f"<p>{text}</p>"})
    )
    do_import(site)
    post = next((site / "_posts").glob("2025-08-01-*"))
    body = post.read_text().split("---\n", 2)[2]
    assert _live_liquid(body) == [], body
    place = locate(str(site), None, None, cwd=site, env={})
    episode = normalize_file(post, place.settings)  # and the build shows the text as the feed had it
    assert episode.notes == () and episode.unchanged_source is not None
    shown = " ".join(" ".join(s.text for s in b.spans) for sec in episode.sections for b in sec.blocks)
    assert " ".join(text.split()) in " ".join(shown.split())


def test_a_feed_cut_off_on_the_way_is_refused_and_not_kept(tmp_path: Path) -> None:
    def short(handler) -> None:  # type: ignore[no-untyped-def]
        data = (FEEDS / "podcast.xml").read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("ETag", '"v1"')
        handler.end_headers()
        handler.wfile.write(data[:3000])

    with feed_server() as server:
        server.special["/short"] = short
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/short")}"\n')
        with pytest.raises(FeedError, match="cut off on the way"):
            do_import(site)
    assert not (site / ".episode" / "import" / "feeds").exists()


def test_a_moved_post_keeps_the_memory_of_the_keys_added_to_it(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    line = "substack_url: https://mindfulmachines.substack.com/p/lukas-biewald-you-think-youre-late\n"
    text = (
        (CORPUS / "cleaned" / LUKAS)
        .read_text()
        .replace(line, "")
        .replace("youtubeID:", "podcast_guid: e7a1c0de-0000-4000-8000-000000000013\nyoutubeID:")
    )
    (site / "_posts" / LUKAS).write_text(text)
    do_import(site, since=dt.date(2025, 7, 1))  # adopted, substack_url added
    (site / "_posts" / LUKAS).unlink()
    (site / "_posts" / "2025-07-01-lukas.markdown").write_text(text)  # renamed, the key taken out
    _, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert (site / "_posts" / "2025-07-01-lukas.markdown").read_text() == text
    assert not any(x.startswith("add ") for x in lines)


def test_a_changed_category_is_named_in_the_update(tmp_path: Path) -> None:
    site = make_site(tmp_path, SETTINGS + 'categories = ["podcast", "ml"]\n')
    do_import(site, since=dt.date(2025, 7, 1))
    (site / "episode.toml").write_text(SETTINGS + 'categories = ["podcast"]\n')
    _, lines = do_import(site, since=dt.date(2025, 7, 1))
    assert lines == [f"update: _posts/{LUKAS}: categories"]


def test_a_separator_an_imported_post_leaves_out_is_in_its_report(tmp_path: Path) -> None:
    site = make_site(tmp_path, '[import]\npodcast_feed = "feeds/hr.xml"\n')
    description = "<p>First part, about the guest and the work.</p><hr><p>Second part, about the rest.</p>"
    (site / "feeds" / "hr.xml").write_bytes(rss({"title": "Parts", "guid": "hr", "description": description}))
    do_import(site)
    report = (site / "_out" / "import" / "2025-08-01-parts.markdown.report.txt").read_text()
    assert report == "separator: ---\n"


def test_a_redirect_without_a_location_says_so(tmp_path: Path) -> None:
    def nowhere(handler) -> None:  # type: ignore[no-untyped-def]
        handler.send_response(302)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with feed_server() as server:
        server.special["/nowhere"] = nowhere
        site = make_site(tmp_path, f'[import]\npodcast_feed = "{server.url("/nowhere")}"\n')
        with pytest.raises(FeedError, match="302 Found without a Location"):
            do_import(site)
