"""One schema for every settings table, checked once when the settings are loaded.

Each table is a frozen dataclass whose defaults give the types (a string, a whole number, a
number, true/false, a list of strings); `option()` adds what a type cannot say: the choices, a
range, a rule of the table's own (an https URL, an email address). `read_table` turns a raw TOML
table into that dataclass and reports every problem at once; an unknown key comes with the
nearest known one (`page_sise: unknown setting; did you mean page_size?`).

`check_settings` reads every table a build, a send or a publish will use, before any post is
read, and keeps the results on the Settings (`Settings.options`), so no format checks its table
again per post.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")

ValueRule = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Rule:
    """What a field's default type cannot say about its values."""

    choices: tuple[str, ...] = ()  # matched without regard to case; the value becomes the choice
    minimum: float | None = None
    maximum: float | None = None
    check: ValueRule | None = None  # why a value of the right type is wrong (None: it is fine)


def option(
    default: Any,
    *,
    choices: tuple[str, ...] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    check: ValueRule | None = None,
) -> Any:
    """A dataclass field of an options table, with its rule."""
    return field(default=default, metadata={"rule": Rule(choices, minimum, maximum, check)})


def unknown_key(key: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """`key: unknown setting; did you mean page_size?` (or the known keys, when none is near)."""
    near = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.6)
    if near:
        return f"{key}: unknown setting; did you mean {near[0]}?"
    return f"{key}: unknown setting (known: {', '.join(sorted(known))})"


def _type_problem(default: Any, value: Any) -> tuple[Any, str | None]:
    """`value` converted to the type of `default`, or why it cannot be."""
    if isinstance(default, bool):
        return (value, None) if isinstance(value, bool) else (None, "expected true or false")
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"expected a whole number, got {_kind(value)}"
        return value, None
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, f"expected a number, got {_kind(value)}"
        return float(value), None
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "expected a list of strings"
        return tuple(value), None
    if not isinstance(value, str):
        return None, f"expected a string, got {_kind(value)}"
    return value, None


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "a table" if isinstance(value, dict) else type(value).__name__
    )


def _value(spec: dataclasses.Field[Any], value: Any) -> tuple[Any, str | None]:
    default: Any = spec.default
    factory: Any = spec.default_factory
    if default is dataclasses.MISSING and factory is not dataclasses.MISSING:
        default = factory()
    converted, problem = _type_problem(default, value)
    if problem is not None:
        return None, problem
    rule: Rule = spec.metadata.get("rule", Rule())
    if rule.choices:
        for choice in rule.choices:
            if str(converted).lower() == choice.lower():
                converted = choice
                break
        else:
            return None, f"expected one of {', '.join(map(repr, rule.choices))}, got {value!r}"
    if rule.minimum is not None and converted < rule.minimum:
        return None, _range(rule)
    if rule.maximum is not None and converted > rule.maximum:
        return None, _range(rule)
    if rule.check is not None and (problem := rule.check(converted)) is not None:
        return None, problem
    return converted, None


def _range(rule: Rule) -> str:
    if rule.minimum is not None and rule.maximum is not None:
        return f"expected {rule.minimum:g} to {rule.maximum:g}"
    if rule.minimum is not None:
        return (
            "expected a positive value"
            if rule.minimum in (0, 1e-9)
            else f"expected at least {rule.minimum:g}"
        )
    return f"expected at most {rule.maximum:g}"


def read_table(
    cls: type[T],
    table: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    whole: Callable[[Mapping[str, Any]], list[str]] | None = None,
) -> tuple[T | None, list[str]]:
    """`cls` made from `table`, or None and every problem (`key: why`) at once.

    `base`: values the table starts from (defaults that depend on other settings); `whole`: the
    table's own rules across keys, given the checked values.
    """
    specs = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = dict(base or {})
    problems: list[str] = []
    for key, raw in table.items():
        spec = specs.get(key)
        if spec is None:
            problems.append(unknown_key(key, specs.keys() - {"_"}))
            continue
        converted, problem = _value(spec, raw)
        if problem is not None:
            problems.append(f"{key}: {problem}")
        else:
            values[key] = converted
    if whole is not None and not problems:
        problems.extend(whole(values))
    if problems:
        return None, problems
    return cls(**values), problems


# --- every table, checked at load ------------------------------------------------------------------

# table -> "module:function", each function `(settings) -> options` raising ConfigError
READERS: dict[str, str] = {
    "newsletter": "pipeline.formats.newsletter:newsletter_options",
    "pdf": "pipeline.formats.shownotes:pdf_options",
    "youtube": "pipeline.platform_options:youtube_options",
    "podcast": "pipeline.platform_options:podcast_options",
    "email": "pipeline.sending:email_timeout",
}


def reader(table: str) -> Callable[[Any], Any]:
    module, _, name = READERS[table].partition(":")
    function: Callable[[Any], Any] = getattr(importlib.import_module(module), name)
    return function


def check_tables(settings: Any) -> dict[str, Any]:
    """Every table's options, checked; one ConfigError naming every problem of every table."""
    checked: dict[str, Any] = {}
    problems: list[str] = []
    for table in READERS:
        try:
            checked[table] = reader(table)(settings)
        except ConfigError as exc:
            problems.append(f"{exc.field}: {exc.message}" if exc.field else exc.message)
    if problems:
        raise ConfigError("; ".join(problems), path=settings.source)
    return checked
