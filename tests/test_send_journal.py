"""The send journal under hostile state: two sends at once (real processes, a real SMTP server on
loopback that is slow per message), a post's identity (two posts of one stem, a post moved into a
`_posts/` subfolder, rows written before identities), a post changed since it was sent, damaged
journals, and internationalized domains (punycode and Unicode as one reader).
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from pipeline.errors import PipelineError
from pipeline.mail.journal import SENDING, SENT, Journal, journal_path
from pipeline.mail.sending import send_list
from pipeline.settings.config import load_settings
from tests.terminal import PseudoTerminal
from tests.test_send import Mailbox, Server, free_port, start_server
from tests.test_send_list import (
    NEWSLETTER_TABLE,
    full_env,
    parse,
    received_by,
    run_list,
    settings_of,
    write_list,
    write_post,
)

ROOT = Path(__file__).resolve().parent.parent
POST_NAME = "2025-01-02-episode-5.md"


@pytest.fixture
def server() -> Iterator[Server]:
    controller, running = start_server()
    yield running
    controller.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (not a Jekyll site): settings (pyproject.toml) and one post."""
    (tmp_path / "pyproject.toml").write_text(NEWSLETTER_TABLE, encoding="utf-8")
    write_post(tmp_path, "")
    return tmp_path


def _open_gate() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate


@dataclass
class Slow(Mailbox):
    """A Mailbox that takes `delay` seconds to accept each message, and holds every message while
    its `gate` is closed: a test decides when a send may go on, whatever the machine's load."""

    delay: float = 0.5
    gate: threading.Event = field(default_factory=_open_gate)
    arrived: int = 0  # messages whose data came in, accepted or held

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived += 1
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_server() -> Iterator[Server]:
    mailbox = Slow()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield Server(mailbox, port)
    controller.stop()


