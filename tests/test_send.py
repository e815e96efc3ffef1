"""Sending the newsletter through a real SMTP server on loopback (aiosmtpd), failures included."""

from __future__ import annotations

import dataclasses
import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.errors import ConfigError, PipelineError
from pipeline.formats.newsletter.edition import render, render_parts
from pipeline.formats.newsletter.message import build_message, recipient_message_id
from pipeline.formats.newsletter.options import newsletter_options
from pipeline.mail.sending import send_episode, send_post, smtp_config
from pipeline.settings.config import Settings, load_settings
from tests.sample_episode import sample_episode

ROOT = Path(__file__).resolve().parent.parent
SEED_POST = (
    ROOT
    / "tests/fixtures/corpus/cleaned"
    / ("2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12.markdown")
)
READER = "reader@example.org"

# AUTH without TLS is fine on loopback; aiosmtpd warns about it on every connection.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it receives and refuses `*@rejected.example`."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.endswith("@rejected.example"):
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    mailbox: Mailbox
    port: int

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PIPELINE_SMTP_HOST": "127.0.0.1",
            "PIPELINE_SMTP_PORT": str(self.port),
            "PIPELINE_SMTP_SECURITY": "none",
            **extra,
        }


def start_server(**smtp_parameters: Any) -> tuple[Controller, Server]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **smtp_parameters)
    controller.start()
    return controller, Server(mailbox, port)


@pytest.fixture
def server() -> Iterator[Server]:
    controller, running = start_server()
    yield running
    controller.stop()


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"newsletter",
        b"s3cret",
    )
    # handled=False: aiosmtpd then answers 535 itself.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_server() -> Iterator[Server]:
    controller, running = start_server(
        authenticator=_authenticator, auth_required=True, auth_require_tls=False
    )
    yield running
    controller.stop()


def with_email_table(settings: Settings, table: dict[str, Any]) -> Settings:
    """`settings` with `[tool.pipeline.email]` replaced."""
    formats = {**settings.formats, "email": MappingProxyType(table)}
    return dataclasses.replace(settings, formats=MappingProxyType(formats))


@pytest.fixture(scope="module")
def settings() -> Settings:
    """The project settings, with a short SMTP timeout so a failing test fails fast."""
    return with_email_table(load_settings(ROOT / "samples" / "episode.toml"), {"timeout": 5})


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


SEND_TIME_HEADERS = {
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"dkim-signature",
}


def without_send_time_headers(data: bytes) -> bytes:
    """The message less the headers set when it is sent (folded lines included), trailing CRLFs off."""
    head, body = data.split(b"\r\n\r\n", 1)
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.split(b":", 1)[0].strip().lower() in SEND_TIME_HEADERS
        if not skipping:
            kept.append(line)
    return (b"\r\n".join(kept) + b"\r\n\r\n" + body).rstrip(b"\r\n")


def one_line_error(excinfo: pytest.ExceptionInfo[PipelineError]) -> str:
    text = str(excinfo.value)
    assert "\n" not in text
    assert "\r" not in text
    assert "Traceback" not in text
    return text


# --- delivery -----------------------------------------------------------------------------


def test_send_delivers_exactly_the_built_message(server: Server, settings: Settings) -> None:
    episode = sample_episode()
    summary = send_episode(episode, READER, settings=settings, env=server.env())
    assert summary == (
        "sent 'Maxime Labonne: Thinking beyond Transformers | Learning from Machine Learning #12'"
        f" to {READER} via 127.0.0.1:{server.port}"
    )
    [(mail_from, rcpt_tos, content)] = server.mailbox.received
    assert mail_from == "newsletter@example.com"
    assert rcpt_tos == [READER]
    expected = build_message(
        episode, settings, newsletter_options(settings), render_parts(episode, settings), to=READER
    ).as_bytes()
    # Everything but the send-time headers (Date of sending, Message-ID per recipient, list
    # headers, DKIM) is the built message, byte for byte.
    assert without_send_time_headers(content) == without_send_time_headers(expected)
    received = parse(content)
    sent_at = parsedate_to_datetime(str(received["Date"]))
    assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
    assert received["Message-ID"] == recipient_message_id(episode, READER, "newsletter.example.com")


def test_the_received_message_has_the_eml_subject_and_parts(server: Server, settings: Settings) -> None:
    episode = sample_episode()
    send_episode(episode, READER, settings=settings, env=server.env())
    received = parse(server.mailbox.received[0][2])
    built = parse(render(episode, settings).files["newsletter.eml"])
    assert received["To"] == READER
    for header in ("Subject", "From"):
        assert received[header] == built[header]
    # newsletter.eml keeps the episode's date and the post's Message-ID; a sent message has its own.
    assert received["Date"] != built["Date"]
    assert received["Message-ID"] != built["Message-ID"]
    received_parts = [p.get_content() for p in received.iter_parts()]
    built_parts = [p.get_content() for p in built.iter_parts()]
    assert received_parts == built_parts
    assert [p.get_content_type() for p in received.iter_parts()] == ["text/plain", "text/html"]


