"""The `[newsletter]` settings table, checked: each value a send could put in a header or a
link is refused in one line before any post is read. Light on purpose (no renderer): the
settings loader, sending and the newsletter format all read it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...settings.schema import option, options_of
from ...text.links import is_loopback
from .headers import LIST_HEADER_ITEM, is_plain_address, unsafe_characters

if TYPE_CHECKING:
    from ...settings.config import Settings

# Gmail clips a message whose HTML passes about 102 KB; keep a margin below it.
DEFAULT_MAX_HTML_BYTES = 90 * 1024
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
# Merge tags that email services put in place of a per-subscriber link: Mailchimp `*|UNSUB|*`,
# Buttondown/Kit/Brevo `{{ unsubscribe_url }}`, Sendy `[unsubscribe]`, `%unsubscribe%`.
_MERGE_TAG = re.compile(r"^(\*\|[A-Z0-9_:]+\|\*|\{\{\s*[\w.]+\s*\}\}|\[[\w-]+\]|%[\w-]+%)$")


_LIST_ID = re.compile(rf"^(?=.{{1,200}}$){_LABEL}(?:\.{_LABEL})+$")
# Placeholders an unsubscribe URL may carry, filled per recipient when sending.
UNSUBSCRIBE_PLACEHOLDERS = ("{email}", "{token}")


def https_url_problem(value: str, *, allow_loopback_http: bool = False) -> str | None:
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
    return https_url_problem(sample, allow_loopback_http=True)


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
    if (problem := https_url_problem(value)) is not None:
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
    """The `[tool.pipeline.newsletter]` table, checked (`pipeline.settings.schema` reads it)."""

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
