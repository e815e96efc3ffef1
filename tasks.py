"""Invoke tasks of the project's checkout: the user's commands, and the developer's chores.

The user's commands live in `pipeline/cli/commands.py` (installed as `episode`); `test`, `goldens`,
`bench` and `fuzz` are for working on the project itself.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from invoke import Context, Exit, task

from pipeline.cli.commands import (
    NumberTask,
    auth,
    build,
    check,
    init,
    normalize,
    publish,
    send,
    serve,
    settings_for,
    user_errors,
    watch,
)  # fmt: skip

__all__ = [
    "auth", "bench", "build", "check", "fuzz", "goldens", "init", "normalize", "publish", "send", "serve",
    "test", "watch",
]  # fmt: skip


@task(
    klass=NumberTask,
    help={
        "posts": "number of synthetic posts, 10 to 1000 (default 10; the figures in docs/speed.md: 100)",
        "repeat": "runs of each timed build; medians are reported (default 1; docs/speed.md: 3)",
        "noop_posts": "archive size for the big no-op rebuild; 0 skips it (default 100; docs/speed.md: 1000)",
        "cli_posts": "time a pandoc+weasyprint CLI loop over N posts, scaled (default 3; docs/speed.md: 100)",
        "config": "settings file (default: the samples' episode.toml)",
    },
)
def bench(
    c: Context,
    posts: int = 10,
    repeat: int = 1,
    noop_posts: int = 100,
    cli_posts: int = 3,
    config: str | None = None,
) -> None:
    """Time full, no-op and one-post builds of a synthetic archive against WeasyPrint alone and a CLI loop.

    With no flags a quick look, well under a minute; `invoke bench --posts 100 --repeat 3
    --noop-posts 1000 --cli-posts 100` is the run behind the figures in docs/speed.md (several minutes).
    """
    from devtools.bench import SAMPLES_DIR, run_bench

    if not 10 <= posts <= 1000:
        raise Exit("error: --posts must be between 10 and 1000", code=2)
    with user_errors():
        report = run_bench(
            posts,
            settings_for(config, str(SAMPLES_DIR)),
            repeat=max(1, repeat),
            noop_posts=max(0, noop_posts),
            cli_posts=max(0, cli_posts),
        )
    for line in report.lines():
        print(line)


@task(
    help={
        "k": "only tests matching this pytest -k expression",
        "x": "stop at the first failure",
        "all": "the whole suite: the slow tests too (kills, concurrent sends, limits, the wheel install) "
        "and every property test's full count of examples; on by default when CI=true",
        "workers": "test processes (default: one a CPU core)",
    }
)
def test(c: Context, k: str = "", x: bool = False, all: bool = False, workers: str = "auto") -> None:
    """Run the test suite (real pandoc, WeasyPrint, SMTP server and headless Chromium)."""
    full = all or os.environ.get("CI", "").lower() == "true"
    args = ["-q", "-n", shlex.quote(workers)] + (["-k", shlex.quote(k)] if k else []) + (["-x"] if x else [])
    env = {"PIPELINE_TESTS": "all" if full else "default"}
    c.run(f"{sys.executable} -m pytest " + " ".join(args), pty=False, env=env)


@task
def goldens(c: Context) -> None:
    """Regenerate the golden files under tests/golden/ (review the diff before committing)."""
    c.run(f"{sys.executable} -m pytest -q -k golden", env={"UPDATE_GOLDEN": "1"}, pty=False)


@task(
    klass=NumberTask,
    help={
        "path": "single | batch | stream | pool | all (default): the code the inputs go through; "
        "single: normalize and render one post in memory; batch: one pandoc process for a round of "
        "posts; stream / pool: the real build with 1 / 2 worker processes, twice, compared",
        "seconds": "stop after this many seconds, shared by the paths (default 60 without --examples)",
        "examples": "stop after this many inputs per path",
        "seed": "random seed: the same seed tries the same inputs in the same order, on every path",
        "pdf": "also render show-notes.pdf (slower)",
        "out": "folder for reproducers of failing inputs (default: out/fuzz)",
    },
)
def fuzz(
    c: Context,
    seconds: int = 0,
    examples: int = 0,
    seed: int = 0,
    pdf: bool = False,
    out: str = "out/fuzz",
    path: str = "all",
) -> None:
    """Mutate the corpus, bad and hostile posts and check the pipeline only ever fails cleanly.

    Each path must refuse a bad post with one line naming it, never an internal error; the
    build paths must also leave nothing half written and write the same bytes when built twice.
    """
    from devtools.fuzz import paths_of, run_fuzz

    failures = 0
    with user_errors():
        paths = paths_of(path)
        budget = seconds or (None if examples else 60)
        for name in paths:
            report = run_fuzz(
                settings_for(None, "samples"),
                path=name,
                seed=seed,
                examples=examples or None,
                seconds=budget / len(paths) if budget else None,
                pdf=pdf,
                out=Path(out),
            )
            for line in report.lines():
                print(line, flush=True)
            failures += len(report.failures)
    if failures:
        raise Exit(f"{failures} failing input(s) saved under {out}", code=1)
