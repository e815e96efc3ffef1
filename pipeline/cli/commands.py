"""The user's commands: `episode build`, `check`, `normalize`, `send`, `watch`, `serve`.

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
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.tasks import Task, task

from .. import __version__
from .program import EpisodeProgram


def settings_for(config: str | None, near: str | None = None) -> Any:
    """The settings named by `--config`, or found near `near` (see `pipeline.settings.site`)."""
    from ..settings.site import find_settings

    return find_settings(config, Path(near) if near else None)


def settings_warnings(settings: Any, formats: Any) -> list[Any]:
    """Newsletter settings no reader should get, a Diagnostic each, from the settings file in use.

    Without a settings file the defaults are the user's known starting point: nothing to say.
    """
    if settings.source == "defaults" or (formats and "newsletter" not in formats):
        return []
    from ..mail.outgoing import unsendable_settings

    warnings: list[Any] = unsendable_settings(settings)
    return warnings


def place_for(src: str, out: str, config: str | None) -> Any:
    """Posts, output folder and settings of a command; says where the settings came from."""
    from ..settings.site import locate

    place = locate(src or None, out or None, config)
    print(place.settings_line)
    return place


@contextmanager
def user_errors() -> Iterator[None]:
    """The user's mistake (a PipelineError) becomes one line and exit code 1, never a traceback."""
    from ..errors import PipelineError

    try:
        yield
    except PipelineError as exc:
        raise Exit(exc.line_text(), code=1) from None


class _NumberArgument(Argument):
    """An `int` flag whose bad value (`--jobs abc`) is one line, not a traceback."""

    def set_value(self, value: Any, cast: bool = True) -> None:
        try:
            super().set_value(value, cast)
        except ValueError:
            flag = "--" + str(self.name).replace("_", "-")
            raise ParseError(f"error: {flag}: {value!r} is not a whole number") from None


class NumberTask(Task[Any]):
    """A task whose `int` flags report a value that is no number as Invoke's own parse errors
    are reported (one line, exit code 1), with `invoke` in the checkout as with `episode`."""

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Argument]:
        arguments = super().get_arguments(ignore_unknown_help)
        for argument in arguments:
            if argument.kind is int:
                argument.__class__ = _NumberArgument
        return arguments


@task(
    klass=NumberTask,
    help={
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "out": "output folder; each post gets <out>/<file stem>/ (default: _out in a site, else out)",
        "jobs": "worker processes (default: one per core)",
        "force": "rebuild every post, even unchanged ones",
        "only": "comma-separated formats to build: post,chapters,newsletter,pdf,youtube,podcast",
        "strict": "treat warnings as errors: a post with warnings gets no outputs",
        "prune": "remove the outputs of posts that were deleted from --src (only what --src covers)",
        "verbose": "also list unchanged posts and print each post's normalization report",
        "quiet": "print only errors and the summary",
        "config": "an episode.toml, or a pyproject.toml with [tool.pipeline] (default: the nearest one)",
    },
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
    quiet: bool = False,
    config: str | None = None,
) -> None:
    """Build every output of every post: post.md, chapters, newsletter, PDF, descriptions."""
    from ..builder.run import build as run_build
    from ..reports import diagnostic_line, reporter_for, summary_line
    from ..settings.site import locate

    if verbose and quiet:
        raise Exit("error: choose --verbose or --quiet, not both", code=2)
    reporter = reporter_for(sys.stdout, verbose, quiet)
    with user_errors():
        place = locate(src or None, out or None, config)
        formats = [f.strip() for f in only.split(",") if f.strip()]
        if not quiet:
            print(place.settings_line)
            for warning in settings_warnings(place.settings, formats):  # once, not once a post
                print(diagnostic_line(warning))
        try:
            summary = run_build(
                place.posts,
                place.out,
                place.settings,
                jobs=jobs or None,
                force=force,
                only=formats or None,
                strict=strict,
                prune=prune,
                reporter=reporter,
            )
        except KeyboardInterrupt:
            reporter.stop()
            print(reporter.interrupted_line(), flush=True)
            raise Exit(code=130) from None
    print(summary_line(summary))  # always the last line: `built 3, skipped 2, warnings 1, failed 0 …`
    if summary.failed:
        raise Exit(code=1)


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
    from ..reports import shown_path
    from .normalize import normalize_sources

    if check and write:
        raise Exit("error: choose --check or --write, not both", code=2)
    with user_errors():
        place = place_for(src, "", config)
        statuses = normalize_sources(place.posts, place.settings, write=write, diff=diff)
    for status in statuses:
        kept = f" (old text kept in {shown_path(status.backup)})" if status.backup else ""
        print(f"{status.status:<12} {status.error or shown_path(status.path)}{kept}")
    for status in statuses:
        if status.diff:
            sys.stdout.write(status.diff)
    failed = [s for s in statuses if s.status == "failed"]
    changing = [s for s in statuses if s.status == "would change"]
    if failed or (check and changing):
        # Say what was done: after --write a post that changed was rewritten (or failed), none "would".
        done = "rewritten" if write else "would change"
        changed = sum(1 for s in statuses if s.status == done)
        raise Exit(f"{changed} post(s) {done}, {len(failed)} failed", code=1)


@contextmanager
def _progress_bar(enabled: bool, label: str = "sending") -> Iterator[Any]:
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
            bar.extend([progress, progress.add_task(label, total=total)])
        bar[0].update(bar[1], completed=done)

    try:
        yield update
    finally:
        if bar:
            bar[0].stop()


def _rate(text: str) -> float:
    """`--rate`: messages a second, a positive number."""
    from ..errors import PipelineError

    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not 0 < rate < float("inf"):
        raise PipelineError(f"{text!r}: expected a positive number of messages a second", field="--rate")
    return rate


def _ask(question: str) -> bool:
    """The confirmation of a list send: yes on a terminal only; elsewhere `--yes` is needed."""
    from ..errors import PipelineError

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
        "wait": "when another send is using the send journal, wait for it to end instead of stopping",
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
    wait: bool = False,
) -> None:
    """Email a post's newsletter through SMTP to one address (--to) or a list of readers (--list).

    SMTP: PIPELINE_SMTP_HOST, _PORT, _SECURITY, _USER, _PASSWORD. DKIM: PIPELINE_DKIM_KEY_FILE,
    PIPELINE_DKIM_SELECTOR. Unsubscribe {token}: PIPELINE_UNSUBSCRIBE_SECRET.
    """
    from ..mail.sending import send_list, send_post

    if bool(to) == bool(list):
        raise Exit("error: send: give either --to ADDRESS or --list FILE", code=1)
    with user_errors():
        settings = settings_for(config, src)
        print("settings: " + (", ".join(settings.sources) or "defaults (no settings file found)"))
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
                wait=wait,
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
        "json": "print JSON for machines: a record per problem (post, line, format, rule, severity, "
        "message) and a summary",
        "strict": "fail (exit code 1) on warnings too, as `build --strict` would",
        "pdf": "render show-notes.pdf for its warnings (~0.1 s a post); --no-pdf skips it and says so",
        "verbose": "also list each post with the platform rules it passes and its normalization report",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
    }
)
def check(
    c: Context,
    src: str = "",
    json: bool = False,
    strict: bool = False,
    pdf: bool = True,
    verbose: bool = False,
    config: str | None = None,
) -> None:
    """Report what a build would warn about, writing nothing; exit code 1 on errors (--strict: warnings)."""
    import json as json_module

    from ..reports import diagnostic_line, grouped, problem_line, shown_names, shown_path
    from ..settings.site import locate
    from .check import CHECKED_FORMATS, PDF_SKIPPED, check_archive

    formats = CHECKED_FORMATS if pdf else tuple(f for f in CHECKED_FORMATS if f != "pdf")
    with user_errors():
        place = locate(src or None, None, config)
        if not json:
            print(place.settings_line, flush=True)
        warned = settings_warnings(place.settings, formats)
        for warning in [] if json else warned:
            print(diagnostic_line(warning))
        report = check_archive(place.posts, place.settings, formats, warned)
    if json:
        document = {
            "settings": list(place.settings.sources),
            "records": report.records(shown_path),
            "summary": report.summary(strict),
        }
        print(json_module.dumps(document, indent=2, ensure_ascii=False))
    else:
        for post in report.posts:
            if verbose:
                print(shown_path(post.source))
            for problem in grouped(post.problems):  # --json keeps one record per format
                print(problem_line(post.source, problem))
            if verbose:
                for line in [f"ok   {r}" for r in post.passed] + post.notes:
                    print(f"    {line}")
        for settings_file in report.settings:
            for problem in settings_file.problems:
                print(problem_line(settings_file.source, problem))
        if report.ignored:
            print(f"not posts (no YYYY-MM-DD- date in the name), left alone: {shown_names(report.ignored)}")
        if not pdf:
            print(f"note: {PDF_SKIPPED}")
        print(report.summary_line(strict))
    if not report.ok(strict):
        raise Exit(code=1)


