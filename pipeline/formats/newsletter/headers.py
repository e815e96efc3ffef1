"""Email header lines made from text that stays text, whatever characters it holds.

The email package's header classes *parse* the value they are given: an RFC 2047 encoded word
in a post title (`=?utf-8?q?Hi=0D=0ABcc:_x@y.org?=`) is decoded, CR LF included, and the decoded
text is written out, so a title could add headers or replace the body. Here control and bidi
characters never reach a header, and text that holds `=?` is encoded by the project itself
(UTF-8 encoded words made by `email.header.Header`), so a reader shows exactly those
characters. Text without `=?` has nothing to decode and is folded by the email package.

One header line at a time (`unstructured`, `address`, `list_header`); the whole message, the
order of its headers and its MIME parts, is `pipeline.formats.newsletter.message`.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Iterable
from email.header import Header
from email.headerregistry import Address
from email.policy import EmailPolicy

LINESEP = "\r\n"
MAX_LINE = 78
# Never in a header: C0 and C1 controls (CR, LF, NUL …), DEL, the line and paragraph
# separators, and the bidi controls that reorder what a reader sees.
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_BIDI_ONLY = re.compile(f"[{_BIDI}]")
# One plain ASCII address, `local@domain.tld`.
ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,63}$"
)
# What may stand between `<` and `>` in a List-* header: printable ASCII, no space, quote,
# comma or angle bracket (RFC 2369 asks for commas in URLs to be percent-encoded).
LIST_HEADER_ITEM = re.compile(r"^[!#-+\--;=?-~]+$")


class _Policy(EmailPolicy):
    """`email.policy.SMTP`, but a non-ASCII Subject is folded by `email.header.Header`.

    The default folder can split encoded-words at a space, and readers drop white space between
    encoded-words: "a 😀 b" arrived as "a 😀b". Header keeps the spaces inside the words.
    """

    def fold(self, name: str, value: str) -> str:
        if name.lower() == "subject" and not str(value).isascii():
            return f"{name}: {_encoded(str(value), name)}{self.linesep}"
        folded: str = super().fold(name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() == "subject" and not str(value).isascii():
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy(linesep=LINESEP)  # what email.policy.SMTP is, plus the Subject fix


def is_plain_address(value: str) -> bool:
    """One plain ASCII address (`local@domain.tld`) that no reader could take for an encoded word."""
    return ADDR_SPEC.match(value) is not None and "=?" not in value


def unsafe_characters(text: str) -> list[str]:
    """The characters of `text` that may not reach a header, each named once, in order."""
    named: dict[str, None] = {}
    for char in _UNSAFE.findall(text):
        label = unicodedata.name(char, "")
        named[f"U+{ord(char):04X}" + (f" {label}" if label else "")] = None
    return list(named)


def header_text(text: str) -> str:
    """`text` as one header-safe line: controls become spaces, bidi controls go, spaces fold."""
    return " ".join(_UNSAFE.sub(" ", _BIDI_ONLY.sub("", text)).split())


def _encoded(text: str, name: str) -> str:
    """`text` as UTF-8 encoded words, folded for a header called `name`."""
    return Header(text, "utf-8", maxlinelen=MAX_LINE, header_name=name).encode(linesep=LINESEP)


def unstructured(name: str, value: str) -> bytes:
    """One unstructured header line (Subject, Date, Message-ID) showing `value` as written."""
    text = header_text(value)
    if "=?" in text:
        return f"{name}: {_encoded(text, name)}{LINESEP}".encode("ascii")
    return POLICY.fold_binary(name, POLICY.header_factory(name, text))


def list_header(name: str, items: Iterable[str]) -> bytes:
    """`name: <item>, <item>` (RFC 2369: List-Id, List-Unsubscribe), folded between items only.

    Not through `unstructured`: the email package's folder writes a word longer than a line
    (every unsubscribe URL with a token) as RFC 2047 encoded words, which no mail client decodes
    in `List-Unsubscribe`. Each item is checked to be printable ASCII with no space, quote,
    comma or angle bracket (`header_text` leaves it as is), so nothing can end the header or
    add one; a line over 998 bytes (RFC 5322) is refused with ValueError.
    """
    line = f"{name}:"
    width = len(line)
    for index, item in enumerate(items):
        if not LIST_HEADER_ITEM.match(item) or header_text(item) != item or len(item) > 900:
            raise ValueError(f"not usable in {name}: {item!r}")
        piece = f"<{item}>"
        if index:
            line += ","
            width += 1
        if index and width + 1 + len(piece) > MAX_LINE:
            line += LINESEP + " " + piece
            width = 1 + len(piece)
        else:
            line += " " + piece
            width += 1 + len(piece)
    return (line + LINESEP).encode("ascii")


def _encoded_phrase(text: str) -> str:
    """Non-ASCII text as base64 encoded words, split after spaces, each within RFC 2047's 75.

    Readers join adjacent encoded words without the white space between them; Python's
    address parser keeps it, so splitting only after a space changes nothing but that space.
    """
    words: list[str] = []
    chunk = ""
    for piece in re.split(r"(?<= )", text):
        if chunk and len(_b64_word(chunk + piece)) > 75:
            words.append(_b64_word(chunk))
            chunk = ""
        chunk += piece
    words.append(_b64_word(chunk))
    return (LINESEP + " ").join(words)


def _b64_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def _phrase(display: str) -> str:
    """A display name holding `=?`, written so that no reader decodes it into something else.

    ASCII goes in a quoted string with every `?` escaped (Python's parser decodes encoded
    words even inside quotes; `=\\?` is not one); other text as encoded words.
    """
    if display.isascii():
        escaped = re.sub(r'([\\"?])', r"\\\1", display)
        return f'"{escaped}"'
    return _encoded_phrase(display)


def address(name: str, display: str, addr_spec: str) -> bytes:
    """One address header line (From, To): `Display <addr>`, or `addr` alone.

    Raises ValueError for an `addr_spec` that is not one plain address: callers check theirs
    first and say which setting or option was wrong.
    """
    if not is_plain_address(addr_spec):
        raise ValueError(f"not a plain address: {addr_spec!r}")
    shown = header_text(display)
    if "=?" not in shown:
        return POLICY.fold_binary(name, POLICY.header_factory(name, Address(shown, addr_spec=addr_spec)))
    phrase = _phrase(shown)
    last = phrase.rsplit(LINESEP, 1)[-1]
    width = (len(name) + 2 if LINESEP not in phrase else 0) + len(last) + len(addr_spec) + 3
    gap = " " if width <= MAX_LINE else LINESEP + " "
    return f"{name}: {phrase}{gap}<{addr_spec}>{LINESEP}".encode("ascii")
