"""Each broken post gets one line naming the file, the line and the field; no outputs; others build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.builder.run import build
from pipeline.errors import PipelineError
from pipeline.reports import shown_path
from pipeline.settings.config import Settings
from pipeline.source.post_file import read_post

from .conftest import FIXTURES, ROOT, SEED

BAD = FIXTURES / "bad"
EXPECTED: dict[str, dict[str, object]] = json.loads((BAD / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_post_error_names_file_line_and_field(name: str) -> None:
    expected = EXPECTED[name]
    path = BAD / f"{name}.md"
    with pytest.raises(PipelineError) as caught:
        read_post(path)
    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert message.startswith(shown_path(path))  # relative to the current folder, as every message
    assert str(expected["contains"]) in message
    if expected["line"] is not None:
        assert error.line == expected["line"], message
    if expected["field"] is not None:
        assert error.field == expected["field"], message


def test_build_keeps_going_and_writes_nothing_for_bad_posts(tmp_path: Path, settings: Settings) -> None:
    src = tmp_path / "posts"
    shutil.copytree(BAD, src, ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(SEED, src)
    out = tmp_path / "out"
    summary = build(src, out, settings, jobs=2, only=["post", "chapters"])
    assert summary.count("built") == 1
    assert len(summary.failed) == len(EXPECTED)
    built = {p.name for p in out.iterdir() if p.is_dir()}
    assert built == {SEED.stem}
    assert not list(out.rglob("*.tmp"))
    for result in summary.failed:
        assert result.bug is None, result.bug
        assert result.error and Path(result.source).name in result.error


def test_cli_exit_code_and_one_line_errors(tmp_path: Path) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    shutil.copy(SEED, src)
    shutil.copy(BAD / "title-hash.md", src)
    shutil.copy(BAD / "youtube-url.md", src)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "invoke",
            "build",
            "--src",
            str(src),
            "--out",
            str(tmp_path / "out"),
            "--only",
            "post",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert f"{src / 'title-hash.md'}:2: error: title: an unquoted ' #' starts a YAML comment" in output
    assert f"{src / 'youtube-url.md'}:3: error: youtubeID:" in output
    assert "built 1, skipped 0, warnings 0, failed 2" in output
