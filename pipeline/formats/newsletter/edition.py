"""The newsletter edition: an email-safe HTML page, its plain-text twin, and both as one `.eml`.

This module makes the two bodies (`render_parts`) and checks `[tool.pipeline.newsletter]`;
the message around them (headers, MIME, Message-IDs) is `pipeline.formats.newsletter.message`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import css_inline

from ...errors import RenderError
from ...model import Block, Episode, Span
from ...settings.config import Settings
from ...source.post_file import BIDI_CONTROLS
from ...text.block_writers import blocks_to_html, blocks_to_text, first_sentence, map_spans
from .. import Rendered
from ..html_parts import ChapterRow, chapter_rows, date_text
from ..sanitize import is_allowed_url, sanitize_html, unlinked_message
from ..templating import render_template
from .message import message_bytes
from .options import NewsletterOptions, https_url_problem, newsletter_options

log = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 536  # the 600 px column minus 2 x 32 px padding
THUMBNAIL_HEIGHT = 402  # hqdefault.jpg is 480 x 360 (4:3)
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")


# --- content, converted in Python before the templates ------------------------------------


def _link_usable(url: str) -> bool:
    """True when a link in the body can go into an email: the sanitizer's policy, with a host."""
    parts = urlsplit(url)
    has_target = bool(parts.hostname) if parts.scheme.lower() == "https" else "@" in parts.path
    return is_allowed_url(url) and has_target


def _safe_blocks(blocks: Iterable[Block], warnings: list[str]) -> tuple[Block, ...]:
    """Blocks whose links all work in a mail client (relative, `javascript:` … become text)."""

    def unlink(span: Span) -> Span:
        if span.url is None or _link_usable(span.url):
            return span
        warnings.append(unlinked_message(span.url))
        return dataclasses.replace(span, url=None)

    return map_spans(blocks, unlink)


@dataclass(frozen=True)
class _Section:
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class _Content:
    """Everything both templates show, already checked: the HTML and text differ only in form."""

    title: str
    date: str
    preheader: str
    video_url: str | None
    thumbnail_url: str | None
    substack_url: str | None
    summary: tuple[Block, ...]
    chapters_heading: str
    chapters: tuple[ChapterRow, ...]
    chapter_blocks: tuple[Block, ...]
    sections: tuple[_Section, ...]


def _content(episode: Episode, settings: Settings, opts: NewsletterOptions, warnings: list[str]) -> _Content:
    """Gather and check what the newsletter shows, in the order it shows it."""
    video_url = thumbnail = None
    if episode.youtube_id is not None:
        if not _YOUTUBE_ID.match(episode.youtube_id):
            raise RenderError(
                f"{episode.youtube_id!r} is not a YouTube video id",
                path=episode.source_name,
                field="youtubeID",
            )
        video_url = episode.video_url
        thumbnail = opts.thumbnail_url.format(youtube_id=quote(episode.youtube_id, safe=""))
    substack = episode.substack_url
    if substack is not None and https_url_problem(substack) is not None:
        warnings.append(f"substack_url {substack!r} left out: not an https URL")
        substack = None
    summary = _safe_blocks(episode.summary, warnings)
    preheader = " ".join((episode.description or first_sentence(summary)).split())
    if not preheader:
        warnings.append("no description and no summary, so the inbox preview is empty")
    chapters_heading = settings.chapters_heading
    chapter_blocks: tuple[Block, ...] = ()
    sections: list[_Section] = []
    for section in episode.sections:
        if section.kind == "chapters":
            chapters_heading = section.heading or chapters_heading
            chapter_blocks = _safe_blocks(section.blocks, warnings)
        elif section.kind != "summary":
            blocks = _safe_blocks(section.blocks, warnings)
            if blocks or section.heading:
                sections.append(_Section(section.heading or "", blocks))
    return _Content(
        title=" ".join(episode.title.split()),
        date=date_text(episode.date),
        preheader=preheader,
        video_url=video_url,
        thumbnail_url=thumbnail,
        substack_url=substack,
        summary=summary,
        chapters_heading=chapters_heading,
        chapters=chapter_rows(episode),
        # Chapter lines normalization could not read stay as the author wrote them.
        chapter_blocks=() if episode.chapters else chapter_blocks,
        sections=tuple(sections),
    )


def _footer_text(settings: Settings, opts: NewsletterOptions) -> str:
    """The footer sentence: configured, or one naming the show."""
    if opts.footer_text:
        return opts.footer_text
    show = settings.show_name or "this newsletter"
    return f"You are receiving this email because you subscribed to {show}."


# --- the three files ----------------------------------------------------------------------


def _inline_css(document: str) -> str:
    """Move every rule into `style` attributes; only `@media` blocks stay in the head."""
    inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)
    return str(inliner.inline(document))


def _fragment(blocks: tuple[Block, ...]) -> str:
    """Post content as HTML, through the shared allow-list (a no-op on checked blocks)."""
    return sanitize_html(blocks_to_html(blocks))


