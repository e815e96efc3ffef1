"""Send one post's newsletter through SMTP, configured by `PIPELINE_SMTP_*` environment variables.

Every failure becomes a one-line PipelineError: a person sending a newsletter needs to know
whether the server, the login or the address was wrong, not where in smtplib it happened.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import ConfigError, PipelineError
from .formats.newsletter import build_message
from .mail_headers import ADDR_SPEC
from .model import Episode

log = logging.getLogger(__name__)

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_TIMEOUT = 30.0


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


def _is_loopback(host: str) -> bool:
    """True for `localhost` and loopback IP literals (names are not resolved)."""
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def email_options(settings: Settings) -> float:
    """The SMTP timeout in seconds from `[tool.pipeline.email]` (its only key), validated."""
    problems: list[str] = []
    timeout = DEFAULT_TIMEOUT
    for key, value in settings.table("email").items():
        if key != "timeout":
            problems.append(f"{key}: unknown setting (known: timeout)")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.append("timeout: expected a positive number of seconds")
        else:
            timeout = float(value)
    if problems:
        raise ConfigError("; ".join(problems), path=settings.source, field="[tool.pipeline.email]")
    return timeout


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
    elif security == "none" and host and not _is_loopback(host):
        problems.append(
            f"PIPELINE_SMTP_SECURITY=none is only allowed for a loopback host, not {host!r}"
        )
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


def _check_recipient(to: str) -> str:
    """The address itself (`x@y.z`), or a PipelineError; it goes into a header and the envelope."""
    to = to.strip()
    if not ADDR_SPEC.match(to) or "=?" in to:
        raise PipelineError(f"{to!r} is not an address such as someone@example.com", field="--to")
    return to


def _server_text(value: Any) -> str:
    """What the server said, as one line."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())


class _NoStartTLS(Exception):
    """The server offers no STARTTLS: never fall back to sending in the clear."""


def _deliver(config: SmtpConfig, sender: str, to: str, data: bytes) -> None:
    """Hand `data` to the server; raises smtplib/ssl/OSError exceptions as they come."""
    context = ssl.create_default_context()
    local_name = socket.gethostname() or "localhost"  # getfqdn() may wait on DNS
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(
            config.host, config.port, local_name, timeout=config.timeout, context=context
        )
    else:
        client = smtplib.SMTP(config.host, config.port, local_name, timeout=config.timeout)
    with client:
        client.ehlo()
        if config.security == "starttls":
            if not client.has_extn("starttls"):
                raise _NoStartTLS
            client.starttls(context=context)
            client.ehlo()
        if config.user and config.password:
            client.login(config.user, config.password)
        client.sendmail(sender, [to], data)


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


def send_message(
    msg: EmailMessage, to: str, config: SmtpConfig | None, *, dry_run: bool = False
) -> str:
    """Send a built message to one address; a one-line summary of what happened."""
    subject = str(msg["Subject"])
    from_header = msg["From"]
    sender = from_header.addresses[0].addr_spec if from_header is not None else ""
    data = msg.as_bytes()
    if dry_run:
        via = f" via {config.where}" if config is not None else ""
        return f"would send {subject!r} to {to}{via} ({len(data):,} bytes)"
    if config is None:
        raise PipelineError("PIPELINE_SMTP_HOST is not set (the SMTP server to send through)")
    log.info("sending %r to %s via %s", subject, to, config.where)
    try:
        _deliver(config, sender, to, data)
    except (smtplib.SMTPException, OSError, _NoStartTLS) as exc:
        raise _failure(exc, config, to) from None
    return f"sent {subject!r} to {to} via {config.where}"


def send_episode(
    episode: Episode,
    to: str,
    *,
    settings: Settings,
    dry_run: bool = False,
    env: Mapping[str, str] = os.environ,
) -> str:
    """Send the newsletter of `episode` to `to` (or, in a dry run, say what would be sent)."""
    address = _check_recipient(to)
    timeout = email_options(settings)
    # A dry run needs no server; when one is configured, its settings are checked all the same.
    offline = dry_run and not env.get("PIPELINE_SMTP_HOST")
    config = None if offline else smtp_config(env, timeout)
    msg = build_message(episode, settings, to=str(Address(addr_spec=address)))
    return send_message(msg, address, config, dry_run=dry_run)


def send_post(
    src: Path,
    to: str,
    *,
    settings: Settings,
    dry_run: bool = False,
    env: Mapping[str, str] = os.environ,
) -> str:
    """Send the newsletter of the post at `src` to `to`; a one-line summary of what happened."""
    from .normalize import normalize_file  # the post-reading half of the pipeline

    _check_recipient(to)
    episode = normalize_file(src, settings)
    return send_episode(episode, to, settings=settings, dry_run=dry_run, env=env)
