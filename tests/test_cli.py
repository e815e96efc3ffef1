"""The command line as users know it from Sphinx, MkDocs and Jekyll.

Every warning and error is one line starting with the post's path (relative to the current
folder) and its line; unchanged posts only with --verbose; --quiet; a summary line last;
`check` exit codes and JSON records; --prune within --src; --jobs abc; a quick `invoke bench`.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.builder.run import build
from pipeline.errors import SourceError
from pipeline.reports import PlainReporter, describe, problem_line, shown_path
from pipeline.results import Diagnostic, PostResult, error_diagnostic
from pipeline.settings.config import Settings

from .conftest import CORPUS, FIXTURES, ROOT, run_episode

SITE_TODAY = CORPUS / "site-today"
# Its site-relative link cannot go into an email, a PDF or Apple's HTML without `site_url`:
# a warning from the newsletter, the PDF and the podcast description.
WELCOME = "2023-01-07-welcome-to-learning-from-machine-learning.markdown"
OTHER = "2023-02-24-nils-reimers-sentence-transformers-search-future-of-nlp-learning-from-machine-learning-3.markdown"
BAD = FIXTURES / "bad"
FAST = ["post", "chapters"]


def _folder(tmp_path: Path, *, bad: bool = False) -> Path:
    """`<tmp>/posts/` with site-today's two posts (and two broken ones): not a Jekyll site."""
    posts = tmp_path / "posts"
    posts.mkdir()
    for name in (WELCOME, OTHER):
        shutil.copy(SITE_TODAY / name, posts / name)
    if bad:
        shutil.copy(BAD / "title-hash.md", posts / "title-hash.md")
        shutil.copy(BAD / "youtube-url.md", posts / "youtube-url.md")
    return posts


