"""Batched pandoc: the same ASTs as one process per body, and every body keeps its own limits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.builder.run import build
from pipeline.errors import ConversionError, SourceError
from pipeline.normalize.stages import normalize_converted, normalize_file, prepare
from pipeline.pandoc import convert
from pipeline.pandoc.convert import Batch, body_to_ast
from pipeline.pandoc.stream import batch_sizes, converted
from pipeline.settings.config import Settings
from pipeline.source.post_file import read_post

from .conftest import CORPUS

FIXTURES = Path(__file__).parent / "fixtures"


def _bodies(settings: Settings) -> list[tuple[str, Path]]:
    bodies = []
    for path in sorted(CORPUS.glob("*/*.m*")) + sorted((FIXTURES / "hostile").glob("*.md")):
        try:
            prepared = prepare(read_post(path), settings)
        except SourceError:  # refused before pandoc (HTML nested too deep)
            continue
        bodies.append((prepared.body.replace("{PORT}", "9"), path))
    return bodies


def test_a_batch_gives_the_asts_one_pandoc_per_body_gives(settings: Settings) -> None:
    bodies = _bodies(settings)
    assert len(bodies) > 30
    batched = Batch(bodies).results()
    for (body, path), ast in zip(bodies, batched, strict=True):
        assert ast == body_to_ast(body, path), path


def test_a_body_over_the_time_limit_fails_alone() -> None:
    slow = "<div>" * 200_000  # pandoc's HTML reader needs seconds for this
    results = Batch([("First.", "a.md"), (slow, "slow.md"), ("Third.", "c.md")], timeout=0.3).results()
    assert isinstance(results[0], dict)
    assert isinstance(results[1], ConversionError)
    assert "took over 0.3 s" in str(results[1])
    assert str(results[1]).startswith("slow.md")
    assert isinstance(results[2], dict)
    assert results[2]["blocks"][0]["c"][0]["c"] == "Third."


@pytest.mark.slow
def test_a_body_over_the_memory_cap_fails_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Under `pandoc lua` the RTS may thrash near the cap instead of exiting: the time limit
    # catches that, so either message is this body's own failure.
    monkeypatch.setattr(convert, "MEMORY_LIMIT", "40M")
    huge = "word " * 200_000
    results = Batch([("First.", "a.md"), (huge, "huge.md"), ("Third.", "c.md")], timeout=3).results()
    assert isinstance(results[1], ConversionError)
    assert "memory limit" in str(results[1]) or "took over 3 s" in str(results[1])
    assert [isinstance(r, dict) for r in (results[0], results[2])] == [True, True]


def test_a_batch_leaves_no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    Batch([("One.", "a.md"), ("<div>" * 200_000, "b.md")], timeout=0.2).results()
    assert list(tmp_path.iterdir()) == []


def test_batch_sizes_start_small_and_cover_every_post() -> None:
    assert list(batch_sizes(0)) == []
    assert list(batch_sizes(1)) == [1]
    assert list(batch_sizes(100)) == [4, 8, 16, 32, 40]
    assert list(batch_sizes(1000)) == [4, 8, 16, 32, 64, *[128] * 6, 108]
    assert all(sum(batch_sizes(n)) == n for n in range(100))


def test_the_stream_keeps_order_and_reports_bad_posts_in_place(tmp_path: Path, settings: Settings) -> None:
    good = sorted((CORPUS / "imported").glob("*.markdown"))
    bad = tmp_path / "2024-01-01-bad.md"
    bad.write_text("---\ntitle: [a, list]\n---\nBody.\n", "utf-8")
    paths = [good[0], bad, *good[1:]]
    items = list(converted(paths, settings))
    assert [i.path for i in items] == paths
    assert isinstance(items[1].error, SourceError)
    assert "title" in str(items[1].error)
    with pytest.raises(SourceError):
        normalize_converted(items[1], settings)
    for item in items[:1] + items[2:]:
        assert item.error is None
        assert normalize_converted(item, settings) == normalize_file(item.path, settings)


def test_a_post_pandoc_cannot_convert_fails_alone_in_a_build(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "MEMORY_LIMIT", "40M")
    monkeypatch.setattr(convert, "TIMEOUT_SECONDS", 3)
    src = tmp_path / "posts"
    shutil.copytree(CORPUS / "imported", src)
    heavy = src / "2024-01-01-heavy.md"
    heavy.write_text("---\ntitle: Heavy\n---\n" + "word " * 200_000, "utf-8")
    summary = build(src, tmp_path / "out", settings, jobs=1, only=["post", "chapters"])
    failed = {Path(r.source).name: r.error for r in summary.failed}
    assert list(failed) == ["2024-01-01-heavy.md"]
    assert "pandoc" in str(failed["2024-01-01-heavy.md"])
    assert summary.count("built") == 5
    assert not (tmp_path / "out" / "2024-01-01-heavy").exists()


def test_tabs_come_out_the_same_from_a_batch_and_from_one_pandoc() -> None:
    body = "Text\twith a tab.\n\n```\n\tcode\ttab\n```\n"
    assert Batch([(body, "tab.md")]).results()[0] == body_to_ast(body, "tab.md")


def test_lua_init_in_the_environment_does_not_shift_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUA_INIT", 'print("surprise")')
    results = Batch([("One.", "a.md"), ("Two.", "b.md")]).results()
    assert [r["blocks"][0]["c"][0]["c"] for r in results if isinstance(r, dict)] == ["One.", "Two."]


def _pandoc_children() -> list[str]:
    import os

    me = str(os.getpid())
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me and fields.get("Name", "").strip() == "pandoc":
            children.append(status.parent.name)
    return children


def test_stopping_the_stream_early_stops_pandoc_and_removes_its_files(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    paths = sorted((CORPUS / "imported").glob("*.markdown")) * 3
    stream = converted(paths, settings)
    first = next(stream)
    assert first.error is None
    stream.close()
    assert _pandoc_children() == []
    assert list(work.iterdir()) == []


def test_a_vanished_scratch_folder_fails_the_rest_of_the_batch_in_one_line_each() -> None:
    """Scratch files removed under a running batch: one error per remaining post, no traceback."""
    import shutil

    slow = "<div>" * 200_000  # over the time limit: the batch must start a new pandoc for the rest
    batch = Batch([("First.", "a.md"), (slow, "slow.md"), ("Third.", "c.md")], timeout=0.3)
    results = batch._collect()
    first = next(results)
    assert isinstance(first, bytes)
    shutil.rmtree(batch._root)
    rest = list(results)
    batch.close()
    assert len(rest) == 2 and all(isinstance(r, ConversionError) for r in rest)  # a time limit among them
    assert str(rest[1]).startswith("c.md: pandoc's scratch files are gone (")
    assert "\n" not in str(rest[1])


def test_a_forked_copy_of_the_process_leaves_a_running_batch_alone() -> None:
    """A process forked while a batch runs holds a copy of the batch. Closing that copy (a copied
    stream finalized, the copy's exit) must neither remove the scratch folder nor stop the pandoc
    that the batch's own process is still reading: that made `stderr-0` vanish under a build."""
    import gc
    import os

    batch = Batch([("One.", "a.md"), ("Two.", "b.md")])
    child = os.fork()
    if child == 0:  # the copy: whatever happens here, it ends with os._exit
        code = 0
        try:
            batch.close()
            gc.collect()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert batch._root.exists()
    results = batch.results()
    assert [r["blocks"][0]["c"][0]["c"] for r in results if isinstance(r, dict)] == ["One.", "Two."]
    assert not batch._root.exists()


FORK_AND_EXIT = """
import os, sys
from pipeline.pandoc.convert import Batch
batch = Batch([("One.", "a.md"), ("Two.", "b.md")])
if os.fork() == 0:
    sys.exit(0)  # a normal exit: the copy runs the finalizers it inherited
os.wait()
print(" ".join(type(r).__name__ for r in batch.results()))
"""


def test_a_forked_copy_that_exits_normally_leaves_a_running_batch_alone() -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    done = subprocess.run([sys.executable, "-c", FORK_AND_EXIT], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "dict dict", done.stderr


def test_another_build_never_removes_a_running_batch_even_if_its_pid_looks_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`remove_abandoned` in another process: a pid that seems gone (pid namespaces, a rewritten
    owner file) is not enough while the batch holds the lock on its owner file."""
    import subprocess
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    batch = Batch([("One.", "a.md")])
    (batch._root / convert.OWNER_FILE).write_text("999999999")  # no such process
    sweep = "import sys; from pathlib import Path; from pipeline.pandoc.convert import remove_abandoned as r; print(r(Path(sys.argv[1])))"
    done = subprocess.run(
        [sys.executable, "-c", sweep, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    assert isinstance(batch.results()[0], dict)
    # once no process holds the lock, a folder whose owner is gone is removed
    left = tmp_path / f"{convert.TEMP_PREFIX}left"
    left.mkdir()
    (left / convert.OWNER_FILE).write_text("999999999")
    done = subprocess.run(
        [sys.executable, "-c", sweep, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert str(left) in done.stdout
    assert not left.exists()


# --- a build stopped while a batch starts, or while it is cleaned up ---------------------------


def _scratch_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob(f"{convert.TEMP_PREFIX}*"))


@pytest.mark.usefixtures("ctrl_c")
def test_an_interrupt_as_a_batch_starts_pandoc_leaves_neither_pandoc_nor_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or SIGTERM, which the build turns into one) the instant pandoc has started: the
    batch must still hold that pandoc, stop it and remove its folder before the build unwinds."""
    import signal
    import subprocess
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    body_to_ast("Warm.", "warm.md")  # pandoc found (and asked its version) before the fault
    started: list[subprocess.Popen[bytes]] = []

    class InterruptedAtOnce(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(subprocess, "Popen", InterruptedAtOnce)
    with pytest.raises(KeyboardInterrupt):
        Batch([("<div>" * 200_000, "slow.md"), ("Two.", "b.md")])
    monkeypatch.undo()
    assert len(started) == 1
    assert started[0].poll() is not None, "pandoc still runs, held by nobody"
    assert _scratch_folders(tmp_path) == []


FORK_THEN_DIE = """
import os, sys, time
from pipeline.pandoc.convert import Batch
batch = Batch([("One.", "a.md")])
child = os.fork()
if child == 0:  # e.g. a worker started while the batch runs; it outlives the build
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
os._exit(0)  # the build dies without cleaning up, as under kill -9
"""


def test_a_process_forked_while_a_batch_runs_does_not_keep_its_folder(tmp_path: Path) -> None:
    """flock belongs to the open file, which fork shares: a process forked from a build while a
    batch ran held the batch's lock after the build was gone, so no later build removed it."""
    import os
    import signal
    import subprocess
    import sys

    from .conftest import ROOT

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", FORK_THEN_DIE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    child = int(done.stdout.split()[0])
    try:
        assert len(_scratch_folders(tmp_path)) == 1, done.stderr
        removed = convert.remove_abandoned(tmp_path)
        assert len(removed) == 1 and _scratch_folders(tmp_path) == []
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_scratch_folder_without_an_owner_is_removed_once_it_is_old(tmp_path: Path) -> None:
    """A build killed between making its folder and writing the owner file leaves a folder no
    lock can vouch for: a fresh one may be a running build's, an hour-old one is removed."""
    import time

    orphan = tmp_path / f"{convert.TEMP_PREFIX}orphan"
    orphan.mkdir()
    (orphan / "0.md").write_text("One.")
    assert convert.remove_abandoned(tmp_path, now=time.time()) == []
    assert convert.remove_abandoned(tmp_path, now=time.time() + convert.UNOWNED_SECONDS + 60) == [orphan]
    assert not orphan.exists()
