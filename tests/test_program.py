"""`episode` shows and accepts only its own options: no task runner's flags, help after every
command, and an unknown command or a post's path named in one line with a suggestion."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from pipeline.cli.commands import namespace

from .conftest import EPISODE, ROOT, run_episode

RUNNER_OPTIONS = (
    "--pty", "--dry", "--echo", "--hide", "--prompt-for-sudo-password", "--write-pyc",
    "--command-timeout", "--warn-only", "--debug",
)  # fmt: skip


def _episode(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_episode(cwd, *args, timeout=120, merged=False)


def test_the_help_shows_no_runner_option(tmp_path: Path) -> None:
    done = _episode(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    for option in (*RUNNER_OPTIONS, "--config", "-f"):
        assert not re.search(rf"(?<![\w-]){option}(?![\w-])", done.stdout), option
    assert "--version" in done.stdout and "build" in done.stdout


@pytest.mark.parametrize(
    "args", [["--dry", "build"], ["build", "--pty"], ["-e", "build"], ["--hide", "both", "build"], ["--list"]]
)
def test_a_runner_option_is_refused_in_one_line(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_config.yml").write_text("title: T\n")
    done = _episode(tmp_path, *args)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: --") and "not an option of episode" in line
    assert not (tmp_path / "_out").exists()  # nothing was built


def test_a_config_file_before_the_command_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "episode.toml").write_text('show_name = "Show"\n')
    done = _episode(tmp_path, "-f", "episode.toml", "build")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: --config: not an option of episode (each command takes --config FILE after it);"
        " see episode --help"
    )


@pytest.mark.parametrize("command", sorted(namespace.task_names))
def test_help_after_every_command(tmp_path: Path, command: str) -> None:
    for asked in ([command, "--help"], [command, "-h"]):
        done = _episode(tmp_path, *asked)
        assert done.returncode == 0, (asked, done.stderr)
        assert done.stdout.startswith(f"Usage: episode {command}"), done.stdout
        assert "[--core-opts]" not in done.stdout


def test_help_after_a_command_s_argument(tmp_path: Path) -> None:
    done = _episode(tmp_path, "publish", "youtube", "--help")
    assert done.returncode == 0 and done.stdout.startswith("Usage: episode publish")


def test_an_unknown_command_gets_a_suggestion(tmp_path: Path) -> None:
    done = _episode(tmp_path, "buidl")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: unknown command 'buidl': did you mean build?"


def test_a_post_s_path_as_an_argument_says_to_give_src(tmp_path: Path) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_posts" / "2024-01-01-x.markdown").write_text("---\ntitle: X\n---\nBody.\n")
    done = _episode(tmp_path, "build", "_posts/2024-01-01-x.markdown")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: '_posts/2024-01-01-x.markdown' is no command: to name posts, give"
        " --src _posts/2024-01-01-x.markdown after the command"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["send", "--to", "a@example.org"],
            "error: send: give --src (the post to send); see episode send --help",
        ),
        (["publish"], "error: publish: which platform? episode publish youtube"),
    ],
)
def test_a_missing_argument_is_named_as_the_flag_to_type(tmp_path: Path, args: list[str], line: str) -> None:
    done = _episode(tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [line]


def test_output_cut_short_by_its_reader_ends_without_a_traceback(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    for number in range(40):
        (posts / f"2024-01-{number % 28 + 1:02d}-post-{number}.md").write_text(
            f"---\ntitle: Post {number}\n---\nA [link](http://plain.example/{number}).\n"
        )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PIPELINE_CONFIG": ""}
    reader = subprocess.Popen(
        [*EPISODE, "check", "--src", "posts",
         "--no-pdf"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()  # the `head -1` of a shell
    reader.stdout.close()
    errors = reader.stderr.read()
    assert reader.wait(timeout=120) == 1
    assert first.startswith("settings:")
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["check", "--no-pfd"], "error: check: no option --no-pfd: did you mean --no-pdf?"),
        (["build", "--forse"], "error: build: no option --forse: did you mean --force?"),
        (["build", "--no-pdf"], "error: build: no option --no-pdf; see episode build --help"),
    ],
)
def test_an_unknown_option_is_named_with_its_command(tmp_path: Path, args: list[str], line: str) -> None:
    done = _episode(tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [line]


def test_shell_completion_offers_commands_and_only_episode_s_own_options(tmp_path: Path) -> None:
    script = _episode(tmp_path, "--print-completion-script", "bash")
    assert script.returncode == 0 and "complete -F" in script.stdout
    commands = _episode(tmp_path, "--complete", "--", "episode", "ch")
    assert set(commands.stdout.split()) >= {"build", "check", "send", "publish"}
    top = _episode(tmp_path, "--complete", "--", "episode", "--")
    assert top.stdout.split() == ["--help", "--version"]
    build = _episode(tmp_path, "--complete", "--", "episode", "build", "--f")
    assert {"--src", "--force", "--only", "--jobs"} <= set(build.stdout.split())
    assert not set(build.stdout.split()) & set(RUNNER_OPTIONS)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["buidl"]])
def test_a_reader_gone_before_the_output_ends_it_quietly_on_every_exit(
    tmp_path: Path, args: list[str]
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as in a shell
    env.update(PYTHONPATH=str(ROOT), PIPELINE_CONFIG="")
    process = subprocess.Popen(
        [*EPISODE, *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # `| true`: the reader is gone before anything is written
    errors = process.stderr.read()
    process.wait(timeout=60)
    assert "Traceback" not in errors and "Exception ignored" not in errors, errors


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["build", "--src"], "error: build: --src needs a value: a post file, a folder of posts"),
        (["import", "--since"], "error: import: --since needs a value: only episodes published on or after"),
    ],
)
def test_an_option_without_its_value_is_one_line_naming_it(
    tmp_path: Path, args: list[str], line: str
) -> None:
    """Before: `Flag <Argument: src (s)> needed value and was not given one!`."""
    done = _episode(tmp_path, *args)
    assert done.returncode == 1
    [said] = done.stderr.strip().splitlines()
    assert said.startswith(line), said
