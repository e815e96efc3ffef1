"""The fuzzing entry point (`invoke fuzz`) runs, is reproducible, and catches broken invariants,
along each path: one post in memory, a pandoc batch, the build as a stream and with a pool."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from devtools.fuzz import (
    PATHS,
    half_written,
    inputs,
    invariant_problems,
    load_seeds,
    paths_of,
    run_fuzz,
)
from pipeline.errors import PipelineError
from pipeline.formats import Rendered
from pipeline.formats.descriptions import youtube
from pipeline.model import Episode
from pipeline.results import PostResult, Status
from pipeline.settings.config import Settings


def _problems(folder: Path) -> str:
    return (folder / "problem.txt").read_text()


def test_a_few_inputs_pass(tmp_path: Path, settings: Settings) -> None:
    report = run_fuzz(settings, seed=7, examples=12, out=tmp_path / "fuzz")
    assert report.tried == 12 and report.rendered > 0
    assert report.failures == [], [_problems(p) for p in report.failures]
    assert report.lines()[0].startswith("fuzz: single: seed 7: 12 inputs")


@pytest.mark.parametrize("path", ["batch", "stream", "pool"])
def test_each_path_passes_a_few_inputs(path: str, tmp_path: Path, settings: Settings) -> None:
    report = run_fuzz(settings, path=path, seed=7, examples=6, out=tmp_path / "fuzz")
    assert report.tried == 6 and report.rendered > 0
    assert report.failures == [], [_problems(p) for p in report.failures]
    assert report.lines()[0].startswith(f"fuzz: {path}: seed 7: 6 inputs")


@pytest.mark.parametrize("path", PATHS)
def test_each_path_reports_a_planted_internal_error(
    path: str, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A format that raises is a bug every path must report, with the post it happened on.

    In-process for `stream`; the `pool` workers are forked from this process, so they have it too.
    """

    def render(episode: Episode, settings: Settings) -> Rendered:
        raise RuntimeError("planted bug")

    monkeypatch.setattr(youtube, "render", render)
    report = run_fuzz(settings, path=path, seed=7, examples=6, out=tmp_path / "fuzz")
    assert report.failures, report.lines()
    folder = report.failures[0]
    problems = _problems(folder)
    assert "internal error: RuntimeError: planted bug" in problems
    named = problems.split(":", 1)[0]
    assert (folder / named).is_file()  # each problem names a post the reproducer holds
    assert folder.name.startswith(f"{path}-7-")


def test_a_build_that_writes_other_bytes_the_second_time_is_a_finding(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = itertools.count()
    original = youtube.render

    def render(episode: Episode, settings: Settings) -> Rendered:
        rendered = original(episode, settings)
        rendered.files["youtube.txt"] += f"run {next(counter)}\n".encode()
        return rendered

    monkeypatch.setattr(youtube, "render", render)
    report = run_fuzz(settings, path="stream", seed=7, examples=6, out=tmp_path / "fuzz")
    assert report.failures
    problems = _problems(report.failures[0])
    assert "built twice, 2024-01-01-fuzz-" in problems and "/youtube.txt differs" in problems
    assert "+run " in problems  # the lines that differ are shown


def test_what_a_build_leaves_half_written_is_named(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "2024-01-01-a").mkdir(parents=True)
    (out / "2024-01-01-a" / "post.md").write_text("x")
    (out / "2024-01-01-a" / ".post.md.123.0.tmp").write_text("x")
    (out / ".2024-01-01-b.123.new").mkdir()
    (out / "2024-01-01-c").mkdir()
    results = [
        PostResult("2024-01-01-a", "src/2024-01-01-a.md", Status.BUILT, files=["post.md"]),
        PostResult("2024-01-01-b", "src/2024-01-01-b.md", Status.BUILT, files=["post.md"]),
        PostResult("2024-01-01-c", "src/2024-01-01-c.md", Status.FAILED, error="x"),
    ]
    found = half_written(out, results)
    assert ("2024-01-01-a.md", "left behind in the output folder: 2024-01-01-a/.post.md.123.0.tmp") in found
    assert ("2024-01-01-b.md", "left behind in the output folder: .2024-01-01-b.123.new") in found
    assert any(post == "2024-01-01-b.md" and "holds []" in problem for post, problem in found)
    assert any(post == "2024-01-01-c.md" and "failed, yet" in problem for post, problem in found)
    assert any(
        post == "2024-01-01-a.md" and "holds ['.post.md.123.0.tmp', 'post.md']" in p for post, p in found
    )


def test_paths() -> None:
    assert paths_of("all") == PATHS == ("single", "batch", "stream", "pool")
    assert paths_of("pool") == ("pool",)
    with pytest.raises(PipelineError, match="choose from single, batch, stream, pool, all"):
        paths_of("threads")


def test_the_same_seed_gives_the_same_inputs() -> None:
    seeds = load_seeds()
    assert all(b"{PORT}" not in s for s in seeds)
    first = list(itertools.islice(inputs(3, seeds), 50))
    assert first == list(itertools.islice(inputs(3, seeds), 50))
    assert first != list(itertools.islice(inputs(4, seeds), 50))


def test_broken_invariants_are_named() -> None:
    assert (
        invariant_problems(
            {"youtube.txt": b"ok\n", "podcast.html": b'<p><a href="https://x.test/">x</a></p>'}
        )
        == []
    )
    problems = invariant_problems(
        {
            "youtube.txt": b"<b>" + b"x" * 5000,
            "podcast.html": b'<p><a href=" jav&#x61;script:alert(1)">x</a><img src=x onerror=alert(1)></p>',
            "newsletter.html": b"<p><script>alert(1)</script></p>",
            "newsletter.txt": "evil \u202e text".encode(),
        }
    )
    assert any("over 5000" in p for p in problems)
    assert any("< or >" in p for p in problems)
    assert any("podcast.html: <a href=" in p for p in problems)
    assert any("onerror" in p for p in problems)
    assert any("newsletter.html: has <script>" in p for p in problems)
    assert any("newsletter.txt: contains a bidi" in p for p in problems)
