"""The newsletter of one post as each reader gets it: the exact bytes handed to the SMTP server.

The settings checked for real readers (no example address, no merge tag), the bodies rendered
once, each reader's unsubscribe link filled in (`{email}`, `{token}`), the send-time headers
(`pipeline.formats.newsletter.message.SendHeaders`) and the DKIM signature over the very bytes sent. The
SMTP conversation, the list and the journal are `pipeline.mail.sending`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import quote

import dkim
from markupsafe import escape

from ..errors import PipelineError
from ..formats.newsletter.edition import NewsletterParts, render_parts
from ..formats.newsletter.message import SendHeaders, default_list_id, message_bytes, recipient_message_id
from ..formats.newsletter.options import (
    EXAMPLE_FROM_ADDRESS,
    EXAMPLE_UNSUBSCRIBE_URL,
    NewsletterOptions,
    newsletter_options,
)
from ..model import Episode
from ..results import Diagnostic
from ..settings.config import Settings
from ..user_files import UserFileError, read_bytes

DKIM_SIGNED = (
    b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe",
    b"list-unsubscribe-post", b"mime-version", b"content-type",
)  # fmt: skip
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_SELECTOR = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# Merge tags an email service fills in; over plain SMTP they would reach readers as written.
# Mailchimp `*|UNSUB|*`, Buttondown/Kit/Brevo `{{ … }}`, Sendy `[unsubscribe]`, Mailgun/SendGrid
# `%unsubscribe_url%`, `<%asm_group_unsubscribe_raw_url%>`.
_MERGE_TAGS = re.compile(
    r"\*\|[A-Z0-9_:]+\|\*|\{\{[^}]*\}\}|\[unsubscribe[\w-]*\]|%[a-z_]*unsubscribe[a-z_]*%", re.IGNORECASE
)


@dataclass(frozen=True)
class DkimKey:
    """What `PIPELINE_DKIM_KEY_FILE` and `PIPELINE_DKIM_SELECTOR` say, checked by a test signature."""

    selector: bytes
    domain: bytes
    private_key: bytes


def dkim_sign(key: DkimKey, data: bytes) -> bytes:
    """`data` with a `DKIM-Signature:` line in front, over the very bytes that are sent."""
    head = data.split(b"\r\n\r\n", 1)[0]
    present = {line.split(b":", 1)[0].strip().lower() for line in head.split(b"\r\n") if b":" in line}
    signature: bytes = dkim.sign(
        data,
        key.selector,
        key.domain,
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h for h in DKIM_SIGNED if h in present],
        linesep=b"\r\n",
    )
    return signature + data


def dkim_key(env: Mapping[str, str], domain: str) -> DkimKey | None:
    """The DKIM key for `domain` (the From domain), or None when neither variable is set."""
    key_file = env.get("PIPELINE_DKIM_KEY_FILE", "").strip()
    selector = env.get("PIPELINE_DKIM_SELECTOR", "").strip()
    if not key_file and not selector:
        return None
    if not key_file:
        raise PipelineError("PIPELINE_DKIM_SELECTOR is set but PIPELINE_DKIM_KEY_FILE is not", field="dkim")
    if not selector:
        raise PipelineError("PIPELINE_DKIM_KEY_FILE is set but PIPELINE_DKIM_SELECTOR is not", field="dkim")
    if not _SELECTOR.match(selector):
        raise PipelineError(
            f"PIPELINE_DKIM_SELECTOR {selector!r} is not a DNS name such as 'mail2025'", field="dkim"
        )
    path = Path(key_file)
    try:
        pem = read_bytes(path, "key", field="PIPELINE_DKIM_KEY_FILE")  # a regular file of 64 KB at most
    except UserFileError as exc:
        raise PipelineError(
            f"cannot read the DKIM key: {exc.message}", path=path, field="PIPELINE_DKIM_KEY_FILE"
        ) from None
    key = DkimKey(selector.encode("ascii"), domain.encode("ascii"), pem)
    try:
        dkim_sign(key, b"From: a@example.org\r\nSubject: key check\r\n\r\nx\r\n")
    except dkim.DKIMException as exc:
        raise PipelineError(
            f"not a usable PEM private key ({exc})", path=path, field="PIPELINE_DKIM_KEY_FILE"
        ) from None
    return key


def unsubscribe_token(secret: bytes, address: str) -> str:
    """HMAC-SHA256 of the address with `PIPELINE_UNSUBSCRIBE_SECRET`, hex: what `{token}` becomes."""
    return hmac.new(secret, address.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Newsletter:
    """One post's newsletter, rendered once, addressed to each reader by `message`."""

    episode: Episode
    settings: Settings
    opts: NewsletterOptions
    parts: NewsletterParts
    sender: str
    """The envelope sender (`MAIL FROM`, where bounces go): `envelope_from` or the From address."""
    list_id: str | None
    list_unsubscribe: bool
    """Whether `unsubscribe_url` goes into `List-Unsubscribe` (not an example or a merge tag)."""
    mailto: str | None
    secret: bytes | None
    dkim: DkimKey | None
    identity: str = ""
    """The post's identity in the send journal (`pipeline.mail.sending.post_identity`; empty: its
    stem): what makes each reader's Message-ID its own."""

    @property
    def digest(self) -> str:
        """SHA-256 of what every reader gets, before their own unsubscribe link is filled in: the
        subject and both bodies. The journal keeps it with each reader it was sent to."""
        content = f"{self.episode.title}\0{self.parts.text}\0{self.parts.html}"
        return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()

    def unsubscribe_url(self, address: str) -> str:
        """`unsubscribe_url` with `{email}` (URL-encoded) and `{token}` filled for `address`."""
        url = self.opts.unsubscribe_url
        if "{email}" in url:
            url = url.replace("{email}", quote(address, safe=""))
        if "{token}" in url and self.secret is not None:
            url = url.replace("{token}", unsubscribe_token(self.secret, address))
        return url

    def _parts_for(self, url: str) -> NewsletterParts:
        """The bodies with the reader's own unsubscribe link (the one `List-Unsubscribe` has)."""
        template = self.opts.unsubscribe_url
        if url == template:
            return self.parts
        text = self.parts.text.replace(template, url)
        html = self.parts.html.replace(str(escape(template)), str(escape(url)))
        if text == self.parts.text or html == self.parts.html:
            raise PipelineError("the unsubscribe link was not found in the newsletter's body to fill in")
        return dataclasses.replace(self.parts, text=text, html=html)

    def message(self, address: str, now: dt.datetime, *, to: str | None = None) -> bytes:
        """The exact bytes sent to `address` (signed when a DKIM key is configured).

        `address` is the reader as normalised (`Recipient.address`: its unsubscribe link and
        Message-ID); `to`, the same address with an ASCII domain for the `To:` header.
        """
        url = self.unsubscribe_url(address)
        unsubscribe = ((url,) if self.list_unsubscribe else ()) + ((self.mailto,) if self.mailto else ())
        sending = SendHeaders(
            date=now,
            message_id=recipient_message_id(
                self.episode, address, self.opts.message_id_domain, self.identity or None
            ),
            unsubscribe=unsubscribe,
            list_id=self.list_id,
        )
        try:
            data = message_bytes(
                self.episode,
                self.settings,
                self.opts,
                self._parts_for(url),
                to=to if to is not None else address,
                sending=sending,
            )
        except ValueError as exc:
            path, table = self.settings.written_table("newsletter")
            raise PipelineError(str(exc), path=path, field=table) from None
        return dkim_sign(self.dkim, data) if self.dkim is not None else data


