"""Output formats: each module turns one Episode into files, and nothing else.

A format module exposes `render(episode, settings) -> Rendered`. It never reads the source
post and never calls another format. Modules are imported lazily so that a build that renders
no PDF never imports WeasyPrint.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol

from ..config import Settings
from ..model import Episode


@dataclass
class Rendered:
    """The files of one format for one episode, and what the user should hear about."""

    files: dict[str, bytes] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # news, not problems: "added 0:00 Intro"


class FormatModule(Protocol):
    def render(self, episode: Episode, settings: Settings) -> Rendered: ...


# name used by `--only` -> module under pipeline.formats
FORMATS: dict[str, str] = {
    "post": "post",
    "chapters": "chapter_files",
    "newsletter": "newsletter",
    "pdf": "shownotes",
    "youtube": "youtube",
    "podcast": "podcast",
}


def load_format(name: str) -> FormatModule:
    """Import the module of one format by its `--only` name."""
    module: FormatModule = importlib.import_module(f"{__name__}.{FORMATS[name]}")
    return module
