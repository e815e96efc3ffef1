"""The one Jinja environment: autoescape for HTML templates, StrictUndefined everywhere."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from .config import TEMPLATES_DIR


def _autoescape(name: str | None) -> bool:
    # select_autoescape() looks only at the last suffix, so `x.html.j2` would not be escaped.
    return name is not None and (".html" in name or ".xml" in name)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment; templates are parsed once per process."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context: object) -> str:
    """Render `templates/<name>` with `context`. Post text is data here, never template source."""
    return environment().get_template(name).render(**context)
