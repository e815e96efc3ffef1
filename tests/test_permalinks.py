"""`{% post_url %}` resolved as Jekyll builds the linked post's URL; linking posts rebuilt when it changes."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.accounting.canonical import rendered_markdown as canonical_markdown
from pipeline.builder.run import build
from pipeline.errors import ConfigError
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings, settings_from_table

from .conftest import write_post

SITE = "https://splevine.github.io"
BASEURL = "/learning-from-machine-learning"
ROOT = f"{SITE}{BASEURL}"
LINKED = "2023-01-09-episode-one.markdown"
LINKING = "2023-02-01-episode-two.markdown"
LINKING_TEXT = "---\ntitle: Episode two\n---\nSee [the first one]({% post_url 2023-01-09-episode-one %}).\n"


def site_settings(**changes: str) -> Settings:
    """The real site's `url` and `baseurl`, and no `permalink` (Jekyll's default), unless changed."""
    return replace(Settings(), site_url=SITE, baseurl=BASEURL, **changes)


def linked_post(categories: str | None = "categories: machine learning updates") -> str:
    front = f"{categories}\n" if categories else ""
    return f"---\ntitle: Episode one\n{front}---\nThe first episode.\n"


def posts_folder(tmp_path: Path, categories: str | None = "categories: machine learning updates") -> Path:
    posts = tmp_path / "_posts"
    posts.mkdir()
    write_post(posts, LINKED, linked_post(categories))
    write_post(posts, LINKING, LINKING_TEXT)
    return posts


def resolved(posts: Path, settings: Settings, name: str = LINKING) -> tuple[str, list[str]]:
    """The linking post's canonical Markdown and its warnings."""
    episode = normalize_file(posts / name, settings)
    return canonical_markdown(episode), [n.message for n in episode.notes if n.kind == "warning"]


def test_the_sites_own_link_resolves_as_jekyll_builds_it(tmp_path: Path) -> None:
    post, warnings = resolved(posts_folder(tmp_path), site_settings())
    url = f"{ROOT}/machine/learning/updates/2023/01/09/episode-one.html"
    assert f"[the first one]({url})" in post
    assert "post_url" not in post and ":output_ext" not in post
    assert warnings == []


@pytest.mark.parametrize(
    ("style", "path"),
    [
        ("date", "/machine/learning/updates/2023/01/09/episode-one.html"),
        ("pretty", "/machine/learning/updates/2023/01/09/episode-one/"),
        ("ordinal", "/machine/learning/updates/2023/009/episode-one.html"),
        ("none", "/machine/learning/updates/episode-one.html"),
        ("/:categories/:year/:title_:day/", "/machine/learning/updates/2023/episode-one_09/"),
    ],
)
def test_each_named_style_and_a_pattern_as_loaded_from_settings(
    tmp_path: Path, style: str, path: str
) -> None:
    table = {"site_url": SITE, "baseurl": BASEURL, "permalink": style}
    post, _ = resolved(posts_folder(tmp_path), settings_from_table(table, "pyproject.toml"))
    assert f"[the first one]({ROOT}{path})" in post


