"""The send journal: which reader got which post, so that a list is sent at most once per reader.

An SQLite file in the project's state folder (`Settings.state_dir`, mode 0700), itself 0600:
it holds addresses. Each recipient is claimed as `sending` (in one transaction that checks the
record is still what the run planned from) before its SMTP transaction, and recorded `sent`,
`failed` (a 5xx answer, final) or `deferred` (a 4xx answer, retried on the next run) after it. A
recipient still at `sending` was being sent when the process died: the server may or may not
have the message ("in doubt").

A list send holds an exclusive `flock` on `send-journal.lock` beside the journal from before its
question to its end (a killed run's lock goes with its process): a second send stops, or waits
with `--wait`. A dry run reads the journal without the lock and writes nothing.

A post is known by its identity (`pipeline.mail.sending.post_identity`): its stem for a post in the
site's `_posts/`, its resolved path for any other post. Rows written before identities and
digests were kept have the stem and no digest; they keep working (`records`). The digest of the
newsletter each reader got is kept with the reader, so a send of a changed post can say how many
readers got an earlier version.

A journal that is damaged, not an SQLite file, or holds a `deliveries` table of another shape
is one error before anything is sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import PipelineError
from ..processes import pid_alive
from ..user_files import check_regular, open_regular, private_folder

JOURNAL_NAME = "send-journal.sqlite3"
LOCK_NAME = "send-journal.lock"
SENDING, SENT, FAILED, DEFERRED = "sending", "sent", "failed", "deferred"

_FIRST_COLUMNS = ("post", "address_key", "address", "status", "reply", "updated")
"""The columns of a journal written before post identities and digests."""
_COLUMNS = (*_FIRST_COLUMNS, "digest", "run")
_KEY = ("post", "address_key")

_SCHEMA = """
CREATE TABLE deliveries (
    post TEXT NOT NULL,
    address_key TEXT NOT NULL,
    address TEXT NOT NULL,
    status TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,
    digest TEXT,
    run TEXT,
    PRIMARY KEY (post, address_key)
)
"""
# `post`: the post's identity. `address_key`: the reader as compared (`Recipient.key`).
# `digest`: of the newsletter the reader was sent (NULL: written before digests were kept).
# `run`: the run that last claimed the reader (NULL: likewise).


@dataclass(frozen=True)
class Record:
    address: str
    status: str
    reply: str
    updated: str = ""
    digest: str | None = None
    run: str | None = None

    @property
    def state(self) -> tuple[str, str, str | None]:
        """What a claim checks is unchanged since the run read it."""
        return self.status, self.updated, self.run


def journal_path(state_dir: Path) -> Path:
    return state_dir / JOURNAL_NAME


def lock_path(state_dir: Path) -> Path:
    return state_dir / LOCK_NAME


def running_send(state_dir: Path) -> int | None:
    """The process id of the send holding the journal now, as far as its lock file says (read
    without taking the lock: for a dry run). A holder empties the file when it lets go."""
    try:
        fd = os.open(lock_path(state_dir), os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    finally:
        os.close(fd)
    if not text.isdigit() or int(text) == os.getpid():
        return None
    return int(text) if pid_alive(int(text)) else None  # killed: its lock went with it


def _holder(fd: int) -> str:
    """` (process 1234)` from what the holder wrote into the lock file, or nothing."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


