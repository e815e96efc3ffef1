"""Output formats: each module turns one Episode into files, and nothing else.

A format module exposes `render(episode, settings) -> Rendered`. It never reads the source
post and never calls another format. Modules are imported lazily so that a build that renders
no PDF never imports WeasyPrint.

`FORMATS` declares, per format, what its bytes depend on besides the Episode: its module, the
bundled templates it renders with (a site's overrides of the same names count too), the
settings table it reads and the reader that checks it (the settings loader takes both from
here). The build gives each output its own fingerprint from these, so that
editing the newsletter template rebuilds newsletters and nothing else.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..model import Episode
from ..results import Diagnostic
from .descriptions.options import podcast_options, youtube_options
from .newsletter.options import newsletter_options
from .pdf.options import pdf_options

if TYPE_CHECKING:
    from ..settings.config import Settings


@dataclass
class Rendered:
    """The files of one format for one episode, and what the user should hear about: warnings
    and news (`info`: "added 0:00 Intro"), each a Diagnostic with the rule that found it where
    there is one (`youtube.bytes`). `render_format` adds the format's name."""

    files: dict[str, bytes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def warn(self, message: str, rule: str | None = None) -> None:
        self.diagnostics.append(Diagnostic("warning", message, rule=rule))

    @property
    def warnings(self) -> list[str]:
        """The warnings' messages."""
        return [d.message for d in self.diagnostics if d.severity == "warning"]

    @property
    def notes(self) -> list[str]:
        """The news' messages."""
        return [d.message for d in self.diagnostics if d.severity == "info"]


class FormatModule(Protocol):
    def render(self, episode: Episode, settings: Settings) -> Rendered: ...


@dataclass(frozen=True)
class Format:
    """One output format, as the build and `--only` know it."""

    name: str  # the `--only` name
    module: str  # under pipeline.formats
    templates: tuple[str, ...] = ()  # files or folders of the templates folder it renders with
    table: str | None = None  # the settings table it reads (`[newsletter]`)
    options: Callable[[Settings], Any] | None = None
    """Its table, checked into its options (`NewsletterOptions`): the settings loader calls it
    once, before any post is read, and keeps the result."""
    helpers: tuple[str, ...] = ()
    """Modules under pipeline.formats that only this format's output depends on: hashed into
    its fingerprint, not the one every output shares."""

    @property
    def tables(self) -> tuple[str, ...]:
        return (self.table,) if self.table else ()

    def load(self) -> FormatModule:
        module: FormatModule = importlib.import_module(f"{__name__}.{self.module}")
        return module


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("post", "post"),
        Format("chapters", "chapter_files"),
        Format(
            "newsletter",
            "newsletter.edition",
            ("newsletter.html.j2", "newsletter.txt.j2"),
            "newsletter",
            newsletter_options,
            ("newsletter.options", "newsletter.message"),
        ),
        Format(
            "pdf",
            "pdf.show_notes",
            ("show-notes.html.j2", "show-notes.css", "assets"),
            "pdf",
            pdf_options,
            ("pdf.engine", "pdf.options", "pdf.fetcher"),
        ),
        Format("youtube", "descriptions.youtube", (), "youtube", youtube_options),
        Format("podcast", "descriptions.podcast", (), "podcast", podcast_options),
    )
}


def load_format(name: str) -> FormatModule:
    """Import the module of one format by its `--only` name."""
    return FORMATS[name].load()


def render_format(name: str, episode: Episode, settings: Settings) -> Rendered:
    """One format's files for one episode, its diagnostics naming it: what the build writes and
    `check` reports, made by this one function for both."""
    rendered = load_format(name).render(episode, settings)
    rendered.diagnostics = [dataclasses.replace(d, format=name) for d in rendered.diagnostics]
    return rendered
