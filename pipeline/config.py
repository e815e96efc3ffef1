"""Settings from `[tool.pipeline]` in pyproject.toml: checked once, every problem reported together."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .mail_headers import unsafe_characters

# Installed from a wheel, the templates are package data inside `pipeline/`; in the project's
# checkout (and an editable install) they are the repository's top-level `templates/` folder.
_PACKAGED_TEMPLATES = Path(str(resources.files("pipeline"))) / "templates"
TEMPLATES_DIR = (
    _PACKAGED_TEMPLATES
    if _PACKAGED_TEMPLATES.is_dir()
    else Path(__file__).resolve().parent.parent / "templates"
)

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

# Jekyll's named permalink styles (`permalink: pretty` in _config.yml); `date` is its default.
PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
# The placeholders a post's URL is built from here: Jekyll's, less those named below.
PERMALINK_PLACEHOLDERS = frozenset(
    {
        "year",
        "month",
        "day",
        "i_month",
        "i_day",
        "short_year",
        "y_day",
        "title",
        "slug",
        "name",
        "categories",
        "output_ext",
    }
)
# Jekyll's but not resolved here: the date is the file name's (no time of day), month and day
# names differ between Jekyll versions, collections are not read.
_UNSUPPORTED_PLACEHOLDERS = frozenset(
    {
        "hour",
        "minute",
        "second",
        "short_month",
        "long_month",
        "week",
        "w_year",
        "w_day",
        "short_day",
        "long_day",
        "path",
        "collection",
    }
)
PERMALINK_PLACEHOLDER = re.compile(r":([a-z_]+)")


def permalink_template(setting: str) -> str:
    """The pattern of a `permalink` setting: a named style expanded, anything else as written."""
    return PERMALINK_STYLES.get(setting, setting)


def placeholder_name(token: str) -> str | None:
    """The placeholder a `:token` names, as Jekyll reads it (`:year_` is `:year` then `_`)."""
    if token in PERMALINK_PLACEHOLDERS:
        return token
    if token.endswith("_") and token[:-1] in PERMALINK_PLACEHOLDERS:
        return token[:-1]
    return None


def permalink_problem(setting: str) -> str | None:
    """Why a `permalink` setting cannot be used, or None."""
    if setting in PERMALINK_STYLES:
        return None
    if not setting.startswith("/"):
        styles = ", ".join(PERMALINK_STYLES)
        return f"permalink: {setting!r} must start with '/' or be one of the named styles {styles}"
    unknown = [t for t in PERMALINK_PLACEHOLDER.findall(setting) if placeholder_name(t) is None]
    if not unknown:
        return None
    named = ", ".join(dict.fromkeys(f"':{t}'" for t in unknown))
    if all(t.rstrip("_") in _UNSUPPORTED_PLACEHOLDERS for t in unknown):
        return f"permalink: placeholder {named} is not supported"
    return f"permalink: unknown placeholder {named}"


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
    permalink: str = "date"  # a named style of PERMALINK_STYLES or a pattern starting with '/'
    formats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = "defaults"
    sources: tuple[str, ...] = ()
    """Where the settings came from, as the first line of a command shows them."""
    template_overrides: str = ""
    """The site's own `templates/` folder beside its settings (empty: none): its files replace
    the bundled templates of the same name."""

    def table(self, name: str) -> Mapping[str, Any]:
        """The raw `[tool.pipeline.<name>]` table of one output format (empty when absent)."""
        return self.formats.get(name, {})

    @property
    def state_dir(self) -> Path:
        """`.episode/` beside the settings file in use (the current folder without one): what
        sending and publishing remember (journals, ledgers, backups). Never under the output
        folder, never pruned; created by whoever writes into it, mode 0700."""
        origin = Path(self.source)
        return (origin.resolve().parent if origin.is_file() else Path.cwd()) / ".episode"

    def fingerprint(self) -> str:
        """A stable hash of every setting, for the incremental build manifest."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("source", "sources")}
        if self.template_overrides:  # what the overrides say, not only where they are
            data["template_overrides"] = _hash_folder(Path(self.template_overrides))
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
            elif key == "permalink" and (problem := permalink_problem(value)):
                problems.append(problem)
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


def _hash_folder(folder: Path) -> str:
    """A hash of every file's name and bytes under `folder`."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# Tables that look like ours but are not read: a typo must not be ignored silently.
LOOK_ALIKES = ("pipeline", "episode", "episode-pipeline", "episode_pipeline")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=path) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None


def settings_table(path: Path) -> dict[str, Any] | None:
    """The `[tool.pipeline]` table of a pyproject.toml, or the whole of an episode.toml.

    None for a pyproject.toml without one; a look-alike table (`[pipeline]`, `[tool.episode]`)
    is an error rather than ignored.
    """
    doc = _read_toml(path)
    if path.name != "pyproject.toml":
        return doc
    tool = doc.get("tool", {})
    table = tool.get("pipeline") if isinstance(tool, dict) else None
    if table is None:
        for name in LOOK_ALIKES:
            if name in doc or (name != "pipeline" and isinstance(tool, dict) and name in tool):
                found = f"[{name}]" if name in doc else f"[tool.{name}]"
                raise ConfigError(f"{found} is not read; the settings table is [tool.pipeline]", path=path)
        return None
    if not isinstance(table, dict):
        raise ConfigError("expected a table", path=path, field="[tool.pipeline]")
    return table


def load_settings(path: Path | None = None) -> Settings:
    """Settings from one file: an `episode.toml`, or a pyproject.toml's `[tool.pipeline]`.

    Without a path, ./pyproject.toml when it has the table; defaults otherwise. Commands find
    their settings with `pipeline.site.locate`, which also reads a Jekyll site's `_config.yml`.
    """
    if path is None:
        path = Path("pyproject.toml")
        if not path.is_file():
            return Settings()
    table = settings_table(path)
    return settings_from_table(table or {}, str(path))