def _unsendable(opts: NewsletterOptions) -> tuple[list[str], bool]:
    """What in the settings no reader should get (example values, merge tags); is the URL usable."""
    problems: list[str] = []
    from_addr = getaddresses([opts.from_address])[0][1]
    if from_addr.lower() == getaddresses([EXAMPLE_FROM_ADDRESS])[0][1]:
        problems.append(f"from_address is the example {from_addr}: set your own sending address")
    url = opts.unsubscribe_url
    if url == EXAMPLE_UNSUBSCRIBE_URL:
        problems.append(
            "unsubscribe_url is the example one: set your unsubscribe endpoint "
            "(https, with {email} or {token})"
        )
        return problems, False
    if tag := _MERGE_TAGS.search(url):
        problems.append(
            f"unsubscribe_url holds the merge tag {tag.group(0)!r}, which only an email service fills in; "
            "over SMTP readers would get it as written: use an https URL with {email} or {token}"
        )
        return problems, False
    return problems, True


def unsendable_settings(settings: Settings) -> list[Diagnostic]:
    """A warning per newsletter setting a send would refuse (an example address, a merge tag),
    its message naming the table as written; `post` is the settings file (None without one of
    the tool's own). Shown once by `build`, counted by `check`."""
    problems, _ = _unsendable(newsletter_options(settings))
    path, table = settings.table_in_words("newsletter")
    return [Diagnostic("warning", f"{table}: {p}", rule="newsletter.settings", post=path) for p in problems]


