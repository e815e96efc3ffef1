"""Read one post file: bytes to text, front matter with line numbers, honest field types.

python-frontmatter returns empty metadata without an error for a BOM, an unclosed `---`,
CR-only line ends or TOML, and strips the body (so its line numbers are off); this reader
decodes and splits the file itself and composes the YAML so that every error has a line.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml

from ..errors import SourceError, UnreadableSource
from ..text.chapters import parse_time
from ..user_files import UserFileError, read_bytes

MAX_POST_BYTES = 5 * 1024 * 1024
MAX_FRONT_MATTER_CHARS = 64 * 1024
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_BIDI = "\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c"
BIDI_CONTROLS = re.compile(f"[{_BIDI}]")
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# No reader sees these: C0 controls but tab and newline, DEL, C1 controls, bidi controls, the
# zero-width space and U+FEFF (a BOM pasted mid-text). A body loses them (each reported); the
# lossless check folds them away. A soft hyphen, ZWJ and ZWNJ are text: they decide where a word
# may break and how letters join, so they stay.
INVISIBLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u200b\ufeff]")
DATE_IN_NAME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
WRONG_CASE_KEYS = {"youtubeid": "youtubeID", "youtube_id": "youtubeID", "youtube": "youtubeID"}


@dataclass(frozen=True)
class FrontMatter:
    """The validated fields every output relies on."""

    title: str
    date: dt.datetime
    youtube_id: str | None = None
    substack_url: str | None = None
    description: str | None = None
    categories: tuple[str, ...] = ()
    duration: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    """Every key as YAML constructed it (order kept), for templates that want more."""


@dataclass(frozen=True)
class RawPost:
    """A post split into its parts; line numbers refer to the file on disk."""

    path: Path
    front_matter_text: str
    body: str
    body_line: int
    front_matter: FrontMatter
    text: str = ""
    """The whole file as decoded (UTF-8, `\n` line ends)."""

    @property
    def stem(self) -> str:
        return self.path.stem


def decode(data: bytes, path: Path) -> str:
    """UTF-8 text (a BOM accepted) with `\\n` line ends, or a SourceError saying why not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SourceError("the file is UTF-16; save it as UTF-8", path=path)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SourceError("the file contains NUL bytes (is it a binary file?)", path=path, line=line)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            path=path,
            line=line,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """(front matter, body, first body line) of a post that starts with a `---` line."""
    if not text.strip():
        raise SourceError("the file is empty", path=path, line=1)
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        if first.startswith("+++"):
            raise SourceError(
                "TOML front matter (+++) is not supported; use YAML between --- lines",
                path=path,
                line=1,
            )
        if first.lstrip().startswith("{"):
            raise SourceError(
                "JSON front matter is not supported; use YAML between --- lines", path=path, line=1
            )
        raise SourceError("no front matter: a post must start with a '---' line", path=path, line=1)
    lines = rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip() in ("---", "..."):
            front = "\n".join(lines[:index])
            body = "\n".join(lines[index + 1 :])
            return (front + "\n" if front else ""), body, index + 3
    raise SourceError("the front matter is not closed: no second '---' line", path=path, line=1)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (billion-laughs) in front matter."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            # types-PyYAML leaves Parser.peek_event unannotated; this pure-Python loader's
            # events carry yaml.Mark positions.
            peek_event: Callable[[], yaml.AliasEvent] = self.peek_event
            mark = cast("yaml.Mark | None", peek_event().start_mark)
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in front matter", mark
            )
        return super().compose_node(parent, index)


def _yaml_line(exc: yaml.YAMLError) -> int | None:
    # Where the construct left open starts (an unclosed `[` or quote), else where it broke.
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    return mark.line + 2 if mark is not None else None


