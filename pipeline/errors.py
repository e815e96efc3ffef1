"""Errors a user can act on: shown as one line, never as a traceback; `printable`, what every
message is made of before the tool prints it."""

from __future__ import annotations

import re
from pathlib import Path

from .places import shown_path

# What a message never holds as it is: C0 controls but tab, newline and CR (white space, folded),
# DEL, C1 controls, bidi controls, the line and paragraph separators, BOM and zero-width space,
# and lone surrogates (a file name that is not UTF-8). A soft hyphen, ZWJ and ZWNJ are text.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e"
    "\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as one line a terminal shows as it is: each control or bidi character escaped as
    Python writes it (`\\x1b`, `\\u202e`: the user sees what is there, the terminal does not act on
    it), white space runs folded to one space. Escaping twice changes nothing."""
    if _UNPRINTABLE.search(text):
        text = _UNPRINTABLE.sub(_escaped, text)
    return " ".join(text.split())


class PipelineError(Exception):
    """A problem with the user's input or settings, printed as `file:line: field: message`."""

    transient = False
    """True when the same input may pass on a retry (a time limit, a full disk, an unreadable
    file): a build remembers a post's failure to report it again without retrying only when not."""

    def __init__(
        self,
        message: str,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field

    def __str__(self) -> str:
        return self._text("")

    def line_text(self, severity: str = "error") -> str:
        """The error as every command prints it, the way a build prints a post's problem:
        `episode.toml:7: error: [newsletter]: …`, or `error: …` when no file is to blame."""
        return self._text(f"{severity}: ")

    def _text(self, severity: str) -> str:
        where = ""
        if self.path:
            # Relative to the current folder, as every message shows a path (`places.shown_path`).
            where = shown_path(self.path) + (f":{self.line}" if self.line else "") + ": "
        what = f"{self.field}: " if self.field else ""
        # One line, whatever the input held; its control characters shown, not acted on.
        return printable(f"{where}{severity}{what}{self.message}")

    def __reduce__(self) -> tuple[type, tuple[str, str | None, int | None, str | None]]:
        # Keeps path/line/field when the error crosses a process boundary.
        return (type(self), (self.message, self.path, self.line, self.field))


class SourceError(PipelineError):
    """The post file or its front matter cannot be used."""


class ConfigError(PipelineError):
    """The [tool.pipeline] settings are wrong."""


class ConversionError(PipelineError):
    """An external converter (pandoc, WeasyPrint) failed or timed out on a post."""


class RenderError(PipelineError):
    """An output could not be produced from a valid episode."""


class ConversionTimeout(ConversionError):
    """pandoc ran out of time on a post: maybe only because the machine was busy."""

    transient = True


class RenderTimeout(RenderError):
    """An output took longer than its time limit to render."""

    transient = True


class UnreadableSource(SourceError):
    """The post file could not be read (permissions, a vanished file)."""

    transient = True


class WriteError(PipelineError):
    """A post's outputs could not be written (a full disk, a read-only folder)."""

    transient = True


class StrictFailure(PipelineError):
    """A post has warnings and `--strict` is on: it depends on the flag, not only the input."""

    transient = True