def _episode(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run_episode(cwd, *args, timeout=timeout)


def _invoke(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`invoke …` in the project's checkout."""
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=timeout,
    )


# --- one line per problem, starting where it is ----------------------------------------------


def test_warnings_and_errors_start_with_the_path_from_the_current_folder(tmp_path: Path) -> None:
    _folder(tmp_path, bad=True)
    done = _episode(tmp_path, "build", "--src", "posts", "--only", "newsletter,pdf", "--jobs", "1")
    assert done.returncode == 1, done.stdout
    lines = done.stdout.splitlines()
    link = "link '/learning-from-machine-learning/machine/learning/updates/2023/01/09/episode-one.html'"
    assert f"posts/{WELCOME}: warning: newsletter, pdf: {link} kept as text only" in done.stdout
    assert "posts/title-hash.md:2: error: title: an unquoted ' #' starts a YAML comment" in lines[-3]
    assert lines[-2].startswith("posts/youtube-url.md:3: error: youtubeID: 'https://youtu.be/")
    # Each format's name once: not `newsletter: newsletter:`, not `pdf: show-notes.pdf:`.
    assert "newsletter: newsletter:" not in done.stdout
    assert "show-notes.pdf:" not in done.stdout
    problems = [line for line in lines if ": warning: " in line or ": error: " in line]
    assert len(problems) >= 4 and all(line.startswith("posts/") for line in problems)
    assert "Traceback" not in done.stdout


def test_a_path_below_the_current_folder_is_relative_and_a_line_only_where_known(tmp_path: Path) -> None:
    post = tmp_path / "_posts" / "2025-05-28-x.markdown"
    warning = Diagnostic("warning", "link 'x' kept as text only", format="newsletter")
    assert problem_line(post, warning, cwd=tmp_path) == (
        "_posts/2025-05-28-x.markdown: warning: newsletter: link 'x' kept as text only"
    )
    error = Diagnostic("error", "youtubeID: 'abc' is not a YouTube video id", line=14)
    assert problem_line(post, error, cwd=tmp_path / "_posts") == (
        "2025-05-28-x.markdown:14: error: youtubeID: 'abc' is not a YouTube video id"
    )
    elsewhere = tmp_path / "elsewhere"
    assert shown_path(post, cwd=elsewhere) == str(post)  # not below: as given
    # A message that names its format already does not get it twice.
    youtube = Diagnostic("warning", "YouTube: chapters do not ascend", format="youtube")
    assert problem_line(post, youtube, cwd=tmp_path).endswith(": warning: YouTube: chapters do not ascend")


def test_an_error_keeps_its_line_apart_and_names_another_file_in_its_message(tmp_path: Path) -> None:
    post = tmp_path / "posts" / "a.md"
    own = error_diagnostic(SourceError("missing", path=post, line=3, field="title"), post)
    assert (own.line, own.rule, own.message) == (3, "title", "title: missing")
    by_name = error_diagnostic(SourceError("cut", path="a.md", line=2), post, "newsletter")
    assert (by_name.line, by_name.format, by_name.message) == (2, "newsletter", "cut")
    other = error_diagnostic(SourceError("no front matter", path=tmp_path / "b.md", line=1), post)
    assert other.line is None and other.message == f"{tmp_path / 'b.md'}:1: no front matter"


def test_every_broken_post_of_the_catalogue_gets_its_line(tmp_path: Path, settings: Settings) -> None:
    expected: dict[str, dict[str, object]] = json.loads((BAD / "expected.json").read_text())
    summary = build(BAD, tmp_path / "out", settings, jobs=1, only=FAST)
    assert {Path(r.source).stem for r in summary.failed} == set(expected)
    for result in summary.failed:
        want = expected[Path(result.source).stem]["line"]
        [line] = describe(result, 1, 1, cwd=BAD)
        assert line.startswith(f"{Path(result.source).name}{f':{want}' if want else ''}: error: "), line


# --- what is listed, and the summary last ----------------------------------------------------


def test_unchanged_posts_are_listed_only_with_verbose(tmp_path: Path) -> None:
    _folder(tmp_path)
    first = _episode(tmp_path, "build", "--src", "posts", "--only", "post", "--jobs", "1")
    assert first.returncode == 0 and f"built   posts/{WELCOME}" in first.stdout
    again = _episode(tmp_path, "build", "--src", "posts", "--only", "post")
    assert again.returncode == 0
    assert "skipped posts/" not in again.stdout
    assert again.stdout.splitlines()[-1].startswith("built 0, skipped 2, warnings 0, failed 0 in ")
    verbose = _episode(tmp_path, "build", "--src", "posts", "--only", "post", "--verbose")
    assert f"[1/2] skipped posts/{WELCOME}" in verbose.stdout
    assert f"[2/2] skipped posts/{OTHER}" in verbose.stdout


def test_quiet_prints_the_errors_and_the_summary(tmp_path: Path) -> None:
    _folder(tmp_path, bad=True)
    done = _episode(tmp_path, "build", "--src", "posts", "--only", "post,newsletter", "--quiet")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert lines[0].startswith("posts/title-hash.md:2: error: title: ")
    assert lines[1].startswith("posts/youtube-url.md:3: error: youtubeID: ")
    assert lines[2].startswith("built 2, skipped 0, warnings 1, failed 2 in ")


def test_quiet_still_shows_the_warnings_that_failed_a_strict_build(tmp_path: Path) -> None:
    _folder(tmp_path)
    done = _episode(tmp_path, "build", "--src", "posts", "--only", "newsletter", "--quiet", "--strict")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == f"posts/{WELCOME}: error: 1 warning(s) and --strict is on"
    assert lines[1].startswith(f"posts/{WELCOME}: warning: newsletter: link '/learning")
    assert lines[2].startswith("built 1, skipped 0, warnings 1, failed 1 in ")


def test_a_summary_line_ends_every_run(tmp_path: Path) -> None:
    posts = _folder(tmp_path, bad=True)
    failed = _episode(tmp_path, "build", "--src", "posts", "--only", "post")
    assert failed.returncode == 1
    assert failed.stdout.splitlines()[-1].startswith("built 2, skipped 0, warnings 0, failed 2 in ")
    (posts / OTHER).unlink()
    stale = _episode(tmp_path, "build", "--src", "posts", "--only", "post")
    lines = stale.stdout.splitlines()
    assert (
        lines[-2] == f"outputs of posts no longer in the source (use --prune to remove): {Path(OTHER).stem}"
    )
    assert lines[-1].startswith("built 0, skipped 1, warnings 0, failed 2 in ")


# --- episode check ---------------------------------------------------------------------------


def test_check_exits_0_with_warnings_and_1_with_strict(tmp_path: Path) -> None:
    _folder(tmp_path)
    done = _episode(tmp_path, "check", "--src", "posts", "--no-pdf")
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert lines[-1] == "checked 2 post(s): 0 errors, 2 warnings"
    assert f"posts/{WELCOME}: warning: newsletter: link '/learning" in done.stdout
    assert f"posts/{WELCOME}: warning: podcast: Apple: link '/learning" in done.stdout
    assert "FAIL" not in done.stdout
    strict = _episode(tmp_path, "check", "--src", "posts", "--no-pdf", "--strict")
    assert strict.returncode == 1
    assert (
        strict.stdout.splitlines()[-1]
        == "checked 2 post(s): 0 errors, 2 warnings (--strict: warnings fail the check)"
    )


def test_check_gives_the_warnings_the_build_gives_the_pdf_ones_included(tmp_path: Path) -> None:
    posts = _folder(tmp_path)
    built = _episode(tmp_path, "build", "--src", "posts", "--jobs", "1")
    checked = _episode(tmp_path, "check", "--src", "posts")
    assert built.returncode == checked.returncode == 0
    warnings = sorted(line for line in built.stdout.splitlines() if ": warning: " in line)
    assert any(": warning: pdf: " in line for line in warnings)
    assert sorted(line for line in checked.stdout.splitlines() if ": warning: " in line) == warnings
    # Without the PDF, the check says what it left out.
    fast = _episode(tmp_path, "check", "--src", str(posts), "--no-pdf")
    assert ": warning: pdf: " not in fast.stdout
    assert "note: show-notes.pdf not rendered (--no-pdf)" in fast.stdout
    assert fast.stdout.splitlines()[-1] == "checked 2 post(s): 0 errors, 2 warnings"


def test_check_exits_1_on_an_error_with_json_records_and_a_summary(tmp_path: Path) -> None:
    _folder(tmp_path, bad=True)
    done = _episode(tmp_path, "check", "--src", "posts", "--json", "--no-pdf")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    records = report["records"]
    assert all(set(r) == {"post", "line", "format", "rule", "severity", "message"} for r in records)
    error = next(r for r in records if r["post"] == "posts/title-hash.md")
    assert error["line"] == 2 and error["rule"] == "title" and error["severity"] == "error"
    assert error["message"].startswith("title: an unquoted ' #' starts a YAML comment")
    apple = next(r for r in records if r["format"] == "podcast")
    assert apple == {
        "post": f"posts/{WELCOME}",
        "line": None,
        "format": "podcast",
        "rule": "podcast.links",
        "severity": "warning",
        "message": apple["message"],
    }
    summary = report["summary"]
    assert (summary["posts"], summary["errors"], summary["warnings"], summary["ok"]) == (4, 2, 2, False)
    assert summary["not_checked"] and "pdf" not in summary["formats"]


def test_check_json_of_site_today_calls_its_failed_rule_a_warning() -> None:
    done = _invoke("check", "--src", str(SITE_TODAY.relative_to(ROOT)), "--json", "--no-pdf")
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["summary"]["ok"] is True and report["summary"]["errors"] == 0
    assert {r["severity"] for r in report["records"]} == {"warning"}
    assert {r["rule"] for r in report["records"] if r["format"] == "podcast"} == {"podcast.links"}
    strict = _invoke("check", "--src", str(SITE_TODAY.relative_to(ROOT)), "--json", "--no-pdf", "--strict")
    assert strict.returncode == 1 and json.loads(strict.stdout)["summary"]["ok"] is False


def test_check_reports_two_posts_with_one_video_as_an_error(tmp_path: Path) -> None:
    posts = _folder(tmp_path)
    text = (posts / OTHER).read_text()
    (posts / "2023-03-01-again.markdown").write_text(text)
    done = _episode(tmp_path, "check", "--src", "posts", "--no-pdf")
    assert done.returncode == 1
    assert "posts/2023-03-01-again.markdown: error: youtubeID: " in done.stdout
    assert f"is also the video of {OTHER}" in done.stdout


def test_check_of_a_folder_names_each_boilerplate_rule_that_matched_nothing(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    for folder, prefix in (("imported", "2025-07-01-lukas"), ("older-imports", "2023-02-24-nils")):
        source = next((CORPUS / folder).glob(f"{prefix}*.markdown"))
        shutil.copy(source, posts / source.name)
    (tmp_path / "episode.toml").write_text(
        'boilerplate_paragraphs = ["A machine learning podcast that explores", "Sponsored by nobody"]\n'
        "boilerplate_sections = [\n"
        '  "Resources to learn more about Learning from Machine Learning",\n'
        '  "Resources to learn more about Another Show",\n'
        "]\n"
    )
    done = _episode(tmp_path, "check", "--src", "posts", "--no-pdf")
    unmatched = [line for line in done.stdout.splitlines() if "matched nothing" in line]
    assert unmatched == [
        'episode.toml: warning: boilerplate_paragraphs: "Sponsored by nobody" matched nothing '
        "in the 2 post(s) checked",
        'episode.toml: warning: boilerplate_sections: "Resources to learn more about Another Show" '
        "matched nothing in the 2 post(s) checked",
    ], done.stdout
    report = json.loads(_episode(tmp_path, "check", "--src", "posts", "--no-pdf", "--json").stdout)
    records = [r for r in report["records"] if r["post"] == "episode.toml"]
    assert [r["rule"] for r in records] == [
        "newsletter.settings",  # the example From address and unsubscribe URL, counted too
        "newsletter.settings",
        "boilerplate_paragraphs",
        "boilerplate_sections",
    ]
    settings_records = [r for r in report["records"] if r["post"] == "episode.toml"]
    assert report["summary"]["settings_warnings"] == len(settings_records) == 4
    assert report["summary"]["warnings"] == len(report["records"]) - 4  # the posts' own
    # Warnings about the settings never fail --strict, in a check as in a build.
    strict = _episode(tmp_path, "check", "--src", "posts", "--no-pdf", "--strict")
    build = _episode(tmp_path, "build", "--src", "posts", "--strict", "--only", "post,newsletter")
    assert strict.stdout.splitlines()[-1].endswith(
        "; 4 about the settings"
        + (" (--strict: warnings fail the check)" if report["summary"]["warnings"] else "")
    )
    assert (strict.returncode == 0) == (build.returncode == 0) == (report["summary"]["warnings"] == 0)
    # Rules are judged against the posts read: none read, none named.
    (posts / "2023-02-24-broken.md").write_text("---\ntitle: [unclosed\n---\nBody.\n")
    for post in posts.glob("20*-*.markdown"):
        post.unlink()
    nothing = _episode(tmp_path, "check", "--src", "posts", "--no-pdf")
    assert "matched nothing" not in nothing.stdout
    assert all(r["severity"] == "warning" for r in records)
    # One post is no archive: a rule that drops nothing from it is no news.
    one = _episode(tmp_path, "check", "--src", str(next(posts.glob("2023-02-24-*"))), "--no-pdf")
    assert "matched nothing" not in one.stdout


# --- --prune within --src --------------------------------------------------------------------


def test_prune_with_one_post_as_src_leaves_the_other_posts_alone(tmp_path: Path, settings: Settings) -> None:
    posts = _folder(tmp_path)
    out = tmp_path / "out"
    build(posts, out, settings, jobs=1, only=FAST)
    one = build(posts / WELCOME, out, settings, jobs=1, only=FAST, prune=True)
    assert one.removed == [] and one.stale == []
    assert (out / Path(OTHER).stem / "post.md").is_file()
    # The folder still knows its posts: a deleted one is pruned, from the folder only.
    (posts / OTHER).unlink()
    still = build(posts / WELCOME, out, settings, jobs=1, only=FAST, prune=True)
    assert still.removed == [] and (out / Path(OTHER).stem).is_dir()
    pruned = build(posts, out, settings, jobs=1, only=FAST, prune=True)
    assert pruned.removed == [Path(OTHER).stem] and not (out / Path(OTHER).stem).exists()
    assert (out / Path(WELCOME).stem / "post.md").is_file()


def test_prune_leaves_the_posts_of_another_folder_built_into_the_same_out(
    tmp_path: Path, settings: Settings
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    shutil.copy(SITE_TODAY / WELCOME, first / WELCOME)
    shutil.copy(SITE_TODAY / OTHER, second / OTHER)
    out = tmp_path / "out"
    build(first, out, settings, jobs=1, only=FAST)
    build(second, out, settings, jobs=1, only=FAST)
    again = build(first, out, settings, jobs=1, only=FAST, prune=True)
    assert again.removed == [] and again.stale == []
    assert (out / Path(OTHER).stem / "post.md").is_file()
    assert build(second, out, settings, jobs=1, only=FAST).count("skipped") == 1  # still in the manifest


def test_prune_from_the_command_line_with_one_post(tmp_path: Path) -> None:
    _folder(tmp_path)
    assert _episode(tmp_path, "build", "--src", "posts", "--only", "post").returncode == 0
    done = _episode(tmp_path, "build", "--src", f"posts/{WELCOME}", "--only", "post", "--prune")
    assert done.returncode == 0, done.stdout
    assert "removed" not in done.stdout and "no longer in the source" not in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == sorted(
        Path(n).stem for n in (WELCOME, OTHER)
    )


# --- --jobs abc ------------------------------------------------------------------------------


@pytest.mark.parametrize("runner", ["invoke", "episode"])
def test_a_flag_that_is_no_number_is_one_line(runner: str, tmp_path: Path) -> None:
    args = ("build", "--jobs", "abc")
    done = _invoke(*args) if runner == "invoke" else _episode(tmp_path, *args)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["error: --jobs: 'abc' is not a whole number"]


def test_bench_flags_that_are_no_numbers_are_one_line() -> None:
    done = _invoke("bench", "--posts", "many")
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["error: --posts: 'many' is not a whole number"]


# --- invoke bench ----------------------------------------------------------------------------


@pytest.mark.slow
def test_bench_reports_every_figure_and_names_the_readme_s_run() -> None:
    """What the report holds; how long it takes is the benchmark's business, not a test's (a
    timed test fails on a busy machine). The time limit only stops a hang."""
    done = _invoke("bench", "--noop-posts", "10", "--cli-posts", "0", timeout=900)
    assert done.returncode == 0, done.stdout
    for figure in ("full_1_worker", "full_2_workers", "noop_archive", "ratio_vs_floor", "template_edit_s"):
        assert figure in done.stdout, figure
    assert "invoke bench --posts 100 --repeat 3 --noop-posts 1000 --cli-posts 100" in done.stdout


def test_a_build_stopped_early_still_ends_with_a_summary_line() -> None:
    stream = io.StringIO()
    reporter = PlainReporter(stream)
    reporter.start(5, 3)
    reporter.post_done(PostResult("a", "a.md", "skipped"))
    reporter.post_done(
        PostResult("b", "b.md", "built", warnings=[Diagnostic("warning", "x", format="newsletter")])
    )
    assert reporter.interrupted_line() == (
        "interrupted after 2 of 5 post(s): built 1, skipped 1, warnings 1, failed 0"
    )
    assert "skipped" not in stream.getvalue()  # not listed without --verbose
    assert "b.md: warning: newsletter: x" in stream.getvalue()


def test_one_problem_found_by_several_formats_is_one_line(tmp_path: Path) -> None:
    """An `http://` link the newsletter and the PDF both keep as text: one line naming both."""
    src = tmp_path / "posts"
    src.mkdir()
    (src / "2025-01-01-h.md").write_text(
        "---\ntitle: H\ndate: 2025-01-01\n---\nSee [x](http://plain.example/a) now.\n"
    )
    done = _invoke("build", "--src", str(src), "--out", str(tmp_path / "out"), "--only", "newsletter,pdf")
    lines = [line for line in done.stdout.splitlines() if "plain.example" in line]
    assert len(lines) == 1, lines
    assert ": warning: newsletter, pdf: link 'http://plain.example/a' kept as text only" in lines[0]
