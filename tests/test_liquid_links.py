"""Liquid in link targets: `{{ site.baseurl }}`, `{{ site.url }}` and the
`relative_url` / `absolute_url` filters resolve from the site's settings wherever they stand (bold
text, Markdown links, HTML `href`s); what the tool cannot resolve is kept as written with one
warning, and the post builds."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.accounting.inventory import take_inventory, unaccounted
from pipeline.builder.run import build
from pipeline.results import PostResult
from pipeline.settings.config import Settings
from pipeline.settings.site import find_settings
from pipeline.source.liquid import resolve_liquid

from .conftest import CORPUS, write_post

SITE_URL = "https://example.github.io"
BASEURL = "/learning-from-machine-learning"
ROOT = SITE_URL + BASEURL
CONFIG = f'title: "Learning from Machine Learning"\nurl: "{SITE_URL}"\nbaseurl: "{BASEURL}"\n'
NO_URL = f'title: "Learning from Machine Learning"\nbaseurl: "{BASEURL}"\n'
WELCOME = CORPUS / "site-today" / "2023-01-07-welcome-to-learning-from-machine-learning.markdown"
# The welcome post's last paragraph as it stood in January 2023.
JANUARY_2023 = (
    "**Ready to start learning?** Check out the [first episode with Maarten Grootendorst]"
    "({{ site.baseurl }}/2023/01/09/episode-one.html) about BERTopic and the psychology of data science!"
)
EPISODE_ONE = f"{ROOT}/2023/01/09/episode-one.html"
POST = "2023-01-07-welcome.md"
FRONT = "---\nlayout: post\ntitle: Welcome\ndate: 2023-01-07\n---\n\n"


def jekyll_site(tmp_path: Path, body: str, config: str = CONFIG, name: str = POST) -> Path:
    """A Jekyll site (its `_config.yml` and one post in `_posts/`); returns the post's path."""
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text(config, encoding="utf-8")
    return write_post(site / "_posts", name, body)


def build_site(post: Path) -> tuple[PostResult, Path]:
    """Build the site of `post` with its own settings (from `_config.yml`), as `episode build`
    does there: the post's result and its output folder."""
    posts = post.parent
    site = posts.parent
    settings = find_settings(None, posts, site, cwd=site, env={})
    summary = build(posts, site / "_out", settings, jobs=1, only=["post", "newsletter"])
    [result] = summary.results
    assert result.status == "built", result.error
    return result, site / "_out" / post.stem


