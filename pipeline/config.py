"""Settings from `[tool.pipeline]` in pyproject.toml: checked once, every problem reported together."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .mail_headers import unsafe_characters

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

DEFAULT_TRACKING_PARAMS = (
    "utm_*",
    "si",
    "ab_channel",
    "fbclid",
    "gclid",
    "dclid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "ref_src",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "yclid",
)

# Sub-tables owned by one output format each; the format module validates its own keys.
FORMAT_TABLES = ("newsletter", "pdf", "youtube", "podcast", "email")


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a build. Frozen: passed to worker processes as is."""

    show_name: str = ""
    author: str = ""
    language: str = "en"
    chapters_heading: str = "Chapters"
    boilerplate_paragraphs: tuple[str, ...] = ()
    boilerplate_sections: tuple[str, ...] = ()
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    site_url: str = ""
    baseurl: str = ""
    permalink: str = "/:year/:month/:day/:title.html"
    formats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = "defaults"

    def table(self, name: str) -> Mapping[str, Any]:
        """The raw `[tool.pipeline.<name>]` table of one output format (empty when absent)."""
        return self.formats.get(name, {})

    def fingerprint(self) -> str:
        """A stable hash of every setting, for the incremental build manifest."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "source"}
        data["formats"] = {k: dict(v) for k, v in self.formats.items()}
        blob = json.dumps(data, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()


_STR_KEYS = (
    "show_name",
    "author",
    "language",
    "chapters_heading",
    "site_url",
    "baseurl",
    "permalink",
)
_LIST_KEYS = ("boilerplate_paragraphs", "boilerplate_sections", "tracking_params")


def settings_from_table(table: Mapping[str, Any], source: str) -> Settings:
    """Build Settings from a `[tool.pipeline]` table, reporting every bad key at once."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    formats: dict[str, Mapping[str, Any]] = {}
    for key, value in table.items():
        if key in _STR_KEYS:
            if not isinstance(value, str):
                problems.append(f"{key}: expected a string, got {type(value).__name__}")
            elif unsafe := unsafe_characters(value):
                # show_name and author reach email headers; none of these has a use for them.
                problems.append(f"{key}: must not contain control or bidi characters ({', '.join(unsafe)})")
            else:
                values[key] = value
        elif key in _LIST_KEYS:
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                values[key] = tuple(value)
            else:
                problems.append(f"{key}: expected a list of strings")
        elif key in FORMAT_TABLES:
            if isinstance(value, dict):
                formats[key] = dict(value)
            else:
                problems.append(f"{key}: expected a table [tool.pipeline.{key}]")
        else:
            problems.append(f"{key}: unknown setting")
    if problems:
        raise ConfigError("; ".join(problems), path=source, field="[tool.pipeline]")
    return Settings(**values, formats=formats, source=source)


def load_settings(path: Path | None = None) -> Settings:
    """Read `[tool.pipeline]` from `path` (default: ./pyproject.toml); defaults when absent."""
    if path is None:
        path = Path("pyproject.toml")
        if not path.is_file():
            return Settings()
    try:
        raw = path.read_bytes().decode("utf-8")
        doc = tomllib.loads(raw)
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None
    table = doc.get("tool", {}).get("pipeline", {})
    if not isinstance(table, dict):
        raise ConfigError("expected a table", path=path, field="[tool.pipeline]")
    return settings_from_table(table, str(path))
