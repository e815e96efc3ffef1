"""One newsletter as an email message: the whole message, from its two bodies and the settings.

The order of the headers, the Message-IDs, the headers of a message being sent (Date,
Message-ID, List-Id, List-Unsubscribe), multipart/alternative with quoted-printable parts and a
boundary taken from the content. Each header line is written by `pipeline.formats.newsletter.headers`. The
bodies and the checked options are given, by the newsletter format for `newsletter.eml` and by
`pipeline.mail.outgoing` for a message being sent: this module imports no format.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from functools import lru_cache
from typing import Protocol, cast

from ...model import Episode
from ...settings.config import Settings
from . import headers as mail_headers
from .headers import POLICY, header_text


class Addressing(Protocol):
    """What a message takes from `[tool.pipeline.newsletter]` (a `NewsletterOptions`), validated."""

    @property
    def from_address(self) -> str: ...
    @property
    def to_address(self) -> str: ...
    @property
    def message_id_domain(self) -> str: ...
    @property
    def list_id(self) -> str: ...


class Bodies(Protocol):
    """The two bodies of a message (a `NewsletterParts`)."""

    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...


def subject_line(title: str) -> str:
    """The title as one header-safe line: control characters (CR, LF, NUL …) become spaces."""
    return header_text(title)


def _address_parts(value: str) -> tuple[str, str]:
    """(display name, address) of one configured address (validated by `options_from_table`)."""
    name, addr = getaddresses([value])[0]
    return name, addr


@lru_cache(maxsize=64)
def _address_line(name: str, display: str, addr_spec: str) -> bytes:
    """The folded `name:` header line for one address; the same for every message of a build."""
    return mail_headers.address(name, display, addr_spec)


def _quoted_printable(text: str) -> bytes:
    """`text` as UTF-8 quoted-printable with CRLF line ends, by the C encoder.

    The email package's encoder is pure Python and was a third of the newsletter's time.
    """
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message_id(episode: Episode, domain: str) -> str:
    """A Message-ID that depends only on the post: the same episode always gets the same one."""
    digest = hashlib.sha256(f"{episode.stem}\n{episode.date.isoformat()}".encode()).hexdigest()
    return f"<{digest[:32]}@{domain}>"


@dataclass(frozen=True)
class SendHeaders:
    """What a message gets when it is sent rather than built: `newsletter.eml` keeps the
    episode's date and the post's Message-ID, so the same post always gives the same file."""

    date: dt.datetime
    """The time of sending."""
    message_id: str
    """`<…@…>`, stable per post and recipient (`recipient_message_id`)."""
    unsubscribe: tuple[str, ...] = ()
    """The `List-Unsubscribe` URLs (https first, then mailto), already filled for the recipient."""
    list_id: str | None = None
    """The `List-Id` (`name.example.org`), without the angle brackets."""


def recipient_message_id(episode: Episode, recipient: str, domain: str, identity: str | None = None) -> str:
    """A Message-ID that depends on the post and the recipient only: sending the same post to
    the same reader again (a retry) gives the same id, so a mailbox can tell it is a duplicate.

    `identity` is the post's identity in the send journal (`pipeline.mail.sending.post_identity`: its
    stem in the site's `_posts/`, else its resolved path; the stem by default), so two posts of
    one stem in different folders give different ids. `recipient` is compared ignoring case.
    """
    key = f"{identity or episode.stem}\n{episode.date.isoformat()}\n{recipient.lower()}"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def default_list_id(settings: Settings, opts: Addressing) -> str:
    """`list_id`, or `<show-name-slug>.<From domain>` (`newsletter` when there is no show name)."""
    if opts.list_id:
        return opts.list_id
    domain = _address_parts(opts.from_address)[1].rsplit("@", 1)[1].lower()
    ascii_name = unicodedata.normalize("NFKD", settings.show_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-") or "newsletter"
    return f"{slug}.{domain}"


def _send_headers(sending: SendHeaders) -> list[bytes]:
    """Date, Message-ID and the list headers of a message being sent."""
    head = [
        mail_headers.unstructured("Date", format_datetime(sending.date)),
        mail_headers.unstructured("Message-ID", sending.message_id),
    ]
    if sending.list_id is not None:
        head.append(mail_headers.list_header("List-Id", [sending.list_id]))
    if sending.unsubscribe:
        head.append(mail_headers.list_header("List-Unsubscribe", sending.unsubscribe))
        if sending.unsubscribe[0].startswith("https://"):
            # RFC 8058 one-click: the https URL takes a POST with this body, no confirmation page.
            head.append(mail_headers.unstructured("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return head


def message_bytes(
    episode: Episode,
    settings: Settings,
    opts: Addressing,
    parts: Bodies,
    *,
    to: str | None = None,
    sending: SendHeaders | None = None,
) -> bytes:
    """The newsletter as one multipart/alternative message (text first, HTML last), as bytes.

    Written directly rather than through `EmailMessage`, which cost more than the rest of the
    newsletter; `tests/test_newsletter.py` checks the bytes against what the email package
    writes for the same message. Headers are still folded by the email package's policy.
    Without `sending`, the Date and Message-ID are the post's (`newsletter.eml`); with it,
    those of a message being sent, and its list headers. ValueError for an unusable List-* item.
    """
    from_name, from_addr = _address_parts(opts.from_address)
    to_name, to_addr = _address_parts(to if to is not None else opts.to_address)
    # A boundary from the content, not from `random`: the same episode gives the same bytes.
    digest = hashlib.sha256(f"{parts.text}\0{parts.html}".encode()).hexdigest()
    boundary = f"==_newsletter_{digest[:40]}".encode()
    head = [
        # A bare configured address is sent in the show's name.
        _address_line("From", from_name if "<" in opts.from_address else settings.show_name, from_addr),
        _address_line("To", to_name, to_addr),
        mail_headers.unstructured("Subject", episode.title),
        *(
            _send_headers(sending)
            if sending is not None
            else [
                mail_headers.unstructured("Date", format_datetime(episode.date)),
                mail_headers.unstructured("Message-ID", message_id(episode, opts.message_id_domain)),
            ]
        ),
        b"MIME-Version: 1.0\r\n",
        b'Content-Type: multipart/alternative;\r\n boundary="' + boundary + b'"\r\n',
        b"\r\n",
    ]
    body = []
    for subtype, text in ((b"plain", parts.text), (b"html", parts.html)):
        # Quoted-printable: 7-bit safe for any relay, and deterministic (no 8BITMIME negotiation).
        body += [
            b"--" + boundary + b"\r\n",
            b"Content-Type: text/" + subtype + b'; charset="utf-8"\r\n',
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _quoted_printable(text),
            b"\r\n",
        ]
    return b"".join(head + body) + b"--" + boundary + b"--\r\n"


def build_message(
    episode: Episode,
    settings: Settings,
    opts: Addressing,
    parts: Bodies,
    *,
    to: str | None = None,
    sending: SendHeaders | None = None,
) -> EmailMessage:
    """`message_bytes` as an `EmailMessage`, for looking at its headers (`invoke send` sends
    the bytes of `message_bytes` themselves, so that a DKIM signature covers what is sent)."""
    data = message_bytes(episode, settings, opts, parts, to=to, sending=sending)
    return cast(EmailMessage, email.message_from_bytes(data, policy=POLICY))
