"""The user's commands: `episode build`, `check`, `normalize`, `send`, `watch`.

Each task parses its flags, calls the pipeline, and turns a PipelineError into one line and an
exit code. The same tasks run as `invoke build …` in the project's checkout (`tasks.py`) and as
the installed `episode` command from any folder (`program`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.program import Program
from invoke.tasks import task

from . import __version__

SAMPLES = "samples"


def settings_for(config: str | None) -> Any:
    """The settings named by `--config`, or found as the configuration rules say."""
    from .config import load_settings

    return load_settings(Path(config) if config else None)


@contextmanager
def user_errors() -> Iterator[None]:
    """The user's mistake (a PipelineError) becomes one line and exit code 1, never a traceback."""
    from .errors import PipelineError

    try:
        yield
    except PipelineError as exc:
        raise Exit(f"error: {exc}", code=1) from None


@task(
    help={
        "src": "a post file or a folder of posts (.md, .markdown); default: the bundled samples/",
        "out": "output folder; each post gets out/<file stem>/ (default: out)",
        "jobs": "worker processes (default: one per core)",
        "force": "rebuild every post, even unchanged ones",
        "only": "comma-separated formats to build: post,chapters,newsletter,pdf,youtube,podcast",
        "strict": "treat warnings as errors: a post with warnings gets no outputs",
        "prune": "remove the outputs of posts that no longer exist",
        "verbose": "also print each post's normalization report",
        "config": "pyproject.toml to read [tool.pipeline] from (default: ./pyproject.toml)",
    }
)
def build(
    c: Context,
    src: str = SAMPLES,
    out: str = "out",
    jobs: int = 0,
    force: bool = False,
    only: str = "",
    strict: bool = False,
    prune: bool = False,
    verbose: bool = False,
    config: str | None = None,
) -> None:
    """Build every output of every post: post.md, chapters, newsletter, PDF, descriptions."""
    from .build import build as run_build
    from .cli import reporter_for, summary_line

    with user_errors():
        summary = run_build(
            Path(src),
            Path(out),
            settings_for(config),
            jobs=jobs or None,
            force=force,
            only=[f.strip() for f in only.split(",") if f.strip()] or None,
            strict=strict,
            prune=prune,
            reporter=reporter_for(sys.stdout, verbose),
        )
    print(summary_line(summary))
    if summary.failed:
        raise Exit(f"{len(summary.failed)} post(s) failed", code=1)


@task(
    help={
        "src": "a post file or a folder of posts (default: samples/)",
        "check": "exit non-zero if any post is not in canonical form (changes nothing)",
        "write": "rewrite posts in place (atomically, keeping mode, symlinks and a .orig backup)",
        "diff": "also print a unified diff of each post that would change (or was rewritten)",
        "config": "pyproject.toml to read [tool.pipeline] from",
    }
)
def normalize(
    c: Context,
    src: str = SAMPLES,
    check: bool = False,
    write: bool = False,
    diff: bool = False,
    config: str | None = None,
) -> None:
    """Show which posts would change when normalized; --check for CI, --write to clean sources."""
    from .rewrite import normalize_sources

    if check and write:
        raise Exit("error: choose --check or --write, not both", code=2)
    with user_errors():
        statuses = normalize_sources(Path(src), settings_for(config), write=write, diff=diff)
    for status in statuses:
        kept = f" (old text kept in {status.backup})" if status.backup else ""
        print(f"{status.status:<12} {status.error or status.path}{kept}")
    for status in statuses:
        if status.diff:
            sys.stdout.write(status.diff)
    failed = [s for s in statuses if s.status == "failed"]
    changing = [s for s in statuses if s.status == "would change"]
    if failed or (check and changing):
        raise Exit(f"{len(changing)} post(s) would change, {len(failed)} failed", code=1)


@task(
    help={
        "src": "the post to send",
        "to": "recipient address",
        "dry_run": "build the message and show what would be sent, without connecting",
        "config": "pyproject.toml to read [tool.pipeline] from",
    }
)
def send(c: Context, src: str, to: str, dry_run: bool = False, config: str | None = None) -> None:
    """Email one post's newsletter through SMTP (PIPELINE_SMTP_HOST, _PORT, _SECURITY, _USER, _PASSWORD)."""
    from .sending import send_post

    with user_errors():
        print(send_post(Path(src), to, settings=settings_for(config), dry_run=dry_run, env=os.environ))


@task(
    help={
        "src": "a post file or a folder of posts (default: samples/)",
        "json": "print a JSON report for machines instead of text",
        "verbose": "also list what normalization dropped or merged",
        "config": "pyproject.toml to read [tool.pipeline] from",
    }
)
def check(
    c: Context,
    src: str = SAMPLES,
    json: bool = False,
    verbose: bool = False,
    config: str | None = None,
) -> None:
    """Report what a build would warn about (front matter, chapters, platform limits), writing nothing."""
    import json as json_module

    from .check import check_archive

    with user_errors():
        report = check_archive(Path(src), settings_for(config))
    if json:
        print(json_module.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        for post in report.posts:
            print(post.error or post.source)
            for line in (
                post.rules + [f"warning: {w}" for w in post.warnings] + (post.notes if verbose else [])
            ):
                print(f"    {line}")
        for line in report.archive:
            print(f"archive: {line}")
    if not report.ok:
        raise Exit(code=1)


@task(
    help={
        "src": "a post file or a folder of posts to watch (default: samples/)",
        "out": "output folder (default: out)",
        "interval": "seconds between looks for changes (default: 0.5)",
        "config": "pyproject.toml to read [tool.pipeline] from",
    }
)
def watch(
    c: Context,
    src: str = SAMPLES,
    out: str = "out",
    interval: float = 0.5,
    config: str | None = None,
) -> None:
    """Rebuild posts when they or a template change (Ctrl-C to stop)."""
    from .build import build as run_build
    from .cli import PlainReporter, summary_line
    from .watch import watch_changes

    try:
        with user_errors():
            settings = settings_for(config)
            for _ in watch_changes(Path(src), interval):
                summary = run_build(Path(src), Path(out), settings, reporter=PlainReporter(sys.stdout))
                print(summary_line(summary), flush=True)
    except KeyboardInterrupt:
        print("stopped")


namespace = Collection(build, normalize, send, check, watch)
program = Program(namespace=namespace, version=__version__, name="episode", binary="episode")
