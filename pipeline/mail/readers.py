"""The readers of a list send: a file of addresses, checked, de-duplicated and suppressed.

A list file is one address a line (blank lines and `#` comments skipped), or CSV when its first
line has an `email` column (any other columns are ignored). Addresses are checked with
`email-validator`, without DNS lookups, and kept in its normalised form (an internationalized
domain in Unicode: `reader@xn--bcher-kva.org` is `reader@bücher.org`), which is what is compared,
shown and journalled. The part before the `@` must be ASCII: the `To:` header carries the
address with its domain in ASCII (IDNA), and so does the SMTP envelope unless the server offers
SMTPUTF8. Two addresses are the same reader when their normalised forms are equal ignoring case.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from ..formats.newsletter.headers import is_plain_address


@dataclass(frozen=True)
class Entry:
    """One address as written in a list file, with where it was."""

    line: int
    text: str


@dataclass(frozen=True)
class Recipient:
    """One reader's address, as email-validator normalised it."""

    address: str
    """The normalised form (`reader@bücher.org`): compared, shown, journalled, in the unsubscribe link."""
    ascii: str
    """The same address with its domain in ASCII (`reader@xn--bcher-kva.org`): the `To:` header,
    and the SMTP envelope when the server does not offer SMTPUTF8."""

    @property
    def key(self) -> str:
        """The reader as compared: two addresses equal ignoring case are one reader."""
        return self.address.lower()


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
    recipients: tuple[Recipient, ...]
    invalid: tuple[Refused, ...]
    duplicates: tuple[Refused, ...]
    suppressed: tuple[str, ...]

    @property
    def addresses(self) -> tuple[str, ...]:
        """The readers' addresses, normalised, in file order."""
        return tuple(recipient.address for recipient in self.recipients)

    def problems(self) -> list[str]:
        """One line per address left out for being invalid or a duplicate."""
        return [f"{self.source}:{r.line}: {r.text!r}: {r.reason}" for r in self.invalid + self.duplicates]


def address_problem(text: str) -> tuple[Recipient | None, str | None]:
    """(the reader, None) or (None, why it cannot be mailed)."""
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    ascii_form = checked.ascii_email
    if ascii_form is None or not is_plain_address(ascii_form):
        return None, "not a plain address such as reader@example.org"
    return Recipient(str(checked.normalized), ascii_form), None


def read_entries(path: Path, option: str) -> list[Entry]:
    """The addresses of a list file as written, with their line numbers."""
    from ..user_files import read_text

    # A regular file only (a FIFO or device is one line at once), within the lists' limit.
    text = read_text(path, "list", field=option)
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


def suppressed_keys(entries: Iterable[Entry]) -> set[str]:
    """The addresses of a suppression file, as compared (each normalized when it is valid)."""
    keys = set()
    for entry in entries:
        recipient, _ = address_problem(entry.text)
        keys.add(recipient.key if recipient is not None else entry.text.lower())
    return keys


def load_readers(list_path: Path, suppress_path: Path | None = None) -> Readers:
    """The list's readers: valid, first occurrence only, none of the suppressed addresses."""
    suppress = suppressed_keys(read_entries(suppress_path, "--suppress")) if suppress_path else set()
    seen: dict[str, int] = {}
    recipients: list[Recipient] = []
    invalid: list[Refused] = []
    duplicates: list[Refused] = []
    suppressed: list[str] = []
    for entry in read_entries(list_path, "--list"):
        recipient, problem = address_problem(entry.text)
        if recipient is None:
            invalid.append(Refused(entry.line, entry.text, f"invalid: {problem}"))
            continue
        key = recipient.key
        if key in seen:
            duplicates.append(Refused(entry.line, entry.text, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = entry.line
        if key in suppress:
            suppressed.append(recipient.address)
        else:
            recipients.append(recipient)
    return Readers(str(list_path), tuple(recipients), tuple(invalid), tuple(duplicates), tuple(suppressed))
