"""The newsletter edition: an email-safe HTML page, its plain-text twin, and both as one `.eml`.

This module makes the two bodies (`render_parts`) and checks `[tool.pipeline.newsletter]`;
the message around them (headers, MIME, Message-IDs) is `pipeline.email_message`.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any
from urllib.parse import quote, urlsplit

import css_inline

from ..block_writers import blocks_to_html, blocks_to_text, first_sentence, map_spans
from ..config import Settings
from ..email_message import message_bytes
from ..errors import RenderError
from ..links import is_loopback
from ..mail_headers import LIST_HEADER_ITEM, is_plain_address, unsafe_characters
from ..model import Block, Episode, Span
from ..options import option, options_of
from ..sanitize import is_allowed_url, sanitize_html, unlinked_message
from ..source import BIDI_CONTROLS
from ..templating import render_template
from . import Rendered
from .html_parts import ChapterRow, chapter_rows, date_text

log = logging.getLogger(__name__)

# Gmail clips a message whose HTML passes about 102 KB; keep a margin below it.
DEFAULT_MAX_HTML_BYTES = 90 * 1024
THUMBNAIL_WIDTH = 536  # the 600 px column minus 2 x 32 px padding
THUMBNAIL_HEIGHT = 402  # hqdefault.jpg is 480 x 360 (4:3)
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
# Merge tags that email services put in place of a per-subscriber link: Mailchimp `*|UNSUB|*`,
# Buttondown/Kit/Brevo `{{ unsubscribe_url }}`, Sendy `[unsubscribe]`, `%unsubscribe%`.
_MERGE_TAG = re.compile(r"^(\*\|[A-Z0-9_:]+\|\*|\{\{\s*[\w.]+\s*\}\}|\[[\w-]+\]|%[\w-]+%)$")


_LIST_ID = re.compile(rf"^(?=.{{1,200}}$){_LABEL}(?:\.{_LABEL})+$")
# Placeholders an unsubscribe URL may carry, filled per recipient when sending.
UNSUBSCRIBE_PLACEHOLDERS = ("{email}", "{token}")


def _web_url_problem(value: str, *, allow_loopback_http: bool = False) -> str | None:
    """Why `value` is not an absolute https URL (None when it is)."""
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        return "must not contain spaces or control characters"
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return None
    if allow_loopback_http and parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return None
    return "expected an absolute https:// URL"


def _address_problem(value: str) -> str | None:
    """Why `value` is not one email address (`a@b.c` or `Name <a@b.c>`)."""
    if unsafe := unsafe_characters(value):
        return f"must not contain control or bidi characters ({', '.join(unsafe)})"
    parsed = getaddresses([value])
    if len(parsed) != 1 or not is_plain_address(parsed[0][1]):
        return "expected one email address such as 'Show <news@example.com>'"
    return None


def _thumbnail_url_problem(value: str) -> str | None:
    try:
        sample = value.format(youtube_id="IOC2k5k8oto")
    except (KeyError, IndexError, ValueError):
        return "only the placeholder {youtube_id} is allowed"
    return _web_url_problem(sample, allow_loopback_http=True)


def _unsubscribe_url_problem(value: str) -> str | None:
    if _MERGE_TAG.match(value):
        return None
    if value.startswith("mailto:"):
        return _address_problem(value.removeprefix("mailto:").split("?")[0])
    sample = value
    for placeholder in UNSUBSCRIBE_PLACEHOLDERS:
        sample = sample.replace(placeholder, "x")
    if "{" in sample or "}" in sample:
        return "only the placeholders {email} and {token} are allowed"
    if (problem := _web_url_problem(value)) is not None:
        return problem
    if not LIST_HEADER_ITEM.match(sample):
        return "must be printable ASCII without quotes, commas or angle brackets (List-Unsubscribe)"
    return None


def _unsubscribe_mailto_problem(value: str) -> str | None:
    address = value.removeprefix("mailto:")
    problem = _address_problem(address.split("?")[0])
    if problem is None and "<" in address:
        return "expected a plain address or mailto: URL such as 'unsubscribe@example.org'"
    if problem is None and not LIST_HEADER_ITEM.match(address):
        return "must be printable ASCII without spaces, quotes, commas or angle brackets"
    return problem


def _list_id_problem(value: str) -> str | None:
    if _LIST_ID.match(value):
        return None
    return "expected a list id such as 'my-show.example.org' (letters, digits, '-', dots)"


def _envelope_from_problem(value: str) -> str | None:
    return None if is_plain_address(value) else "expected a plain address such as 'bounces@example.org'"


def _postal_address_problem(value: str) -> str | None:
    if unsafe := [c for c in unsafe_characters(value) if not c.startswith("U+000A")]:
        return f"must not contain control or bidi characters ({', '.join(unsafe)})"
    return None


def _domain_problem(value: str) -> str | None:
    return None if _DOMAIN.match(value) else "expected a domain name such as 'newsletter.example.com'"


def _colour_problem(value: str) -> str | None:
    return None if _HEX_COLOUR.match(value) else "expected a colour such as '#1a56db'"


def _footer_text_problem(value: str) -> str | None:
    if any(unicodedata.category(c) == "Cc" and c != "\n" for c in value):
        return "must not contain control characters"
    return None


@dataclass(frozen=True)
class NewsletterOptions:
    """The `[tool.pipeline.newsletter]` table, checked (`pipeline.options` reads it)."""

    thumbnail_url: str = option(
        "https://i.ytimg.com/vi/{youtube_id}/hqdefault.jpg", check=_thumbnail_url_problem
    )
    unsubscribe_url: str = option(
        "https://example.com/unsubscribe?id=*|UNIQID|*", check=_unsubscribe_url_problem
    )
    from_address: str = option("newsletter@example.com", check=_address_problem)
    to_address: str = option("subscribers@example.com", check=_address_problem)
    message_id_domain: str = option("newsletter.example.com", check=_domain_problem)
    footer_text: str = option("", check=_footer_text_problem)
    accent_color: str = option("#1a56db", check=_colour_problem)
    max_html_bytes: int = option(DEFAULT_MAX_HTML_BYTES, minimum=1024)
    text_width: int = option(72, minimum=40, maximum=200)
    """Columns of the plain-text part."""
    unsubscribe_mailto: str = option("", check=_unsubscribe_mailto_problem)
    """An address (or `mailto:` URL) for the `<mailto:…>` of `List-Unsubscribe`; empty: none."""
    list_id: str = option("", check=_list_id_problem)
    """The `List-Id` (`name.example.org`); empty: `<show-name-slug>.<From domain>`."""
    postal_address: str = option("", check=_postal_address_problem)
    """The sender's postal address for the footer (CAN-SPAM); a list send without it warns."""
    envelope_from: str = option("", check=_envelope_from_problem)
    """The bounce address (SMTP `MAIL FROM`); empty: the From address."""


# The example values of a fresh project: fine for a look at the build, never for readers.
EXAMPLE_FROM_ADDRESS = NewsletterOptions.from_address
EXAMPLE_UNSUBSCRIBE_URL = NewsletterOptions.unsubscribe_url


def options_from_table(table: Mapping[str, Any], source: str = "settings") -> NewsletterOptions:
    """Check `[tool.pipeline.newsletter]`: every unknown key and bad value reported at once."""
    return options_of(NewsletterOptions, table, "newsletter", source)


def newsletter_options(settings: Settings) -> NewsletterOptions:
    """The newsletter options of these settings: those checked at load, else checked now."""
    kept = settings.kept("newsletter", NewsletterOptions)
    return kept if kept is not None else options_from_table(settings.table("newsletter"), settings.source)


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
    if substack is not None and _web_url_problem(substack) is not None:
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
