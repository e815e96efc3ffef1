"""Sending to a list through a real SMTP server on loopback (aiosmtpd): send-time headers, DKIM
verified with dkimpy, the journal (at most once per reader, in doubt after a SIGKILL, 4xx retried,
5xx final), list files, suppression, example settings, dry runs and unpublished posts.
"""

from __future__ import annotations

import base64
import email
import hashlib
import hmac
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipeline.errors import ConfigError, PipelineError
from pipeline.formats.newsletter.message import recipient_message_id
from pipeline.formats.newsletter.options import options_from_table
from pipeline.mail.journal import journal_path
from pipeline.mail.readers import load_readers
from pipeline.mail.sending import ListRun, send_list, send_post
from pipeline.settings.config import Settings, load_settings
from tests.terminal import PseudoTerminal
from tests.test_send import Mailbox, Server, free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-for-tokens"
UNSUBSCRIBE = "https://example.org/unsubscribe?email={email}&token={token}"
NEWSLETTER_TABLE = f"""
[tool.pipeline]
show_name = "Learning from ML"

[tool.pipeline.newsletter]
from_address = "Learning from ML <news@example.org>"
unsubscribe_url = "{UNSUBSCRIBE}"
unsubscribe_mailto = "unsubscribe@example.org"
postal_address = "1 Example Street, Springfield"
envelope_from = "bounces@example.org"

[tool.pipeline.email]
timeout = 5
"""


