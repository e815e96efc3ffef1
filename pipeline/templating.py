"""The one Jinja environment: autoescape for HTML templates, StrictUndefined everywhere."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from .config import TEMPLATES_DIR


def _autoescape(name: str | None) -> bool:
    # select_autoescape() looks only at the last suffix, so `x.html.j2` would not be escaped.
    return name is not None and (".html" in name or ".xml" in name)


@lru_cache(maxsize=4)
def environment(overrides: str = "") -> jinja2.Environment:
    """The shared environment; templates are parsed once per process.

    `overrides` is a site's own `templates/` folder: a file there replaces the bundled one of the
    same name (as MkDocs' `custom_dir` and Sphinx's `templates_path` do).
    """
    bundled = jinja2.FileSystemLoader(str(TEMPLATES_DIR))
    loader: jinja2.BaseLoader = (
        jinja2.ChoiceLoader([jinja2.FileSystemLoader(overrides), bundled]) if overrides else bundled
    )
    return jinja2.Environment(
        loader=loader,
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, overrides: str = "", **context: object) -> str:
    """Render `templates/<name>` (or the site's own) with `context`. Post text is data, never source."""
    return environment(overrides).get_template(name).render(**context)
