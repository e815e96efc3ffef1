"""What a preview page shows of a post: its view after the latest build (title, date, status,
the diagnostics the manifest keeps), the chapters YouTube makes of its description, and the
first lines of a text output."""

from __future__ import annotations

import codecs
import io
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..formats.descriptions.chapters import written_chapters
from ..results import Diagnostic, OutputRecord

CHUNK_BYTES = 64 * 1024  # a file is read and sent this much at a time
INLINE_LINES = 1000  # a post's page shows at most this many lines of a text file...
INLINE_BYTES = 1024 * 1024  # ...and at most this many bytes of it


# --- what a page shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    """One post as the pages show it, after the latest build."""

    stem: str
    source: str  # as the user reads it: relative to the current folder when below it
    title: str
    date: str
    status: str  # built | warnings | failed
    error: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # the output files the build knows of, now or from before
    known: bool = True  # False: unchanged since a build this server did not see; warnings unknown

    @property
    def url(self) -> str:
        return f"/{quote(self.stem)}/"


def stored_lines(
    outputs: Mapping[str, OutputRecord], kind: str, line: Callable[[Diagnostic], str]
) -> tuple[str, ...]:
    """The diagnostics of `kind` (`warnings`, `notes`) the manifest keeps for a post's outputs,
    each line once."""
    lines: dict[str, None] = {}
    for name in sorted(outputs):
        for diagnostic in getattr(outputs[name], kind):
            lines.setdefault(line(diagnostic))
    return tuple(lines)


@dataclass(frozen=True)
class Chapters:
    """The chapters YouTube makes of a description: lines that start with a time."""

    lines: tuple[tuple[str, str], ...]
    problem: str  # why YouTube makes none of them ("" when it makes them)


def youtube_chapters(text: str) -> Chapters:
    """The chapters YouTube makes of `text`, checked as `check` and `publish` check them."""
    written = written_chapters(text)
    problem = "; ".join(written.problems) or ("" if written.lines else "no line starts with a time")
    return Chapters(written.lines, f"{problem}: YouTube makes no chapters" if problem else "")


def title_and_date(source: Path, stem: str) -> tuple[str, str]:
    """The post's title and date from its front matter; from its file name when it cannot be read."""
    from ..source.post_file import DATE_IN_NAME, read_post

    try:
        front = read_post(source).front_matter
        return front.title, front.date.date().isoformat()
    except Exception:  # a broken post: its page says why, from the build's error
        match = DATE_IN_NAME.match(source.name)
        return stem, "-".join(match.groups()) if match else ""


def open_regular(path: Path) -> io.BufferedReader | None:
    """`path` opened for reading when it is a regular file; None otherwise. A symbolic link in
    its place (put there after `inside` looked) is not followed, and a FIFO is not waited on."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return open(fd, "rb")  # the caller closes it
    except OSError:
        pass
    os.close(fd)
    return None


def _decoded(data: bytes, cut: bool) -> str:
    """UTF-8 text of `data`; when `cut`, a character split by the cut is left out, not replaced."""
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=not cut)


@dataclass(frozen=True)
class Excerpt:
    """The beginning of a text file as a page shows it: at most `INLINE_LINES` lines and
    `INLINE_BYTES` bytes; the whole file is counted (a chunk at a time), never held."""

    text: str
    lines: int  # in the whole file (a last line without its newline counts)
    shown: int  # lines shown, the last of them perhaps in part
    size: int  # bytes in the whole file
    cut_line: bool = False  # the last line shown stops before its end (INLINE_BYTES)

    @property
    def left_out(self) -> int:
        return self.lines - self.shown

    @property
    def whole(self) -> bool:
        return self.left_out == 0 and not self.cut_line


def excerpt(file: io.BufferedReader, max_lines: int = INLINE_LINES, max_bytes: int = INLINE_BYTES) -> Excerpt:
    """The first `max_lines` lines of `file` (at most `max_bytes` of them), and how many lines
    and bytes the whole file has, read a chunk at a time."""
    head = file.read(max_bytes)
    end = newlines = 0
    while newlines < max_lines:
        found = head.find(b"\n", end)
        if found < 0:
            break
        end, newlines = found + 1, newlines + 1
    if newlines < max_lines:  # fewer lines than that in `head`: all of it is shown
        end = len(head)
    shown_bytes = head[:end]
    after, rest, last = len(head) - end, head.count(b"\n", end), head[-1:]
    while chunk := file.read(CHUNK_BYTES):
        after, rest, last = after + len(chunk), rest + chunk.count(b"\n"), chunk[-1:]
    open_line = bool(shown_bytes) and not shown_bytes.endswith(b"\n")
    cut_line = open_line and after > 0
    shown = shown_bytes.count(b"\n") + open_line
    lines = shown_bytes.count(b"\n") + rest + (last not in (b"", b"\n"))
    return Excerpt(_decoded(shown_bytes, cut_line), lines, shown, file.tell(), cut_line)