# --- fixtures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DkimFiles:
    key_file: Path
    public_record: bytes

    def dnsfunc(self, name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail2025._domainkey.example.org."
        return self.public_record

    def env(self) -> dict[str, str]:
        return {"PIPELINE_DKIM_KEY_FILE": str(self.key_file), "PIPELINE_DKIM_SELECTOR": "mail2025"}


@pytest.fixture(scope="module")
def dkim_files(tmp_path_factory: pytest.TempPathFactory) -> DkimFiles:
    """A fresh 2048-bit RSA key (cryptography) and the DNS TXT record that publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimFiles(path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der))


@dataclass
class Picky(Mailbox):
    """A Mailbox that greylists `grey*` (451 at the first RCPT), refuses `gone*` (550), and can
    SIGKILL the sending process when it receives its `kill_at`-th message."""

    greylisted: set[str] = field(default_factory=set)
    kill_at: int = 0
    pid: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        local = address.split("@")[0]
        if local.startswith("gone"):
            return "550 5.1.1 <" + address + ">: no such user"
        if local.startswith("grey") and address not in self.greylisted:
            self.greylisted.add(address)
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.kill_at and len(self.received) == self.kill_at:
            # The message is here, the client has not heard "250" yet: it is in doubt.
            os.kill(self.pid, signal.SIGKILL)
        return "250 Message accepted for delivery"


@pytest.fixture
def server() -> Iterator[Server]:
    mailbox = Picky()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield Server(mailbox, port)
    controller.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder: settings (pyproject.toml) and one post."""
    (tmp_path / "pyproject.toml").write_text(NEWSLETTER_TABLE, encoding="utf-8")
    write_post(tmp_path, "")
    return tmp_path


def write_post(folder: Path, extra_front_matter: str, date: str = "2025-01-02") -> Path:
    path = folder / "2025-01-02-episode-5.md"
    path.write_text(
        f"---\ntitle: Episode 5\ndate: {date}\n{extra_front_matter}---\n\nA summary of the episode.\n",
        encoding="utf-8",
    )
    return path


def settings_of(project: Path) -> Settings:
    return load_settings(project / "pyproject.toml")


def write_list(folder: Path, addresses: list[str], name: str = "readers.txt") -> Path:
    path = folder / name
    path.write_text("\n".join(addresses) + "\n", encoding="utf-8")
    return path


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def run_list(
    project: Path, list_path: Path, env: dict[str, str], lines: list[str] | None = None, **options: Any
) -> ListRun:
    """`send_list` on the project's post; what it said goes into `lines`."""
    said = lines if lines is not None else []
    return send_list(
        project / "2025-01-02-episode-5.md",
        list_path,
        settings=settings_of(project),
        env=env,
        say=said.append,
        rate=1000,
        **options,
    )


def full_env(server: Server, dkim_files: DkimFiles | None = None, **extra: str) -> dict[str, str]:
    return {
        **server.env(),
        "PIPELINE_UNSUBSCRIBE_SECRET": SECRET,
        **(dkim_files.env() if dkim_files else {}),
        **extra,
    }


def received_by(server: Server) -> list[str]:
    return [rcpt for _, rcpts, _ in server.mailbox.received for rcpt in rcpts]


# --- the headers of a sent message --------------------------------------------------------


def test_list_messages_carry_send_time_headers_and_verify_with_dkim(
    project: Path, server: Server, dkim_files: DkimFiles
) -> None:
    readers = ["ada@example.org", "Grace.Hopper@Example.org", "linus+news@example.net"]
    run = run_list(project, write_list(project, readers), full_env(server, dkim_files))
    assert run.ok
    assert run.lines[-1] == f"sent 'Episode 5' to 3 readers via 127.0.0.1:{server.port}"
    normalized = ["ada@example.org", "Grace.Hopper@example.org", "linus+news@example.net"]
    assert received_by(server) == normalized
    episode_ids = set()
    for (mail_from, _, data), address in zip(server.mailbox.received, normalized, strict=True):
        assert mail_from == "bounces@example.org"  # envelope_from: where bounces go
        message = parse(data)
        assert message["To"] == address
        assert message["From"] == "Learning from ML <news@example.org>"
        sent_at = parsedate_to_datetime(str(message["Date"]))
        assert abs((datetime.now(UTC) - sent_at).total_seconds()) < 60
        # The post is outside a site's _posts/: it is known by its resolved path.
        identity = str((project / "2025-01-02-episode-5.md").resolve())
        assert message["Message-ID"] == recipient_message_id(
            _episode_of(project), address, "newsletter.example.com", identity
        )
        episode_ids.add(message["Message-ID"])
        token = hmac.new(SECRET.encode(), address.encode(), hashlib.sha256).hexdigest()
        url = f"https://example.org/unsubscribe?email={address.replace('@', '%40').replace('+', '%2B')}&token={token}"
        assert (
            " ".join(str(message["List-Unsubscribe"]).split()) == f"<{url}>, <mailto:unsubscribe@example.org>"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Id"] == "<learning-from-ml.example.org>"
        # The body's unsubscribe link is the header's.
        plain, html = (part.get_content() for part in message.iter_parts())
        assert f"Unsubscribe: {url}" in plain
        assert f'href="{url.replace("&", "&amp;")}"' in html
        assert "{email}" not in plain + html and "{token}" not in plain + html
        # DKIM over the bytes received, covering every header that matters.
        assert dkim.verify(data, dnsfunc=dkim_files.dnsfunc)
        signature = " ".join(str(message["DKIM-Signature"]).split())
        signed = re.search(r"h=([^;]+)", signature)
        assert signed is not None
        names = {n.strip().lower() for n in signed.group(1).replace(" ", "").split(":")}
        assert {"from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe",
                "list-unsubscribe-post"} <= names  # fmt: skip
        assert "d=example.org" in signature and "s=mail2025" in signature
        # A changed List-Unsubscribe no longer verifies.
        tampered = data.replace(b"mailto:unsubscribe@", b"mailto:unsubscribx@")
        assert not dkim.verify(tampered, dnsfunc=dkim_files.dnsfunc)
    assert len(episode_ids) == 3


def _episode_of(project: Path) -> Any:
    from pipeline.normalize.stages import normalize_file

    return normalize_file(project / "2025-01-02-episode-5.md", settings_of(project))


def test_without_a_dkim_key_the_message_goes_unsigned_with_a_warning(project: Path, server: Server) -> None:
    lines: list[str] = []
    run = run_list(project, write_list(project, ["ada@example.org"]), full_env(server), lines)
    assert run.ok
    assert any("PIPELINE_DKIM_KEY_FILE and PIPELINE_DKIM_SELECTOR are not set" in line for line in lines)
    assert parse(server.mailbox.received[0][2])["DKIM-Signature"] is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PIPELINE_DKIM_SELECTOR": "mail2025"}, "PIPELINE_DKIM_KEY_FILE is not"),
        ({"PIPELINE_DKIM_KEY_FILE": "/nonexistent/dkim.pem", "PIPELINE_DKIM_SELECTOR": "s"}, "cannot read"),
        ({"PIPELINE_DKIM_SELECTOR": "bad selector", "PIPELINE_DKIM_KEY_FILE": "x"}, "not a DNS name"),
    ],
)
def test_dkim_setting_mistakes_are_one_line(
    project: Path, server: Server, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(PipelineError) as caught:
        run_list(project, write_list(project, ["ada@example.org"]), full_env(server, **env))
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
    assert server.mailbox.received == []


def test_a_key_file_that_is_not_a_key(project: Path, server: Server) -> None:
    bad = project / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    env = full_env(server, PIPELINE_DKIM_KEY_FILE=str(bad), PIPELINE_DKIM_SELECTOR="mail2025")
    with pytest.raises(PipelineError) as caught:
        run_list(project, write_list(project, ["ada@example.org"]), env)
    assert str(caught.value).startswith(f"{bad}: PIPELINE_DKIM_KEY_FILE: not a usable PEM private key")


# --- example settings and merge tags ------------------------------------------------------


def _settings_file(project: Path, newsletter_lines: str) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.pipeline]\nshow_name = "Learning from ML"\n[tool.pipeline.newsletter]\n' + newsletter_lines,
        encoding="utf-8",
    )