def _html(content: _Content, settings: Settings, opts: NewsletterOptions) -> str:
    """The email-safe HTML document, CSS inlined."""
    document = render_template(
        "newsletter.html.j2",
        settings.template_overrides,
        lang=settings.language or "en",
        show_name=settings.show_name,
        accent=opts.accent_color,
        c=content,
        # Only HTML made by block_writers.py from checked blocks, then sanitized, is marked safe.
        summary_html=_fragment(content.summary),
        chapter_blocks_html=_fragment(content.chapter_blocks),
        sections_html=[(s.heading, _fragment(s.blocks)) for s in content.sections],
        thumbnail_width=THUMBNAIL_WIDTH,
        thumbnail_height=THUMBNAIL_HEIGHT,
        footer_text=_footer_text(settings, opts),
        postal_address=" ".join(opts.postal_address.split()),
        unsubscribe_url=opts.unsubscribe_url,
    )
    # Bidi controls can also reach the template as plain text (a code span in the preheader).
    return BIDI_CONTROLS.sub("", _inline_css(document)).rstrip("\n") + "\n"


def _wrap(text: str, width: int, indent: str = "") -> str:
    """Wrap one paragraph without breaking words or URLs."""
    return textwrap.fill(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _chapter_lines(rows: tuple[ChapterRow, ...], width: int) -> list[tuple[str, str]]:
    """Each chapter as (`time  title`, wrapped under the title, and the indented link line)."""
    indent = " " * (max((len(r.time) for r in rows), default=0) + 2)
    return [
        (
            textwrap.fill(
                row.title,
                width,
                initial_indent=row.time.ljust(len(indent)),
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            ),
            indent + row.url if row.url else "",
        )
        for row in rows
    ]


def _text(content: _Content, settings: Settings, opts: NewsletterOptions) -> str:
    """The plain-text alternative: wrapped paragraphs, URLs kept, chapters with times and links."""
    width = opts.text_width
    title = _wrap(content.title, width) or "(untitled)"
    text = render_template(
        "newsletter.txt.j2",
        settings.template_overrides,
        show_name=settings.show_name,
        c=content,
        title=title,
        rule="=" * max(len(line) for line in title.splitlines()),
        summary=blocks_to_text(content.summary, width),
        chapters=_chapter_lines(content.chapters, width),
        chapter_blocks=blocks_to_text(content.chapter_blocks, width),
        sections=[(s.heading, blocks_to_text(s.blocks, width)) for s in content.sections],
        watch=_wrap(f"Watch the episode: {content.video_url}", width) if content.video_url else "",
        buttons=[
            _wrap(f"{label}: {url}", width)
            for label, url in (
                ("Watch on YouTube", content.video_url),
                ("Read on Substack", content.substack_url),
            )
            if url
        ],
        footer_text=_wrap(_footer_text(settings, opts), width),
        postal_address=_wrap(" ".join(opts.postal_address.split()), width),
        unsubscribe=_wrap(f"Unsubscribe: {opts.unsubscribe_url}", width),
    )
    # The HTML part loses bidi controls in the sanitizer; the text part follows the same rule.
    return BIDI_CONTROLS.sub("", re.sub(r"\n{3,}", "\n\n", text)).strip("\n") + "\n"


@dataclass
class NewsletterParts:
    """The two bodies of one newsletter and what the user should hear about them."""

    html: str
    text: str
    warnings: list[str]


def render_parts(
    episode: Episode, settings: Settings, opts: NewsletterOptions | None = None
) -> NewsletterParts:
    """The HTML and plain-text bodies of one episode's newsletter (`opts`: the settings' own)."""
    return _parts(episode, settings, opts or newsletter_options(settings))


def _parts(episode: Episode, settings: Settings, opts: NewsletterOptions) -> NewsletterParts:
    warnings: list[str] = []
    content = _content(episode, settings, opts, warnings)
    html = _html(content, settings, opts)
    return NewsletterParts(html, _text(content, settings, opts), warnings)


def render(episode: Episode, settings: Settings) -> Rendered:
    """`newsletter.html`, `newsletter.txt` and `newsletter.eml` for one episode."""
    opts = newsletter_options(settings)
    parts = _parts(episode, settings, opts)
    result = Rendered()
    for warning in parts.warnings:
        result.warn(warning)
    html_bytes = parts.html.encode("utf-8")
    if len(html_bytes) > opts.max_html_bytes:
        result.warn(
            f"newsletter.html is {len(html_bytes):,} bytes, over the {opts.max_html_bytes:,} byte "
            "budget: Gmail clips messages over about 102 KB",
            rule="newsletter.bytes",
        )
    result.files["newsletter.html"] = html_bytes
    result.files["newsletter.txt"] = parts.text.encode("utf-8")
    result.files["newsletter.eml"] = message_bytes(episode, settings, opts, parts)
    for warning in result.warnings:
        log.debug("%s: %s", episode.source_name, warning)
    return result
