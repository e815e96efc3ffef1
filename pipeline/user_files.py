"""Every file a user names, opened one way: a regular file only, read within its kind's size limit.

Posts, address lists and suppressions, settings files and `_config.yml`, keys, OAuth client
secrets, the token file, journals and ledgers: a FIFO, a device, a socket or a folder is one
line at once, never a read that blocks (a FIFO with no writer) or never ends (`/dev/zero`). The
path is looked at first (`stat`, following symlinks: a symlink to a regular file is fine), so a
device is never opened; then it is opened with `O_NONBLOCK` and checked again on the open file
(`fstat`), so a file swapped for a FIFO in between cannot block either. A read never takes more
than the limit and one byte, whatever the file's size claims (`/proc` files say 0).

    data = read_bytes(path, "list")   # bytes, or a UserFileError: `<path>: is a FIFO, not a regular file`
    text = read_text(path, "settings")  # UTF-8 (a BOM accepted), or one line saying why not
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import PipelineError

KB = 1024
MB = 1024 * KB

# A FIFO opened for reading with no writer would block the open itself; a terminal must not
# become the process's controlling terminal.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)

Kind = Literal["post", "list", "settings", "key", "secrets", "token", "journal", "ledger", "asset", "feed"]


@dataclass(frozen=True)
class _Rule:
    plural: str
    """How a message names files of this kind: `settings files are at most 1 MB`."""
    limit: int | None
    """The most bytes a file of this kind may hold; None: no limit (a file opened, not read whole)."""


RULES: dict[Kind, _Rule] = {
    "post": _Rule("posts", 5 * MB),
    "list": _Rule("address lists", 50 * MB),  # --list and --suppress
    "settings": _Rule("settings files", 1 * MB),  # episode.toml, pyproject.toml, _config.yml
    "key": _Rule("key files", 64 * KB),  # PIPELINE_DKIM_KEY_FILE
    "secrets": _Rule("client secrets files", 64 * KB),  # auth --client-secrets
    "token": _Rule("token files", 64 * KB),  # the YouTube OAuth token
    "journal": _Rule("send journals", None),  # SQLite opens it; only its type is checked
    "ledger": _Rule("ledgers", None),  # read line by line by its owner
    "asset": _Rule("template assets", 5 * MB),  # what WeasyPrint may read from templates/
    "feed": _Rule("feeds", 20 * MB),  # episode import's podcast_feed, youtube_feed, substack_feed
}


class UserFileError(PipelineError):
    """A file the user named cannot be used: missing, not a regular file, too big."""


class MissingUserFile(UserFileError):
    """There is no file at the path (`no such file`)."""


class TooBigUserFile(UserFileError):
    """The file holds more than its kind's limit."""


class UnreadableUserFile(UserFileError):
    """The file could not be read (permissions, a vanished file): it may pass on a retry."""

    transient = True


def size_text(size: int) -> str:
    """`5 MB`, `92.4 MB`, `64 KB`, `300 bytes`: rounded up, so a file over a limit never reads as
    at the limit."""
    for unit, name in ((MB, "MB"), (KB, "KB")):
        if size >= unit:
            value = math.ceil(size * 10 / unit) / 10
            return f"{value:g} {name}"
    return f"{size} byte" + ("" if size == 1 else "s")


def _not_regular(mode: int) -> str | None:
    """Why a file of this `st_mode` is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _os_error(exc: OSError, path: Path, field: str | None) -> UserFileError:
    if isinstance(exc, FileNotFoundError):
        return MissingUserFile("no such file", path=path, field=field)
    if isinstance(exc, IsADirectoryError):
        return UserFileError("is a folder, not a file", path=path, field=field)
    if isinstance(exc, NotADirectoryError):
        return UserFileError("no such file (a part of the path is not a folder)", path=path, field=field)
    reason = exc.strerror or str(exc)
    return UnreadableUserFile(f"cannot read the file: {reason}", path=path, field=field)


def _too_big(path: Path, size: int | None, kind: Kind, field: str | None, limit: int) -> UserFileError:
    said = f"is {size_text(size)}" if size is not None else f"is over {size_text(limit)}"
    message = f"{said}; {RULES[kind].plural} are at most {size_text(limit)}"
    return TooBigUserFile(message, path=path, field=field)


def open_regular(
    path: Path,
    kind: Kind,
    *,
    flags: int = os.O_RDONLY,
    mode: int = 0o600,
    field: str | None = None,
    limit: int | None = None,
) -> tuple[int, os.stat_result]:
    """An open descriptor of the regular file at `path`, and its `fstat`, or a UserFileError.

    `flags` as for `os.open` (`O_CREAT` creates a missing file with `mode`); `O_NONBLOCK` is
    added for the open and taken off again, so the descriptor blocks as a regular file's does.
    A file over `kind`'s limit (or `limit`) is refused before anything is read.
    """
    limit = limit if limit is not None else RULES[kind].limit
    try:
        before = os.stat(path)
    except FileNotFoundError:
        if not flags & os.O_CREAT:
            raise _os_error(FileNotFoundError(), path, field) from None
    except OSError as exc:
        raise _os_error(exc, path, field) from None
    else:
        why = _not_regular(before.st_mode)
        if why:  # never opened: opening a device can do things
            raise UserFileError(why, path=path, field=field)
    try:
        fd = os.open(path, flags | _NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise _os_error(exc, path, field) from None
    try:
        info = os.fstat(fd)
        why = _not_regular(info.st_mode)
        if why:  # swapped after the stat above
            raise UserFileError(why, path=path, field=field)
        if limit is not None and info.st_size > limit:
            raise _too_big(path, info.st_size, kind, field, limit)
        os.set_blocking(fd, True)
    except OSError as exc:
        os.close(fd)
        raise _os_error(exc, path, field) from None
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def check_regular(path: Path, kind: Kind, *, field: str | None = None) -> None:
    """Refuse `path` unless it is a regular file (for files another library opens: SQLite)."""
    fd, _ = open_regular(path, kind, field=field)
    os.close(fd)


def read_with_stat(
    path: Path, kind: Kind, *, field: str | None = None, limit: int | None = None
) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at `path` (at most its kind's limit) and its `fstat`."""
    limit = limit if limit is not None else RULES[kind].limit
    fd, info = open_regular(path, kind, field=field, limit=limit)
    try:
        with os.fdopen(fd, "rb", closefd=True) as handle:
            data = handle.read(limit + 1) if limit is not None else handle.read()
    except OSError as exc:
        raise _os_error(exc, path, field) from None
    if limit is not None and len(data) > limit:  # grew, or its size said 0 (/proc)
        raise _too_big(path, None, kind, field, limit)
    return data, info


def read_bytes(path: Path, kind: Kind, *, field: str | None = None, limit: int | None = None) -> bytes:
    """The bytes of the regular file at `path`, within its kind's limit (or `limit`), or a
    UserFileError: `<path>: is a FIFO, not a regular file`, `<path>: is 92 MB; settings files are
    at most 1 MB`, `<path>: no such file`."""
    return read_with_stat(path, kind, field=field, limit=limit)[0]


def read_text(path: Path, kind: Kind, *, field: str | None = None) -> str:
    """`read_bytes` decoded as UTF-8 (a BOM accepted), or a UserFileError naming the byte."""
    data = read_bytes(path, kind, field=field)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserFileError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})", path=path, field=field
        ) from None


def private_folder(path: Path) -> Path:
    """`path` as a folder only its owner can enter (0700), created with its parents if need be:
    where sending and publishing keep what they remember (`.episode/`)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        raise PipelineError(f"cannot create the folder: {exc.strerror or exc}", path=path) from None
    return path
