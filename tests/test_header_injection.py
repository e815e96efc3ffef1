"""Text from posts and settings never becomes a header or a body: encoded words stay text.

Each attack is checked at both ends: the built `newsletter.eml`, and what a real SMTP server
on loopback (aiosmtpd) receives from `invoke send`.
"""

from __future__ import annotations

import dataclasses
import email
import os
import subprocess
import sys
from collections.abc import Iterator
from email.header import Header
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline.errors import ConfigError
from pipeline.formats.newsletter.edition import render, render_parts
from pipeline.formats.newsletter.headers import header_text
from pipeline.formats.newsletter.message import message_bytes
from pipeline.formats.newsletter.options import newsletter_options, options_from_table
from pipeline.settings.config import Settings, settings_from_table
from tests.sample_episode import sample_episode
from tests.test_send import Server, start_server

from .conftest import examples

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]

# The attacks found by trying the tool as an attacker would, each as a post title.
TITLE_ATTACKS = {
    "bcc-q": "=?utf-8?q?Hello=0D=0ABcc:=20evil@example.com?=",
    "phish-body": "=?utf-8?q?Win=0D=0AContent-Type:_text/html=0D=0A=0D=0A<h1>Phish</h1>?=",
    "bcc-base64": "=?utf-8?b?SGVsbG8NCkJjYzogZXZpbEBleGFtcGxlLmNvbQ==?=",
    "nul-and-bidi": "=?utf-8?q?Episode=00_5_=E2=80=AEevil?=",
}
SHOW_ATTACK = "=?utf-8?q?Show=0D=0ABcc:_evil@example.com?="


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def assert_only_our_headers(message: EmailMessage) -> None:
    """Exactly the headers the project writes, each once, and one multipart/alternative body."""
    assert sorted(message.keys()) == sorted(HEADERS)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert not message.defects


def with_show_name(settings: Settings, show_name: str) -> Settings:
    return dataclasses.replace(settings, show_name=show_name)


@pytest.mark.parametrize("title", TITLE_ATTACKS.values(), ids=TITLE_ATTACKS.keys())
def test_an_encoded_word_in_a_title_is_shown_not_decoded(title: str, settings: Settings) -> None:
    data = render(sample_episode(title=title), settings).files["newsletter.eml"]
    message = parse(data)
    assert_only_our_headers(message)
    assert message["Subject"] == title
    assert message["Bcc"] is None
    assert b"\x00" not in data
    assert data.isascii()


def test_an_encoded_word_in_the_show_name_stays_in_the_from_name(settings: Settings) -> None:
    data = render(sample_episode(), with_show_name(settings, SHOW_ATTACK)).files["newsletter.eml"]
    message = parse(data)
    assert_only_our_headers(message)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (SHOW_ATTACK, "newsletter@example.com")


@pytest.mark.parametrize(
    "value",
    ["Show\r\nBcc: evil@example.com", "Show\x00", "Show \u202eevil", "Show\u2028Bcc: x@example.org"],
)
@pytest.mark.parametrize("key", ["show_name", "author"])
def test_a_setting_with_control_characters_is_refused_at_load(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_table({key: value}, "episode.toml")
    text = str(caught.value)
    assert text.startswith("episode.toml: top level: " + key + ": must not contain")
    assert "\n" not in text and "\r" not in text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("from_address", "Show\r\nBcc: evil@example.com <news@example.org>"),
        ("from_address", "Show \u202e <news@example.org>"),
        ("from_address", "=?utf-8?q?x?=@example.org"),
        ("to_address", "list@example.org\r\nBcc: evil@example.com"),
        ("message_id_domain", "mail.example.org>\r\nBcc: evil@example.com"),
    ],
)
def test_a_newsletter_setting_that_would_reach_a_header_is_refused(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        options_from_table({key: value})
    assert f"{key}: " in str(caught.value)


def _project(tmp_path: Path, pipeline_table: str) -> Path:
    """A pyproject.toml with the given `[tool.pipeline]` lines."""
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.pipeline]\n" + pipeline_table, encoding="utf-8")
    return config