def test_the_example_settings_are_errors_for_a_list(project: Path, server: Server) -> None:
    _settings_file(project, "")
    with pytest.raises(PipelineError) as caught:
        run_list(project, write_list(project, ["ada@example.org"]), full_env(server))
    text = str(caught.value)
    assert text.startswith(f"{project / 'pyproject.toml'}: [tool.pipeline.newsletter]: ")
    assert "from_address is the example newsletter@example.com" in text
    assert "unsubscribe_url is the example one" in text
    assert server.mailbox.received == []


def test_a_dry_run_with_the_example_settings_shows_the_whole_plan_and_what_would_stop_it(
    project: Path, server: Server
) -> None:
    """The dry run refused outright while the settings were the examples: it showed nothing."""
    _settings_file(project, "")
    lines: list[str] = []
    run = run_list(
        project, write_list(project, ["ada@example.org", "bob@example.org"]), {}, lines, dry_run=True
    )
    assert not run.ok  # its exit code says a real send would not go
    said = "\n".join(lines)
    assert "warning: would stop a real send: " in said and "from_address is the example" in said
    assert "unsubscribe_url is the example one" in said
    assert "message_id_domain is the example newsletter.example.com" in said
    assert run.lines[0] == f"would send 'Episode 5' to 2 readers of {project / 'readers.txt'}"
    assert any(line.startswith("  From: ") for line in run.lines)


def _test_send(project: Path, server: Server) -> tuple[str, list[str]]:
    """A `--to me@example.org` test send of the project's post: its summary and its notes."""
    notes: list[str] = []
    summary = send_post(
        project / "2025-01-02-episode-5.md",
        "me@example.org",
        settings=settings_of(project),
        env=server.env(),
        notes=notes,
    )
    return summary, notes


