"""The benchmark's pieces: the synthetic archive and builds timed in fresh interpreters."""

from __future__ import annotations

from pathlib import Path

from devtools.bench import BenchReport, BenchRun, _fresh_build, run_bench, synthetic_archive
from pipeline.source.post_file import read_post


def test_the_synthetic_archive_has_distinct_valid_posts(tmp_path: Path) -> None:
    paths = synthetic_archive(tmp_path, 12)
    assert len({p.name for p in paths}) == 12
    posts = [read_post(p) for p in paths]
    assert len({p.front_matter.youtube_id for p in posts}) == 12
    assert len({p.front_matter.title for p in posts}) == 12


def test_a_noop_rebuild_in_a_fresh_interpreter_imports_no_renderer(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    synthetic_archive(src, 6)
    first = _fresh_build(src, tmp_path / "out", 2)
    assert (first.built, first.failed) == (6, 0)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*") if p.is_file()}
    again = _fresh_build(src, tmp_path / "out", 2)
    assert (again.built, again.failed, again.weasyprint_imported) == (0, 0, False)
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before  # not one file rewritten, the manifest included


def test_the_floor_renders_the_same_pdf_the_build_writes(tmp_path: Path) -> None:
    """The floor is WeasyPrint alone, but on the very PDF the build makes: same bytes."""
    from devtools.bench import render_alone
    from pipeline.builder.run import build
    from pipeline.formats.pdf import show_notes as shownotes
    from pipeline.normalize.stages import normalize_file
    from pipeline.settings.config import Settings

    src = tmp_path / "posts"
    (post,) = synthetic_archive(src, 1)
    settings = Settings()
    build(src, tmp_path / "out", settings, jobs=1, only=["pdf"])
    built = (tmp_path / "out" / post.stem / "show-notes.pdf").read_bytes()
    episode = normalize_file(post, settings)
    html = shownotes.episode_html(episode, settings, shownotes.pdf_options(settings))
    assert render_alone(html, settings, identifier=episode.stem) == built


def test_a_build_without_the_pdf_never_imports_weasyprint(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    synthetic_archive(src, 2)
    for jobs in (1, 2):
        run = _fresh_build(src, tmp_path / f"out-{jobs}", jobs, "newsletter,youtube")
        assert (run.built, run.failed, run.weasyprint_imported) == (2, 0, False)


def test_a_new_measurement_is_one_function() -> None:
    """`run_bench` runs the measurements it is given over one archive; their figures are listed."""
    seen: list[int] = []

    def measure_example(run: BenchRun, report: BenchReport) -> None:
        seen.append(len(list(run.src.iterdir())))
        report.figures["example_ms"] = 1.5

    report = run_bench(10, measurements=[measure_example])
    assert seen == [10]
    assert "  example_ms                     1.500" in report.lines()
