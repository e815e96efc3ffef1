"""Invoke tasks: parse flags, call the pipeline, turn PipelineError into a one-line exit."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invoke import Context, Exit, task

SAMPLES = "samples"


def _settings(config: str | None):  # type: ignore[no-untyped-def]
    from pipeline.config import load_settings

    return load_settings(Path(config) if config else None)


@contextmanager
def _user_errors() -> Iterator[None]:
    """The user's mistake (a PipelineError) becomes one line and exit code 1, never a traceback."""
    from pipeline.errors import PipelineError

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
    from pipeline.build import build as run_build
    from pipeline.cli import reporter_for, summary_line

    with _user_errors():
        summary = run_build(
            Path(src),
            Path(out),
            _settings(config),
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
    from pipeline.rewrite import normalize_sources

    if check and write:
        raise Exit("error: choose --check or --write, not both", code=2)
    with _user_errors():
        statuses = normalize_sources(Path(src), _settings(config), write=write, diff=diff)
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
    from pipeline.sending import send_post

    with _user_errors():
        print(send_post(Path(src), to, settings=_settings(config), dry_run=dry_run, env=os.environ))


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

    from pipeline.check import check_archive

    with _user_errors():
        report = check_archive(Path(src), _settings(config))
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
    from pipeline.build import build as run_build
    from pipeline.cli import PlainReporter, summary_line
    from pipeline.watch import watch_changes

    try:
        with _user_errors():
            settings = _settings(config)
            for _ in watch_changes(Path(src), interval):
                summary = run_build(Path(src), Path(out), settings, reporter=PlainReporter(sys.stdout))
                print(summary_line(summary), flush=True)
    except KeyboardInterrupt:
        print("stopped")


@task(
    help={
        "posts": "number of synthetic posts (10 to 1000; default 100)",
        "repeat": "runs of each timed build; medians are reported (default 3)",
        "noop_posts": "size of the archive for the large no-op rebuild; 0 skips it (default 1000)",
        "cli_posts": "time the pandoc+weasyprint CLI loop over this many posts, scaled (default 100)",
        "config": "pyproject.toml to read [tool.pipeline] from",
    }
)
def bench(
    c: Context,
    posts: int = 100,
    repeat: int = 3,
    noop_posts: int = 1000,
    cli_posts: int = 100,
    config: str | None = None,
) -> None:
    """Time full, no-op and one-post builds of a synthetic archive against WeasyPrint alone and a CLI loop."""
    from pipeline.bench import run_bench

    if not 10 <= posts <= 1000:
        raise Exit("error: --posts must be between 10 and 1000", code=2)
    with _user_errors():
        report = run_bench(
            posts, _settings(config), repeat=max(1, repeat), noop_posts=noop_posts, cli_posts=cli_posts
        )
    for line in report.lines():
        print(line)


@task(help={"k": "only tests matching this pytest -k expression", "x": "stop at the first failure"})
def test(c: Context, k: str = "", x: bool = False) -> None:
    """Run the test suite (real pandoc, WeasyPrint, SMTP server and headless Chromium)."""
    args = ["-q"] + (["-k", k] if k else []) + (["-x"] if x else [])
    c.run(f"{sys.executable} -m pytest " + " ".join(args), pty=False)


@task
def goldens(c: Context) -> None:
    """Regenerate the golden files under tests/golden/ (review the diff before committing)."""
    c.run(f"{sys.executable} -m pytest -q -k golden", env={"UPDATE_GOLDEN": "1"}, pty=False)


@task(
    help={
        "seconds": "stop after this many seconds (default 60 when --examples is not given)",
        "examples": "stop after this many inputs",
        "seed": "random seed: the same seed tries the same inputs in the same order",
        "pdf": "also render show-notes.pdf (slower)",
        "out": "folder for reproducers of failing inputs (default: out/fuzz)",
    }
)
def fuzz(
    c: Context, seconds: int = 0, examples: int = 0, seed: int = 0, pdf: bool = False, out: str = "out/fuzz"
) -> None:
    """Mutate the corpus, bad and hostile posts and check the pipeline only ever fails cleanly."""
    from pipeline.fuzz import run_fuzz

    with _user_errors():
        report = run_fuzz(
            _settings(None),
            seed=seed,
            examples=examples or None,
            seconds=seconds or (None if examples else 60),
            pdf=pdf,
            out=Path(out),
        )
    for line in report.lines():
        print(line)
    if report.failures:
        raise Exit(f"{len(report.failures)} failing input(s) saved under {out}", code=1)