def _take_lock(state_dir: Path, wait: bool, waiting: Callable[[str], None] | None) -> int:
    """An open descriptor of the lock file, holding an exclusive flock on it."""
    import fcntl

    path = lock_path(state_dir)
    journal = journal_path(state_dir)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise PipelineError(f"cannot open the send journal's lock: {exc.strerror}", path=path) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise PipelineError(
                    f"another send{holder} is using this send journal: wait for it to finish, "
                    "or pass --wait to start when it does",
                    path=journal,
                ) from None
            if waiting is not None:
                waiting(f"waiting: another send{holder} is using {journal}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    except OSError as exc:
        os.close(fd)
        raise PipelineError(f"cannot lock the send journal: {exc.strerror}", path=path) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _damaged(path: Path, reason: object) -> PipelineError:
    return PipelineError(
        f"the send journal is damaged ({reason}); nothing sent: restore it from a backup "
        "(without it every reader on record would be mailed again)",
        path=path,
    )


class Journal:
    """One journal file; every state change is committed before the caller goes on.

    `Journal.locked` for a send (the lock held until `close`), `Journal.existing` for a dry run.
    """

    def __init__(
        self, path: Path, db: sqlite3.Connection, columns: tuple[str, ...], lock: int | None
    ) -> None:
        self.path = path
        self._db = db
        self._columns = columns
        self._lock = lock

    @classmethod
    def locked(
        cls, state_dir: Path, *, wait: bool = False, waiting: Callable[[str], None] | None = None
    ) -> Journal:
        """The journal, created if need be, with this process holding its lock.

        Another holder: a PipelineError, or with `wait` a line to `waiting` and a wait for it.
        """
        private_folder(state_dir)
        lock = _take_lock(state_dir, wait, waiting)
        path = journal_path(state_dir)
        try:
            try:
                # Created 0600 before SQLite opens it; SQLite gives its -wal/-shm files the same mode.
                fd, _ = open_regular(path, "journal", flags=os.O_RDWR | os.O_CREAT, mode=0o600)
                os.close(fd)  # a FIFO in its place is one line, not a hang inside SQLite
                os.chmod(path, 0o600)
            except OSError as exc:
                raise PipelineError(f"cannot create the send journal: {exc.strerror}", path=path) from None
            db, columns = _opened(path, read_only=False)
        except BaseException:
            os.close(lock)
            raise
        return cls(path, db, columns, lock)

    @classmethod
    def existing(cls, state_dir: Path) -> Journal | None:
        """The journal when there is one, opened read-only and without the lock (a dry run)."""
        path = journal_path(state_dir)
        if not path.exists():
            return None
        check_regular(path, "journal")
        db, columns = _opened(path, read_only=True)
        return cls(path, db, columns, None)

    def close(self) -> None:
        """Close the database, then let go of the lock (its process id wiped first)."""
        try:
            self._db.close()
        finally:
            if self._lock is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(self._lock, 0)
                os.close(self._lock)
                self._lock = None

    def _rows(self, where: str, values: tuple[str, ...]) -> dict[str, Record]:
        if not self._columns:  # a dry run on a journal with no table yet
            return {}
        extra = "digest, run" if "digest" in self._columns else "NULL, NULL"
        try:
            rows = self._db.execute(
                f"SELECT address_key, address, status, reply, updated, {extra} FROM deliveries WHERE {where}",
                values,
            ).fetchall()
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None
        return {
            str(key): Record(str(address), str(status), str(reply), str(updated), digest, run)
            for key, address, status, reply, updated, digest, run in rows
        }

    def records(self, post: str, legacy: str | None = None, *, adopt: bool = False) -> dict[str, Record]:
        """Every recipient of `post` on record, by `Recipient.key`.

        `legacy`: when `post` has no rows, the rows written under that name (the post's stem)
        before identities were kept, which are then this post's; with `adopt` they are
        rewritten under `post`, so that no other post of that stem takes them for its own.
        """
        found = self._rows("post = ?", (post,))
        if found or legacy is None or legacy == post:
            return found
        condition = "post = ?" + (" AND digest IS NULL AND run IS NULL" if "digest" in self._columns else "")
        found = self._rows(condition, (legacy,))
        if found and adopt:
            self._write(
                "UPDATE deliveries SET post = ? WHERE post = ? AND digest IS NULL AND run IS NULL",
                (post, legacy),
            )
        return found

    def _write(self, sql: str, values: tuple[str | None, ...]) -> None:
        try:
            self._db.execute(sql, values)
        except sqlite3.Error as exc:
            raise PipelineError(f"cannot write the send journal: {exc}", path=self.path) from None

    def claim(self, post: str, key: str, address: str, planned: Record | None, digest: str, run: str) -> bool:
        """Mark one recipient `sending` for `run`, in one transaction, when its record is still
        `planned` (None: no record); False, and nothing written, when another run changed it."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT status, updated, run FROM deliveries WHERE post = ? AND address_key = ?",
                    (post, key),
                ).fetchone()
                if (row is None) != (planned is None) or (
                    row is not None and planned is not None and tuple(row) != planned.state
                ):
                    db.execute("ROLLBACK")
                    return False
                db.execute(
                    "INSERT INTO deliveries "
                    "(post, address_key, address, status, reply, updated, digest, run) "
                    "VALUES (?, ?, ?, ?, '', ?, ?, ?) ON CONFLICT (post, address_key) DO UPDATE SET "
                    "address = excluded.address, status = excluded.status, reply = excluded.reply, "
                    "updated = excluded.updated, digest = excluded.digest, run = excluded.run",
                    (post, key, address, SENDING, now, digest, run),
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise PipelineError(f"cannot write the send journal: {exc}", path=self.path) from None
        return True

    def mark(self, post: str, key: str, status: str, reply: str = "") -> None:
        """Record what the server said to a claimed recipient, committed before this returns."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._write(
            "UPDATE deliveries SET status = ?, reply = ?, updated = ? WHERE post = ? AND address_key = ?",
            (status, reply, now, post, key),
        )

    def forget(self, post: str, key: str, run: str) -> None:
        """No record: the message certainly did not reach the server (the next run sends it)."""
        self._write("DELETE FROM deliveries WHERE post = ? AND address_key = ? AND run = ?", (post, key, run))


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection; `read_only` refuses writes (`query_only`) but is not SQLite's `mode=ro`,
    which leaves the `-wal` and `-shm` files of a WAL journal behind."""
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise PipelineError(f"cannot open the send journal: {exc}", path=path) from None
    try:
        db.execute("PRAGMA busy_timeout=10000")
        if read_only:
            db.execute("PRAGMA query_only=ON")
    except sqlite3.Error as exc:
        db.close()
        raise _damaged(path, exc) from None
    return db


def _opened(path: Path, *, read_only: bool) -> tuple[sqlite3.Connection, tuple[str, ...]]:
    """The journal's database and its columns, checked as `_checked` does; closed on failure."""
    db = _connect(path, read_only=read_only)
    try:
        return db, _checked(db, path, writable=not read_only)
    except BaseException:
        db.close()
        raise