def test_a_test_send_with_a_token_and_no_secret_warns_and_goes(project: Path, server: Server) -> None:
    """`episode init` writes an unsubscribe URL with {token}: a test send must work before the
    secret is set (a warning, no unsubscribe link); a list send still needs it."""
    summary, notes = _test_send(project, server)
    assert summary.startswith("sent 'Episode 5' to me@example.org")
    assert any(
        "PIPELINE_UNSUBSCRIBE_SECRET is not set: this copy has no unsubscribe web link" in n for n in notes
    )
    assert "https:" not in str(parse(server.mailbox.received[0][2])["List-Unsubscribe"])
    with pytest.raises(PipelineError, match="PIPELINE_UNSUBSCRIBE_SECRET is not set"):
        run_list(project, write_list(project, ["ada@example.org"]), server.env())


@pytest.mark.parametrize("tag", ["*|UNSUB|*", "{{ unsubscribe_url }}", "%unsubscribe%"])
def test_a_merge_tag_is_an_error_over_smtp(project: Path, server: Server, tag: str) -> None:
    _settings_file(project, f'from_address = "news@example.org"\nunsubscribe_url = "{tag}"\n')
    with pytest.raises(PipelineError) as caught:
        run_list(project, write_list(project, ["ada@example.org"]), full_env(server))
    assert f"merge tag {tag!r}" in str(caught.value)
    assert server.mailbox.received == []


def test_a_test_send_with_the_example_settings_warns_and_has_no_list_headers(
    project: Path, server: Server
) -> None:
    _settings_file(project, "")
    summary, notes = _test_send(project, server)
    assert summary.startswith("sent 'Episode 5' to me@example.org")
    assert any("from_address is the example" in n for n in notes)
    assert any("unsubscribe_url is the example one" in n for n in notes)
    message = parse(server.mailbox.received[0][2])
    assert message["List-Unsubscribe"] is None and message["List-Id"] is None


def test_a_test_send_has_the_readers_headers_when_configured(
    project: Path, server: Server, dkim_files: DkimFiles
) -> None:
    send_post(
        project / "2025-01-02-episode-5.md",
        "me@example.org",
        settings=settings_of(project),
        env=full_env(server, dkim_files),
    )
    data = server.mailbox.received[0][2]
    message = parse(data)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "email=me%40example.org" in str(message["List-Unsubscribe"])
    assert dkim.verify(data, dnsfunc=dkim_files.dnsfunc)


def test_a_token_needs_the_secret(project: Path, server: Server) -> None:
    with pytest.raises(PipelineError) as caught:
        run_list(project, write_list(project, ["ada@example.org"]), server.env())
    assert "PIPELINE_UNSUBSCRIBE_SECRET is not set" in str(caught.value)


