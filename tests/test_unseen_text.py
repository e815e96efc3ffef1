"""What no reader sees: HTML comments, raw-text elements and inline images, kept or named in full.

An unclosed `<!--` hides the rest of a body from a browser, from Jekyll's Markdown and from pandoc
alike: `post.md` keeps it as written, every other output leaves it out, and the report says so.
The lossless check finds such text with a tokenizer of its own (`pipeline/accounting/unseen.py`), so a
converter that loses it cannot hide the loss.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.accounting.unseen import find_unseen
from pipeline.builder.run import build
from pipeline.cli.normalize import normalize_sources
from pipeline.pandoc import embeds
from pipeline.settings.config import Settings

from .conftest import write_post

UNCLOSED = "Alpha [l](https://x.example/?utm_source=a).\n\n<!-- note\n\nBravo paragraph.\n"
CLOSED = (
    "Alpha one.\n\n<!-- a closed note with words -->\n\n<!-- wp:paragraph -->\n\n"
    "Charlie <!-- inline hidden --> text.\n"
)
OTHER_OUTPUTS = ("newsletter.txt", "newsletter.html", "youtube.txt", "podcast.html")


def _post(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(exist_ok=True)
    return write_post(folder, f"2025-01-01-{name}.md", f"---\ntitle: {name}\ndate: 2025-01-01\n---\n{body}")


def _build(tmp_path: Path, settings: Settings, posts: dict[str, str], **options: object):  # type: ignore[no-untyped-def]
    src = tmp_path / "posts"
    for name, body in posts.items():
        _post(src, name, body)
    only = ["post", "newsletter", "youtube", "podcast"]
    return build(src, tmp_path / "out", settings, jobs=1, only=only, **options)  # type: ignore[arg-type]


def _out(tmp_path: Path, name: str, file: str) -> str:
    return (tmp_path / "out" / f"2025-01-01-{name}" / file).read_text("utf-8")


# --- comments ------------------------------------------------------------------------------------


def test_an_unclosed_comment_is_kept_in_post_md_hidden_elsewhere_and_named_with_its_line(
    tmp_path: Path, settings: Settings
) -> None:
    summary = _build(tmp_path, settings, {"unclosed": UNCLOSED})
    [result] = summary.results
    assert result.error is None
    post = _out(tmp_path, "unclosed", "post.md")
    assert post.endswith("Alpha [l](https://x.example/).\n\n<!-- note\n\nBravo paragraph.\n")  # still open
    for name in OTHER_OUTPUTS:
        assert "Bravo" not in _out(tmp_path, "unclosed", name), name
    report = _out(tmp_path, "unclosed", "report.txt")
    assert 'warning: line 7: "<!--" is never closed' in report
    assert report.rstrip().endswith('"note Bravo paragraph."')
    assert any("never closed" in w.message for w in result.warnings)


def test_strict_fails_a_post_with_an_unclosed_comment(tmp_path: Path, settings: Settings) -> None:
    summary = _build(tmp_path, settings, {"unclosed": UNCLOSED}, strict=True)
    assert summary.failed


def test_an_unclosed_comment_in_an_unchanged_post_is_named_and_post_md_is_the_source(
    tmp_path: Path, settings: Settings
) -> None:
    body = "Alpha.\n\n<!-- note\n\nBravo paragraph.\n"
    _build(tmp_path, settings, {"plain": body})
    assert _out(tmp_path, "plain", "post.md") == "---\ntitle: plain\ndate: 2025-01-01\n---\n" + body
    assert '"note Bravo paragraph."' in _out(tmp_path, "plain", "report.txt")


def test_closed_comments_with_words_are_named_markers_are_not(tmp_path: Path, settings: Settings) -> None:
    summary = _build(tmp_path, settings, {"closed": CLOSED})
    assert summary.results[0].error is None and not summary.results[0].warnings
    assert (
        _out(tmp_path, "closed", "report.txt")
        == "comment: a closed note with words\ncomment: inline hidden\n"
    )
    assert _out(tmp_path, "closed", "post.md").endswith(CLOSED)  # unchanged: the source itself
    assert "Charlie text." in _out(tmp_path, "closed", "newsletter.txt")
    assert "closed note" not in _out(tmp_path, "closed", "newsletter.html")


def test_a_rewritten_post_keeps_its_comments_where_they_stood(tmp_path: Path, settings: Settings) -> None:
    body = "Alpha [l](https://x.example/?utm_source=a).\n\n" + CLOSED.split("\n\n", 1)[1]
    _build(tmp_path, settings, {"rewritten": body})
    post = _out(tmp_path, "rewritten", "post.md")
    assert "utm_source" not in post
    assert (
        "Alpha [l](https://x.example/).\n\n<!-- a closed note with words -->\n\n<!-- wp:paragraph -->" in post
    )
    assert "<!-- inline hidden -->" in post  # before its paragraph, as written
    assert post.index("<!-- inline hidden -->") < post.index("Charlie text.")


def test_normalize_write_keeps_what_an_unclosed_comment_hides(tmp_path: Path, settings: Settings) -> None:
    path = _post(tmp_path / "posts", "unclosed", UNCLOSED)
    [status] = normalize_sources(tmp_path / "posts", settings, write=True)
    assert status.status == "rewritten", status
    text = path.read_text("utf-8")
    assert "utm_source" not in text
    assert text.endswith("<!-- note\n\nBravo paragraph.\n")


def test_a_comment_marker_in_a_code_span_is_text(tmp_path: Path, settings: Settings) -> None:
    summary = _build(tmp_path, settings, {"code": "Use `<!--` here.\n\nNext words.\n"})
    assert summary.results[0].error is None and not summary.results[0].warnings
    assert "Next words." in _out(tmp_path, "code", "newsletter.txt")


# --- the check reads them by itself ------------------------------------------------------------


def test_the_check_fails_a_post_whose_converter_loses_a_comment(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault injected into the conversion: comments vanish before post.md and the report see
    them. The check, reading the body by itself, must fail the post rather than pass it."""
    monkeypatch.setattr(embeds, "comments_in", lambda raw: [])
    summary = _build(tmp_path, settings, {"unclosed": UNCLOSED, "closed": CLOSED})
    errors = {r.stem: r.error or "" for r in summary.results}
    assert 'normalization lost "note Bravo paragraph."' in errors["2025-01-01-unclosed"]
    assert '"a closed note with words"' in errors["2025-01-01-closed"]
    assert not (tmp_path / "out" / "2025-01-01-unclosed").exists()