def test_a_pattern_with_every_date_and_title_placeholder(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    write_post(posts, "2023-12-31-My_Episode.md", "---\ntitle: Last\ncategories: [News]\n---\nLast.\n")
    write_post(posts, LINKING, "---\ntitle: Two\n---\n[last]({% post_url 2023-12-31-My_Episode %})\n")
    pattern = (
        "/:categories/:short_year/:i_month/:i_day/:y_day/:year_:month_:day/:title/:slug/:name:output_ext"
    )
    post, warnings = resolved(posts, site_settings(permalink=pattern))
    # Jekyll's slugify: :title in `pretty` mode, cased (`_` kept); :slug and :name lower-cased, `_` to `-`.
    path = "/news/23/12/31/365/2023_12_31/My_Episode/my-episode/2023-12-31-my-episode.html"
    assert f"[last]({ROOT}{path})" in post
    assert warnings == []


@pytest.mark.parametrize(
    "categories",
    [
        "categories: machine learning updates",
        "categories: [Machine, Learning, Updates]",
        "categories:\n- machine\n- learning\n- updates\n- Machine",
    ],
)
def test_categories_as_a_string_or_a_list_give_the_same_url(tmp_path: Path, categories: str) -> None:
    post, _ = resolved(posts_folder(tmp_path, categories), site_settings())
    assert f"({ROOT}/machine/learning/updates/2023/01/09/episode-one.html)" in post


def test_a_listed_category_with_a_space_is_one_escaped_segment(tmp_path: Path) -> None:
    """Jekyll splits only a string of categories on spaces; a list item is kept whole, %-escaped."""
    post, _ = resolved(posts_folder(tmp_path, "categories: [Deep Learning, news]"), site_settings())
    assert f"({ROOT}/deep%20learning/news/2023/01/09/episode-one.html)" in post


def test_without_categories_the_placeholder_goes_with_its_slash(tmp_path: Path) -> None:
    posts = posts_folder(tmp_path, categories=None)
    post, _ = resolved(posts, site_settings())
    assert f"({ROOT}/2023/01/09/episode-one.html)" in post
    post, _ = resolved(posts, site_settings(permalink="none"))
    assert f"({ROOT}/episode-one.html)" in post
    post, _ = resolved(posts, site_settings(permalink="/blog/:categories/:title/"))
    assert f"({ROOT}/blog/episode-one/)" in post


def test_a_linked_post_in_a_sub_folder_of_posts(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    (posts / "2023").mkdir(parents=True)
    write_post(posts / "2023", LINKED, linked_post("category: interviews"))
    write_post(posts, LINKING, LINKING_TEXT + "And {% post_url 2023/2023-01-09-episode-one %}.\n")
    post, warnings = resolved(posts, site_settings())
    url = f"{ROOT}/interviews/2023/01/09/episode-one.html"
    assert f"[the first one]({url})" in post and f"And {url}." in post
    assert warnings == []


def test_a_missing_linked_post_is_a_warning_and_the_link_keeps_its_text(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    write_post(posts, LINKING, LINKING_TEXT)
    post, warnings = resolved(posts, site_settings())
    assert "See the first one." in post and "](" not in post and "post_url" not in post.split("---\n")[2]
    assert len(warnings) == 1
    assert "post_url: no post named 2023-01-09-episode-one beside this one" in warnings[0]


def test_a_linked_post_whose_front_matter_is_broken_is_a_warning(tmp_path: Path) -> None:
    posts = posts_folder(tmp_path)
    write_post(posts, LINKED, "---\ncategories: news\n---\nNo title.\n")
    post, warnings = resolved(posts, site_settings())
    assert "See the first one." in post and "](" not in post
    assert len(warnings) == 1 and f"cannot read {LINKED}" in warnings[0] and "title" in warnings[0]
    assert str(tmp_path) not in warnings[0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/:year/:yearly/:title/", "unknown placeholder ':yearly'"),
        ("/:categories/:foo/:bar:output_ext", "unknown placeholder ':foo', ':bar'"),
        ("/:year/:hour/:title/", "placeholder ':hour' is not supported"),
        (":year/:title", "must start with '/'"),
        ("Pretty", "must start with '/'"),
    ],
)
def test_a_bad_permalink_is_refused_at_load(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="permalink: ") as caught:
        settings_from_table({"permalink": value}, "pyproject.toml")
    assert message in str(caught.value)


def test_a_post_is_rebuilt_when_a_post_it_links_changes(tmp_path: Path) -> None:
    # post.md keeps the Liquid tag for Jekyll; the outputs (youtube.txt here) carry the URL.
    src, out = posts_folder(tmp_path), tmp_path / "out"
    settings = site_settings()
    first = build(src, out, settings, jobs=1, only=["post", "youtube"])
    assert first.count("built") == 2 and not first.failed
    old_url = f"{ROOT}/machine/learning/updates/2023/01/09/episode-one.html"
    assert f"({old_url})" in (out / "2023-02-01-episode-two" / "youtube.txt").read_text()
    manifest = json.loads((out / ".manifest.json").read_text())
    assert list(manifest["posts"]["2023-02-01-episode-two"]["depends"]) == [LINKED]
    assert "depends" not in manifest["posts"]["2023-01-09-episode-one"]

    again = build(src, out, settings, jobs=1, only=["post", "youtube"])
    assert again.count("skipped") == 2 and again.count("built") == 0

    write_post(src, LINKED, linked_post("categories: [Interviews]"))
    third = build(src, out, settings, jobs=1, only=["post", "youtube"])
    status = {Path(r.source).name: r.status for r in third.results}
    assert status == {LINKED: "built", LINKING: "built"}
    post = (out / "2023-02-01-episode-two" / "youtube.txt").read_text()
    assert f"({ROOT}/interviews/2023/01/09/episode-one.html)" in post and old_url not in post

    assert build(src, out, settings, jobs=1, only=["post", "youtube"]).count("built") == 0


def test_a_post_is_rebuilt_when_a_post_it_links_disappears(tmp_path: Path) -> None:
    src, out = posts_folder(tmp_path), tmp_path / "out"
    settings = site_settings()
    build(src, out, settings, jobs=1, only=["post", "youtube"])
    (src / LINKED).unlink()
    summary = build(src, out, settings, jobs=1, only=["post", "youtube"])
    (result,) = summary.results
    assert result.status == "built"
    assert any("no post named 2023-01-09-episode-one" in w.text for w in result.warnings)
    assert "See the first one." in (out / "2023-02-01-episode-two" / "youtube.txt").read_text()
