"""The readers of a list send: a file of addresses, checked, de-duplicated and suppressed.

A list file is one address a line (blank lines and `#` comments skipped), or CSV when its first
line has an `email` column (any other columns are ignored). Addresses are checked with
`email-validator`, without DNS lookups, and must be plain ASCII (`local@domain.tld`): they go
into the `To:` header and the SMTP envelope. Two addresses are the same reader when they are
equal ignoring case.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .errors import PipelineError
from .mail_headers import is_plain_address

MAX_LIST_BYTES = 50_000_000


@dataclass(frozen=True)
class Entry:
    """One address as written in a list file, with where it was."""

    line: int
    text: str


@dataclass(frozen=True)
class Refused:
    """An address that will not be mailed, and why (`invalid` or `duplicate`)."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class Readers:
    """Who a list send goes to, in file order, and who it leaves out."""

    source: str
    addresses: tuple[str, ...]
    invalid: tuple[Refused, ...]
    duplicates: tuple[Refused, ...]
    suppressed: tuple[str, ...]

    def problems(self) -> list[str]:
        """One line per address left out for being invalid or a duplicate."""
        return [f"{self.source}:{r.line}: {r.text!r}: {r.reason}" for r in self.invalid + self.duplicates]


def address_problem(text: str) -> tuple[str | None, str | None]:
    """(the normalized address, None) or (None, why it cannot be mailed)."""
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    normalized = str(checked.normalized)
    if not is_plain_address(normalized):
        return None, "not a plain address such as reader@example.org"
    return normalized, None


def read_entries(path: Path, option: str) -> list[Entry]:
    """The addresses of a list file as written, with their line numbers."""
    try:
        if path.stat().st_size > MAX_LIST_BYTES:
            raise PipelineError(f"over {MAX_LIST_BYTES:,} bytes", path=path, field=option)
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise PipelineError("file not found", path=path, field=option) from None
    except IsADirectoryError:
        raise PipelineError("is a folder, not a list of addresses", path=path, field=option) from None
    except UnicodeDecodeError as exc:
        raise PipelineError(f"not UTF-8 text ({exc.reason})", path=path, field=option) from None
    except OSError as exc:
        raise PipelineError(f"cannot be read: {exc.strerror}", path=path, field=option) from None
    first = text.splitlines()[0] if text.strip() else ""
    header = next(csv.reader([first]), []) if first else []
    columns = [cell.strip().lower() for cell in header]
    if "email" in columns:
        return _csv_entries(text, columns.index("email"))
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            entries.append(Entry(number, stripped))
    return entries


def _csv_entries(text: str, column: int) -> list[Entry]:
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    entries = []
    for row in reader:
        value = row[column].strip() if column < len(row) else ""
        if value:
            entries.append(Entry(reader.line_num, value))
    return entries


def _key(address: str) -> str:
    return address.lower()


def suppressed_keys(entries: Iterable[Entry]) -> set[str]:
    """The addresses of a suppression file, as compared (each normalized when it is valid)."""
    keys = set()
    for entry in entries:
        normalized, _ = address_problem(entry.text)
        keys.add(_key(normalized or entry.text))
    return keys


def load_readers(list_path: Path, suppress_path: Path | None = None) -> Readers:
    """The list's readers: valid, first occurrence only, none of the suppressed addresses."""
    suppress = suppressed_keys(read_entries(suppress_path, "--suppress")) if suppress_path else set()
    seen: dict[str, int] = {}
    addresses: list[str] = []
    invalid: list[Refused] = []
    duplicates: list[Refused] = []
    suppressed: list[str] = []
    for entry in read_entries(list_path, "--list"):
        normalized, problem = address_problem(entry.text)
        if normalized is None:
            invalid.append(Refused(entry.line, entry.text, f"invalid: {problem}"))
            continue
        key = _key(normalized)
        if key in seen:
            duplicates.append(Refused(entry.line, entry.text, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = entry.line
        if key in suppress:
            suppressed.append(normalized)
        else:
            addresses.append(normalized)
    return Readers(str(list_path), tuple(addresses), tuple(invalid), tuple(duplicates), tuple(suppressed))