def test_no_postal_address_is_a_warning_for_a_list(project: Path, server: Server) -> None:
    _settings_file(project, f'from_address = "news@example.org"\nunsubscribe_url = "{UNSUBSCRIBE}"\n')
    lines: list[str] = []
    assert run_list(project, write_list(project, ["ada@example.org"]), full_env(server), lines).ok
    assert any("postal_address is not set" in line for line in lines)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("unsubscribe_url", "https://example.org/u?e={address}"),
        ("unsubscribe_url", "https://example.org/u?a=1,2"),
        ("unsubscribe_mailto", "Unsub <u@example.org>"),
        ("list_id", "not a list id"),
        ("envelope_from", "bounces"),
        ("postal_address", "1 Street\x00"),
    ],
)
def test_new_newsletter_settings_are_checked(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        options_from_table({key: value})


# --- the list file ------------------------------------------------------------------------


def test_invalid_duplicate_and_suppressed_addresses_are_never_mailed(project: Path, server: Server) -> None:
    readers = project / "readers.csv"
    readers.write_text(
        "name,Email\n"
        "Ada,ada@example.org\n"
        "Bad,not-an-address\n"
        "Test,someone@example.test\n"  # a special-use domain: refused by email-validator
        "Ada again,ADA@example.org\n"
        "Bob,bob@example.org\n"
        "Carol,carol@example.org\n"
        "Nobody,\n",
        encoding="utf-8",
    )
    suppress = write_list(project, ["# unsubscribed", "Bob@Example.org"], "suppress.txt")
    said: list[tuple[str, int]] = []
    run = send_list(
        project / "2025-01-02-episode-5.md",
        readers,
        settings=settings_of(project),
        suppress=suppress,
        env=full_env(server),
        say=lambda line: said.append((line, len(server.mailbox.received))),
        rate=1000,
    )
    assert run.ok
    assert received_by(server) == ["ada@example.org", "carol@example.org"]
    problems = [line for line, _ in said if line.startswith("not sent: ")]
    # The reason is email-validator's own sentence.
    assert [re.sub(r"invalid: .+", "invalid: …", line) for line in problems] == [
        f"not sent: {readers}:3: 'not-an-address': invalid: …",
        f"not sent: {readers}:4: 'someone@example.test': invalid: …",
        f"not sent: {readers}:5: 'ADA@example.org': duplicate of line 2",
    ]
    assert "special-use or reserved name" in problems[1]
    # Listed before anything was sent.
    assert all(count == 0 for line, count in said if line.startswith("not sent: "))
    assert ("suppressed: 1 address of " + str(suppress) + " not mailed", 0) in said


def test_a_plain_list_skips_blank_lines_and_comments(tmp_path: Path) -> None:
    path = write_list(tmp_path, ["# readers", "", "  ada@example.org  ", "bob@example.org"])
    readers = load_readers(path)
    assert readers.addresses == ("ada@example.org", "bob@example.org")
    assert readers.invalid == ()


def test_a_missing_list_file_is_one_line(project: Path, server: Server) -> None:
    with pytest.raises(PipelineError) as caught:
        run_list(project, project / "missing.txt", full_env(server))
    assert str(caught.value) == f"{project / 'missing.txt'}: --list: no such file"


# --- the journal: at most once per reader -------------------------------------------------


def test_running_again_sends_to_nobody_twice_and_the_journal_is_private(
    project: Path, server: Server
) -> None:
    list_path = write_list(project, [f"reader{i}@example.org" for i in range(5)])
    assert run_list(project, list_path, full_env(server)).sent == 5
    lines: list[str] = []
    again = run_list(project, list_path, full_env(server), lines)
    assert again.sent == 0 and again.ok
    assert again.lines[-1].startswith("nothing to send")
    assert any(line.startswith("already sent: 5 readers") for line in lines)
    assert len(server.mailbox.received) == 5
    journal = journal_path(project / ".episode")
    assert stat.S_IMODE(journal.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    # A reader added to the list later gets it, alone.
    write_list(project, [f"reader{i}@example.org" for i in range(6)])
    assert run_list(project, list_path, full_env(server)).sent == 1
    assert received_by(server)[-1] == "reader5@example.org"


def test_4xx_is_retried_by_the_next_run_and_5xx_is_final(project: Path, server: Server) -> None:
    list_path = write_list(
        project, ["ada@example.org", "grey1@example.org", "gone@example.org", "grey2@example.org"]
    )
    first = run_list(project, list_path, full_env(server))
    assert not first.ok
    assert received_by(server) == ["ada@example.org"]
    assert "failed: gone@example.org: 550 5.1.1 <gone@example.org>: no such user" in first.lines
    assert (
        "deferred: grey1@example.org: 451 4.7.1 greylisted, try again later (retried by the next run)"
        in first.lines
    )
    assert first.lines[-1].endswith("; 1 failed; 2 deferred")
    lines: list[str] = []
    second = run_list(project, list_path, full_env(server), lines)
    assert received_by(server) == ["ada@example.org", "grey1@example.org", "grey2@example.org"]
    assert second.sent == 2
    assert not second.ok  # the permanent failure is still listed
    assert (
        "failed earlier, not retried: gone@example.org: 550 5.1.1 <gone@example.org>: no such user" in lines
    )


def _invoke_send(project: Path, list_path: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "invoke", "send", "--src", str(project / "2025-01-02-episode-5.md"),
        "--list", str(list_path), "--config", str(project / "pyproject.toml"), "--rate", "1000", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_a_killed_run_then_a_second_run_mails_each_reader_once(
    project: Path, server: Server, dkim_files: DkimFiles
) -> None:
    readers = [f"reader{i:03}@example.org" for i in range(200)]
    list_path = write_list(project, readers)
    env = full_env(server, dkim_files)
    mailbox = server.mailbox
    assert isinstance(mailbox, Picky)
    mailbox.kill_at = 100
    first = _invoke_send(project, list_path, env, "--yes")
    mailbox.pid = first.pid
    first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert len(mailbox.received) == 100
    mailbox.kill_at = 0

    second = _invoke_send(project, list_path, env, "--yes")
    output, _ = second.communicate(timeout=60)
    assert second.returncode == 1, output  # a reader is in doubt: someone has to decide
    in_doubt = [line for line in output.splitlines() if line.startswith("in doubt: ")]
    assert in_doubt == [
        "in doubt: reader099@example.org (a run stopped while sending to it; the server may have it; "
        "--resend-in-doubt sends it again)"
    ]
    assert "already sent: 99 readers" in output
    assert f"sent 'Episode 5' to 100 readers via 127.0.0.1:{server.port}" in output
    assert sorted(received_by(server)) == readers  # everyone exactly once, the one in doubt too
    assert all(dkim.verify(data, dnsfunc=dkim_files.dnsfunc) for _, _, data in mailbox.received[-3:])

    third = _invoke_send(project, list_path, env, "--yes", "--resend-in-doubt")
    output, _ = third.communicate(timeout=60)
    assert third.returncode == 0, output
    assert received_by(server)[200:] == ["reader099@example.org"]


def test_without_a_terminal_a_list_send_needs_yes(project: Path, server: Server) -> None:
    process = _invoke_send(project, write_list(project, ["ada@example.org"]), full_env(server))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert (
        output.splitlines()[-1]
        == "error: --list: not on a terminal, so nobody can confirm: pass --yes to send"
    )
    assert "Traceback" not in output
    assert server.mailbox.received == []


# --- dry runs and posts that are not published --------------------------------------------


def test_a_dry_run_shows_the_headers_size_and_server_and_sends_nothing(
    project: Path, server: Server, dkim_files: DkimFiles
) -> None:
    run = run_list(
        project,
        write_list(project, ["ada@example.org", "bob@example.org"]),
        full_env(server, dkim_files),
        dry_run=True,
    )
    text = "\n".join(run.lines)
    assert run.lines[0] == f"would send 'Episode 5' to 2 readers of {project / 'readers.txt'}"
    assert "  recipients: 2 (the first one's headers shown)" in run.lines
    for expected in (
        "  From: Learning from ML <news@example.org>",
        "  To: ada@example.org",
        "  Subject: Episode 5",
        "  List-Id: <learning-from-ml.example.org>",
        "  List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "  DKIM-Signature: signed by d=example.org s=mail2025",
        "  envelope from: bounces@example.org",
        f"  server: 127.0.0.1:{server.port} (none)",
    ):
        assert expected in text
    assert re.search(r"^  size: [\d,]+ bytes$", text, re.MULTILINE)
    assert server.mailbox.received == []
    assert not (project / ".episode").exists()


def test_a_dry_run_without_a_server(project: Path) -> None:
    run = run_list(
        project,
        write_list(project, ["ada@example.org"]),
        {"PIPELINE_UNSUBSCRIBE_SECRET": SECRET},
        dry_run=True,
    )
    assert run.lines[-1] == "  server: none: PIPELINE_SMTP_HOST is unset"


@pytest.mark.parametrize(
    ("front_matter", "date", "field_name"),
    [("published: false\n", "2025-01-02", "published"), ("", "2999-01-01", "date")],
)
def test_an_unpublished_or_future_post_is_refused_unless_forced(
    project: Path, server: Server, front_matter: str, date: str, field_name: str
) -> None:
    post = write_post(project, front_matter, date)
    list_path = write_list(project, ["ada@example.org"])
    with pytest.raises(PipelineError) as caught:
        run_list(project, list_path, full_env(server))
    assert str(caught.value).startswith(f"{post}: {field_name}: ")
    assert "--force" in str(caught.value)
    with pytest.raises(PipelineError):
        send_post(post, "me@example.org", settings=settings_of(project), env=full_env(server))
    assert server.mailbox.received == []
    assert run_list(project, list_path, full_env(server), force=True).sent == 1


def _on_a_terminal(project: Path, list_path: Path, env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """`invoke send --list` with a pseudo-terminal for stdin and stdout; `answer` typed at the question."""
    command = [
        sys.executable, "-m", "invoke", "send", "--src", str(project / "2025-01-02-episode-5.md"),
        "--list", str(list_path), "--config", str(project / "pyproject.toml"), "--rate", "1000",
    ]  # fmt: skip
    terminal = PseudoTerminal(command, ROOT, env)
    terminal.read_until(b"[y/N]", timeout=30)
    terminal.type(answer)
    return terminal.finish()


@pytest.mark.parametrize(("answer", "sent"), [(b"y\n", 2), (b"\n", 0)])
def test_on_a_terminal_a_list_send_asks_first(
    project: Path, server: Server, answer: bytes, sent: int
) -> None:
    list_path = write_list(project, ["ada@example.org", "bob@example.org"])
    code, output = _on_a_terminal(project, list_path, full_env(server), answer)
    assert f"send 'Episode 5' to 2 readers via 127.0.0.1:{server.port}? [y/N]" in output
    assert len(server.mailbox.received) == sent
    assert code == (0 if sent else 1), output
    if not sent:
        assert "error: send: nothing sent (not confirmed)" in output


def test_a_server_that_is_down_leaves_every_reader_for_the_next_run(project: Path, server: Server) -> None:
    list_path = write_list(project, ["ada@example.org", "bob@example.org"])
    down = full_env(server, PIPELINE_SMTP_PORT=str(free_port()))
    with pytest.raises(PipelineError) as caught:
        run_list(project, list_path, down)
    assert str(caught.value) == (
        f"smtp: could not connect to 127.0.0.1:{down['PIPELINE_SMTP_PORT']}: connection refused; "
        "0 readers sent, 2 left for the next run"
    )
    assert run_list(project, list_path, full_env(server)).sent == 2
    assert received_by(server) == ["ada@example.org", "bob@example.org"]


def test_build_warns_once_about_settings_no_reader_should_get(tmp_path: Path) -> None:
    """The example From and unsubscribe URL: a warning line each, once per build, not per post."""
    import subprocess
    import sys

    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "build", "--out", str(out), "--only", "newsletter"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1:3] == [
        "samples/episode.toml: warning: [newsletter]: from_address is the example "
        "newsletter@example.com: set your own sending address",
        "samples/episode.toml: warning: [newsletter]: unsubscribe_url is the example one: set your "
        "unsubscribe endpoint (https, with {email} or {token})",
    ]
    assert sum("is the example" in line for line in lines) == 2


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_list_or_suppression_that_is_a_fifo_or_a_device_is_one_line(
    project: Path, server: Server, kind: str
) -> None:
    """A FIFO as `--list` hung silently; `/dev/zero` grew to gigabytes before anything was said."""
    if kind == "fifo":
        path = project / "readers.fifo"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    with pytest.raises(PipelineError) as caught:
        run_list(project, path, full_env(server))
    message = str(caught.value)
    assert message.startswith(f"{path}: --list: is a ") and "not a regular file" in message
