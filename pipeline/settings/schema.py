"""One schema for every settings table, checked once when the settings are loaded.

Each table is a frozen dataclass whose defaults give the types (a string, a whole number, a
number, true/false, a list of strings, a table); `option()` adds what a type cannot say: the
choices, a range, a rule of the table's own (an https URL, an email address). `read_table` turns
a raw TOML table into that dataclass and reports every problem at once, in one wording: an
unknown key comes with the nearest known one (`page_sise: unknown setting (did you mean
page_size?)`), a wrong value with what was expected (`max_pages: expected a positive integer of
at most 1,000,000,000, got 0`).

Every number is finite (`nan` and `inf` are refused) and within a stated range: its option's
`minimum`/`maximum`, and where an option states none, ±`LARGEST`. The range is in the wording of
every refusal, so the error says what would pass.

`read_tables` reads every table a build, a send or a publish will use (`config.TABLE_READERS`); the settings
loader (`pipeline.settings.config.settings_from_table`) calls it before any post is read, raises one
ConfigError for every problem of every table, and keeps the results on the Settings
(`Settings.options`), so no format checks its table again per post.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigError

if TYPE_CHECKING:
    from .config import Settings

T = TypeVar("T")

ValueRule = Callable[[Any], "str | None"]

LARGEST = 1_000_000_000
"""The bound of a number whose option states none: larger than any count, size (bytes, pixels) or
time (seconds) a setting needs, and small enough for every use (a timer, a read, a float)."""


@dataclass(frozen=True)
class Rule:
    """What a field's default type cannot say about its values."""

    choices: tuple[str, ...] = ()  # matched without regard to case; the value becomes the choice
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False  # above zero
    check: ValueRule | None = None  # why a value of the right type is wrong (None: it is fine)
    convert: Callable[[Any], Any] | None = None  # the checked value as the options keep it


