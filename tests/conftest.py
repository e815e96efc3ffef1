"""Shared fixtures; the pytest header names the renderer versions outputs depend on."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from pipeline.settings.config import Settings, load_settings

# Property tests draw the same examples on every run: a suite that passed passes again. Wider,
# random exploration is `invoke fuzz`'s job.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.load_profile("repeatable")

FULL = os.environ.get("PIPELINE_TESTS") == "all"
"""The whole suite (`invoke test --all`, and CI): the `slow` tests too, and every property test
with its full count of examples."""


def examples(full: int) -> int:
    """A property test's number of examples: `full` in the whole suite, a tenth of it (at least
    10) by default. The examples are drawn in the same order, so the default ones are the first
    of the full run's."""
    return full if FULL else max(10, full // 10)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The `slow` tests (many processes, long searches, a wheel install) run in the whole suite."""
    if FULL or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow: runs with `invoke test --all` (and in CI)")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)


ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus"
GOLDEN = ROOT / "tests" / "golden"
SEED = (
    CORPUS
    / "imported"
    / "2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12.markdown"
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from pipeline.pandoc.convert import pandoc_version

    versions = []
    for package in ("weasyprint", "pypandoc-binary", "css-inline", "nh3"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    return [f"pandoc {pandoc_version()}; " + ", ".join(versions)]


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings of the bundled samples (the project's own pyproject.toml)."""
    return load_settings(ROOT / "samples" / "episode.toml")


def write_post(folder: Path, name: str, text: str | bytes) -> Path:
    """Write a post file for a test and return its path."""
    path = folder / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, as in a program run from a terminal,
    whatever this test run inherited (started in a shell's background, it ignores SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def memory_cap() -> None:
    """For a child process: reading /dev/zero fails with MemoryError at 2 GB instead of taking
    the machine."""
    resource.setrlimit(resource.RLIMIT_DATA, (2 << 30, 2 << 30))


EPISODE = [sys.executable, "-c", "from pipeline.cli.commands import program; program.run()"]
"""The installed `episode` command's Program, as a process, from this checkout."""


def run_episode(
    cwd: Path,
    *args: str | Path,
    timeout: float = 300,
    merged: bool = True,
    env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], object] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`episode ARGS` run from `cwd` with no PIPELINE_CONFIG; `merged`: stderr after stdout, in
    one (`.stdout`), as a terminal shows them."""
    return subprocess.run(
        [*EPISODE, *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PIPELINE_CONFIG": "", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        check=False,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )
