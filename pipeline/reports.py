"""Results as the terminal shows them: progress, problems, summaries, one line each.

Every warning and error is one line that starts where it is, as compilers, Sphinx and editors
write it: `_posts/2025-05-28-x.markdown:14: warning: newsletter: …` (the post's path relative to
the current folder, its line when known). `problem_line` is the one place that puts the path,
the line and the severity in front of a message; `results.Diagnostic.text` the format's name.

No printed line holds a control or bidi character: a `Diagnostic` and a `PipelineError` escape
theirs (`errors.printable`), and a file name is shown through `shown_path` or `shown_names`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from . import places
from .errors import printable
from .results import BuildSummary, Diagnostic, PostResult, Reporter


def shown_path(path: str | Path, cwd: str | Path | None = None) -> str:
    """A post's path as the user reads it (`places.shown_path`); a control character in a file
    name escaped (`\\x1b`)."""
    return printable(places.shown_path(path, cwd))


def shown_names(names: list[str]) -> str:
    """File names or stems, comma-separated, each shown as `shown_path` shows a path."""
    return ", ".join(printable(name) for name in names)


def problem_line(post: str | Path, problem: Diagnostic, cwd: str | Path | None = None) -> str:
    """`_posts/x.markdown:14: warning: newsletter: …`; without a line, the path alone."""
    where = shown_path(post, cwd) + (f":{problem.line}" if problem.line else "")
    return " ".join(f"{where}: {problem.severity}: {problem.text}".split())


def diagnostic_line(problem: Diagnostic) -> str:
    """A problem as its one line: `episode.toml: warning: [newsletter]: …` when it names the file
    it is about (`Diagnostic.post`), else `warning: …`."""
    if problem.post:
        return problem_line(problem.post, problem)
    return f"{problem.severity}: {problem.text}"


def grouped(problems: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The same problem from several formats (an `http://` link the newsletter and the PDF both
    keep as text) as one, naming them all (`newsletter, pdf`); in the order first seen."""
    formats: dict[tuple[str, str, int | None, str | None], list[str]] = {}
    first: dict[tuple[str, str, int | None, str | None], Diagnostic] = {}
    for problem in problems:
        key = (problem.severity, problem.message, problem.line, problem.rule)
        first.setdefault(key, problem)
        if problem.format and problem.format not in formats.setdefault(key, []):
            formats[key].append(problem.format)
    return [
        replace(problem, format=", ".join(formats.get(key, [])) or None) for key, problem in first.items()
    ]


def _warning_lines(result: PostResult, cwd: str | Path | None) -> list[str]:
    return [problem_line(result.source, w, cwd) for w in grouped(result.warnings)]


def note_line(note: Diagnostic) -> str:
    """`info: YouTube: added 0:00 Intro` (news) or `merged: <the sentence>` (a report line)."""
    return f"info: {note.text}" if note.severity == "info" else f"{note.rule}: {note.message}"


def describe(
    result: PostResult,
    done: int,
    total: int,
    verbose: bool = False,
    quiet: bool = False,
    cwd: str | Path | None = None,
) -> list[str]:
    """The lines shown for one post (none for an unchanged post unless `verbose`).

    A built post: a progress line, its warnings, and its news (`info: …`); `verbose` adds the
    whole normalization report. A failed post: its error, and the warnings that made it fail
    under `--strict`, even when `quiet`. `quiet` shows nothing else.
    """
    if result.status == "skipped":
        if not verbose:
            return []
        width = len(str(total))
        return [f"[{done:>{width}}/{total}] skipped {shown_path(result.source, cwd)}"]
    if result.status == "failed":
        failure = result.failure or Diagnostic("error", result.error or "failed")
        lines = [problem_line(result.source, failure, cwd)]
        if result.bug:
            lines.append(result.bug.rstrip())
        return lines + _warning_lines(result, cwd)
    if quiet:
        return []
    width = len(str(total))
    lines = [f"[{done:>{width}}/{total}] {result.status:<7} {shown_path(result.source, cwd)}"]
    lines += _warning_lines(result, cwd)
    lines += [f"    {note_line(n)}" for n in result.notes if verbose or n.severity == "info"]
    return lines


class PlainReporter(Reporter):
    """One line per post built: for CI logs and pipes."""

    def __init__(self, stream: TextIO = sys.stdout, verbose: bool = False, quiet: bool = False) -> None:
        self.stream = stream
        self.verbose = verbose
        self.quiet = quiet
        self.done = 0
        self.total = 0
        self.counts: dict[str, int] = {}
        self.warnings = 0

    def start(self, total: int, to_build: int) -> None:
        self.total = total
        if not self.quiet:
            self.show([f"{total} post(s), {to_build} to build, {total - to_build} unchanged or rejected"])

    def post_done(self, result: PostResult) -> None:
        self.done += 1
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        self.warnings += len(result.warnings)
        self.show(describe(result, self.done, self.total, self.verbose, self.quiet))

    def show(self, lines: list[str]) -> None:
        for line in lines:
            print(line, file=self.stream, flush=True)

    def stop(self) -> None:
        """Called when the build ends early (Ctrl-C)."""

    def interrupted_line(self) -> str:
        """The summary of a build stopped early: what was done so far."""
        return (
            f"interrupted after {self.done} of {self.total} post(s): built {self.counts.get('built', 0)}, "
            f"skipped {self.counts.get('skipped', 0)}, warnings {self.warnings}, "
            f"failed {self.counts.get('failed', 0)}"
        )


class RichReporter(PlainReporter):
    """A progress bar with ETA on a terminal; problems printed above it."""

    def __init__(self, stream: TextIO = sys.stdout, verbose: bool = False, quiet: bool = False) -> None:
        super().__init__(stream, verbose, quiet)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.console = Console(file=stream)
        self.progress = Progress(
            TextColumn("building"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("build", total=0)

    def start(self, total: int, to_build: int) -> None:
        self.total = total
        self.progress.update(self.task, total=total)
        if not self.quiet:
            self.progress.start()

    def post_done(self, result: PostResult) -> None:
        super().post_done(result)
        self.progress.advance(self.task)
        if self.done >= self.total:
            self.progress.stop()

    def show(self, lines: list[str]) -> None:
        for line in lines:
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        self.progress.stop()


def reporter_for(stream: TextIO, verbose: bool = False, quiet: bool = False) -> PlainReporter:
    """A progress bar on a terminal, plain lines elsewhere (CI, pipes)."""
    if stream.isatty():
        return RichReporter(stream, verbose, quiet)
    return PlainReporter(stream, verbose, quiet)


def summary_line(summary: BuildSummary) -> str:
    """What the build left alone or removed, then, always last, `built 3, skipped 2, warnings 1,
    failed 0 in 1.2 s`."""
    lines = []
    if summary.ignored:
        lines.append(
            f"not posts (no YYYY-MM-DD- date in the name), left alone: {shown_names(summary.ignored)}"
        )
    if summary.removed:
        lines.append(f"removed outputs of deleted posts: {shown_names(summary.removed)}")
    if summary.stale:
        lines.append(
            f"outputs of posts no longer in the source (use --prune to remove): {shown_names(summary.stale)}"
        )
    if summary.resumed:
        lines.append(f"resumed: {summary.resumed} already built by a build that was stopped")
    lines.append(
        f"built {summary.count('built')}, skipped {summary.count('skipped')}, "
        f"warnings {summary.warning_count}, failed {len(summary.failed)} in {summary.seconds:.2f} s"
    )
    return "\n".join(lines)