def _compose(front: str, path: Path) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    if len(front) > MAX_FRONT_MATTER_CHARS:
        raise SourceError(f"front matter is over {MAX_FRONT_MATTER_CHARS // 1024} KB", path=path, line=2)
    if not front.strip():
        raise SourceError("the front matter is empty", path=path, line=2, field="title")
    try:
        node = yaml.compose(front, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(f"invalid YAML: {problem}", path=path, line=_yaml_line(exc)) from None
    except RecursionError:
        raise SourceError("the front matter is nested too deeply", path=path, line=2) from None
    if not isinstance(node, yaml.MappingNode):
        raise SourceError("front matter must be 'key: value' lines", path=path, line=2)
    pairs: list[tuple[yaml.ScalarNode, yaml.Node]] = []
    seen: dict[str, int] = {}
    for key, value in node.value:
        line = key.start_mark.line + 2
        if not isinstance(key, yaml.ScalarNode):
            raise SourceError("a key must be plain text", path=path, line=line)
        if BIDI_CONTROLS.search(key.value) or CONTROL_CHARS.search(key.value):
            # The key as written: the message shows each hidden character escaped (`yo\u202eutubeID`).
            raise SourceError(
                "the key contains invisible control characters; retype it",
                path=path,
                line=line,
                field=key.value,
            )
        if key.value in seen:
            raise SourceError(
                f"duplicate key (first on line {seen[key.value]})",
                path=path,
                line=line,
                field=key.value,
            )
        seen[key.value] = line
        pairs.append((key, value))
    return pairs


def _construct(node: yaml.Node, key: str, path: Path) -> Any:
    loader = _StrictLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except RecursionError:
        raise SourceError(
            "the value is nested too deeply", path=path, line=node.start_mark.line + 2, field=key
        ) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "Exceeds the limit" in problem:  # Python's own hint names an interpreter setting
            problem = f"a number with over {sys.get_int_max_str_digits()} digits; quote it if it is text"
        if "Exceeds the limit" in problem:  # Python's own hint names an interpreter setting
            problem = f"a number with over {sys.get_int_max_str_digits()} digits; quote it if it is text"
        raise SourceError(
            f"cannot read the value: {problem}", path=path, line=node.start_mark.line + 2, field=key
        ) from None
    finally:
        loader.dispose()


def _cut_by_comment(node: yaml.Node, front: str) -> bool:
    """True when an unquoted value is followed by ` #…` on its line (YAML dropped it as a comment)."""
    if not isinstance(node, yaml.ScalarNode) or node.style is not None:
        return False
    line = front.split("\n")[node.end_mark.line]
    return line[node.end_mark.column :].lstrip().startswith("#")


def _text_field(name: str, value: Any, node: yaml.Node, front: str, path: Path) -> str:
    line = node.start_mark.line + 2
    if isinstance(value, bool):
        raise SourceError(
            f"YAML reads '{getattr(node, 'value', value)}' as true/false; put the text in quotes",
            path=path,
            line=line,
            field=name,
        )
    if not isinstance(value, str):
        raise SourceError(f"expected text, got {_type_name(value)}", path=path, line=line, field=name)
    if _cut_by_comment(node, front):
        raise SourceError(
            f"an unquoted ' #' starts a YAML comment, so the value was cut to '{value}'; put it in quotes",
            path=path,
            line=line,
            field=name,
        )
    if "\n" in value.strip() or "\r" in value:
        raise SourceError("contains a line break", path=path, line=line, field=name)
    if CONTROL_CHARS.search(value):
        raise SourceError("contains control characters", path=path, line=line, field=name)
    if BIDI_CONTROLS.search(value):
        raise SourceError("contains bidirectional control characters", path=path, line=line, field=name)
    return " ".join(value.split())


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _parse_date(value: Any, node: yaml.Node | None, path: Path) -> dt.datetime:
    line = node.start_mark.line + 2 if node is not None else None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        text = value.strip()
        for pattern in (
            "%Y-%m-%d %H:%M:%S %z",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S%z",
            "%Y-%m-%d %H:%M %z",
            "%Y-%m-%d %H:%M",
        ):
            try:
                parsed = dt.datetime.strptime(text, pattern)
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise SourceError(
        f"'{value}' is not a date (expected YYYY-MM-DD HH:MM:SS +0000)",
        path=path,
        line=line,
        field="date",
    )


def _date_from_name(path: Path) -> dt.datetime:
    match = DATE_IN_NAME.match(path.name)
    if not match:
        raise SourceError(
            "missing, and the file name does not start with YYYY-MM-DD", path=path, field="date"
        )
    year, month, day = (int(group) for group in match.groups())
    try:
        return dt.datetime(year, month, day, tzinfo=dt.UTC)
    except ValueError:
        raise SourceError(
            "missing, and the date in the file name is not a real date", path=path, field="date"
        ) from None


def _youtube_id(node: yaml.Node, path: Path) -> str | None:
    # The raw scalar: YAML would turn 0012345 or 1:2:3 into numbers.
    line = node.start_mark.line + 2
    if not isinstance(node, yaml.ScalarNode):
        raise SourceError("expected an 11-character video id", path=path, line=line, field="youtubeID")
    raw: str = node.value.strip()
    if node.style is None and raw in ("", "~", "null", "Null", "NULL"):
        return None
    if YOUTUBE_ID.match(raw):
        return raw
    hint = "; use only the id, not the URL" if "/" in raw or "." in raw else ""
    shown = raw if len(raw) <= 60 else raw[:57] + "..."
    raise SourceError(
        f"'{shown}' is not a YouTube video id (11 characters of A-Z a-z 0-9 _ -){hint}",
        path=path,
        line=line,
        field="youtubeID",
    )


def _categories(value: Any, line: int, path: Path, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())  # Jekyll splits a categories string on spaces
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return tuple(str(v) for v in value)
    raise SourceError("expected a list of words", path=path, line=line, field=name)


def _duration(node: yaml.Node, value: Any, path: Path) -> int | None:
    line = node.start_mark.line + 2
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        if isinstance(node, yaml.ScalarNode) and ":" in node.value:
            seconds = parse_time(node.value)  # YAML 1.1 read 1:02:03 as base 60; re-read it
            if seconds:
                return seconds
        return value
    if isinstance(value, str):
        seconds = parse_time(value)
        if seconds:
            return seconds
    raise SourceError(
        f"'{value}' is not a duration (seconds or H:MM:SS)", path=path, line=line, field="duration"
    )


def parse_front_matter(front: str, path: Path) -> FrontMatter:
    """Validate the front matter; the first problem raises a SourceError with file, line, field."""
    pairs = _compose(front, path)
    nodes = {key.value: (key, value) for key, value in pairs}
    for key in nodes:
        meant = WRONG_CASE_KEYS.get(key.lower())
        if meant and key != meant and meant not in nodes:
            raise SourceError(
                f"unknown key; did you mean '{meant}'?",
                path=path,
                line=nodes[key][0].start_mark.line + 2,
                field=key,
            )
    values = {key: _construct(node, key, path) for key, (_, node) in nodes.items()}

    if "title" not in nodes:
        raise SourceError("missing (every post needs a title)", path=path, line=2, field="title")
    title = _text_field("title", values["title"], nodes["title"][1], front, path)
    if not title:
        raise SourceError("is empty", path=path, line=nodes["title"][1].start_mark.line + 2, field="title")

    youtube_id = _youtube_id(nodes["youtubeID"][1], path) if "youtubeID" in nodes else None

    optional_text: dict[str, str | None] = {}
    for name in ("substack_url", "description", "excerpt"):
        if values.get(name) is None:
            optional_text[name] = None
        else:
            optional_text[name] = _text_field(name, values[name], nodes[name][1], front, path)
    substack_url = optional_text["substack_url"]
    if substack_url and not substack_url.startswith("https://"):
        raise SourceError(
            "must be an https:// address",
            path=path,
            line=nodes["substack_url"][1].start_mark.line + 2,
            field="substack_url",
        )
    categories: tuple[str, ...] = ()
    for name in ("categories", "category"):
        if name in nodes:
            categories += _categories(values[name], nodes[name][1].start_mark.line + 2, path, name)
    duration = _duration(nodes["duration"][1], values["duration"], path) if "duration" in nodes else None
    date = (
        _parse_date(values["date"], nodes["date"][1], path)
        if values.get("date") is not None
        else _date_from_name(path)
    )

    return FrontMatter(
        title=title,
        date=date,
        youtube_id=youtube_id,
        substack_url=substack_url,
        description=optional_text["description"] or optional_text["excerpt"],
        categories=categories,
        duration=duration,
        values=values,
    )


def read_post(path: Path) -> RawPost:
    """Read and validate one post file."""
    return read_post_file(path)[1]


def read_post_file(path: Path) -> tuple[bytes, RawPost]:
    """`read_post`, and the file's bytes as read (for a caller that compares or edits them)."""
    try:
        # A regular file only (a FIFO or a device is one line, at once), never more than 5 MB read.
        data = read_bytes(path, "post", limit=MAX_POST_BYTES)
    except UserFileError as exc:
        error = UnreadableSource if exc.transient else SourceError
        raise error(exc.message, path=path) from None
    text = decode(data, path)
    front, body, body_line = split_front_matter(text, path)
    return data, RawPost(path, front, body, body_line, parse_front_matter(front, path), text)