def test_a_title_cannot_inject_headers_or_recipients(server: Server, settings: Settings) -> None:
    episode = sample_episode(title="Episode 5\r\nBcc: evil@x\r\n\r\nbody")
    summary = send_episode(episode, READER, settings=settings, env=server.env())
    assert "\n" not in summary
    [(_, rcpt_tos, content)] = server.mailbox.received
    assert rcpt_tos == [READER]
    received = parse(content)
    assert received["Subject"] == "Episode 5 Bcc: evil@x body"
    assert received["Bcc"] is None
    assert sorted(received.keys()) == sorted(
        ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]
    )


def test_login_with_the_right_password(auth_server: Server, settings: Settings) -> None:
    env = auth_server.env(PIPELINE_SMTP_USER="newsletter", PIPELINE_SMTP_PASSWORD="s3cret")
    assert send_episode(sample_episode(), READER, settings=settings, env=env).startswith("sent ")
    assert len(auth_server.mailbox.received) == 1


def test_dry_run_sends_nothing_and_says_how_big(server: Server, settings: Settings) -> None:
    episode = sample_episode()
    summary = send_episode(episode, READER, settings=settings, env=server.env(), dry_run=True)
    size = len(
        build_message(
            episode, settings, newsletter_options(settings), render_parts(episode, settings), to=READER
        ).as_bytes()
    )
    assert summary == (
        "would send 'Maxime Labonne: Thinking beyond Transformers | Learning from Machine "
        f"Learning #12' to {READER} via 127.0.0.1:{server.port} ({size:,} bytes)"
    )
    assert server.mailbox.received == []


def test_dry_run_needs_no_server(settings: Settings) -> None:
    summary = send_episode(sample_episode(), READER, settings=settings, env={}, dry_run=True)
    assert summary.startswith("would send 'Maxime Labonne")
    assert " via " not in summary


# --- failures: each one a one-line PipelineError -------------------------------------------


def test_connection_refused(settings: Settings) -> None:
    env = {
        "PIPELINE_SMTP_HOST": "127.0.0.1",
        "PIPELINE_SMTP_PORT": str(free_port()),
        "PIPELINE_SMTP_SECURITY": "none",
    }
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), READER, settings=settings, env=env)
    assert "connection refused" in one_line_error(caught)


def test_a_rejected_recipient(server: Server, settings: Settings) -> None:
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), "nobody@rejected.example", settings=settings, env=server.env())
    text = one_line_error(caught)
    assert "refused the recipient nobody@rejected.example" in text
    assert "550" in text
    assert server.mailbox.received == []


def test_a_wrong_password(auth_server: Server, settings: Settings) -> None:
    env = auth_server.env(PIPELINE_SMTP_USER="newsletter", PIPELINE_SMTP_PASSWORD="wrong")
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), READER, settings=settings, env=env)
    assert "rejected the login" in one_line_error(caught)
    assert auth_server.mailbox.received == []


def test_a_server_that_requires_login(auth_server: Server, settings: Settings) -> None:
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), READER, settings=settings, env=auth_server.env())
    assert "530" in one_line_error(caught)


def test_starttls_is_required_by_default(server: Server, settings: Settings) -> None:
    env = server.env()
    del env["PIPELINE_SMTP_SECURITY"]
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), READER, settings=settings, env=env)
    assert "does not offer STARTTLS" in one_line_error(caught)
    assert server.mailbox.received == []


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    directory = tmp_path_factory.mktemp("tls")
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_starttls_verifies_the_certificate(self_signed: ssl.SSLContext, settings: Settings) -> None:
    controller, running = start_server(tls_context=self_signed)
    try:
        env = running.env(PIPELINE_SMTP_SECURITY="starttls")
        with pytest.raises(PipelineError) as caught:
            send_episode(sample_episode(), READER, settings=settings, env=env)
    finally:
        controller.stop()
    assert "certificate of 127.0.0.1 did not verify" in one_line_error(caught)
    assert running.mailbox.received == []


def test_implicit_tls_verifies_the_certificate(self_signed: ssl.SSLContext, settings: Settings) -> None:
    controller, running = start_server(ssl_context=self_signed)
    try:
        env = running.env(PIPELINE_SMTP_SECURITY="tls")
        with pytest.raises(PipelineError) as caught:
            send_episode(sample_episode(), READER, settings=settings, env=env)
    finally:
        controller.stop()
    assert "did not verify" in one_line_error(caught)


def test_a_server_that_never_answers_times_out(settings: Settings) -> None:
    quick = with_email_table(settings, {"timeout": 0.5})
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the TCP handshake, never says a word
        env = {
            "PIPELINE_SMTP_HOST": "127.0.0.1",
            "PIPELINE_SMTP_PORT": str(listener.getsockname()[1]),
            "PIPELINE_SMTP_SECURITY": "none",
        }
        with pytest.raises(PipelineError) as caught:
            send_episode(sample_episode(), READER, settings=quick, env=env)
    assert "did not answer within 0.5 s" in one_line_error(caught)