def _checked(db: sqlite3.Connection, path: Path, *, writable: bool) -> tuple[str, ...]:
    """The columns of the journal's table, once it is known to be a sound journal of this tool
    (nothing written before that); a writable journal then gets WAL and the table, or the
    columns added since."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            found = (re.sub(r"^\*\*\* in database \w+ \*\*\*\s*", "", str(p)) for p in problems[:3])
            raise _damaged(path, "; ".join(found))
        info = db.execute("PRAGMA table_info(deliveries)").fetchall()
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from None
    columns = tuple(str(row[1]) for row in info)
    key = tuple(str(row[1]) for row in sorted(info, key=lambda row: row[5]) if row[5])
    if info and (set(columns) not in (set(_FIRST_COLUMNS), set(_COLUMNS)) or key != _KEY):
        raise PipelineError(
            f"not a send journal of this tool: its deliveries table has the columns {', '.join(columns)} "
            f"(primary key {', '.join(key) or 'none'}); nothing sent",
            path=path,
        )
    if not writable:
        return columns
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        if not info:
            db.execute(_SCHEMA)
            return _COLUMNS
    except sqlite3.Error as exc:
        raise PipelineError(f"cannot write the send journal: {exc}", path=path) from None
    if "digest" not in columns:
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ALTER TABLE deliveries ADD COLUMN digest TEXT")
            db.execute("ALTER TABLE deliveries ADD COLUMN run TEXT")
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise PipelineError(f"cannot write the send journal: {exc}", path=path) from None
        columns = _COLUMNS
    return columns