def test_a_bad_setting_stops_the_build_once_before_any_post(tmp_path: Path) -> None:
    config = _project(tmp_path, 'show_name = "Show\\r\\nBcc: evil@example.com"\n')
    out = tmp_path / "out"
    command = [sys.executable, "-m", "invoke", "build", "--config", str(config), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [
        f"{config}: error: [tool.pipeline]: show_name: must not contain control or bidi characters "
        "(U+000D, U+000A)"
    ]
    assert not out.exists()


def test_a_bad_newsletter_setting_stops_the_build_before_any_post(tmp_path: Path) -> None:
    config = _project(tmp_path, '[tool.pipeline.newsletter]\nfrom_address = "A \\u202e <a@example.org>"\n')
    out = tmp_path / "out"
    command = [sys.executable, "-m", "invoke", "build", "--config", str(config), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    [line] = (done.stdout + done.stderr).strip().splitlines()  # checked as the settings are read
    assert str(config) in line
    assert "[tool.pipeline.newsletter]: from_address: must not contain control or bidi" in line
    assert not out.exists()


# --- what a real SMTP server receives from `invoke send` ----------------------------------


@pytest.fixture
def server() -> Iterator[Server]:
    controller, running = start_server()
    yield running
    controller.stop()


def _send(server: Server, post: Path, config: Path | None = None) -> bytes:
    """Run `invoke send` on `post`; the one message the server received."""
    command = [sys.executable, "-m", "invoke", "send", "--src", str(post), "--to", "reader@example.org"]
    if config is not None:
        command += ["--config", str(config)]
    env = {**os.environ, **server.env()}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    [(_, recipients, data)] = server.mailbox.received
    assert recipients == ["reader@example.org"]
    return bytes(data)


def _post(folder: Path, title: str) -> Path:
    path = folder / "2025-01-02-episode.md"
    quoted = title.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(f'---\ntitle: "{quoted}"\ndate: 2025-01-02\n---\n\nA summary.\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("title", TITLE_ATTACKS.values(), ids=TITLE_ATTACKS.keys())
def test_invoke_send_delivers_the_title_as_text(title: str, server: Server, tmp_path: Path) -> None:
    received = parse(_send(server, _post(tmp_path, title)))
    assert_only_our_headers(received)
    assert received["Subject"] == title
    assert str(received["To"]) == "reader@example.org"


def test_invoke_send_keeps_the_show_name_in_the_from_name(server: Server, tmp_path: Path) -> None:
    config = _project(tmp_path, f'show_name = "{SHOW_ATTACK}"\n')
    received = parse(_send(server, _post(tmp_path, "Episode 5"), config))
    assert_only_our_headers(received)
    [sender] = received["From"].addresses
    assert sender.display_name == SHOW_ATTACK


def test_invoke_send_refuses_a_recipient_with_a_line_break(server: Server, tmp_path: Path) -> None:
    post = _post(tmp_path, "Episode 5")
    command = [
        sys.executable, "-m", "invoke", "send", "--src", str(post),
        "--to", "reader@example.org\r\nBcc: evil@example.com",
    ]  # fmt: skip
    env = {**os.environ, **server.env()}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stdout.startswith("settings: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert server.mailbox.received == []


# --- every header-bound field, generated --------------------------------------------------

_PIECES = st.sampled_from(
    [
        "\r", "\n", "\r\n", "\x00", "\x1b", "\x7f", "\u0085", "\u2028", "\u202e", "\u2066", "\u200f",
        "=?", "?=", "=?utf-8?q?", "=?utf-8?b?", "=0D=0A", "Bcc: evil@example.com", "Content-Type: text/html",
        " ", '"', "\\", "<", ">", "@", ",", ";", ":", "(", ")", "Zoë", "😀", "Show",
    ]
)  # fmt: skip
_ENCODED_WORD = st.text(max_size=30).map(lambda t: Header(t + "\r\nBcc: evil@example.com", "utf-8").encode())
HOSTILE = st.lists(st.one_of(_PIECES, _ENCODED_WORD, st.text(max_size=6)), min_size=1, max_size=10).map(
    "".join
)


def folded(text: str) -> str:
    return " ".join(text.split())


def _settings_or_refusal(table: dict[str, Any], newsletter: dict[str, Any]) -> Settings | None:
    """Settings as `load_settings` would make them, or None when a check refused a value."""
    try:
        settings = settings_from_table(table, "episode.toml")
        options_from_table(newsletter)
    except ConfigError as refused:
        assert "\n" not in str(refused)
        return None
    return dataclasses.replace(
        settings, formats=MappingProxyType({"newsletter": MappingProxyType(newsletter)})
    )


@hypothesis_settings(max_examples=examples(300), deadline=None)
@given(
    title=HOSTILE,
    description=HOSTILE,
    show_name=HOSTILE,
    author=HOSTILE,
    from_name=HOSTILE,
    to_name=HOSTILE,
    domain=st.one_of(st.just("mail.example.org"), HOSTILE),
)
def test_no_field_can_add_a_header_or_a_body(
    title: str, description: str, show_name: str, author: str, from_name: str, to_name: str, domain: str
) -> None:
    for table, newsletter in (
        ({"show_name": show_name, "author": author}, {}),
        ({}, {"from_address": f"{from_name} <news@example.org>"}),
        ({}, {"to_address": f"{to_name} <list@example.org>"}),
        ({}, {"message_id_domain": domain}),
    ):
        settings = _settings_or_refusal(table, newsletter)
        if settings is None:
            continue
        episode = sample_episode(title=title, description=description)
        data = message_bytes(episode, settings, newsletter_options(settings), render_parts(episode, settings))
        assert data.isascii()
        message = parse(data)
        assert_only_our_headers(message)
        # The field's text, intact: what a reader shows is what was written, less the controls.
        assert message["Subject"] == header_text(title)
        # Display names compare with spaces folded: Python's address parser keeps the folding
        # space between encoded words that other readers drop. A configured address is split
        # as the settings check split it (quotes, comments).
        [sender] = message["From"].addresses
        [recipient] = message["To"].addresses
        if "from_address" in newsletter:
            assert folded(sender.display_name) == header_text(
                getaddresses([newsletter["from_address"]])[0][0]
            )
        else:
            assert folded(sender.display_name) == header_text(settings.show_name)
        if "to_address" in newsletter:
            assert folded(recipient.display_name) == header_text(
                getaddresses([newsletter["to_address"]])[0][0]
            )