def cli_send(
    post: Path, list_path: Path, config: Path, env: dict[str, str], *extra: str
) -> subprocess.Popen[str]:
    """`invoke send --list` in a process of its own (the worktree's code), output captured."""
    command = [
        sys.executable, "-m", "invoke", "send", "--src", str(post), "--list", str(list_path),
        "--config", str(config), "--rate", "1000", *extra,
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


def held_line(journal: Path) -> re.Pattern[str]:
    return re.compile(
        rf"{re.escape(str(journal))}: error: another send \(process \d+\) is using this send journal: "
        r"wait for it to finish, or pass --wait to start when it does"
    )


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- two sends at once ----------------------------------------------------------------------


@pytest.mark.slow
def test_two_concurrent_list_sends_mail_each_reader_once(project: Path, slow_server: Server) -> None:
    """Started 0.3 s apart, the server holding every message until one of them has stopped: one
    sends, the other stops."""
    readers = [f"reader{i}@example.org" for i in range(10)]
    list_path = write_list(project, readers)
    env = full_env(slow_server)
    post, config = project / POST_NAME, project / "pyproject.toml"
    slow_server.mailbox.gate.clear()
    first = cli_send(post, list_path, config, env, "--yes")
    time.sleep(0.3)
    second = cli_send(post, list_path, config, env, "--yes")
    wait_for(lambda: first.poll() is not None or second.poll() is not None, timeout=120)
    slow_server.mailbox.gate.set()
    outputs = [process.communicate(timeout=120)[0] for process in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(received_by(slow_server)) == readers, outputs  # every reader exactly once
    assert sorted(codes) == [0, 1], outputs
    loser = _without_settings_line(outputs[codes.index(1)])
    # One line, naming the journal; nothing else (it stopped before reading the list or the post).
    assert len(loser.splitlines()) == 1, loser
    assert held_line(journal_path(project / ".episode")).fullmatch(loser.strip()), loser
    assert "sent 'Episode 5' to 10 readers" in outputs[codes.index(0)]


@pytest.mark.slow
def test_with_wait_a_second_send_waits_then_sends_nothing_new(project: Path, slow_server: Server) -> None:
    readers = [f"reader{i}@example.org" for i in range(6)]
    list_path = write_list(project, readers)
    env = full_env(slow_server)
    post, config = project / POST_NAME, project / "pyproject.toml"
    slow_server.mailbox.gate.clear()  # the first send holds the journal until the second waits
    first = cli_send(post, list_path, config, env, "--yes")
    wait_for(lambda: slow_server.mailbox.arrived >= 1, timeout=120)
    # A dry run takes no lock: it runs while the first one sends.
    dry = cli_send(post, list_path, config, env, "--dry-run")
    dry_output, _ = dry.communicate(timeout=60)
    assert dry.returncode == 0, dry_output
    assert re.search(r"^another send \(process \d+\) is using the send journal: ", dry_output, re.MULTILINE)
    assert "would send 'Episode 5' to " in dry_output
    assert "in doubt" not in dry_output  # the reader being sent now is not one a run left behind
    second = cli_send(post, list_path, config, env, "--yes", "--wait")
    assert second.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(second.stdout or ()), daemon=True)
    reader.start()
    wait_for(lambda: any(line.startswith("waiting: ") for line in lines) or second.poll() is not None, 120)
    slow_server.mailbox.gate.set()
    first_output, _ = first.communicate(timeout=120)
    second.wait(timeout=120)
    reader.join(timeout=60)
    second_output = "".join(lines)
    assert first.returncode == 0, first_output
    assert second.returncode == 0, second_output
    assert re.search(r"^waiting: another send \(process \d+\) is using .*send-journal\.sqlite3$",
                     second_output, re.MULTILINE), second_output  # fmt: skip
    assert "already sent: 6 readers" in second_output
    assert second_output.splitlines()[-1].startswith("nothing to send: every reader of")
    assert sorted(received_by(slow_server)) == readers


def test_a_run_waiting_at_the_question_holds_the_journal(project: Path, server: Server) -> None:
    """While one run asks `[y/N]`, a second with --yes stops; the first then sends to all."""
    list_path = write_list(project, ["ada@example.org", "bob@example.org"])
    env = full_env(server)
    post, config = project / POST_NAME, project / "pyproject.toml"
    command = [
        sys.executable, "-m", "invoke", "send", "--src", str(post), "--list", str(list_path),
        "--config", str(config), "--rate", "1000",
    ]  # fmt: skip
    asking = PseudoTerminal(command, ROOT, env)
    asking.read_until(b"[y/N]")
    other = cli_send(post, list_path, config, env, "--yes")
    other_output, _ = other.communicate(timeout=60)
    other_output = _without_settings_line(other_output)
    assert other.returncode == 1, other_output
    assert held_line(journal_path(project / ".episode")).fullmatch(other_output.strip()), other_output
    assert server.mailbox.received == []
    asking.type(b"y\n")
    code, output = asking.finish(timeout=60)
    assert code == 0, output
    assert received_by(server) == ["ada@example.org", "bob@example.org"]


def test_a_claim_is_refused_when_another_run_changed_the_record(tmp_path: Path) -> None:
    """The lock aside (a lock file removed under a running send): a reader is claimed in one
    transaction that checks its record is still the one the run planned from."""
    state = tmp_path / ".episode"
    journal = Journal.locked(state)
    try:
        assert journal.records("post") == {}
        other = sqlite3.connect(journal_path(state), isolation_level=None)
        other.execute(
            "INSERT INTO deliveries (post, address_key, address, status, updated, digest, run) "
            "VALUES ('post', 'ada@example.org', 'ada@example.org', 'sending', 'now', 'd', 'other')"
        )
        other.close()
        assert not journal.claim("post", "ada@example.org", "ada@example.org", None, "d", "mine")
        [record] = journal.records("post").values()
        assert (record.status, record.run) == (SENDING, "other")
        assert journal.claim("post", "bob@example.org", "bob@example.org", None, "d", "mine")
        journal.mark("post", "bob@example.org", SENT, "250 OK")
        assert journal.records("post")["bob@example.org"].status == SENT
    finally:
        journal.close()


def test_a_second_lock_in_one_process_is_refused_and_a_closed_journal_frees_it(tmp_path: Path) -> None:
    state = tmp_path / ".episode"
    first = Journal.locked(state)
    with pytest.raises(PipelineError) as caught:
        Journal.locked(state)
    assert "another send (process" in str(caught.value)
    first.close()
    Journal.locked(state).close()


def test_a_dry_run_leaves_the_journal_as_it_was(project: Path, server: Server) -> None:
    list_path = write_list(project, ["ada@example.org", "bob@example.org"])
    assert run_list(project, list_path, full_env(server)).sent == 2
    state = project / ".episode"
    before = {path.name: path.read_bytes() for path in state.iterdir()}
    write_list(project, ["ada@example.org", "bob@example.org", "carol@example.org"])
    run = run_list(project, list_path, full_env(server), dry_run=True)
    assert run.lines[0] == f"would send 'Episode 5' to 1 reader of {list_path}"
    assert {path.name: path.read_bytes() for path in state.iterdir()} == before


# --- a post's identity --------------------------------------------------------------------


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "other").mkdir()
    (site / "_config.yml").write_text("title: Learning from ML\n", encoding="utf-8")
    (site / "pyproject.toml").write_text(NEWSLETTER_TABLE, encoding="utf-8")
    return site


