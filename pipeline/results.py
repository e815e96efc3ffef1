"""What building a post did, as data: its result, its problems, the build's summary.

`reports.py` turns these into lines; `preview/` into pages; nothing here prints.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from .errors import PipelineError, printable
from .model import Episode

SEVERITIES = ("error", "warning", "info", "note")


@dataclass(frozen=True)
class Diagnostic:
    """One thing to tell the user about a post, as data: `cli.problem_line` adds the post's path
    and line, `text` the format's name; nothing else puts either in front of a message.

    Severities: `error` (the post failed), `warning` (counted; `--strict` fails the post),
    `info` (news from a format: "added 0:00 Intro"), `note` (a line of the normalization report,
    shown with `--verbose`).
    """

    severity: str
    message: str
    format: str | None = None  # the `--only` name of the output it concerns; None: the post itself
    rule: str | None = None  # a platform rule (`youtube.bytes`), a report reason, a front-matter field
    line: int | None = None  # in the post, where known
    post: str | None = None  # the post's path, where a record travels without its PostResult

    def __post_init__(self) -> None:
        # Every message the tool prints or records passes here: one line, its control and bidi
        # characters shown escaped (`\x1b`), never acted on by a terminal (`errors.printable`).
        object.__setattr__(self, "message", printable(self.message))
        if self.rule is not None:
            object.__setattr__(self, "rule", printable(self.rule))

    @property
    def text(self) -> str:
        """`newsletter: link … kept as text only`; a message that names its format already
        (`YouTube: …` from the youtube format) does not get it twice."""
        if self.format is None or self.message.casefold().startswith(self.format.casefold() + ": "):
            return self.message
        return f"{self.format}: {self.message}"

    def to_json(self) -> dict[str, object]:
        """The fields that are set, for the manifest and `check --json`."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: object) -> Diagnostic | None:
        """A Diagnostic read back from `to_json`'s form; None when `data` is not one."""
        if not isinstance(data, dict):
            return None
        severity, message = data.get("severity"), data.get("message")
        if severity not in SEVERITIES or not isinstance(message, str):
            return None
        texts = {k: data.get(k) if isinstance(data.get(k), str) else None for k in ("format", "rule", "post")}
        line = data.get("line")
        return cls(
            str(severity),
            message,
            texts["format"],
            texts["rule"],
            line if isinstance(line, int) and not isinstance(line, bool) else None,
            texts["post"],
        )


def report_diagnostics(episode: Episode) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The warnings of a post's report (an unresolved Liquid tag, an embed that was dropped), and
    its other lines as notes."""
    warnings = [
        Diagnostic("warning", n.warning_text, rule=None if n.kind == "warning" else n.kind)
        for n in episode.report
        if n.is_warning
    ]
    notes = [Diagnostic("note", n.message, rule=n.kind) for n in episode.report if not n.is_warning]
    return warnings, notes


def _names_post(where: str | None, post: Path) -> bool:
    """True when an error's path is the post itself (its name, or the same file), or unset."""
    if not where:
        return True
    path = Path(where)
    if path.name != post.name:
        return False
    return len(path.parts) == 1 or os.path.abspath(path) == os.path.abspath(post)


def error_diagnostic(exc: PipelineError, post: Path, format: str | None = None) -> Diagnostic:
    """An error about `post` without its location (the line is kept apart); an error located in
    another file (a linked post, a settings file) keeps that file's name in its message."""
    if _names_post(exc.path, post):
        text = f"{exc.field}: {exc.message}" if exc.field else exc.message
        return Diagnostic("error", text, format, exc.field, exc.line)
    return Diagnostic("error", str(exc), format, exc.field)


class Status(StrEnum):
    """What became of a post in one build (a plain string, so it crosses processes and JSON)."""

    BUILT = "built"
    SKIPPED = "skipped"  # every requested output was up to date
    FAILED = "failed"


def plain_name(name: object) -> bool:
    """A single path component that is not hidden: no `/`, `..` or `.manifest.json`."""
    return isinstance(name, str) and bool(name) and Path(name).name == name and not name.startswith(".")


@dataclass(frozen=True)
class OutputRecord:
    """What one format last wrote for a post: the digest it was made under, its files (plain
    names in the post's folder) and what it said. The manifest keeps one per format and post."""

    digest: str
    files: tuple[str, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    notes: tuple[Diagnostic, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "digest": self.digest,
            "files": list(self.files),
            "warnings": [d.to_json() for d in self.warnings],
            "notes": [d.to_json() for d in self.notes],
        }

    @classmethod
    def from_json(cls, data: object) -> OutputRecord | None:
        """The record read back; None when `data` is not one (or names a file that is no plain name)."""
        if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
            return None
        files = data.get("files")
        if not isinstance(files, list) or not all(plain_name(f) for f in files):
            return None
        said = {
            key: tuple(d for raw in data.get(key, ()) or () if (d := Diagnostic.from_json(raw)) is not None)
            for key in ("warnings", "notes")
        }
        return cls(data["digest"], tuple(files), said["warnings"], said["notes"])


@dataclass
class PostResult:
    """What building one post did; crosses the process boundary, so plain data only."""

    stem: str
    source: str
    status: Status = Status.BUILT
    files: list[str] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    notes: list[Diagnostic] = field(default_factory=list)  # `info` and `note` diagnostics
    error: str | None = None  # one line, with the file and line it is about
    failure: Diagnostic | None = None  # the same error, its parts apart (for `cli.problem_line`)
    bug: str | None = None  # a traceback: not the user's fault
    timings: dict[str, float] = field(default_factory=dict)
    digest: str = ""
    # sha256 of each post its `{% post_url %}` links were resolved from, by path from its folder
    depends: dict[str, str] = field(default_factory=dict)
    # per format: what it last wrote (the manifest's record)
    outputs: dict[str, OutputRecord] = field(default_factory=dict)
    rendered: list[str] = field(default_factory=list)  # the formats rendered by this build
    remembered: bool = False  # failed before on the same input: reported again, not retried
    failure_key: str = ""  # set when the failure will recur on the same input (`manifest.failure_key`)
    worker: int = 0  # the process id that rendered it
    worker_rss: int = 0  # that process's resident memory after rendering, in bytes


@dataclass
class BuildSummary:
    results: list[PostResult]
    removed: list[str]
    stale: list[str]
    seconds: float
    ignored: list[str] = field(default_factory=list)
    """Files in a Jekyll `_posts/` folder without the date in their name: not posts."""
    resumed: int = 0
    """Posts an interrupted build had already built, which this one therefore skipped."""

    @property
    def failed(self) -> list[PostResult]:
        return [r for r in self.results if r.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def warning_count(self) -> int:
        return sum(len(r.warnings) for r in self.results)


class Reporter:
    """Receives progress; the CLI layer decides how to show it."""

    def start(self, total: int, to_build: int) -> None:
        """Called once, before any post is built."""

    def post_done(self, result: PostResult) -> None:
        """Called once per post, in a stable order."""


def failed(result: PostResult, exc: PipelineError) -> PostResult:
    """`result`, failed with a user's mistake (one line, no traceback)."""
    result.status, result.error = Status.FAILED, str(exc)
    result.failure = error_diagnostic(exc, Path(result.source))
    return result


def internal_error(result: PostResult, exc: BaseException) -> PostResult:
    """`result`, failed with a bug: one line for the user, the traceback kept apart."""
    message = printable(f"internal error: {type(exc).__name__}: {exc}")
    result.status = Status.FAILED
    result.error = printable(f"{result.source}: {message}")
    result.failure = Diagnostic("error", message)
    result.bug = "".join(traceback.format_exception(exc))
    return result