def test_the_check_fails_a_post_whose_converter_loses_a_script_s_words(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embeds, "describe", lambda tag, inner: f"<{tag.name}>")
    summary = _build(tmp_path, settings, {"script": "Alpha.\n\n<script>var secret = 1;</script>\n"})
    assert 'normalization lost "var secret = 1;"' in (summary.results[0].error or "")


def test_the_tokenizer_finds_comments_and_raw_text_outside_code() -> None:
    text = (
        "a `<!-- code -->` b\n\n```\n<script>in a fence</script>\n```\n\n"
        "<!-- one -->\n<SCRIPT type=x>two</script >\n<textarea>three &amp; four</textarea>\n"
        "<style>five\n\n<plaintext>six <!-- seven"
    )
    found = [(u.kind, u.text, u.line, u.closed) for u in find_unseen(text)]
    assert found == [
        ("comment", " one ", 7, True),
        ("script", "two", 8, True),
        ("textarea", "three & four", 9, True),
        ("style", "five\n\n<plaintext>six <!-- seven", 10, False),
    ]
    assert [u.text for u in find_unseen("x <plaintext>all <b>of</b> it")] == ["all <b>of</b> it"]


# --- raw-text elements ---------------------------------------------------------------------------

RAW_TEXT = {
    "script-open": "Alpha.\n\n<script>\nvar x = 1;\n\nBravo paragraph.\n",
    "style-open": "Alpha.\n\n<style>\np { color: red }\n\nBravo paragraph.\n",
    "textarea-open": "Alpha.\n\n<textarea>\nTyped words.\n\nBravo paragraph.\n",
    **{
        f"code-{tag}": f"Alpha.\n\n<p>Use <code><{tag}></code> to load it.</p>\n<p>Then more words.</p>\n"
        for tag in ("script", "style", "textarea", "xmp", "noembed", "noscript")
    },
    "plaintext": "Alpha.\n\n<plaintext>Plain words to the end.\n",
    "nested-links": '<b><a href="https://e.example/1">one <b><a href="https://e.example/2">two\n',
}