def _post(path: Path, title: str, body: str) -> Path:
    path.write_text(f"---\ntitle: {title}\ndate: 2024-05-01\n---\n\n{body}\n", encoding="utf-8")
    return path


def _send(site: Path, post: Path, list_path: Path, env: dict[str, str], lines: list[str]) -> Any:
    return send_list(
        post, list_path, settings=load_settings(site / "pyproject.toml"), env=env, say=lines.append, rate=1000
    )


def test_two_posts_of_one_stem_in_different_folders_are_two_posts(tmp_path: Path, server: Server) -> None:
    site = _site(tmp_path)
    in_posts = _post(site / "_posts" / "2024-05-01-ep.md", "Episode in posts", "The posts body.")
    elsewhere = _post(site / "other" / "2024-05-01-ep.md", "Another episode", "Another body.")
    list_path = write_list(tmp_path, ["ada@example.org", "bob@example.org"])
    env = full_env(server)
    assert _send(site, in_posts, list_path, env, []).sent == 2
    lines: list[str] = []
    run = _send(site, elsewhere, list_path, env, lines)
    assert run.sent == 2, lines + run.lines
    assert not any(line.startswith("already sent") for line in lines)
    messages = [parse(data) for _, _, data in server.mailbox.received]
    assert [str(m["Subject"]) for m in messages] == ["Episode in posts"] * 2 + ["Another episode"] * 2
    assert len({str(m["Message-ID"]) for m in messages}) == 4  # one per post and reader


def test_a_post_moved_into_a_posts_subfolder_is_not_sent_again(tmp_path: Path, server: Server) -> None:
    site = _site(tmp_path)
    post = _post(site / "_posts" / "2024-05-01-ep.md", "Episode", "The body.")
    list_path = write_list(tmp_path, ["ada@example.org", "bob@example.org"])
    env = full_env(server)
    assert _send(site, post, list_path, env, []).sent == 2
    (site / "_posts" / "2024").mkdir()
    moved = post.rename(site / "_posts" / "2024" / post.name)
    lines: list[str] = []
    run = _send(site, moved, list_path, env, lines)
    assert run.sent == 0 and run.ok
    assert any(line.startswith("already sent: 2 readers") for line in lines)
    assert len(server.mailbox.received) == 2


def _old_journal(state: Path, post: str, addresses: list[str]) -> None:
    """A journal as the tool wrote it before post identities and digests: rows by stem."""
    state.mkdir(mode=0o700, exist_ok=True)
    db = sqlite3.connect(journal_path(state))
    db.execute(
        "CREATE TABLE deliveries (post TEXT NOT NULL, address_key TEXT NOT NULL, address TEXT NOT NULL, "
        "status TEXT NOT NULL, reply TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL, "
        "PRIMARY KEY (post, address_key))"
    )
    db.executemany(
        "INSERT INTO deliveries VALUES (?, ?, ?, 'sent', '250 OK', '2025-01-01T00:00:00+00:00')",
        [(post, address.lower(), address) for address in addresses],
    )
    db.commit()
    db.close()


