"""Send one post's newsletter through SMTP, configured by `PIPELINE_SMTP_*` environment variables.

`--to ADDRESS` sends one copy (a test send: the example settings are warnings); `--list FILE`
sends to every reader of a list, at most once per reader, through the send journal
(`pipeline.mail.journal`), whose lock it holds from before its question to its end. A post is known
to the journal, and in each reader's Message-ID, by its identity (`post_identity`). A sent
message differs from `newsletter.eml` by its send-time headers:
Date (now), a Message-ID per post and recipient, List-Id, List-Unsubscribe (RFC 8058), and a
DKIM signature over the exact bytes sent (`PIPELINE_DKIM_KEY_FILE`, `PIPELINE_DKIM_SELECTOR`).
Those bytes are `pipeline.mail.outgoing`'s; this module delivers them and keeps the journal.

Every failure becomes a one-line PipelineError: a person sending a newsletter needs to know
whether the server, the login or the address was wrong, not where in smtplib it happened.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import logging
import os
import re
import secrets
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PipelineError
from ..formats.newsletter.headers import is_plain_address
from ..formats.newsletter.message import subject_line
from ..model import Episode
from ..reports import diagnostic_line
from ..settings.config import Settings
from ..source.post_file import RawPost, read_post
from ..text.links import is_loopback
from .journal import DEFERRED, FAILED, SENDING, SENT, Journal, Record, journal_path, running_send
from .options import DEFAULT_TIMEOUT, email_options
from .outgoing import Newsletter, prepare_newsletter
from .readers import Recipient, address_problem, load_readers

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect; the password comes only from the environment."""

    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    timeout: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def smtp_config(env: Mapping[str, str], timeout: float = DEFAULT_TIMEOUT) -> SmtpConfig:
    """Read `PIPELINE_SMTP_*`; every problem is reported in one error."""
    problems: list[str] = []
    host = env.get("PIPELINE_SMTP_HOST", "").strip()
    if not host:
        problems.append("PIPELINE_SMTP_HOST is not set (the SMTP server to send through)")
    security = env.get("PIPELINE_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if security not in SECURITY_MODES:
        problems.append(f"PIPELINE_SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
        security = "starttls"
    elif security == "none" and host and not is_loopback(host):
        problems.append(f"PIPELINE_SMTP_SECURITY=none is only allowed for a loopback host, not {host!r}")
    port_text = env.get("PIPELINE_SMTP_PORT", "").strip()
    port = DEFAULT_PORTS[security]
    if port_text:
        if port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            problems.append(f"PIPELINE_SMTP_PORT must be a port number, not {port_text!r}")
    user = env.get("PIPELINE_SMTP_USER") or None
    password = env.get("PIPELINE_SMTP_PASSWORD") or None
    if user and not password:
        problems.append("PIPELINE_SMTP_USER is set but PIPELINE_SMTP_PASSWORD is not")
    if password and not user:
        problems.append("PIPELINE_SMTP_PASSWORD is set but PIPELINE_SMTP_USER is not")
    if problems:
        raise PipelineError("; ".join(problems), field="smtp")
    return SmtpConfig(host, port, security, user, password, timeout)


def _check_recipient(to: str) -> Recipient:
    """The address, normalised as a list's are when email-validator takes it (a test send may go
    to any plain address, `.test` included), or a PipelineError."""
    to = to.strip()
    recipient, _ = address_problem(to)
    if recipient is not None:
        return recipient
    if is_plain_address(to):
        return Recipient(to, to)
    raise PipelineError(f"{to!r} is not an address such as someone@example.com", field="--to")


@dataclass(frozen=True)
class PostIdentity:
    """What the send journal and each reader's Message-ID know a post by."""

    key: str
    """The post's stem for a post in its site's `_posts/` (stems are unique there, and a post
    moved into a subfolder of `_posts/` is the same post); its resolved path for any other."""
    legacy: str | None
    """The name rows written before identities were kept (by stem) have for this post, when
    they are this post's: not for a post outside `_posts/` whose site has a post of that stem."""


_POST_SUFFIXES = (".md", ".markdown")


def post_identity(src: Path) -> PostIdentity:
    """The identity of the post at `src` (see `PostIdentity`)."""
    from ..places import jekyll_site

    # The folder resolved, not a symlinked post itself: a link in `_posts/` is a post there.
    location = src.absolute().parent.resolve() / src.name
    stem = location.stem
    site = jekyll_site(location.parent)
    if site is not None:
        posts = (site / "_posts").resolve()
        if location.is_relative_to(posts):
            return PostIdentity(stem, stem)
        with contextlib.suppress(OSError):
            namesakes = posts.rglob(f"{glob.escape(stem)}.*")
            if any(path.stem == stem and path.suffix in _POST_SUFFIXES for path in namesakes):
                return PostIdentity(str(src.resolve()), None)
    return PostIdentity(str(src.resolve()), stem)


def _envelope(client: smtplib.SMTP, to: Recipient) -> tuple[list[str], str]:
    """`MAIL FROM` options and the `RCPT TO` address: the normalised address (a Unicode domain)
    with SMTPUTF8 when the server offers it, the ASCII form otherwise."""
    if to.address != to.ascii and not to.address.isascii() and client.has_extn("smtputf8"):
        return ["SMTPUTF8"], to.address
    return [], to.ascii


def _server_text(value: Any) -> str:
    """What the server said, as one line."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())


class _NoStartTLS(Exception):
    """The server offers no STARTTLS: never fall back to sending in the clear."""


def connect(config: SmtpConfig) -> smtplib.SMTP:
    """A logged-in SMTP connection (TLS or STARTTLS verified); smtplib/ssl/OSError as they come."""
    context = ssl.create_default_context()
    local_name = socket.gethostname() or "localhost"  # getfqdn() may wait on DNS
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(
            config.host, config.port, local_name, timeout=config.timeout, context=context
        )
    else:
        client = smtplib.SMTP(config.host, config.port, local_name, timeout=config.timeout)
    try:
        client.ehlo()
        if config.security == "starttls":
            if not client.has_extn("starttls"):
                raise _NoStartTLS
            client.starttls(context=context)
            client.ehlo()
        if config.user and config.password:
            client.login(config.user, config.password)
    except BaseException:
        client.close()
        raise
    return client


def _deliver(config: SmtpConfig, sender: str, to: Recipient, data: bytes) -> None:
    """Hand `data` to the server; raises smtplib/ssl/OSError exceptions as they come."""
    with connect(config) as client:
        options, rcpt = _envelope(client, to)
        client.sendmail(sender, [rcpt], data, mail_options=options)


def _failure(exc: BaseException, config: SmtpConfig, to: str) -> PipelineError:
    """One line that says what went wrong with this send."""
    where = config.where
    if isinstance(exc, _NoStartTLS):
        message = (
            f"{where} does not offer STARTTLS; set PIPELINE_SMTP_SECURITY=tls for implicit TLS "
            "(or none, for a loopback test server only)"
        )
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, answer = exc.recipients.get(to, next(iter(exc.recipients.values()), (0, b"")))
        message = f"{where} refused the recipient {to}: {code} {_server_text(answer)}"
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        reply = _server_text(exc.smtp_error)
        message = f"{where} refused the sender {exc.sender}: {exc.smtp_code} {reply}"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        reply = _server_text(exc.smtp_error)
        message = f"{where} rejected the login of PIPELINE_SMTP_USER: {exc.smtp_code} {reply}"
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        message = f"{where} does not support what was asked: {_server_text(exc)}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        message = f"{where} answered {exc.smtp_code} {_server_text(exc.smtp_error)}"
    elif isinstance(exc, TimeoutError) or "timed out" in str(exc):
        # smtplib reports a read timeout as SMTPServerDisconnected("…: timed out").
        message = f"{where} did not answer within {config.timeout:g} s"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        message = f"{where} closed the connection: {_server_text(exc) or 'no reason given'}"
    elif isinstance(exc, smtplib.SMTPException):
        message = f"sending through {where} failed: {_server_text(exc)}"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        message = f"the TLS certificate of {config.host} did not verify: {exc.verify_message}"
    elif isinstance(exc, ssl.SSLError):
        message = f"TLS with {where} failed: {_server_text(exc.reason or exc)}"
    elif isinstance(exc, ConnectionRefusedError):
        message = f"could not connect to {where}: connection refused"
    elif isinstance(exc, socket.gaierror):
        message = f"could not find the SMTP host {config.host!r}: {exc.strerror}"
    else:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        message = f"could not connect to {where}: {_server_text(reason)}"
    return PipelineError(message, field="smtp")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def check_publishable(raw: RawPost, now: dt.datetime) -> None:
    """Refuse a post marked `published: false` or dated in the future (`--force` skips this)."""
    if raw.front_matter.values.get("published") is False:
        raise PipelineError(
            "false: the post is not published; --force sends it anyway", path=raw.path, field="published"
        )
    date = raw.front_matter.date
    if date.tzinfo is None:
        date = date.replace(tzinfo=dt.UTC)
    if date > now:
        raise PipelineError(
            f"{date.isoformat(sep=' ')} is in the future; --force sends the post anyway",
            path=raw.path,
            field="date",
        )


def describe(data: bytes, config: SmtpConfig | None, count: str, sender: str) -> list[str]:
    """What a dry run shows: each header as sent (unfolded), the size, the envelope and the server."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    lines = []
    for line in re.sub(r"\r\n[ \t]+", " ", head).split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "dkim-signature":
            tags = dict(t.strip().split("=", 1) for t in value.split(";") if "=" in t)
            value = f" signed by d={tags.get('d', '')} s={tags.get('s', '')} h={tags.get('h', '')}"
        lines.append(f"  {name}:{value}")
    server = (
        f"{config.where} ({config.security})" if config is not None else "none: PIPELINE_SMTP_HOST is unset"
    )
    size = f"  size: {len(data):,} bytes"
    return [f"  recipients: {count}", *lines, size, f"  envelope from: {sender}", f"  server: {server}"]


def _config_for(dry_run: bool, env: Mapping[str, str], timeout: float) -> SmtpConfig | None:
    # A dry run needs no server; when one is configured, its settings are checked all the same.
    offline = dry_run and not env.get("PIPELINE_SMTP_HOST")
    return None if offline else smtp_config(env, timeout)


def _send_bytes(
    subject: str, sender: str, data: bytes, to: Recipient, config: SmtpConfig | None, *, dry_run: bool
) -> str:
    if dry_run:
        via = f" via {config.where}" if config is not None else ""
        return f"would send {subject!r} to {to.address}{via} ({len(data):,} bytes)"
    if config is None:
        raise PipelineError("PIPELINE_SMTP_HOST is not set (the SMTP server to send through)")
    log.info("sending %r to %s via %s", subject, to.address, config.where)
    try:
        _deliver(config, sender, to, data)
    except (smtplib.SMTPException, OSError, _NoStartTLS) as exc:
        raise _failure(exc, config, to.address) from None
    return f"sent {subject!r} to {to.address} via {config.where}"


def send_episode(
    episode: Episode,
    to: str,
    *,
    settings: Settings,
    dry_run: bool = False,
    env: Mapping[str, str] = os.environ,
    notes: list[str] | None = None,
    now: dt.datetime | None = None,
    identity: str = "",
) -> str:
    """Send the newsletter of `episode` to `to` (or, in a dry run, say what would be sent).

    `notes` receives the warnings and, in a dry run, the headers, size and server. `identity`:
    the post's (`post_identity`), for the Message-ID; the episode's stem when empty.
    """
    recipient = _check_recipient(to)
    config = _config_for(dry_run, env, email_options(settings).timeout)
    newsletter, warnings = prepare_newsletter(episode, settings, env, for_list=False, identity=identity)
    data = newsletter.message(recipient.address, now or _now(), to=recipient.ascii)
    subject = subject_line(episode.title)
    summary = _send_bytes(subject, newsletter.sender, data, recipient, config, dry_run=dry_run)
    if notes is not None:
        notes += [diagnostic_line(w) for w in warnings]
        if dry_run:
            notes += describe(data, config, recipient.address, newsletter.sender)
    return summary


def send_post(
    src: Path,
    to: str,
    *,
    settings: Settings,
    dry_run: bool = False,
    env: Mapping[str, str] = os.environ,
    force: bool = False,
    notes: list[str] | None = None,
) -> str:
    """Send the newsletter of the post at `src` to `to`; a one-line summary of what happened."""
    from ..normalize.stages import normalize_post  # the post-reading half of the pipeline

    _check_recipient(to)
    raw = read_post(src)
    now = _now()
    if not force:
        check_publishable(raw, now)
    episode = normalize_post(raw, settings)
    identity = post_identity(src).key
    return send_episode(
        episode, to, settings=settings, dry_run=dry_run, env=env, notes=notes, now=now, identity=identity
    )


# --- a list: one SMTP session, the journal, at most once per reader ------------------------


class _Lost(Exception):
    """The connection failed; `in_doubt` when the message may have reached the server."""

    def __init__(self, cause: BaseException, *, in_doubt: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.in_doubt = in_doubt


class _SenderRefused(Exception):
    def __init__(self, code: int, reply: str) -> None:
        super().__init__(f"{code} {reply}")
        self.code = code
        self.reply = reply


@dataclass(frozen=True)
class Answer:
    """What the server said to one recipient's message: `sent`, `deferred` (4xx) or `failed` (5xx)."""

    status: str
    code: int
    reply: str

    @property
    def text(self) -> str:
        return f"{self.code} {self.reply}".strip()


def _answer(code: int, reply: Any, ok: tuple[int, ...]) -> Answer:
    if code in ok:
        return Answer(SENT, code, _server_text(reply))
    return Answer(DEFERRED if 400 <= code < 500 else FAILED, code, _server_text(reply))


class SmtpSession:
    """One connection reused for many messages; reconnects after the server drops it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        return connect(self.config)

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._client.quit()
            self._client.close()
            self._client = None

    def _reset(self, client: smtplib.SMTP) -> None:
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self._client = None
            client.close()

    def send(self, sender: str, to: Recipient, data: bytes) -> Answer:
        """One SMTP transaction (MAIL, RCPT, DATA) for one recipient."""
        in_data = False
        try:
            if self._client is None:
                self._client = self._connect()
            client = self._client
            options, rcpt = _envelope(client, to)
            code, reply = client.mail(sender, options)
            if code != 250:
                self._reset(client)
                if code >= 500:
                    raise _SenderRefused(code, _server_text(reply))
                return _answer(code, reply, (250,))
            code, reply = client.rcpt(rcpt)
            if code not in (250, 251):
                self._reset(client)
                return _answer(code, reply, ())
            try:
                in_data = True
                code, reply = client.data(data)
            except smtplib.SMTPDataError as refused:  # DATA itself refused: nothing was sent
                self._reset(client)
                return _answer(refused.smtp_code, refused.smtp_error, ())
            if code != 250:
                self._reset(client)
            return _answer(code, reply, (250,))
        except (smtplib.SMTPException, OSError, _NoStartTLS) as exc:
            if self._client is not None:
                self._client.close()
                self._client = None
            raise _Lost(exc, in_doubt=in_data) from None


@dataclass
class ListRun:
    """What a list send did; `ok` is False when any reader failed, was deferred or is in doubt."""

    lines: list[str] = field(default_factory=list)
    sent: int = 0
    ok: bool = True


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def send_list(
    src: Path,
    list_path: Path,
    *,
    settings: Settings,
    suppress: Path | None = None,
    dry_run: bool = False,
    force: bool = False,
    resend_in_doubt: bool = False,
    wait: bool = False,
    rate: float = 5.0,
    env: Mapping[str, str] = os.environ,
    confirm: Callable[[str], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> ListRun:
    """Send the post's newsletter to every reader of the list who has not had it yet.

    `say` gets each line to show as it is known (problems before anything is sent); `confirm`
    is asked the question before the first message (None: no question). A send (not a dry run)
    holds the journal's lock from the start: another send holding it is an error, or with
    `wait` is waited for.
    """
    if not rate > 0:
        raise PipelineError(f"{rate:g}: expected a positive number of messages a second", field="--rate")
    config = _config_for(dry_run, env, email_options(settings).timeout)
    journal = None if dry_run else Journal.locked(settings.state_dir, wait=wait, waiting=say)
    try:
        return _send_list(
            src,
            list_path,
            journal,
            settings=settings,
            config=config,
            suppress=suppress,
            force=force,
            resend_in_doubt=resend_in_doubt,
            rate=rate,
            env=env,
            confirm=confirm,
            progress=progress,
            say=say,
        )
    finally:
        if journal is not None:
            journal.close()


@dataclass
class _Plan:
    """Who a run sends to (with the record each had when it was read), and what it says first."""

    todo: list[tuple[Recipient, Record | None]] = field(default_factory=list)
    already: int = 0
    earlier: int = 0
    """Of those already sent, how many got another version of the newsletter."""
    lines: list[str] = field(default_factory=list)
    ok: bool = True


def _plan(
    recipients: tuple[Recipient, ...],
    records: Mapping[str, Record],
    digest: str,
    resend_in_doubt: bool,
    running: int | None = None,
) -> _Plan:
    """`running`: the process id of a send running now (a dry run's view), whose readers at
    `sending` are being sent rather than in doubt."""
    plan = _Plan()
    for recipient in recipients:
        record = records.get(recipient.key)
        if running is not None and record is not None and record.status == SENDING:
            plan.lines.append(f"being sent: {recipient.address} (by the send running now, process {running})")
        elif record is None or record.status == DEFERRED or (record.status == SENDING and resend_in_doubt):
            plan.todo.append((recipient, record))
        elif record.status == SENT:
            plan.already += 1
            if record.digest is not None and record.digest != digest:
                plan.earlier += 1
        elif record.status == SENDING:
            plan.ok = False
            plan.lines.append(
                f"in doubt: {recipient.address} (a run stopped while sending to it; the server may have it; "
                "--resend-in-doubt sends it again)"
            )
        else:
            plan.ok = False
            plan.lines.append(f"failed earlier, not retried: {recipient.address}: {record.reply}")
    return plan


def _send_list(
    src: Path,
    list_path: Path,
    journal: Journal | None,
    *,
    settings: Settings,
    config: SmtpConfig | None,
    suppress: Path | None,
    force: bool,
    resend_in_doubt: bool,
    rate: float,
    env: Mapping[str, str],
    confirm: Callable[[str], bool] | None,
    progress: Callable[[int, int], None] | None,
    say: Callable[[str], None],
) -> ListRun:
    """`send_list` once the journal is held (None: a dry run)."""
    from ..normalize.stages import normalize_post

    readers = load_readers(list_path, suppress)
    raw = read_post(src)
    now = _now()
    if not force:
        check_publishable(raw, now)
    episode = normalize_post(raw, settings)
    identity = post_identity(src)
    newsletter, warnings = prepare_newsletter(
        episode, settings, env, for_list=True, identity=identity.key, dry_run=journal is None
    )
    digest = newsletter.digest
    subject = subject_line(episode.title)
    run = ListRun()
    if any(w.message.startswith("would stop a real send: ") for w in warnings):
        run.ok = False  # the dry run shows everything, and says it would not send
    for line in [diagnostic_line(w) for w in warnings] + [f"not sent: {p}" for p in readers.problems()]:
        say(line)
    if readers.suppressed:
        say(f"suppressed: {_plural(len(readers.suppressed), 'address')} of {suppress} not mailed")
    running = None
    if journal is None:
        existing = Journal.existing(settings.state_dir)
        try:
            records = existing.records(identity.key, identity.legacy) if existing is not None else {}
        finally:
            if existing is not None:
                existing.close()
        running = running_send(settings.state_dir)
        if running is not None:
            say(f"another send (process {running}) is using the send journal: this is how it stands now")
    else:
        records = journal.records(identity.key, identity.legacy, adopt=True)
    plan = _plan(readers.recipients, records, digest, resend_in_doubt, running)
    run.ok = run.ok and plan.ok
    for line in plan.lines:
        say(line)
    if plan.already:
        where = journal_path(settings.state_dir)
        say(f"already sent: {_plural(plan.already, 'reader')} (send journal {where})")
    if plan.earlier:
        say(
            f"changed since: {_plural(plan.earlier, 'reader')} of those got an earlier version "
            f"of {subject!r}; it is not sent to them again"
        )
    todo = plan.todo
    if journal is None:  # a dry run
        first = todo[0][0] if todo else Recipient("reader@example.org", "reader@example.org")
        sample = newsletter.message(first.address, now, to=first.ascii)
        run.lines.append(f"would send {subject!r} to {_plural(len(todo), 'reader')} of {list_path}")
        shown = f"{len(todo):,} (the first one's headers shown)"
        run.lines += describe(sample, config, shown, newsletter.sender)
        return run
    if config is None:  # _config_for gives one unless dry_run
        raise PipelineError("PIPELINE_SMTP_HOST is not set (the SMTP server to send through)")
    if not todo:
        run.lines.append(f"nothing to send: every reader of {list_path} has had {subject!r} or is listed")
        return run
    question = f"send {subject!r} to {_plural(len(todo), 'reader')} via {config.where}?"
    if confirm is not None and not confirm(question):
        raise PipelineError("nothing sent (not confirmed)", field="send")
    failed, deferred, taken = _send_paced(
        todo, newsletter, journal, config, post=identity.key, rate=rate, run=run, progress=progress, say=say
    )
    run.lines += failed + deferred
    if taken:
        run.lines.append(
            f"not sent: {_plural(taken, 'reader')} another run took while this one ran "
            f"(its lock {journal.path.name} was bypassed)"
        )
    run.lines.append(
        f"sent {subject!r} to {_plural(run.sent, 'reader')} via {config.where}"
        + (f"; {len(failed):,} failed" if failed else "")
        + (f"; {len(deferred):,} deferred" if deferred else "")
    )
    run.ok = run.ok and not failed and not deferred and not taken
    return run


def _send_paced(
    todo: list[tuple[Recipient, Record | None]],
    newsletter: Newsletter,
    journal: Journal,
    config: SmtpConfig,
    *,
    post: str,
    rate: float,
    run: ListRun,
    progress: Callable[[int, int], None] | None,
    say: Callable[[str], None],
) -> tuple[list[str], list[str], int]:
    """The paced loop of a list send: each reader claimed in the journal, sent to and marked, at
    most `rate` messages a second, over one SMTP session. Counts `run.sent`; returns the failed
    and deferred lines and how many readers another run took. A refused sender or a lost
    connection stops the run with one error saying how many were sent and how many are left."""
    run_id = secrets.token_hex(8)
    digest = newsletter.digest
    session = SmtpSession(config)
    failed: list[str] = []
    deferred: list[str] = []
    taken = 0
    interval = 1.0 / rate
    next_at = time.monotonic()
    try:
        for index, (recipient, planned) in enumerate(todo):
            address = recipient.address
            wait = next_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            data = newsletter.message(address, _now(), to=recipient.ascii)
            if not journal.claim(post, recipient.key, address, planned, digest, run_id):
                taken += 1  # another run changed its record since this one read it
                continue
            next_at = max(next_at, time.monotonic()) + interval
            try:
                answer = session.send(newsletter.sender, recipient, data)
            except _SenderRefused as refused:
                journal.forget(post, recipient.key, run_id)
                raise PipelineError(
                    f"{config.where} refused the sender {newsletter.sender}: {refused.code} {refused.reply}; "
                    f"{_plural(run.sent, 'reader')} sent",
                    field="smtp",
                ) from None
            except _Lost as lost:
                if lost.in_doubt:
                    say(f"in doubt: {address} (the connection was lost before the server confirmed)")
                else:
                    journal.forget(post, recipient.key, run_id)
                reason = _failure(lost.cause, config, address).message
                raise PipelineError(
                    f"{reason}; {_plural(run.sent, 'reader')} sent, "
                    f"{len(todo) - index - 1 + (0 if lost.in_doubt else 1):,} left for the next run",
                    field="smtp",
                ) from None
            journal.mark(post, recipient.key, answer.status, answer.text)
            if answer.status == SENT:
                run.sent += 1
            elif answer.status == DEFERRED:
                deferred.append(f"deferred: {address}: {answer.text} (retried by the next run)")
            else:
                failed.append(f"failed: {address}: {answer.text}")
            if progress is not None:
                progress(index + 1, len(todo))
    finally:
        session.close()
    return failed, deferred, taken