def test_raw_text_elements_from_feeds_build(tmp_path: Path, settings: Settings) -> None:
    summary = _build(tmp_path, settings, RAW_TEXT)
    assert [(r.stem, r.error) for r in summary.results if r.error] == []
    # script and style: never shown, named in full as a warning
    for name in ("script-open", "style-open"):
        assert "Bravo" not in _out(tmp_path, name, "newsletter.txt")
        report = _out(tmp_path, name, "report.txt")
        assert report.startswith(f"embed: <{name.split('-')[0]}> ") and report.rstrip().endswith(
            "Bravo paragraph."
        )
    # the others: text a reader sees
    assert "Typed words. Bravo paragraph." in _out(tmp_path, "textarea-open", "newsletter.txt")
    assert "Plain words to the end." in _out(tmp_path, "plaintext", "newsletter.txt")
    for tag in ("xmp", "noembed", "noscript"):
        assert "to load it." in _out(tmp_path, f"code-{tag}", "newsletter.txt"), tag
    post = _out(tmp_path, "nested-links", "post.md")
    assert "https://e.example/1" in post and "https://e.example/2" in post
    newsletter = _out(tmp_path, "nested-links", "newsletter.html")
    assert 'href="https://e.example/1"' in newsletter and 'href="https://e.example/2"' in newsletter


# --- inline images -------------------------------------------------------------------------------


def test_an_inline_image_keeps_its_sentence_whole(tmp_path: Path, settings: Settings) -> None:
    posts = {
        "img-md": "Text ![x](https://a.example/i.png) more text.\n",
        "img-html": '<p>Html <img src="https://a.example/j.png" alt="pic"> inline text.</p>\n',
    }
    summary = _build(tmp_path, settings, posts)
    assert [(r.stem, r.error) for r in summary.results if r.error] == []
    assert "Text [x] more text." in _out(tmp_path, "img-md", "newsletter.txt")
    assert "Html [pic] inline text." in _out(tmp_path, "img-html", "youtube.txt")
    assert "embed: <img> https://a.example/i.png" in _out(tmp_path, "img-md", "report.txt")


# --- depth -----------------------------------------------------------------------------------------


def test_html_nested_past_the_limit_fails_its_post_in_one_line_and_the_rest_builds(
    tmp_path: Path, settings: Settings
) -> None:
    deep = 20_000
    posts = {
        "deep": f"Alpha.\n\n{'<div>' * deep}x{'</div>' * deep}\n",
        "inline": "Text " + "<b>" * 300 + "x\n",
        "at-limit": "<div>" * 200 + "deep" + "</div>" * 200 + "\n",
        "in-code": "```\n" + "<div>" * 300 + "\n```\n",
    }
    summary = _build(tmp_path, settings, posts)
    errors = {r.stem.removeprefix("2025-01-01-"): r.error for r in summary.results}
    assert errors["deep"] is not None and errors["deep"].endswith(
        "2025-01-01-deep.md:7: its HTML nests 20,000 elements deep; at most 200 can be read"
        " (an unclosed tag repeated?)"
    )
    assert errors["inline"] is not None and ":5: its HTML nests 300 elements deep" in errors["inline"]
    assert errors["at-limit"] is None and errors["in-code"] is None
    assert not (tmp_path / "out" / "2025-01-01-deep").exists()
