"""Settings from `[tool.pipeline]` in pyproject.toml: checked once, every problem reported together.

Every table is checked when the settings are loaded (`settings_from_table`), with the schema of
`pipeline.settings.schema`, and the checked options stay on the `Settings`. A settings file is read only
as a regular file of at most 1 MB (`read_settings_file`), its size checked before it is parsed.
"""

from __future__ import annotations

import keyword
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, make_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..formats import FORMATS
from ..formats.newsletter.headers import unsafe_characters
from ..importer.options import import_options
from ..mail.options import email_options
from ..places import shown_path
from ..user_files import UserFileError, read_bytes
from .schema import label, one_error, option, read_table, read_tables, settable, table_option

T = TypeVar("T")

# Installed from a wheel, the templates are package data inside `pipeline/`; in the project's
# checkout (and an editable install) they are the repository's top-level `templates/` folder.
_PACKAGED_TEMPLATES = Path(str(resources.files("pipeline"))) / "templates"
TEMPLATES_DIR = (
    _PACKAGED_TEMPLATES if _PACKAGED_TEMPLATES.is_dir() else Path(__file__).resolve().parents[2] / "templates"
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
        return f"{setting!r} must start with '/' or be one of the named styles {styles}"
    unknown = [t for t in PERMALINK_PLACEHOLDER.findall(setting) if placeholder_name(t) is None]
    if not unknown:
        return None
    named = ", ".join(dict.fromkeys(f"':{t}'" for t in unknown))
    if all(t.rstrip("_") in _UNSUPPORTED_PLACEHOLDERS for t in unknown):
        return f"placeholder {named} is not supported"
    return f"unknown placeholder {named}"


def _plain_text(value: str) -> str | None:
    """Why a setting is refused: control or bidi characters (show_name and author reach email
    headers; none of these settings has a use for them)."""
    if unsafe := unsafe_characters(value):
        return f"must not contain control or bidi characters ({', '.join(unsafe)})"
    return None


def _permalink(value: str) -> str | None:
    return _plain_text(value) or permalink_problem(value)


def web_url_problem(value: str) -> str | None:
    """Why `value` is not an absolute http(s) URL with a host (None when it is, or is empty: unset).
    A `javascript:` or `file:` address would reach every link the outputs make from it."""
    if not value:
        return None
    if any(c.isspace() for c in value) or unsafe_characters(value):
        return f"expected an http:// or https:// URL without spaces or control characters, got {value!r}"
    try:
        parts = urlsplit(value)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:  # a malformed [IPv6] host
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        return f"expected an http:// or https:// URL such as 'https://example.org', got {value!r}"
    return None


@dataclass(frozen=True)
class CoreSettings:
    """The settings' top-level keys, each checked as it is read (`options.read_table`)."""

    show_name: str = option("", check=_plain_text)
    author: str = option("", check=_plain_text)
    language: str = option("en", check=_plain_text)
    chapters_heading: str = option("Chapters", check=_plain_text)
    boilerplate_paragraphs: tuple[str, ...] = ()
    boilerplate_sections: tuple[str, ...] = ()
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    site_url: str = option("", check=web_url_problem)
    baseurl: str = option("", check=_plain_text)
    permalink: str = option("date", check=_permalink)
    """A named style of PERMALINK_STYLES or a pattern starting with '/'."""


# The settings' tables, each with the reader that checks it: the formats' (`formats.FORMATS`
# declares them) and sending's `[email]`.
TABLE_READERS: dict[str, Callable[[Settings], Any]] = {
    **{f.table: f.options for f in FORMATS.values() if f.table and f.options},
    "email": email_options,
    "import": import_options,
}
FORMAT_TABLES = tuple(TABLE_READERS)

PipelineTable = make_dataclass(
    "PipelineTable",
    [
        (f"{name}_" if keyword.iskeyword(name) else name, Mapping[str, Any], table_option(key=name))
        for name in FORMAT_TABLES
    ],
    bases=(CoreSettings,),
    frozen=True,
)
PipelineTable.__module__ = __name__  # make_dataclass gives `types` (it takes no module= before 3.12)
PipelineTable.__doc__ = """The `[tool.pipeline]` table itself, checked: its top-level keys, and each
table kept raw (its reader in TABLE_READERS checks it)."""


@dataclass(frozen=True)
class Settings(CoreSettings):
    """Everything configurable about a build. Frozen: passed to worker processes as is."""

    formats: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: str = "defaults"
    sources: tuple[str, ...] = ()
    """Where the settings came from, as the first line of a command shows them."""
    template_overrides: str = ""
    """The site's own `templates/` folder beside its settings (empty: none): its files replace
    the bundled templates of the same name."""
    options: Mapping[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Every format table's options (`{"pdf": PdfOptions, …}`), checked when the settings were
    loaded (`settings_from_table`). Not an argument: Settings made in code, or changed with
    `dataclasses.replace`, keep none, and each reader then checks its table when asked."""

    def table(self, name: str) -> Mapping[str, Any]:
        """The raw `[tool.pipeline.<name>]` table of one output format (empty when absent)."""
        return self.formats.get(name, {})

    def kept(self, name: str, kind: type[T]) -> T | None:
        """The checked options of table `name` kept at load, when they are a `kind`."""
        options = self.options.get(name)
        return options if isinstance(options, kind) else None

    def written_table(self, name: str) -> tuple[str | None, str]:
        """`(file, table)` naming table `name` as the user writes it: `("episode.toml",
        "[newsletter]")`, `("pyproject.toml", "[tool.pipeline.newsletter]")`, the file relative
        to the current folder when under it. Without a settings file of the tool's own (the
        defaults, or a Jekyll site's `_config.yml` alone): `(None, "[newsletter]")`."""
        source = Path(self.source)
        if self.source == "defaults" or source.name == "_config.yml":
            return None, f"[{name}]"
        shown = shown_path(self.source)  # relative to the current folder, as every path shown
        return shown, f"[tool.pipeline.{name}]" if source.name == "pyproject.toml" else f"[{name}]"

    def table_in_words(self, name: str) -> tuple[str | None, str]:
        """`written_table`, the table saying where it belongs when no settings file of the tool's
        own was read: `(None, "[newsletter] (no episode.toml: episode init writes one)")`."""
        path, table = self.written_table(name)
        return path, table if path is not None else f"{table} (no episode.toml: episode init writes one)"

    @property
    def state_dir(self) -> Path:
        """`.episode/` beside the settings file in use (the current folder without one): what
        sending and publishing remember (journals, ledgers, backups). Never under the output
        folder, never pruned; created by whoever writes into it, mode 0700."""
        origin = Path(self.source)
        return (origin.resolve().parent if origin.is_file() else Path.cwd()) / ".episode"


_CORE_KEYS = frozenset(settable(PipelineTable)) - frozenset(FORMAT_TABLES)


def settings_from_table(
    table: Mapping[str, Any],
    source: str,
    *,
    sources: tuple[str, ...] = (),
    template_overrides: str = "",
) -> Settings:
    """Settings from a `[tool.pipeline]` table, every table in it checked (`PipelineTable` and
    each table's reader, TABLE_READERS): one ConfigError names every problem of every
    table, before any post is read. The checked options are kept on the Settings."""
    core, problems = read_table(PipelineTable, table)
    formats = {name: dict(value) for name in FORMAT_TABLES if isinstance(value := table.get(name), dict)}
    values: dict[str, Any] = {}
    if core is not None:
        values = {key: getattr(core, key) for key in table if key in _CORE_KEYS}
    settings = Settings(
        **values, formats=formats, source=source, sources=sources, template_overrides=template_overrides
    )
    checked, table_problems = read_tables(
        settings, TABLE_READERS
    )  # the format tables, even when the core has problems
    every = ({label(None): "; ".join(problems)} if problems else {}) | table_problems
    if every:
        raise one_error(_as_written(every, table, source), source)
    object.__setattr__(settings, "options", checked)  # frozen: set once, here, as it is made
    return settings


def _as_written(problems: Mapping[str, str], table: Mapping[str, Any], source: str) -> dict[str, str]:
    """The problems of each table, named as the file writes it: `[tool.pipeline.newsletter]` in
    a pyproject.toml, `[newsletter]` (and "top level") in an episode.toml; a top-level setting
    written inside a table, or an episode.toml's `[tool.pipeline…]`, says where it belongs."""
    pyproject = Path(source).name == "pyproject.toml"
    written: dict[str, str] = {}
    for where, message in problems.items():
        name = where.removeprefix("[tool.pipeline").removesuffix("]").removeprefix(".")
        raw = table.get(name) if name else None
        for key in raw if isinstance(raw, dict) else ():
            if key in _CORE_KEYS:
                place = "in [tool.pipeline], above its tables" if pyproject else "above the first table"
                hint = f"{key}: a top-level setting, not one of this table: put it {place}"
                message = re.sub(rf"(?<![\w-]){re.escape(key)}: unknown setting[^;]*", hint, message)
        if not pyproject and not name and "tool" in table:
            tables = ", ".join(f"[{t}]" for t in FORMAT_TABLES)
            hint = f"tool: in an episode.toml the tables are {tables}, without tool.pipeline"
            message = re.sub(r"(?<![\w-])tool: unknown setting[^;]*", hint, message)
        if not pyproject and where.startswith("[tool.pipeline"):
            where = f"[{name}]" if name else "top level"
        written[where] = message
    return written


# Tables that look like ours but are not read: a typo must not be ignored silently.
LOOK_ALIKES = ("pipeline", "episode", "episode-pipeline", "episode_pipeline")


MAX_SETTINGS_BYTES = 1024 * 1024
"""The largest settings file (`episode.toml`, `pyproject.toml`, `_config.yml`) read: a real one is
a few KB; a bigger one would only cost time and memory before any post is read."""


def read_settings_file(path: Path, limit: int = MAX_SETTINGS_BYTES) -> bytes:
    """The bytes of a settings file: a regular file (no pipe, device or folder) of at most `limit`
    bytes, its size checked before anything is read (`user_files.read_bytes`); every other case is
    one ConfigError in the words every user file gets (`is a FIFO, not a regular file`)."""
    try:
        return read_bytes(path, "settings", limit=limit)
    except UserFileError as exc:
        raise ConfigError(exc.message, path=path, field=exc.field) from None


def _read_toml(path: Path) -> dict[str, Any]:
    data = read_settings_file(path)
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and inline tables
        raise ConfigError("not valid TOML: arrays or inline tables nested too deeply", path=path) from None


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
    their settings with `pipeline.settings.site.locate`, which also reads a Jekyll site's `_config.yml`.
    """
    if path is None:
        path = Path("pyproject.toml")
        if not path.is_file():
            return settings_from_table({}, "defaults")
    table = settings_table(path)
    return settings_from_table(table or {}, str(path))
