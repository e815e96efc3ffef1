"""The user's commands: `episode build`, `check`, `normalize`, `send`, `watch`.

Each task parses its flags, calls the pipeline, and turns a PipelineError into one line and an
exit code. The same tasks run as `invoke build …` in the project's checkout (`tasks.py`) and as
the installed `episode` command from any folder (`program`).
"""

from __future__ import annotations

import builtins
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


def settings_for(config: str | None, near: str | None = None) -> Any:
    """The settings named by `--config`, or found near `near` (see `pipeline.site`)."""
    from .site import find_settings

    return find_settings(config, Path(near) if near else None)


def place_for(src: str, out: str, config: str | None) -> Any:
    """Posts, output folder and settings of a command; says where the settings came from."""
    from .site import locate

    place = locate(src or None, out or None, config)
    print(place.settings_line)
    return place


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
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "out": "output folder; each post gets <out>/<file stem>/ (default: _out in a site, else out)",
        "jobs": "worker processes (default: one per core)",
        "force": "rebuild every post, even unchanged ones",
        "only": "comma-separated formats to build: post,chapters,newsletter,pdf,youtube,podcast",
        "strict": "treat warnings as errors: a post with warnings gets no outputs",
        "prune": "remove the outputs of posts that no longer exist",
        "verbose": "also print each post's normalization report",
        "config": "an episode.toml, or a pyproject.toml with [tool.pipeline] (default: the nearest one)",
    }
)
def build(
    c: Context,
    src: str = "",
    out: str = "",
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
        place = place_for(src, out, config)
        summary = run_build(
            place.posts,
            place.out,
            place.settings,
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
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "check": "exit non-zero if any post is not in canonical form (changes nothing)",
        "write": "rewrite posts in place (atomically, keeping mode, symlinks and a .orig backup)",
        "diff": "also print a unified diff of each post that would change (or was rewritten)",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
    }
)
def normalize(
    c: Context,
    src: str = "",
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
        place = place_for(src, "", config)
        statuses = normalize_sources(place.posts, place.settings, write=write, diff=diff)
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


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    """A progress callback `(done, total)` drawing a bar on a terminal (started on first use), or None."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            progress = Progress(transient=True)
            progress.start()
            bar.extend([progress, progress.add_task("sending", total=total)])
        bar[0].update(bar[1], completed=done)

    try:
        yield update
    finally:
        if bar:
            bar[0].stop()


def _rate(text: str) -> float:
    """`--rate`: messages a second, a positive number."""
    from .errors import PipelineError

    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not 0 < rate < float("inf"):
        raise PipelineError(f"{text!r}: expected a positive number of messages a second", field="--rate")
    return rate


def _ask(question: str) -> bool:
    """The confirmation of a list send: yes on a terminal only; elsewhere `--yes` is needed."""
    from .errors import PipelineError

    if not sys.stdin.isatty():
        raise PipelineError("not on a terminal, so nobody can confirm: pass --yes to send", field="--list")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@task(
    help={
        "src": "the post to send",
        "to": "one recipient address (a test send)",
        "list": "a file of readers: one address a line, or CSV with an 'email' column",
        "suppress": "a file of addresses never to mail (same formats as --list)",
        "yes": "send to the list without asking first",
        "rate": "messages a second, N (default: 5)",
        "resend_in_doubt": "also send to readers a stopped run may or may not have sent to",
        "force": "send a post marked 'published: false' or dated in the future",
        "dry_run": "build the message and show what would be sent, without connecting",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
    }
)
def send(
    c: Context,
    src: str,
    to: str = "",
    list: str = "",
    suppress: str = "",
    yes: bool = False,
    rate: str = "5",
    resend_in_doubt: bool = False,
    force: bool = False,
    dry_run: bool = False,
    config: str | None = None,
) -> None:
    """Email a post's newsletter through SMTP to one address (--to) or a list of readers (--list).

    SMTP: PIPELINE_SMTP_HOST, _PORT, _SECURITY, _USER, _PASSWORD. DKIM: PIPELINE_DKIM_KEY_FILE,
    PIPELINE_DKIM_SELECTOR. Unsubscribe {token}: PIPELINE_UNSUBSCRIBE_SECRET.
    """
    from .sending import send_list, send_post

    if bool(to) == bool(list):
        raise Exit("error: send: give either --to ADDRESS or --list FILE", code=1)
    with user_errors():
        settings = settings_for(config, src)
        if to:
            notes: builtins.list[str] = []
            summary = send_post(
                Path(src), to, settings=settings, dry_run=dry_run, env=os.environ, force=force, notes=notes
            )
            print("\n".join([summary, *notes]))
            return
        with _progress_bar(sys.stdout.isatty() and not dry_run) as progress:
            run = send_list(
                Path(src),
                Path(list),
                settings=settings,
                suppress=Path(suppress) if suppress else None,
                dry_run=dry_run,
                force=force,
                resend_in_doubt=resend_in_doubt,
                rate=_rate(rate),
                env=os.environ,
                confirm=None if yes or dry_run else _ask,
                progress=progress,
                say=print,
            )
    for line in run.lines:
        print(line)
    if not run.ok:
        raise Exit(code=1)


@task(
    help={
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "json": "print a JSON report for machines instead of text",
        "verbose": "also list what normalization dropped or merged",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
    }
)
def check(
    c: Context,
    src: str = "",
    json: bool = False,
    verbose: bool = False,
    config: str | None = None,
) -> None:
    """Report what a build would warn about (front matter, chapters, platform limits), writing nothing."""
    import json as json_module

    from .check import check_archive
    from .site import locate

    with user_errors():
        place = locate(src or None, None, config)
        report = check_archive(place.posts, place.settings)
    if json:
        print(json_module.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(place.settings_line)
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
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "out": "output folder (default: _out in a site, else out)",
        "interval": "seconds between looks for changes (default: 0.5)",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
    }
)
def watch(
    c: Context,
    src: str = "",
    out: str = "",
    interval: float = 0.5,
    config: str | None = None,
) -> None:
    """Rebuild posts when they or a template change (Ctrl-C to stop)."""
    from .build import build as run_build
    from .cli import PlainReporter, summary_line
    from .watch import watch_changes

    try:
        with user_errors():
            place = place_for(src, out, config)
            for _ in watch_changes(place.posts, interval):
                reporter = PlainReporter(sys.stdout)
                summary = run_build(place.posts, place.out, place.settings, reporter=reporter)
                print(summary_line(summary), flush=True)
    except KeyboardInterrupt:
        print("stopped")


PLATFORMS = ("youtube",)


def _platform(platform: str) -> None:
    if platform not in PLATFORMS:
        raise Exit(f"error: unknown platform {platform!r}; choose from {', '.join(PLATFORMS)}", code=2)


@task(
    positional=["platform"],
    help={
        "platform": "the platform to authorize: youtube",
        "client_secrets": "the OAuth client JSON downloaded from the Google Cloud console (Desktop app)",
        "no_browser": "do not open a browser: print the URL to open (SSH sessions)",
        "port": "local port Google redirects to (default: any free port; fix it to forward it over SSH)",
        "config": "an episode.toml, or a pyproject.toml with [tool.pipeline] (default: the nearest one)",
    },
)
def auth(
    c: Context,
    platform: str,
    client_secrets: str = "",
    no_browser: bool = False,
    port: int = 0,
    config: str | None = None,
) -> None:
    """Authorize the tool on YouTube (OAuth installed-app flow); the token is kept 0600 in your config."""
    from .auth import run_auth_flow, token_path
    from .publish import site_folder

    _platform(platform)
    if not client_secrets:
        raise Exit("error: --client-secrets FILE is required (the OAuth client JSON)", code=2)
    with user_errors():
        path = token_path(os.environ, site_folder(settings_for(config)))
        saved = run_auth_flow(Path(client_secrets), path, open_browser=not no_browser, port=port)
    print(f"token saved in {saved} (mode 0600)")


@task(
    positional=["platform"],
    help={
        "platform": "the platform to publish to: youtube",
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "dry_run": "show the diff of each description on YouTube against youtube.txt; change nothing",
        "force": "replace descriptions edited in Studio, and publish unpublished or future posts",
        "strict": "refuse posts whose build has warnings",
        "quota": "stop before this many quota units would be used today, Pacific time (default: 10000)",
        "config": "an episode.toml, or a pyproject.toml with [tool.pipeline] (default: the nearest one)",
    },
)
def publish(
    c: Context,
    platform: str,
    src: str = "",
    dry_run: bool = False,
    force: bool = False,
    strict: bool = False,
    quota: int = 10_000,
    config: str | None = None,
) -> None:
    """Put each post's youtube.txt on its video (YouTube Data API) after a backup; --dry-run: the diff."""
    from .publish import Options, publish_youtube

    _platform(platform)
    with user_errors():
        place = place_for(src, "", config)
        summary = publish_youtube(
            place.posts,
            place.settings,
            Options(dry_run=dry_run, force=force, strict=strict, quota=quota),
            env=os.environ,
            emit=lambda line: print(line, flush=True),
        )
    print(summary.line())
    if not summary.ok:
        raise Exit(code=1)


@task(help={"site": "the Jekyll site (default: the current folder)"})
def init(c: Context, site: str = ".") -> None:
    """Set up a Jekyll site: a starter episode.toml; _out/ and .episode/ ignored by git."""
    from .site import init_site, jekyll_site

    folder = Path(site)
    with user_errors():
        if not folder.is_dir():
            raise Exit(f"error: {folder}: no such folder", code=1)
        if jekyll_site(folder) != folder.resolve():
            print(f"note: {folder} has no _config.yml and _posts/: not a Jekyll site, set up all the same")
        for line in init_site(folder):
            print(line)


namespace = Collection(init, build, normalize, send, check, watch, auth, publish)
program = Program(namespace=namespace, version=__version__, name="episode", binary="episode")