@task(
    help={
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "out": "output folder (default: _out in a site, else out)",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
    }
)
def watch(
    c: Context,
    src: str = "",
    out: str = "",
    config: str | None = None,
) -> None:
    """Rebuild posts when they or a template change (Ctrl-C to stop)."""
    from ..builder.run import build as run_build
    from ..builder.watch import Watched, template_trees, watch_changes
    from ..reports import PlainReporter, summary_line

    try:
        with user_errors():
            place = place_for(src, out, config)
            for _ in watch_changes(Watched(place.posts, template_trees(place.settings))):
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
    from ..youtube.auth import run_auth_flow, token_path
    from ..youtube.publish import site_folder

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
    from ..youtube.publish import Options, publish_youtube

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


@task(
    name="import",
    help={
        "dry_run": "print the plan (new, updated, unchanged, adopted, kept, unmatched); write nothing",
        "since": "only episodes published on or after this date (YYYY-MM-DD)",
        "no_add_keys": "never add a missing youtubeID or substack_url to a post the import does not own",
        "config": "an episode.toml, or a pyproject.toml with [tool.pipeline] (default: the nearest one)",
    },
)
def import_episodes(
    c: Context, dry_run: bool = False, since: str = "", no_add_keys: bool = False, config: str | None = None
) -> None:
    """New episodes of the podcast feed as clean posts ([import] in episode.toml); again and again."""
    import datetime as dt

    from ..importer.run import run_import
    from ..places import jekyll_site

    try:
        after = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise Exit(f"error: --since: {since!r} is not a date (YYYY-MM-DD)", code=1) from None
    with user_errors():
        site = jekyll_site(Path.cwd())
        if site is None:
            raise Exit(
                "error: import: run it in a Jekyll site (a folder with _config.yml and _posts/)", code=1
            )
        place = place_for(str(site), "", config)
        with _progress_bar(sys.stdout.isatty(), "importing") as progress:
            summary = run_import(
                site,
                place.out,
                place.settings,
                dry_run=dry_run,
                since=after,
                add_missing_keys=not no_add_keys,
                say=lambda line: print(line, flush=True),
                progress=progress,
            )
    print(summary.line())
    if not summary.ok:
        raise Exit(code=1)


@task(help={"site": "the Jekyll site (default: the site of the current folder, or the folder itself)"})
def init(c: Context, site: str = "") -> None:
    """Set up a Jekyll site: a starter episode.toml; _out/ and .episode/ ignored by git."""
    from ..places import jekyll_site
    from ..reports import shown_path
    from ..settings.site import init_site

    # From inside a site (its `_posts/`), the site: a second settings file there would win over it.
    folder = Path(site) if site else (jekyll_site(Path.cwd()) or Path("."))
    with user_errors():
        if not folder.is_dir():
            raise Exit(f"error: {folder}: no such folder", code=1)
        if jekyll_site(folder) != folder.resolve():
            print(f"note: {folder} has no _config.yml and _posts/: not a Jekyll site, set up all the same")
        elif not site and folder.resolve() != Path.cwd().resolve():
            print(f"site: {shown_path(folder)}")  # found above the current folder
        for line in init_site(folder):
            print(line)


@task(
    klass=NumberTask,
    help={
        "src": "a post file, a folder of posts, or a Jekyll site (default: the site's _posts/ here)",
        "out": "output folder (default: _out in a site, else out)",
        "config": "settings file (default: the nearest episode.toml or pyproject.toml with [tool.pipeline])",
        "port": "port to listen on (default: 8000; 0: any free port)",
        "host": "address to listen on (default: 127.0.0.1; another interface only when you name it)",
        "open": "open the preview in your web browser",
    },
)
def serve(
    c: Context,
    src: str = "",
    out: str = "",
    config: str | None = None,
    port: int = 8000,
    host: str = "127.0.0.1",
    open: bool = False,
) -> None:
    """Build, then preview every output of every post in a browser; rebuilt and reloaded on save."""
    from ..preview.server import Preview
    from ..reports import PlainReporter

    def say(line: str) -> None:
        print(line, flush=True)

    if not 0 <= port <= 65535:
        raise Exit(f"error: --port: {port} is not a port number (0 to 65535)", code=2)
    with user_errors():
        preview = Preview(
            src or None,
            out or None,
            config,
            host=host,
            port=port,
            say=say,
            reporter=lambda: PlainReporter(sys.stdout),
        )
        say(preview.place.settings_line)
        preview.bind()
    try:
        url = preview.start()
        say(f"Serving on {url}")
        if open:
            import webbrowser

            webbrowser.open(url)
        preview.stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        preview.stop()
    print("stopped")


namespace = Collection(init, import_episodes, build, normalize, send, check, watch, serve, auth, publish)
program = EpisodeProgram(
    namespace=namespace, version=__version__, name="episode", binary="episode", binary_names=["episode"]
)
