"""PDF show notes (`show-notes.pdf`): the page of one Episode (its print template, filled from
the episode), rendered by the WeasyPrint engine (`pdf_engine`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from markupsafe import Markup

from ...errors import RenderError
from ...model import Block, Episode, Section
from ...settings.config import Settings
from ...source.post_file import BIDI_CONTROLS
from ...text.block_writers import blocks_to_html, first_sentence
from .. import Rendered
from ..html_parts import ChapterRow, chapter_rows, date_text
from ..sanitize import sanitize_html, unlink_disallowed, unlinked_message
from ..templating import render_template
from .engine import FILENAME, html_to_pdf
from .options import PdfOptions, pdf_options

log = logging.getLogger(__name__)

TEMPLATE = "show-notes.html.j2"


# --- the episode as template context --------------------------------------------------------


@dataclass(frozen=True)
class TitleParts:
    """The usual title shape: `Guest: Topic | Show #12` or `Guest | Topic | Show #13`."""

    guest: str
    topic: str
    show: str
    number: int


_NUMBERED = re.compile(r"^(?P<show>.*?)\s*#\s*(?P<number>\d+)$")


def parse_title(title: str) -> TitleParts | None:
    """Guest, topic, show and number from a title of the usual shape, else None."""
    parts = [p.strip() for p in re.split(r"\s+\|\s+", title.strip())]
    numbered = _NUMBERED.match(parts[-1]) if len(parts) in (2, 3) else None
    if numbered is None:
        return None
    if len(parts) == 3:
        guest, topic = parts[0], parts[1]
    else:
        guest, sep, topic = parts[0].partition(": ")
        if not sep:
            return None
    if not guest.strip() or not topic.strip():
        return None
    return TitleParts(guest.strip(), topic.strip(), numbered["show"], int(numbered["number"]))


@dataclass(frozen=True)
class SectionView:
    """One part of the page: a heading, its HTML, and the chapter table when it is one."""

    kind: str
    heading: str | None
    html: Markup
    chapters: tuple[ChapterRow, ...] = ()


def _unlinked(sections: Sequence[Section]) -> tuple[tuple[Section, ...], list[str]]:
    """The sections with every link the sanitizer would refuse as text, and those URLs, each once."""
    removed: list[str] = []
    return tuple(replace(s, blocks=unlink_disallowed(s.blocks, removed)) for s in sections), removed


def _sections(
    episode: Episode, sections: Sequence[Section], settings: Settings, options: PdfOptions
) -> list[SectionView]:
    """The summary, then each section in order; the chapter table where its section was.

    `sections` are the episode's, with the links the PDF cannot keep already made text.
    """
    summary = tuple(b for s in sections if s.kind == "summary" for b in s.blocks)
    views = [SectionView("summary", options.summary_heading, _html(summary))]
    chapters = chapter_rows(episode)
    placed = False
    for section in sections:
        if section.kind == "summary":
            continue
        if section.kind == "chapters":
            heading = section.heading or settings.chapters_heading
            views.append(SectionView("chapters", heading, _html(section.blocks), chapters))
            placed = True
        else:
            views.append(SectionView(section.kind, section.heading, _html(section.blocks)))
    if chapters and not placed:
        views.insert(1, SectionView("chapters", settings.chapters_heading, Markup(""), chapters))
    return [v for v in views if v.html or v.chapters]


def _html(blocks: Sequence[Block]) -> Markup:
    """Escaped HTML for blocks through the shared allow-list (their other links already text)."""
    return Markup(sanitize_html(blocks_to_html(blocks)))


def _qr_data_uri(url: str) -> str:
    """An SVG QR code of `url` as a data: URI, made locally."""
    import segno

    # A fixed mask: segno would otherwise score all eight per code (a third of the HTML's cost);
    # any mask scans, the best one only makes the pattern a little more even.
    code = segno.make(url, error="m", micro=False, mask=0)
    uri: str = code.svg_data_uri(scale=1, border=0, dark="#1d2433", title=None)
    return uri


def episode_html(episode: Episode, settings: Settings, options: PdfOptions) -> str:
    """The print HTML of one episode (content only; layout lives in the stylesheet)."""
    return _page(episode, settings, options)[0]


def _page(episode: Episode, settings: Settings, options: PdfOptions) -> tuple[str, list[str]]:
    """The print HTML and the body's links it shows as text only (not https or mailto)."""
    sections, unlinked = _unlinked(episode.sections)
    parts = parse_title(episode.title)
    video_url = episode.video_url
    html: str = render_template(
        TEMPLATE,
        settings.template_overrides,
        lang=settings.language or "en",
        title=episode.title,
        show_name=settings.show_name or (parts.show if parts else ""),
        heading=parts.topic if parts else episode.title,
        guest=parts.guest if parts else None,
        number=parts.number if parts else None,
        author=options.author or settings.author,
        description=first_sentence(episode.summary),
        keywords=", ".join(episode.categories),
        date_iso=episode.date.isoformat(timespec="seconds"),
        date_text=date_text(episode.date),
        video_url=video_url,
        qr_src=_qr_data_uri(video_url) if video_url and options.qr_code else None,
        sections=_sections(episode, sections, settings, options),
    )
    return BIDI_CONTROLS.sub("", html), unlinked  # also from text outside the sanitized fragments


def render(episode: Episode, settings: Settings) -> Rendered:
    """`show-notes.pdf` for one episode, with WeasyPrint's warnings."""
    options = pdf_options(settings)
    html, unlinked = _page(episode, settings, options)
    try:
        output = html_to_pdf(html, settings, identifier=episode.stem, date=episode.date, options=options)
    except RenderError as exc:  # a time limit stays a RenderTimeout: the build retries it
        raise type(exc)(exc.message, path=episode.source_name) from None
    rendered = Rendered({FILENAME: output.pdf})
    for url in unlinked:
        rendered.warn(unlinked_message(url))
    for warning in output.warnings:
        rendered.warn(warning)
    return rendered