def prepare_newsletter(
    episode: Episode,
    settings: Settings,
    env: Mapping[str, str],
    *,
    for_list: bool,
    identity: str = "",
    dry_run: bool = False,
) -> tuple[Newsletter, list[Diagnostic]]:
    """The newsletter to send and the warnings about it (`identity`: see `Newsletter.identity`).

    The example From and unsubscribe URL, ESP merge tags and an unsubscribe `{token}` without its
    secret are errors for a list send and warnings for a `--to` test send, which then leaves out
    the list headers made from them. A list's dry run shows its whole plan all the same, each
    such problem a line starting `would stop a real send:` (its caller then exits 1).
    """
    opts = newsletter_options(settings)
    from_addr = getaddresses([opts.from_address])[0][1]
    warnings: list[Diagnostic] = []
    settings_problems, usable_url = _unsendable(opts)
    url = opts.unsubscribe_url
    example_from = from_addr.lower() == getaddresses([EXAMPLE_FROM_ADDRESS])[0][1]
    path, table = settings.table_in_words("newsletter")
    stops = "would stop a real send: " if for_list else ""

    def about_settings(text: str) -> Diagnostic:  # named by the file and table it is about
        return Diagnostic("warning", f"{table}: {text}", rule="newsletter.settings", post=path)

    if for_list and settings_problems and not dry_run:
        path, table = settings.written_table("newsletter")
        raise PipelineError("; ".join(settings_problems), path=path, field=table)
    warnings += [about_settings(problem) for problem in settings_problems]
    if stops:
        warnings = [replace(w, message=stops + w.message) for w in warnings]
    secret_text = env.get("PIPELINE_UNSUBSCRIBE_SECRET", "")
    if usable_url and "{token}" in url and not secret_text:
        missing = "unsubscribe_url has {token} but PIPELINE_UNSUBSCRIBE_SECRET is not set"
        if for_list and not dry_run:
            raise PipelineError(missing, field="unsubscribe")
        said = stops + missing + ("" if for_list else ": this copy has no unsubscribe web link")
        warnings.append(Diagnostic("warning", said))
        usable_url = False
    if opts.message_id_domain == NewsletterOptions.message_id_domain:
        warnings.append(
            about_settings(
                f"message_id_domain is the example {opts.message_id_domain}: set a domain of yours"
                " (each Message-ID ends with it)"
            )
        )
    key = dkim_key(env, from_addr.rsplit("@", 1)[1].lower())
    if key is None:
        warnings.append(
            Diagnostic(
                "warning",
                "PIPELINE_DKIM_KEY_FILE and PIPELINE_DKIM_SELECTOR are not set: the message goes unsigned "
                "(Gmail and Yahoo expect DKIM from bulk senders)",
            )
        )
    if for_list and not opts.postal_address:
        warnings.append(
            about_settings(
                "postal_address is not set: CAN-SPAM asks for the sender's postal address in bulk mail"
            )
        )
    mailto = opts.unsubscribe_mailto
    if mailto and not mailto.startswith("mailto:"):
        mailto = "mailto:" + mailto
    newsletter = Newsletter(
        episode=episode,
        settings=settings,
        opts=opts,
        parts=render_parts(episode, settings, opts),
        sender=opts.envelope_from or from_addr,
        list_id=default_list_id(settings, opts) if opts.list_id or not example_from else None,
        list_unsubscribe=usable_url,
        mailto=mailto or None,
        secret=secret_text.encode("utf-8") if secret_text else None,
        dkim=key,
        identity=identity,
    )
    return newsletter, warnings