def test_a_missing_host(settings: Settings) -> None:
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), READER, settings=settings, env={})
    assert "PIPELINE_SMTP_HOST is not set" in one_line_error(caught)


def test_no_encryption_only_on_loopback(settings: Settings) -> None:
    env = {"PIPELINE_SMTP_HOST": "smtp.example.com", "PIPELINE_SMTP_SECURITY": "none"}
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), READER, settings=settings, env=env)
    assert "only allowed for a loopback host" in one_line_error(caught)


def test_every_smtp_setting_problem_at_once() -> None:
    env = {
        "PIPELINE_SMTP_SECURITY": "ssl",
        "PIPELINE_SMTP_PORT": "smtp",
        "PIPELINE_SMTP_USER": "me",
    }
    with pytest.raises(PipelineError) as caught:
        smtp_config(env)
    text = one_line_error(caught)
    for name in ("HOST", "SECURITY", "PORT", "PASSWORD"):
        assert f"PIPELINE_SMTP_{name}" in text


def test_default_ports() -> None:
    assert smtp_config({"PIPELINE_SMTP_HOST": "smtp.example.com"}).port == 587
    tls = {"PIPELINE_SMTP_HOST": "smtp.example.com", "PIPELINE_SMTP_SECURITY": "tls"}
    assert smtp_config(tls).port == 465


@pytest.mark.parametrize("to", ["reader@example.org\r\nBcc: evil@x", "not-an-address", "a@b", "<a@b.c>", ""])
def test_a_bad_recipient_is_refused_before_connecting(to: str, server: Server, settings: Settings) -> None:
    with pytest.raises(PipelineError) as caught:
        send_episode(sample_episode(), to, settings=settings, env=server.env())
    assert one_line_error(caught).startswith("--to: ")
    assert server.mailbox.received == []


def test_unknown_email_settings_are_a_config_error(settings: Settings) -> None:
    bad = with_email_table(settings, {"host": 1, "timeout": "x"})
    with pytest.raises(ConfigError) as caught:
        send_episode(sample_episode(), READER, settings=bad, env={}, dry_run=True)
    text = str(caught.value)
    assert "host: unknown setting" in text
    assert "timeout: expected a positive number" in text


# --- from a post file -----------------------------------------------------------------------------


def test_send_post_reads_the_post_and_sends_it(server: Server, settings: Settings) -> None:
    dry = send_post(SEED_POST, READER, settings=settings, dry_run=True, env=server.env())
    assert dry.startswith("would send 'Maxime Labonne")
    summary = send_post(SEED_POST, READER, settings=settings, env=server.env())
    assert summary.startswith("sent 'Maxime Labonne")
    [(_, rcpt_tos, content)] = server.mailbox.received
    assert rcpt_tos == [READER]
    assert parse(content).get_content_type() == "multipart/alternative"


def test_invoke_send_delivers_through_the_command_line(server: Server) -> None:
    """`invoke send` (the README's command) reaches the loopback server; errors are one line."""
    import os
    import subprocess
    import sys
    from email import message_from_bytes, policy

    seed = (
        ROOT
        / "samples"
        / "2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12.markdown"
    )
    command = [sys.executable, "-m", "invoke", "send", "--src", str(seed), "--to", "reader@example.com"]
    done = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **server.env()}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert len(server.mailbox.received) == 1
    _, recipients, data = server.mailbox.received[0]
    assert recipients == ["reader@example.com"]
    message = message_from_bytes(data, policy=policy.default)
    assert message["Subject"].startswith("Maxime Labonne: Thinking beyond Transformers")
    assert message.get_content_type() == "multipart/alternative"

    refused = {**os.environ, **server.env(PIPELINE_SMTP_PORT=str(free_port()))}
    failed = subprocess.run(command, cwd=ROOT, env=refused, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr + failed.stdout
    assert failed.stdout.startswith("settings: ")  # the first line of every command
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr


def test_a_test_sends_warnings_about_the_settings_start_with_their_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: `warning: episode.toml: [newsletter]: …`, where a build says `episode.toml:
    warning: [newsletter]: …` for the same setting."""
    (tmp_path / "episode.toml").write_text('[newsletter]\nfrom_address = "Show <news@show.example>"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(tmp_path / "episode.toml")
    notes: list[str] = []
    send_episode(sample_episode(), READER, settings=settings, dry_run=True, env={}, notes=notes)
    assert "episode.toml: warning: [newsletter]: message_id_domain is the example" in "\n".join(notes)
    assert not any(n.startswith("warning: episode.toml") for n in notes)
    assert any(n.startswith("warning: PIPELINE_DKIM_KEY_FILE") for n in notes)  # about no file