def hrefs(newsletter_html: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', newsletter_html)]


def test_the_welcome_post_of_january_2023_builds_with_its_link_resolved(tmp_path: Path) -> None:
    text = WELCOME.read_text(encoding="utf-8")
    last = text.index("**Ready to start learning?**")
    post = jekyll_site(tmp_path, text[:last] + JANUARY_2023 + "\n", name=WELCOME.name)
    result, out = build_site(post)
    assert [w.text for w in result.warnings] == []
    newsletter = (out / "newsletter.html").read_text(encoding="utf-8")
    assert EPISODE_ONE in hrefs(newsletter)
    assert "site.baseurl" not in newsletter and "{{" not in newsletter
    text = " ".join((out / "newsletter.txt").read_text(encoding="utf-8").split())
    assert f"first episode with Maarten Grootendorst ({EPISODE_ONE}) about BERTopic" in text
    # Nothing else to change: post.md is the author's file, the Liquid as written for Jekyll,
    # which makes it the site-relative `/learning-from-machine-learning/2023/01/09/episode-one.html`.
    assert (out / "post.md").read_bytes() == post.read_bytes()
    assert (out / "report.txt").read_text() == "nothing dropped or changed\n"


def test_a_changed_post_writes_the_resolved_link_as_post_url_does(tmp_path: Path) -> None:
    body = "Read [the notes](https://example.org/notes?utm_source=feed).\n\n" + JANUARY_2023 + "\n"
    result, out = build_site(jekyll_site(tmp_path, FRONT + body))
    assert [w.text for w in result.warnings] == []
    post = (out / "post.md").read_text(encoding="utf-8")
    assert f"Check out the [first episode with Maarten Grootendorst]({EPISODE_ONE}) about BERTopic" in post
    assert "{{" not in post
    assert EPISODE_ONE in hrefs((out / "newsletter.html").read_text(encoding="utf-8"))


def test_html_hrefs_resolve_in_every_form(tmp_path: Path) -> None:
    body = (
        '**Ready?** Start with <a href="{{ site.baseurl }}/2023/01/09/episode-one.html">episode one</a>,'
        ' read <a href="{{ "/about/" | relative_url }}">about us</a> and'
        " <a href='{{ site.url }}{{ site.baseurl }}/feed.xml'>the feed</a>.\n\n"
        "<p>Then <a href=\"{{ '/archive/' | absolute_url }}\">the archive</a>.</p>\n"
    )
    result, out = build_site(jekyll_site(tmp_path, FRONT + body))
    assert [w.text for w in result.warnings] == []
    links = hrefs((out / "newsletter.html").read_text(encoding="utf-8"))
    for url in (EPISODE_ONE, f"{ROOT}/about/", f"{ROOT}/feed.xml", f"{ROOT}/archive/"):
        assert url in links
    assert not [h for h in links if "7B" in h or "{" in h]


@pytest.mark.parametrize(
    ("target", "url"),
    [
        ('{{ "/about/" | relative_url }}', f"{ROOT}/about/"),
        ("{{ 'about/' | relative_url }}", f"{ROOT}/about/"),
        ('{{"/about/"|absolute_url}}', f"{ROOT}/about/"),
        ("{{- '/about/' | absolute_url -}}", f"{ROOT}/about/"),
        ('{{ "https://other.example/x" | absolute_url }}', "https://other.example/x"),
        ("{{ site.url }}{{ site.baseurl }}/about/", f"{ROOT}/about/"),
    ],
)
def test_the_url_filters_and_site_variables_resolve_in_a_markdown_link(
    tmp_path: Path, target: str, url: str
) -> None:
    result, out = build_site(jekyll_site(tmp_path, f"{FRONT}See **[about us]({target})** now.\n"))
    assert [w.text for w in result.warnings] == []
    assert url in hrefs((out / "newsletter.html").read_text(encoding="utf-8"))
    assert (out / "post.md").read_text(encoding="utf-8").endswith(f"See **[about us]({target})** now.\n")


@pytest.mark.parametrize(
    ("baseurl", "body", "expected"),
    [
        ("/blog", '{{ "/about/" | relative_url }}', "/blog/about/"),
        ("/blog/", "{{ 'about' | relative_url }}", "/blog/about"),
        ("blog", '{{ "" | relative_url }}', "/blog"),
        ("", '{{ "about.html" | relative_url }}', "/about.html"),
        ("/blog", '{{ "mailto:a@b.example" | relative_url }}', "mailto:a@b.example"),
        ("/blog", "{{ site.baseurl | relative_url }}", "/blog/blog"),
        ("/blog", '{{ "/a b/" | absolute_url }}', "https://s.example/blog/a%20b/"),
        ("", '{{ "/about/" | absolute_url }}', "https://s.example/about/"),
    ],
)
def test_the_filters_follow_jekyll(tmp_path: Path, baseurl: str, body: str, expected: str) -> None:
    settings = replace(Settings(), site_url="https://s.example", baseurl=baseurl)
    resolved, notes, _, _ = resolve_liquid(body, settings, {}, tmp_path / POST)
    assert (resolved, notes) == (expected, [])


@pytest.mark.parametrize(
    ("config", "target", "why"),
    [
        (NO_URL, "{{ site.url }}/about/", "set site_url"),
        (NO_URL, '{{ "/about/" | absolute_url }}', "set site_url"),
        # Kept whole: never half resolved into `{{ site.url }}/learning-from-machine-learning/x`.
        (NO_URL, "{{ site.url }}{{ site.baseurl }}/about/", "set site_url"),
        (CONFIG, "{{ site.nope }}/about/", "site.url, site.baseurl"),
        (CONFIG, "{{ site.baseurl }}/{{ site.nope }}/about/", "site.url, site.baseurl"),
    ],
)
def test_what_cannot_be_resolved_is_kept_as_written_with_one_warning(
    tmp_path: Path, config: str, target: str, why: str
) -> None:
    text = f"{FRONT}**Ready?** Check out [the page]({target}) now.\n"
    result, out = build_site(jekyll_site(tmp_path, text, config))
    assert f"[the page]({target})" in " ".join((out / "newsletter.txt").read_text(encoding="utf-8").split())
    assert (out / "post.md").read_text(encoding="utf-8") == text
    [warning] = [w.text for w in result.warnings]
    unresolved = re.search(r"\{\{ site\.(url|nope) \}\}|\{\{ \"/about/\" \| absolute_url \}\}", target)
    assert unresolved is not None
    assert repr(unresolved.group()) in warning and "kept as written" in warning and why in warning


def test_the_lossless_check_reads_a_liquid_target_either_way_and_still_misses_nothing() -> None:
    """The check never imports the pipeline's Liquid: a link whose target holds Liquid is kept by
    the link it becomes once resolved, or by its text as written; its words are still checked."""
    pieces = take_inventory(JANUARY_2023 + "\n")
    resolved = f"---\n---\n{JANUARY_2023.replace('{{ site.baseurl }}', ROOT)}\n"
    assert unaccounted(pieces, resolved, report="") == []
    kept = "---\n---\n" + JANUARY_2023.replace("[", "\\[").replace("]", "\\]") + "\n"
    assert unaccounted(pieces, kept, report="") == []
    lost = resolved.replace("first episode with Maarten Grootendorst", "first episode")
    assert [p.text for p in unaccounted(pieces, lost, report="")] == [
        "Check out the [first episode with Maarten Grootendorst]({{ site.baseurl }}/2023/01/09/episode-one.html)"
        " about BERTopic and the psychology of data science!"
    ]


def test_raw_blocks_are_shown_as_written_as_jekyll_shows_them(tmp_path: Path) -> None:
    """Before: `{% raw %}` was unknown Liquid, warned about with everything inside it."""
    text = (
        f"{FRONT}In a template we write {{% raw %}}{{{{ page.title }}}} and {{% if x %}}{{% endraw %}}, "
        "and [the archive]({{ site.baseurl }}/archive/) links home.\n"
    )
    result, out = build_site(jekyll_site(tmp_path, text))
    assert result.warnings == []
    newsletter = " ".join((out / "newsletter.txt").read_text(encoding="utf-8").split())
    assert "In a template we write {{ page.title }} and {% if x %}, and the archive" in newsletter
    assert f"{ROOT}/archive/" in newsletter  # outside the block, Liquid is still resolved
    assert (out / "post.md").read_text(encoding="utf-8") == text


def test_a_rewritten_post_protects_its_raw_text_again(tmp_path: Path) -> None:
    """Before: a post whose `post.md` is written from the Episode lost its `{% raw %}` tags, and
    Jekyll then ran the text they had protected."""
    text = (
        f'{FRONT}We write {{% raw %}}{{{{ page.title }}}} and {{% endraw %}}{{{{ "{{%" }}}} endraw %}} '
        "here, see [the page](https://example.org/a?utm_source=feed) and {{ site.nope }} too.\n"
    )
    _, out = build_site(jekyll_site(tmp_path, text))
    post = (out / "post.md").read_text(encoding="utf-8")
    # Protected again: each `{{` and `{%` shown as text is written as a Liquid string.
    assert 'We write {{ "{{" }} page.title }} and {{ "{%" }} endraw %}' in post
    assert "and {{ site.nope }} too" in post  # left for Jekyll to run
    assert "utm_source" not in post  # the change that made post.md be written from the Episode
    again = jekyll_site(tmp_path / "again", post)
    _, out2 = build_site(again)
    assert (out2 / "post.md").read_text(encoding="utf-8") == post
