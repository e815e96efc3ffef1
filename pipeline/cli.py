"""The command-line layer: progress, summaries and exit codes. The only place that prints."""

from __future__ import annotations

import sys
from typing import TextIO

from .build import BuildSummary, PostResult, Reporter


class PlainReporter(Reporter):
    """One line per post: for CI logs and pipes."""

    def __init__(self, stream: TextIO = sys.stdout, verbose: bool = False) -> None:
        self.stream = stream
        self.verbose = verbose
        self.done = 0
        self.total = 0

    def start(self, total: int, to_build: int) -> None:
        self.total = total
        print(
            f"{total} post(s), {to_build} to build, {total - to_build} unchanged or rejected",
            file=self.stream,
        )

    def post_done(self, result: PostResult) -> None:
        self.done += 1
        print(describe(result, self.done, self.total, self.verbose), file=self.stream, flush=True)


class RichReporter(PlainReporter):
    """A progress bar with ETA on a terminal; problems printed above it."""

    def __init__(self, stream: TextIO = sys.stdout, verbose: bool = False) -> None:
        super().__init__(stream, verbose)
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
        self.progress.start()

    def post_done(self, result: PostResult) -> None:
        self.done += 1
        self.progress.advance(self.task)
        if result.status != "skipped" or self.verbose:
            self.console.print(
                describe(result, self.done, self.total, self.verbose), markup=False, highlight=False
            )
        if self.done >= self.total:
            self.progress.stop()


def describe(result: PostResult, done: int, total: int, verbose: bool) -> str:
    """The lines shown for one post."""
    width = len(str(total))
    head = f"[{done:>{width}}/{total}] {result.status:<7} {result.stem}"
    lines = [head]
    if result.error:
        lines = [f"[{done:>{width}}/{total}] failed  {result.error}"]
        if result.bug:
            lines.append(result.bug.rstrip())
    lines += [f"    warning: {w}" for w in result.warnings]
    lines += [f"    {n}" for n in result.notes if verbose or n.startswith("info: ")]
    return "\n".join(lines)


def reporter_for(stream: TextIO, verbose: bool) -> Reporter:
    """A progress bar on a terminal, plain lines elsewhere (CI, pipes)."""
    if stream.isatty():
        return RichReporter(stream, verbose)
    return PlainReporter(stream, verbose)


def summary_line(summary: BuildSummary) -> str:
    """`built 3, skipped 2, warnings 1, failed 0 in 1.2 s`, plus stale outputs."""
    text = (
        f"built {summary.count('built')}, skipped {summary.count('skipped')}, "
        f"warnings {summary.warning_count}, failed {len(summary.failed)} in {summary.seconds:.2f} s"
    )
    if summary.ignored:
        text += (
            f"\nnot posts (no YYYY-MM-DD- date in the name), left alone: {', '.join(summary.ignored)}"
        )
    if summary.removed:
        text += f"\nremoved outputs of deleted posts: {', '.join(summary.removed)}"
    if summary.stale:
        text += (
            f"\noutputs of posts no longer in the source (use --prune to remove): {', '.join(summary.stale)}"
        )
    return text