def test_rows_written_before_identities_keep_working(project: Path, server: Server) -> None:
    """A post outside `_posts/` is now known by its path; its rows under its stem are its own."""
    _old_journal(project / ".episode", "2025-01-02-episode-5", ["ada@example.org", "bob@example.org"])
    list_path = write_list(project, ["ada@example.org", "bob@example.org", "carol@example.org"])
    lines: list[str] = []
    run = run_list(project, list_path, full_env(server), lines)
    assert received_by(server) == ["carol@example.org"]
    assert any(line.startswith("already sent: 2 readers") for line in lines)
    assert run.ok
    # The old rows now carry the post's identity, and the third reader's row a digest.
    db = sqlite3.connect(journal_path(project / ".episode"))
    rows = sorted(db.execute("SELECT post, address_key, digest IS NULL FROM deliveries"))
    db.close()
    path = str((project / POST_NAME).resolve())
    assert rows == [
        (path, "ada@example.org", 1),
        (path, "bob@example.org", 1),
        (path, "carol@example.org", 0),
    ]
    assert run_list(project, list_path, full_env(server)).sent == 0


def test_old_rows_of_a_posts_post_are_not_another_posts(tmp_path: Path, server: Server) -> None:
    site = _site(tmp_path)
    _post(site / "_posts" / "2024-05-01-ep.md", "Episode in posts", "The posts body.")
    elsewhere = _post(site / "other" / "2024-05-01-ep.md", "Another episode", "Another body.")
    _old_journal(site / ".episode", "2024-05-01-ep", ["ada@example.org"])
    run = _send(site, elsewhere, write_list(tmp_path, ["ada@example.org"]), full_env(server), [])
    assert run.sent == 1
    assert received_by(server) == ["ada@example.org"]


# --- a post changed since it was sent -----------------------------------------------------


def test_a_changed_post_says_how_many_got_an_earlier_version(project: Path, server: Server) -> None:
    readers = ["ada@example.org", "bob@example.org", "carol@example.org"]
    list_path = write_list(project, readers)
    assert run_list(project, list_path, full_env(server)).sent == 3
    post = project / POST_NAME
    post.write_text(post.read_text(encoding="utf-8").replace("A summary", "A corrected summary"))
    write_list(project, [*readers, "dan@example.org"])
    lines: list[str] = []
    run = run_list(project, list_path, full_env(server), lines)
    assert run.sent == 1 and run.ok
    assert received_by(server)[3:] == ["dan@example.org"]  # never sent again to the first three
    assert (
        "changed since: 3 readers of those got an earlier version of 'Episode 5'; "
        "it is not sent to them again"
    ) in lines
    # The fourth reader got this version: still three.
    lines.clear()
    run_list(project, list_path, full_env(server), lines)
    assert any(line.startswith("changed since: 3 readers") for line in lines)
    assert not any(line.startswith("changed since: 4") for line in lines)


