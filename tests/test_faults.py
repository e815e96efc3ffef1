"""Fault injection with the real processes: kills, full disks, hostile bodies, broken state.

Each case runs `python -m invoke build … --jobs 2` (or `build()` where a fault is injected at the
write layer) and checks what a user would see: one line per problem, never a traceback; a post
with either its previous outputs or its new ones; no process or temporary folder left behind.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.builder.manifest import MANIFEST
from pipeline.builder.run import build
from pipeline.settings.config import Settings
from pipeline.source.discovery import safe_stem

from .conftest import CORPUS, ROOT

FAST = "post,chapters"


def _posts(tmp_path: Path, count: int = 5) -> Path:
    src = tmp_path / "posts"
    src.mkdir()
    for path in sorted((CORPUS / "imported").glob("*.markdown"))[:count]:
        shutil.copy(path, src / path.name)
    return src


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _episode(*args: str | Path, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "invoke", "build", *map(str, args)]
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    assert "internal error" not in done.stdout + done.stderr, done.stdout + done.stderr


def _edit_bodies(src: Path) -> None:
    for path in src.iterdir():
        front, body = path.read_text("utf-8").split("\n---\n", 1)
        path.write_text(f"{front}\n---\nAn opening paragraph, written later.\n\n{body}", "utf-8")


# --- 2. a post has its previous outputs or its new ones ---------------------------------------


def test_a_full_disk_keeps_the_previous_outputs_and_is_one_line(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = _posts(tmp_path, 2), tmp_path / "out"
    build(src, out, settings, jobs=1, only=["post", "youtube"])
    before = _tree(out)
    _edit_bodies(src)
    real_open = os.open
    written: dict[str, int] = {}

    def full_disk(path: str | os.PathLike[str], flags: int, mode: int = 0o777, **kw: object) -> int:
        name = os.fspath(path)
        if name.startswith(str(out.resolve())) and Path(name).parent.name != out.name:
            written[Path(name).parent.name] = written.get(Path(name).parent.name, 0) + 1
            if written[Path(name).parent.name] == 2:  # the second file of a post finds the disk full
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", full_disk)
    summary = build(src, out, settings, jobs=1, only=["post", "youtube"])
    monkeypatch.undo()
    assert [r.status for r in summary.results] == ["failed", "failed"]
    for result in summary.results:
        assert result.bug is None
        assert result.error is not None and "no space left on the disk" in result.error
        assert "\n" not in result.error and Path(result.source).name in result.error
    after = _tree(out)
    assert {k: v for k, v in after.items() if k != MANIFEST} == {
        k: v for k, v in before.items() if k != MANIFEST
    }
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [MANIFEST]


@pytest.mark.slow
def test_a_file_size_limit_fails_posts_in_one_line_each_and_keeps_their_outputs(tmp_path: Path) -> None:
    """RLIMIT_FSIZE stands in for a tiny disk: the PDF does not fit, everything smaller does."""
    src, out = _posts(tmp_path, 2), tmp_path / "out"  # pandoc's JSON of these two is under 16 KB
    assert _episode("--src", src, "--out", out, "--jobs", "2").returncode == 0
    before = _tree(out)
    _edit_bodies(src)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    done = _episode("--src", src, "--out", out, "--jobs", "2", preexec_fn=limit)
    assert done.returncode == 1, done.stdout + done.stderr
    _no_traceback(done)
    errors = [line for line in done.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 2, done.stdout
    assert all("a file is larger than the system allows" in line for line in errors)
    after = _tree(out)
    assert {k: v for k, v in after.items() if k != MANIFEST} == {
        k: v for k, v in before.items() if k != MANIFEST
    }
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != MANIFEST]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_switch_left_half_done_by_a_killed_build_is_finished_or_undone(
    tmp_path: Path, settings: Settings
) -> None:
    src, out = _posts(tmp_path, 3), tmp_path / "out"
    build(src, out, settings, jobs=1, only=["post", "chapters"])
    stems = sorted(safe_stem(p) for p in src.iterdir())
    pid = _dead_pid()
    # 1: killed while writing the staging folder: undone
    (out / f".{stems[0]}.{pid}.new").mkdir()
    (out / f".{stems[0]}.{pid}.new" / "post.md").write_text("half")
    # 2: killed after setting the old folder aside: finished with the complete staging folder
    os.rename(out / stems[1], out / f".{stems[1]}.{pid}.old")
    shutil.copytree(out / f".{stems[1]}.{pid}.old", out / f".{stems[1]}.{pid}.new")
    (out / f".{stems[1]}.{pid}.new" / "marker").write_text("new")
    # 3: killed before removing the old folder: removed
    shutil.copytree(out / stems[2], out / f".{stems[2]}.{pid}.old")
    summary = build(src, out, settings, jobs=1, only=["post", "chapters"])
    assert not summary.failed
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *stems])
    assert (out / stems[0] / "post.md").read_text() != "half"
    assert (out / stems[1] / "marker").read_text() == "new"  # a file the build does not own stays
    assert summary.count("skipped") == 3


def test_a_read_only_output_folder_is_one_line(tmp_path: Path) -> None:
    src, out = _posts(tmp_path, 3), tmp_path / "out"
    out.mkdir()
    mounted = False
    if os.geteuid() == 0:  # permission bits do not stop root: a read-only file system does
        mounted = (
            subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(out)]).returncode == 0
        )
        if not mounted:
            pytest.skip("root, and no read-only mount possible here")
    else:
        out.chmod(0o555)
    try:
        done = _episode("--src", src, "--out", out, "--jobs", "2", "--only", FAST)
    finally:
        if mounted:
            subprocess.run(["umount", str(out)], check=True)
        else:
            out.chmod(0o755)
    _no_traceback(done)
    assert done.returncode == 1
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line]
    assert len(problems) == 1, done.stdout + done.stderr
    assert "read-only file system" in problems[0] or "permission denied" in problems[0]


# --- 5. broken state ------------------------------------------------------------------------


def test_a_manifest_nested_too_deeply_is_ignored(tmp_path: Path) -> None:
    src, out = _posts(tmp_path, 2), tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("[" * 100_000)
    done = _episode("--src", src, "--out", out, "--jobs", "2", "--only", FAST)
    _no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "built 2" in done.stdout


def test_a_manifest_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    src, out = _posts(tmp_path, 2), tmp_path / "out"
    (out / MANIFEST).mkdir(parents=True)
    done = _episode("--src", src, "--out", out, "--jobs", "2", "--only", FAST)
    _no_traceback(done)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line]
    assert len(lines) == 1 and "cannot save the build manifest" in lines[0], done.stdout + done.stderr
    assert len(_tree(out)) >= 2  # the posts were built all the same


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_src_a_fifo_or_a_device_is_one_line(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        src = tmp_path / "posts.md"
        os.mkfifo(src)
    else:
        src = Path("/dev/zero")
    done = _episode("--src", src, "--out", tmp_path / "out", "--jobs", "2", "--only", FAST, timeout=30)
    _no_traceback(done)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert ": error: not a post file or a folder" in lines[-1], lines


# --- 3. pandoc's exponential HTML reader ---------------------------------------------------


def test_repeated_unclosed_links_in_lists_convert_quickly(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    body = '<ul><li><a href="https://example.com/x">a' * 22
    (src / "2025-01-01-links.md").write_text(f"---\ntitle: Links\ndate: 2025-01-01\n---\n{body}\n")
    started = time.monotonic()
    summary = build(src, tmp_path / "out", settings, jobs=1, only=["post", "chapters"])
    assert time.monotonic() - started < 10
    assert not summary.failed, summary.failed[0].error


# --- 1. orphans ----------------------------------------------------------------------------


def _children_of(pid: int) -> set[int]:
    """Every process whose ancestry reaches `pid` (read from /proc while it still lives)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _in_session(sid: int) -> set[int]:
    """Every live process of session `sid`: a build started in a session of its own, its workers
    and pandoc processes, including any started after a look at its children, reparented or not."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _temp_folders(root: Path) -> set[str]:
    return {p.name for p in root.glob("pipeline-pandoc-*")}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "point"),
    [(signal.SIGKILL, "post(s)"), (signal.SIGKILL, "  2/200]"), (signal.SIGTERM, "  2/200]")],
    ids=["kill-9-at-start", "kill-9-while-building", "sigterm-while-building"],
)
def test_a_killed_build_leaves_no_process_and_no_temporary_folder(
    tmp_path: Path, sig: signal.Signals, point: str
) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    corpus = sorted((CORPUS / "imported").glob("*.markdown"))
    for n in range(200):
        shutil.copy(corpus[n % len(corpus)], src / f"2025-01-{n:03d}-{corpus[n % len(corpus)].name[11:]}")
    # A temporary folder of its own: another build on the machine must not count here.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "invoke", "build", "--src", str(src), "--out", str(tmp_path / "out")]
    build_process = subprocess.Popen(
        [*command, "--jobs", "2", "--force"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert build_process.stdout is not None
    for line in build_process.stdout:
        if point in line:
            break
    time.sleep(0.5)  # the workers are up, pandoc converts the next batch
    children = _children_of(build_process.pid)
    assert children
    build_process.send_signal(sig)
    output = build_process.communicate(timeout=60)[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _in_session(build_process.pid):
        time.sleep(0.1)
    survivors = _in_session(build_process.pid)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors
    if sig == signal.SIGTERM:
        assert build_process.returncode == 130, output
        assert "interrupted after" in output and "Traceback" not in output
    # the next build removes the folders of the build that is gone
    left = _temp_folders(scratch)
    _episode("--src", src / sorted(os.listdir(src))[0], "--out", tmp_path / "out", "--only", FAST, env=env)
    assert not _temp_folders(scratch), f"left by the killed build: {left}"


# --- 4. a killed build is resumed -------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_build_is_resumed_where_it_stopped(tmp_path: Path) -> None:
    src, out = tmp_path / "posts", tmp_path / "out"
    src.mkdir()
    corpus = sorted((CORPUS / "imported").glob("*.markdown"))
    for n in range(200):
        shutil.copy(corpus[n % len(corpus)], src / f"2025-01-{n:03d}-{corpus[n % len(corpus)].name[11:]}")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    command = [sys.executable, "-m", "invoke", "build", "--src", str(src), "--out", str(out), "--only", FAST]
    process = subprocess.Popen(
        [*command, "--jobs", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:  # until the build has saved what it did so far
        if (out / MANIFEST).is_file():
            break
        assert "built" not in line.split("]")[-1] or "/200]" in line, line
    process.kill()
    process.communicate(timeout=60)
    saved = json.loads((out / MANIFEST).read_text())
    assert saved["complete"] is False and 0 < len(saved["posts"]) < 200

    done = _episode("--src", src, "--out", out, "--only", FAST, "--jobs", "2", env=env)
    _no_traceback(done)
    resumed = int(done.stdout.split("resumed: ")[1].split()[0])
    assert resumed == len(saved["posts"])  # what was saved is skipped; what came after, built again
    assert f"built {200 - resumed}, skipped {resumed}," in done.stdout
    assert json.loads((out / MANIFEST).read_text())["complete"] is True
    assert _episode("--src", src, "--out", out, "--only", FAST, env=env).stdout.count("resumed") == 0


def test_a_worker_whose_build_is_gone_exits_without_the_kernels_help(tmp_path: Path) -> None:
    """`watch_parent`, the parent-death check of systems without PR_SET_PDEATHSIG: a worker whose
    build was killed with `kill -9` exits within seconds (nothing else ties it to the build here)."""
    worker = (
        "import os, time; from pipeline.builder.workers import watch_parent; "
        "watch_parent(os.getppid(), every=0.1); print(os.getpid(), flush=True); time.sleep(60)"
    )
    build_like = (
        f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(60)"
    )
    middle = subprocess.Popen(
        [sys.executable, "-c", build_like],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert middle.stdout is not None
    child = int(middle.stdout.readline())
    assert _alive(child)
    middle.kill()
    middle.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive
