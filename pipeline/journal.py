"""The send journal: which reader got which post, so that a list is sent at most once per reader.

An SQLite file in the project's state folder (`Settings.state_dir`, mode 0700), itself 0600:
it holds addresses. Each recipient is recorded as `sending` (committed) before its SMTP
transaction and `sent`, `failed` (a 5xx answer, final) or `deferred` (a 4xx answer, retried
on the next run) after it. A recipient still at `sending` was being sent when the process
died: the server may or may not have the message ("in doubt").
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .errors import PipelineError

JOURNAL_NAME = "send-journal.sqlite3"
SENDING, SENT, FAILED, DEFERRED = "sending", "sent", "failed", "deferred"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    post TEXT NOT NULL,
    address_key TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,
    PRIMARY KEY (post, address_key)
)
"""


@dataclass(frozen=True)
class Record:
    address: str
    status: str
    reply: str


def journal_path(state_dir: Path) -> Path:
    return state_dir / JOURNAL_NAME


def _private_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as exc:
        raise PipelineError(f"cannot create the state folder: {exc.strerror}", path=folder) from None


class Journal:
    """One journal file; every state change is committed before the caller goes on."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if create:
            _private_folder(path.parent)
            try:
                # Created 0600 before SQLite opens it; SQLite gives its -wal/-shm files the same mode.
                os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
                os.chmod(path, 0o600)
            except OSError as exc:
                raise PipelineError(f"cannot create the send journal: {exc.strerror}", path=path) from None
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise PipelineError(f"cannot use the send journal: {exc}", path=path) from None

    @classmethod
    def existing(cls, state_dir: Path) -> Journal | None:
        """The journal when there is one (a dry run creates nothing)."""
        path = journal_path(state_dir)
        return cls(path, create=False) if path.is_file() else None

    def close(self) -> None:
        self._db.close()

    def records(self, post: str) -> dict[str, Record]:
        """Every recipient of `post` on record, by lower-cased address."""
        rows = self._db.execute(
            "SELECT address_key, address, status, reply FROM deliveries WHERE post = ?", (post,)
        )
        return {key: Record(address, status, reply) for key, address, status, reply in rows}

    def mark(self, post: str, address: str, status: str, reply: str = "") -> None:
        """Record `status` for one recipient, committed (to disk) before this returns."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        try:
            self._db.execute(
                "INSERT INTO deliveries (post, address_key, address, status, reply, updated) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post, address_key) DO UPDATE SET "
                "address = excluded.address, status = excluded.status, reply = excluded.reply, "
                "updated = excluded.updated",
                (post, address.lower(), address, status, reply, now),
            )
        except sqlite3.Error as exc:
            raise PipelineError(f"cannot write the send journal: {exc}", path=self.path) from None

    def forget(self, post: str, address: str) -> None:
        """No record: the message certainly did not reach the server (the next run sends it)."""
        try:
            self._db.execute(
                "DELETE FROM deliveries WHERE post = ? AND address_key = ?", (post, address.lower())
            )
        except sqlite3.Error as exc:
            raise PipelineError(f"cannot write the send journal: {exc}", path=self.path) from None