def option(
    default: Any,
    *,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
    check: ValueRule | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """A dataclass field of an options table, with its rule."""
    rule = Rule(choices, minimum, maximum, positive, check, convert)
    return field(default=default, metadata={"rule": rule})


def table_option(key: str | None = None) -> Any:
    """A field holding a table of its own (`[tool.pipeline.pdf]`), kept raw: its reader checks it.
    `key`: the table's name when it cannot be the field's (`import`, a Python keyword)."""
    return field(default_factory=dict, metadata={"rule": Rule(), **({"key": key} if key else {})})


def fixed(default: Any) -> Any:
    """A field of the options that no key of the table sets (a key of another platform's table)."""
    return field(default=default, metadata={"setting": False})


def settable(cls: type) -> dict[str, dataclasses.Field[Any]]:
    """The fields of an options dataclass that a key of its table sets."""
    return {
        f.metadata.get("key", f.name): f
        for f in dataclasses.fields(cls)
        if f.init and f.metadata.get("setting", True)
    }


def unknown_key(key: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """`key: unknown setting (did you mean page_size?)`, or the known keys when none is near."""
    near = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.6)
    if near:
        return f"{key}: unknown setting (did you mean {near[0]}?)"
    return f"{key}: unknown setting (known: {', '.join(sorted(known))})"


def _kind(value: Any) -> str:
    """The TOML type of a value, as the error names it."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dt.date | dt.time):
        return "date"
    kinds = {int: "integer", float: "float", str: "string", list: "array", dict: "table"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), type(value).__name__)


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def _is_number(default: Any) -> bool:
    return isinstance(default, int | float) and not isinstance(default, bool)


def bounds(rule: Rule) -> tuple[float | None, float]:
    """The lowest and highest value of a number option: its own, else ±LARGEST (no lowest for
    `positive`: above zero is its own rule)."""
    highest = rule.maximum if rule.maximum is not None else LARGEST
    lowest = rule.minimum if rule.minimum is not None else (None if rule.positive else -LARGEST)
    return lowest, highest


def expected(default: Any, rule: Rule) -> str:
    """What a field takes, in words: `a positive integer of at most 40`, `one of 'A4', 'Letter'`."""
    if rule.choices:
        return f"one of {', '.join(map(repr, rule.choices))}"
    if isinstance(default, bool):
        return "true or false"
    if _is_number(default):
        lowest, highest = bounds(rule)
        if rule.positive:
            kind = "a positive integer" if isinstance(default, int) else "a positive number"
            return f"{kind} of at most {_number(highest)}"
        noun = "an integer" if isinstance(default, int) else "a number"
        return f"{noun} from {_number(lowest if lowest is not None else -LARGEST)} to {_number(highest)}"
    if isinstance(default, tuple):
        return "a list of strings"
    if isinstance(default, Mapping):
        return "a table"
    return "a string"


def _shown(value: Any) -> str:
    """A value as a refusal quotes it; an integer too long to read is named by its length."""
    if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) > 30:
        return f"an integer of {len(str(abs(value)))} digits"
    return repr(value)


def _typed(default: Any, value: Any) -> tuple[bool, Any]:
    """(True, `value` as the type of `default`), or (False, None) when it is of another type."""
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool), value
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and isinstance(value, int) and abs(value) > LARGEST:
            return True, value  # kept an integer: refused by the range, never a float overflow
        return ok, float(value) if ok else None
    if isinstance(default, tuple):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return ok, tuple(value) if ok else None
    if isinstance(default, Mapping):
        return isinstance(value, dict), dict(value) if isinstance(value, dict) else None
    return isinstance(value, str), value


def _out_of_range(default: Any, rule: Rule, value: Any) -> bool:
    """A number that is not finite, or outside the option's range."""
    if not _is_number(default):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return True
    lowest, highest = bounds(rule)
    number: float = value
    return (rule.positive and number <= 0) or (lowest is not None and number < lowest) or number > highest


def _value(spec: dataclasses.Field[Any], value: Any) -> tuple[Any, str | None]:
    """The value as the options keep it, or why it cannot be used."""
    default: Any = spec.default
    factory: Any = spec.default_factory
    if default is dataclasses.MISSING and factory is not dataclasses.MISSING:
        default = factory()
    rule: Rule = spec.metadata.get("rule", Rule())
    ok, converted = _typed(default, value)
    if not ok:
        return None, f"expected {expected(default, rule)}, got {_kind(value)}"
    if rule.choices:
        match = next((c for c in rule.choices if str(converted).lower() == c.lower()), None)
        if match is None:
            return None, f"expected {expected(default, rule)}, got {value!r}"
        converted = match
    if _out_of_range(default, rule, converted):
        return None, f"expected {expected(default, rule)}, got {_shown(value)}"
    if rule.check is not None and (problem := rule.check(converted)) is not None:
        return None, problem
    return (rule.convert(converted) if rule.convert is not None else converted), None


def read_table(
    cls: type[T],
    table: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    whole: Callable[[T], list[str]] | None = None,
) -> tuple[T, list[str]] | tuple[None, list[str]]:
    """`cls` made from `table`, or None and every problem (`key: why`) at once.

    `base`: values the table starts from (defaults that depend on other settings); `whole`: the
    table's own rules across keys, asked of the options once every value passed.
    """
    specs = settable(cls)
    values: dict[str, Any] = dict(base or {})
    problems: list[str] = []
    for key, raw in table.items():
        spec = specs.get(key)
        if spec is None:
            problems.append(unknown_key(key, set(specs)))
            continue
        converted, problem = _value(spec, raw)
        if problem is not None:
            problems.append(f"{key}: {problem}")
        else:
            values[spec.name] = converted
    if problems:
        return None, problems
    options = cls(**values)
    if whole is not None and (problems := whole(options)):
        return None, problems
    return options, []


def label(table: str | None) -> str:
    """How an error names a table: `[tool.pipeline]`, `[tool.pipeline.pdf]`."""
    return f"[tool.pipeline.{table}]" if table else "[tool.pipeline]"


def options_of(
    cls: type[T],
    table: Mapping[str, Any],
    name: str,
    source: str,
    *,
    base: Mapping[str, Any] | None = None,
    whole: Callable[[T], list[str]] | None = None,
) -> T:
    """`read_table`, with its problems raised as one ConfigError naming the table `name`."""
    options, problems = read_table(cls, table, base=base, whole=whole)
    if options is None:
        raise ConfigError("; ".join(problems), path=source, field=label(name))
    return options


def table_options(
    settings: Settings,
    name: str,
    cls: type[T],
    *,
    base: Mapping[str, Any] | None = None,
    whole: Callable[[T], list[str]] | None = None,
) -> T:
    """The options of table `name`: those the loader kept on the Settings, else its raw table
    read now (Settings made in code or changed with `dataclasses.replace` keep none)."""
    kept = settings.kept(name, cls)
    if kept is not None:
        return kept
    return options_of(cls, settings.table(name), name, settings.source, base=base, whole=whole)


def one_error(problems: Mapping[str, str], source: str) -> ConfigError:
    """One ConfigError for the problems of several tables (`{table label: its problems}`)."""
    if len(problems) == 1:
        [(where, message)] = problems.items()
        return ConfigError(message, path=source, field=where)
    return ConfigError("; ".join(f"{where}: {message}" for where, message in problems.items()), path=source)


# --- every table, checked at load ------------------------------------------------------------------


def read_tables(
    settings: Settings, readers: Mapping[str, Callable[[Settings], Any]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every table's options, read by its reader (`config.TABLE_READERS`), and the problems of
    each table that has some (`{label: problems}`)."""
    checked: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for table, reader in readers.items():
        try:
            checked[table] = reader(settings)
        except ConfigError as exc:
            problems[exc.field or label(table)] = exc.message
    return checked, problems
