"""Build orchestration: incremental equals clean, deterministic, atomic, pruning, ordering."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.builder.output_folder import write_atomic
from pipeline.builder.run import build
from pipeline.errors import PipelineError
from pipeline.results import PostResult, Reporter
from pipeline.settings.config import Settings

from .conftest import CORPUS, SEED

FAST = ["post", "chapters"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _posts(tmp_path: Path) -> Path:
    src = tmp_path / "posts"
    shutil.copytree(CORPUS / "imported", src)
    return src


def test_two_clean_builds_are_byte_identical(tmp_path: Path, settings: Settings) -> None:
    src = _posts(tmp_path)
    build(src, tmp_path / "a", settings, jobs=1, only=FAST)
    build(src, tmp_path / "b", settings, jobs=2, only=FAST)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_noop_rebuild_skips_everything_and_rewrites_nothing(tmp_path: Path, settings: Settings) -> None:
    src, out = _posts(tmp_path), tmp_path / "out"
    build(src, out, settings, jobs=1, only=FAST)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    summary = build(src, out, settings, jobs=1, only=FAST)
    assert summary.count("skipped") == 5 and summary.count("built") == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps


def test_incremental_build_equals_clean_build(tmp_path: Path, settings: Settings) -> None:
    src, out = _posts(tmp_path), tmp_path / "out"
    build(src, out, settings, jobs=1, only=FAST)
    changed = next(src.glob("2025-05-28-*"))
    changed.write_text(changed.read_text().replace("Maxime's work", "Maxime’s work"))
    summary = build(src, out, settings, jobs=1, only=FAST)
    assert summary.count("built") == 1 and summary.count("skipped") == 4
    build(src, tmp_path / "clean", settings, jobs=1, only=FAST)
    assert _tree(out) == _tree(tmp_path / "clean")


def test_deleted_post_outputs_are_listed_then_pruned(tmp_path: Path, settings: Settings) -> None:
    src, out = _posts(tmp_path), tmp_path / "out"
    build(src, out, settings, jobs=1, only=FAST)
    gone = next(src.glob("2023-*"))
    gone.unlink()
    summary = build(src, out, settings, jobs=1, only=FAST)
    assert summary.stale == [gone.stem] and (out / gone.stem).is_dir()
    summary = build(src, out, settings, jobs=1, only=FAST, prune=True)
    assert summary.removed == [gone.stem] and not (out / gone.stem).exists()


def test_failing_post_keeps_its_previous_outputs(tmp_path: Path, settings: Settings) -> None:
    src, out = tmp_path / "posts", tmp_path / "out"
    src.mkdir()
    post = src / SEED.name
    shutil.copy(SEED, post)
    build(src, out, settings, jobs=1, only=FAST)
    before = _tree(out / SEED.stem)
    post.write_text(post.read_text().replace("youtubeID: IOC2k5k8oto", "youtubeID: nope"))
    summary = build(src, out, settings, jobs=1, only=FAST)
    assert len(summary.failed) == 1
    assert _tree(out / SEED.stem) == before
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_strict_turns_warnings_into_failure(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    (src / "2024-01-01-ep.md").write_text(
        "---\ntitle: Ep\nyoutubeID: IOC2k5k8oto\n---\nSummary here.\n\n<p>02:00 B</p><p>01:00 A</p>\n"
    )
    relaxed = build(src, tmp_path / "a", settings, jobs=1, only=FAST)
    assert relaxed.count("built") == 1 and any("do not ascend" in w.text for w in relaxed.results[0].warnings)
    strict = build(src, tmp_path / "b", settings, jobs=1, only=FAST, strict=True)
    assert len(strict.failed) == 1 and not (tmp_path / "b" / "2024-01-01-ep").exists()


def test_reports_arrive_in_source_order_with_workers(tmp_path: Path, settings: Settings) -> None:
    seen: list[str] = []

    class Collect(Reporter):
        def post_done(self, result: PostResult) -> None:
            seen.append(result.source)

    build(_posts(tmp_path), tmp_path / "out", settings, jobs=2, only=FAST, reporter=Collect())
    assert seen == sorted(seen)


def test_output_collision_is_reported(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    shutil.copy(SEED, src / "2024-01-01-a.md")
    shutil.copy(SEED, src / "2024-01-01-a.markdown")
    summary = build(src, tmp_path / "out", settings, jobs=1, only=FAST)
    assert len(summary.failed) == 2
    assert all("collide" in (r.error or "") for r in summary.failed)


def test_symlink_outside_the_folder_is_not_read(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    outside = tmp_path / "secret.md"
    shutil.copy(SEED, outside)
    os.symlink(outside, src / "2024-01-01-link.md")
    summary = build(src, tmp_path / "out", settings, jobs=1, only=FAST)
    assert len(summary.failed) == 1 and "symbolic link" in (summary.failed[0].error or "")


def test_write_atomic_leaves_no_temporary_file_on_failure(tmp_path: Path) -> None:
    class Boom(bytes):
        def __len__(self) -> int:
            raise KeyboardInterrupt

    target = tmp_path / "f.txt"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, Boom(b"new"))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_pdf_over_its_time_limit_fails_only_that_post(
    tmp_path: Path, settings: Settings, jobs: int
) -> None:
    src, out = tmp_path / "posts", tmp_path / "out"
    src.mkdir()
    good = shutil.copy(sorted((CORPUS / "imported").glob("*.markdown"))[0], src)
    # A thousand-line chapter table: quick to normalize, seconds of WeasyPrint layout.
    chapters = "\n".join(
        f"- {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d} Chapter {s}" for s in range(0, 15000, 10)
    )
    body = "".join(f"Paragraph {i} of a very long body.\n\n" for i in range(1000))
    (src / "2024-01-01-huge.md").write_text(
        f"---\ntitle: Huge\ndate: 2024-01-01\nyoutubeID: IOC2k5k8oto\n---\n{body}## Chapters\n\n{chapters}\n"
    )
    limited = replace(settings, formats={**settings.formats, "pdf": {**settings.table("pdf"), "timeout": 2}})
    summary = build(src, out, limited, jobs=jobs)
    by_stem = {r.stem: r for r in summary.results}
    huge = by_stem["2024-01-01-huge"]
    assert huge.status == "failed" and huge.bug is None
    assert huge.error == "2024-01-01-huge.md: show-notes.pdf: rendering took longer than 2 s (pdf.timeout)"
    assert not (out / "2024-01-01-huge").exists()
    built = by_stem[Path(good).stem]
    assert built.status == "built" and "show-notes.pdf" in built.files
    assert (out / Path(good).stem / "show-notes.pdf").read_bytes().startswith(b"%PDF")
    assert not list(out.rglob(".*.tmp"))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_deeply_nested_post_does_not_stop_the_build(tmp_path: Path, settings: Settings, jobs: int) -> None:
    src = _posts(tmp_path)
    nested = "<ul>" + "<li>x<ul>" * 300 + "<li>y</li>" + "</ul></li>" * 300 + "</ul>"
    (src / "2024-01-01-nested.md").write_text(f"---\ntitle: Nested\n---\nText.\n\n{nested}\n", "utf-8")
    summary = build(src, tmp_path / "out", settings, jobs=jobs, only=FAST)
    assert summary.count("built") + len(summary.failed) == 6
    assert {Path(r.source).name for r in summary.results if r.status == "built"} >= {
        p.name for p in (CORPUS / "imported").iterdir()
    }


def test_a_worker_that_dies_fails_only_its_post(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    workers_module = importlib.import_module("pipeline.builder.workers")
    original = workers_module.render_episode

    def dies_on_one(episode, settings, job):  # type: ignore[no-untyped-def]
        if episode.stem.endswith("killer"):
            os._exit(3)  # like the kernel's OOM killer: no exception, no cleanup
        return original(episode, settings, job)

    monkeypatch.setattr(workers_module, "render_episode", dies_on_one)  # workers fork with it
    src = _posts(tmp_path)
    shutil.copy(SEED, src / "2024-01-01-killer.markdown")
    summary = build(src, tmp_path / "out", settings, jobs=2, only=FAST)
    failed = [r for r in summary.results if r.status == "failed"]
    assert [Path(r.source).name for r in failed] == ["2024-01-01-killer.markdown"]
    assert "internal error" in (failed[0].error or "")
    assert summary.count("built") == 5


def test_a_tampered_manifest_cannot_delete_outside_the_output_folder(
    tmp_path: Path, settings: Settings
) -> None:
    src, out = _posts(tmp_path), tmp_path / "out"
    build(src, out, settings, jobs=1, only=FAST)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manifest = out / ".manifest.json"
    data = json.loads(manifest.read_text())
    stem = next(iter(data["posts"]))
    data["posts"][stem]["files"].append("../../victim.txt")
    data["posts"][stem]["digest"] = "changed"
    data["posts"][".."] = {"digest": "x", "files": [], "source": "gone.md"}
    manifest.write_text(json.dumps(data))
    build(src, out, settings, jobs=1, only=FAST, prune=True)
    assert victim.read_text() == "keep me"
    assert out.is_dir() and tmp_path.is_dir()


def test_an_output_path_that_is_a_file_is_one_error(tmp_path: Path, settings: Settings) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(PipelineError, match="cannot use it as the output folder"):
        build(_posts(tmp_path), target, settings, jobs=1, only=FAST)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_warm_up_is_only_a_lost_head_start(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Importing WeasyPrint early is an optimisation: its failure must not stop the build."""
    from pipeline.formats.pdf import engine as pdf_engine

    def fails(settings: Settings) -> None:
        raise OSError("cannot load library 'pango-1.0-0'")

    monkeypatch.setattr(pdf_engine, "warm_up", fails)  # the workers fork with it
    summary = build(_posts(tmp_path), tmp_path / "out", settings, jobs=jobs, only=["pdf"])
    assert (summary.count("built"), len(summary.failed)) == (5, 0)


def test_an_interrupted_pool_leaves_no_manager_thread_behind(tmp_path: Path, settings: Settings) -> None:
    """A build stopped by Ctrl-C or SIGTERM kills its workers; the executor's manager thread must
    be gone before the interpreter exits, or Python 3.11's exit hook writes to the pipe that
    thread is closing and prints a traceback (`OSError: Bad file descriptor`)."""
    import threading

    from pipeline.builder.workers import Pool, Target

    pool = Pool(2, Target(tmp_path / "out", settings, False), ("post",))
    managers = [t for t in threading.enumerate() if "ExecutorManager" in type(t).__name__]
    assert managers
    pool.stop()
    assert not [t for t in managers if t.is_alive()]
    pool.close()
