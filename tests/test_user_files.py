"""`pipeline.user_files`: every file a user names is a regular file, read within its kind's limit.

The helper on its own (FIFO, device, folder, socket, oversized, a size that lies, symlinks), then
the commands that read a file through it, run as the user runs them: a FIFO or `/dev/zero` is one
line and exit code 1, at once, never a hang or a read that fills the memory.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from pipeline.errors import SourceError, UnreadableSource
from pipeline.reports import shown_path
from pipeline.source.post_file import read_post
from pipeline.user_files import (
    KB,
    MB,
    MissingUserFile,
    TooBigUserFile,
    UnreadableUserFile,
    UserFileError,
    check_regular,
    open_regular,
    read_bytes,
    read_text,
    read_with_stat,
    size_text,
)

from .conftest import SEED, memory_cap, run_episode

POST = "---\ntitle: One\ndate: 2025-01-01\n---\nA body.\n"


def _message(excinfo: pytest.ExceptionInfo[UserFileError]) -> str:
    return str(excinfo.value)


# --- the helper --------------------------------------------------------------------------------


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"\xef\xbb\xbfreader@example.org\n")
    assert read_bytes(path, "list") == b"\xef\xbb\xbfreader@example.org\n"
    assert read_text(path, "list") == "reader@example.org\n"  # the BOM is not text
    data, info = read_with_stat(path, "list")
    assert data.endswith(b"\n") and info.st_size == len(data)


def test_a_symlink_to_a_regular_file_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "real.toml"
    target.write_text("a = 1\n")
    link = tmp_path / "episode.toml"
    link.symlink_to(target)
    assert read_text(link, "settings") == "a = 1\n"


def test_a_fifo_is_one_line_at_once_even_with_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "list.txt"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(UserFileError) as caught:
        read_bytes(fifo, "list", field="--list")
    assert _message(caught) == f"{fifo}: --list: is a FIFO, not a regular file"
    # With a writer that never writes, the read would block forever: it is never tried.
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(UserFileError, match="is a FIFO"):
            read_text(fifo, "settings")
    finally:
        os.close(writer)
    assert time.monotonic() - started < 2


def test_a_symlink_to_a_fifo_is_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    link = tmp_path / "key.pem"
    link.symlink_to(fifo)
    with pytest.raises(UserFileError, match="is a FIFO, not a regular file"):
        read_bytes(link, "key")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_one_line_and_never_read(device: str) -> None:
    with pytest.raises(UserFileError) as caught:
        read_bytes(Path(device), "post")
    assert _message(caught) == f"{device}: is a device, not a regular file"


def test_a_folder_a_socket_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserFileError, match="is a folder, not a file"):
        read_bytes(tmp_path, "settings")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(UserFileError, match="is a socket, not a regular file"):
            read_bytes(tmp_path / "sock", "secrets")
    with pytest.raises(MissingUserFile) as caught:
        read_bytes(tmp_path / "none.csv", "list", field="--suppress")
    assert _message(caught) == f"{tmp_path / 'none.csv'}: --suppress: no such file"


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    with path.open("wb") as handle:
        handle.truncate(92 * MB + 300 * KB)  # sparse: costs nothing
    with pytest.raises(TooBigUserFile) as caught:
        read_bytes(path, "settings")
    assert _message(caught) == f"{path}: is 92.3 MB; settings files are at most 1 MB"
    key = tmp_path / "dkim.pem"
    key.write_bytes(b"k" * (64 * KB + 1))
    with pytest.raises(TooBigUserFile, match=r"is 64\.1 KB; key files are at most 64 KB"):
        read_bytes(key, "key")
    key.write_bytes(b"k" * (64 * KB))
    assert len(read_bytes(key, "key")) == 64 * KB  # the limit itself is fine


def test_the_limit_holds_when_the_size_says_nothing() -> None:
    # /proc files are regular files of size 0: the read itself stops at the limit and one byte.
    with pytest.raises(TooBigUserFile) as caught:
        read_bytes(Path("/proc/self/maps"), "token", limit=10)
    assert _message(caught) == "/proc/self/maps: is over 10 bytes; token files are at most 10 bytes"


def test_an_unreadable_file_may_pass_on_a_retry(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000")
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    with pytest.raises(UnreadableUserFile, match="cannot read the file: Permission denied") as caught:
        read_bytes(path, "secrets")
    assert caught.value.transient


def test_text_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "_config.yml"
    path.write_bytes(b"title: x\nauthor: \xe9\n")
    with pytest.raises(UserFileError) as caught:
        read_text(path, "settings")
    assert _message(caught) == f"{path}: not UTF-8 text (byte 0xe9 on line 2)"


def test_open_regular_creates_and_check_regular_refuses(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    fd, info = open_regular(path, "ledger", flags=os.O_RDWR | os.O_CREAT | os.O_APPEND, mode=0o600)
    try:
        assert os.get_blocking(fd) and info.st_size == 0
        os.write(fd, b"x\n")
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x\n"
    check_regular(path, "journal")
    fifo = tmp_path / "send-journal.sqlite"
    os.mkfifo(fifo)
    with pytest.raises(UserFileError, match="is a FIFO"):
        check_regular(fifo, "journal")
    with pytest.raises(UserFileError, match="is a FIFO"):
        open_regular(fifo, "ledger", flags=os.O_RDWR | os.O_CREAT)


def test_size_text_rounds_up() -> None:
    assert size_text(5 * MB) == "5 MB" and size_text(5 * MB + 1) == "5.1 MB"
    assert size_text(64 * KB) == "64 KB" and size_text(1) == "1 byte" and size_text(10) == "10 bytes"


# --- the post reader ---------------------------------------------------------------------------


def test_read_post_keeps_its_limit_and_its_errors(tmp_path: Path) -> None:
    big = tmp_path / "2025-01-01-big.md"
    big.write_bytes(POST.encode() + b"x" * (5 * MB))
    with pytest.raises(SourceError) as caught:
        read_post(big)
    assert str(caught.value) == f"{big}: is 5.1 MB; posts are at most 5 MB"
    fifo = tmp_path / "2025-01-02-fifo.md"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="is a FIFO, not a regular file"):
        read_post(fifo)
    with pytest.raises(SourceError, match="no such file"):
        read_post(tmp_path / "none.md")
    assert read_post(SEED).front_matter.title


def test_an_unreadable_post_is_not_remembered(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000")
    post = tmp_path / "2025-01-01-one.md"
    post.write_text(POST)
    post.chmod(0)
    with pytest.raises(UnreadableSource) as caught:
        read_post(post)
    assert caught.value.transient


# --- the commands, as the user runs them --------------------------------------------------------


def _episode(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_episode(cwd, *args, timeout=60, merged=False, preexec_fn=memory_cap)


def _fifo_or_device(tmp_path: Path, kind: str, name: str) -> Path:
    if kind == "device":
        return Path("/dev/zero")
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_send_src_a_fifo_or_a_device_is_one_line(tmp_path: Path, kind: str) -> None:
    src = _fifo_or_device(tmp_path, kind, "2025-01-01-post.md")
    started = time.monotonic()
    done = _episode("send", "--src", src, "--to", "reader@example.org", "--dry-run", cwd=tmp_path)
    assert time.monotonic() - started < 30
    what = "a FIFO" if kind == "fifo" else "a device"
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip() == f"{shown_path(src, tmp_path)}: error: is {what}, not a regular file"


def test_a_fifo_post_with_a_writer_that_never_writes_does_not_hang(tmp_path: Path) -> None:
    src = tmp_path / "2025-01-01-post.md"
    os.mkfifo(src)
    writer = os.open(src, os.O_RDWR | os.O_NONBLOCK)  # a writer is there: a blocking read would wait
    try:
        done = _episode("send", "--src", src, "--to", "reader@example.org", "--dry-run", cwd=tmp_path)
    finally:
        os.close(writer)
    assert done.returncode == 1 and "is a FIFO, not a regular file" in done.stderr