# --- damaged journals -----------------------------------------------------------------------


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _other_table(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE deliveries (recipient TEXT, sent_at TEXT)")
    db.execute("INSERT INTO deliveries VALUES ('ada@example.org', 'yesterday')")
    db.commit()
    db.close()


def _no_primary_key(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE deliveries (post TEXT, address_key TEXT, address TEXT, status TEXT, "
        "reply TEXT, updated TEXT)"
    )
    db.commit()
    db.close()


def _corrupt_page(path: Path) -> None:
    """A sound journal of many rows, then one of its pages overwritten with noise."""
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE deliveries (post TEXT NOT NULL, address_key TEXT NOT NULL, address TEXT NOT NULL, "
        "status TEXT NOT NULL, reply TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL, digest TEXT, "
        "run TEXT, PRIMARY KEY (post, address_key))"
    )
    db.executemany(
        "INSERT INTO deliveries VALUES ('p', ?, ?, 'sent', '250 OK', 'now', NULL, NULL)",
        [(f"reader{i}@example.org", f"reader{i}@example.org") for i in range(2000)],
    )
    db.commit()
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    assert pages > 6
    with path.open("r+b") as handle:
        handle.seek(page_size * (pages // 2))
        handle.write(os.urandom(page_size))


@pytest.mark.parametrize("damage", [_random_bytes, _other_table, _no_primary_key, _corrupt_page])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_damaged_journal_is_one_line_and_nothing_is_sent(
    project: Path, server: Server, damage: Any, dry_run: bool
) -> None:
    state = project / ".episode"
    state.mkdir(mode=0o700)
    journal = journal_path(state)
    damage(journal)
    before = journal.read_bytes()
    process = cli_send(
        project / POST_NAME,
        write_list(project, ["ada@example.org"]),
        project / "pyproject.toml",
        full_env(server),
        "--dry-run" if dry_run else "--yes",
    )
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1, output
    assert "Traceback" not in output
    last = output.splitlines()[-1]
    assert last.startswith(f"{journal}: error: "), output
    assert ("damaged" in last) or ("not a send journal of this tool" in last), output
    assert (
        len([line for line in output.splitlines() if ": error: " in line or line.startswith("error:")]) == 1
    )
    assert server.mailbox.received == []
    assert journal.read_bytes() == before  # left as it was, for whoever repairs it


# --- internationalized domains ------------------------------------------------------------


@pytest.fixture
def ascii_server() -> Iterator[Server]:
    """A server that does not offer SMTPUTF8 (aiosmtpd offers it unless told not to)."""
    controller, running = start_server(enable_SMTPUTF8=False)
    yield running
    controller.stop()


def test_punycode_and_unicode_domains_are_one_reader(project: Path, ascii_server: Server) -> None:
    server = ascii_server
    list_path = write_list(project, ["reader@xn--bcher-kva.org", "Reader@BÜCHER.org", "ada@example.org"])
    lines: list[str] = []
    run = run_list(project, list_path, full_env(server), lines)
    assert run.ok, lines + run.lines
    assert [line for line in lines if line.startswith("not sent:")] == [
        f"not sent: {list_path}:2: 'Reader@BÜCHER.org': duplicate of line 1"
    ]
    # This server offers no SMTPUTF8: the envelope and the To: header carry the ASCII domain.
    assert received_by(server) == ["reader@xn--bcher-kva.org", "ada@example.org"]
    message = parse(server.mailbox.received[0][2])
    assert message["To"] == "reader@xn--bcher-kva.org"
    # Journalled in email-validator's normalised form; the unsubscribe link is that reader's.
    assert "email=reader%40b%C3%BCcher.org" in str(message["List-Unsubscribe"])
    db = sqlite3.connect(journal_path(project / ".episode"))
    assert sorted(db.execute("SELECT address FROM deliveries")) == [
        ("ada@example.org",),
        ("reader@bücher.org",),
    ]
    db.close()
    # Spelled the other way next time, it is the same reader.
    lines.clear()
    again = run_list(project, write_list(project, ["reader@bücher.org"]), full_env(server), lines)
    assert again.sent == 0
    assert any(line.startswith("already sent: 1 reader ") for line in lines)


def test_a_suppressed_punycode_address_suppresses_its_unicode_form(project: Path, server: Server) -> None:
    suppress = write_list(project, ["reader@xn--bcher-kva.org"], "suppress.txt")
    lines: list[str] = []
    list_path = write_list(project, ["reader@bücher.org", "ada@example.org"])
    run = run_list(project, list_path, full_env(server), lines, suppress=suppress)
    assert run.ok
    assert received_by(server) == ["ada@example.org"]
    assert f"suppressed: 1 address of {suppress} not mailed" in lines
    assert not any(line.startswith("not sent:") for line in lines)


def test_with_smtputf8_the_envelope_has_the_unicode_domain(project: Path, server: Server) -> None:
    assert server.mailbox.received == []
    run = run_list(
        project, write_list(project, ["reader@xn--bcher-kva.org", "ada@example.org"]), full_env(server)
    )
    assert run.ok
    assert received_by(server) == ["reader@bücher.org", "ada@example.org"]
    assert parse(server.mailbox.received[0][2])["To"] == "reader@xn--bcher-kva.org"


def test_a_test_send_takes_a_unicode_domain(project: Path, server: Server) -> None:
    from pipeline.mail.sending import send_post

    summary = send_post(
        project / POST_NAME, "reader@bücher.org", settings=settings_of(project), env=full_env(server)
    )
    assert summary == f"sent 'Episode 5' to reader@bücher.org via 127.0.0.1:{server.port}"
    assert received_by(server) == ["reader@bücher.org"]  # this server offers SMTPUTF8
    assert parse(server.mailbox.received[0][2])["To"] == "reader@xn--bcher-kva.org"


def _without_settings_line(output: str) -> str:
    """A command's output after its first line, `settings: <files>`."""
    first, _, rest = output.partition("\n")
    assert first.startswith("settings: "), output
    return rest
