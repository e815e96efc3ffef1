"""What publishing remembers in the state folder (`.episode/youtube/`): the ledger of the
descriptions each video was given (one JSON line a change, newest last) and a backup of each
description before it was replaced."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import PipelineError
from ..user_files import KB, open_regular, private_folder
from .api import quota_day

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalized(text: str) -> str:
    """A description as compared: `\n` line ends, no trailing white space on a line or at the end."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


LEDGER_NAME = "ledger.jsonl"
MAX_LEDGER_LINE = 256 * KB
"""The longest ledger line read (a `sent` entry holds two descriptions of at most 5,000 bytes,
each JSON-escaped at worst to 30 KB); a longer one is unreadable, skipped without being held."""


# --- the state folder: ledger and backups ------------------------------------------------------


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Sent:
    time: str
    description: str
    stored: str | None = None


class Ledger:
    """`.episode/youtube/ledger.jsonl`: one JSON object a line, appended, never rewritten or pruned.

    `{"event": "call", "method": "videos.update", "units": 50, "quota_day": "2025-06-01", …}` for
    every request attempt (quota), `{"event": "sent", "video": …, "description": …, …}` for every
    description YouTube accepted. Held under an exclusive lock for the whole run.
    """

    def __init__(self, folder: Path, clock: Clock = _utc_now) -> None:
        self.folder = private_folder(folder)
        self.path = folder / LEDGER_NAME
        self.clock = clock
        self.sent: dict[str, Sent] = {}
        self.units: dict[str, int] = {}
        self.unreadable: list[int] = []
        self._handle: IO[bytes] | None = None

    @contextmanager
    def opened(self) -> Iterator[Ledger]:
        import fcntl

        # A regular file only: a FIFO put in its place is one line, not a read that never returns.
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
        fd, _ = open_regular(self.path, "ledger", flags=flags, mode=0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PipelineError(
                    "another `episode publish youtube` is running with this ledger", path=self.path
                ) from None
            handle.seek(0)
            self._read(handle)
            self._handle = handle
            try:
                yield self
            finally:
                self._handle = None

    def _read(self, handle: IO[bytes]) -> None:
        """Each line in turn, none held past `MAX_LEDGER_LINE`: a line that is too long, not
        UTF-8 or not an entry is unreadable (its number kept), the others are read."""
        for number in itertools.count(1):
            raw = handle.readline(MAX_LEDGER_LINE + 1)
            if not raw:
                return
            if len(raw) > MAX_LEDGER_LINE and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # the rest of that line, never held whole
                    raw = handle.readline(MAX_LEDGER_LINE)
                self.unreadable.append(number)
                continue
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw.decode("utf-8"))
                if not isinstance(entry, dict):
                    raise ValueError
                if entry.get("event") == "call":
                    day, units = str(entry["quota_day"]), int(entry["units"])
                    self.units[day] = self.units.get(day, 0) + units
                elif entry.get("event") == "sent":
                    stored = entry.get("stored")
                    self.sent[str(entry["video"])] = Sent(
                        str(entry["time"]),
                        str(entry["description"]),
                        stored if isinstance(stored, str) else None,
                    )
            except (ValueError, KeyError, TypeError, RecursionError):
                self.unreadable.append(number)

    def append(self, entry: Mapping[str, Any]) -> None:
        assert self._handle is not None, "the ledger is not open"
        record = {"time": _stamp(self.clock()), **entry}
        self._handle.write((json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def used_today(self) -> int:
        return self.units.get(quota_day(self.clock()), 0)

    def record_call(self, method: str, units: int) -> None:
        day = quota_day(self.clock())
        self.units[day] = self.units.get(day, 0) + units
        self.append({"event": "call", "method": method, "units": units, "quota_day": day})

    def record_sent(self, video_id: str, post: str, description: str, stored: str | None) -> None:
        entry: dict[str, Any] = {
            "event": "sent",
            "video": video_id,
            "post": post,
            "description": description,
            "sha256": hashlib.sha256(description.encode("utf-8")).hexdigest(),
        }
        if stored is not None and normalized(stored) != normalized(description):
            entry["stored"] = stored  # what YouTube says it kept, when that is not what we sent
        self.append(entry)
        self.sent[video_id] = Sent(_stamp(self.clock()), description, entry.get("stored"))


def save_backup(folder: Path, video_id: str, description: str, moment: dt.datetime) -> Path:
    """`<folder>/<video id>/<UTC time>.txt`, mode 0600, never overwriting an earlier one."""
    target = private_folder(folder / video_id)
    stamp = moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    for n in itertools.count():
        path = target / (f"{stamp}.txt" if n == 0 else f"{stamp}-{n}.txt")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(description.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, 0o600)
        return path
    raise AssertionError("unreachable")  # pragma: no cover
