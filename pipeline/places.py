"""Where the user's files are, and how their paths are shown: a leaf module, imported by the
errors every message passes through.

A path is shown relative to the current folder when it is below it, and also when both are in
one Jekyll site (`../_config.yml` from inside `_posts/`, as git shows paths inside a work tree);
anywhere else as it was given.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def upwards(start: Path) -> Iterator[Path]:
    """`start` (its folder, when a file) and each folder above it, resolved."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    yield folder
    yield from folder.parents


def jekyll_site(start: Path) -> Path | None:
    """The nearest folder from `start` upwards with `_config.yml` and `_posts/`."""
    for folder in upwards(start):
        if (folder / "_config.yml").is_file() and (folder / "_posts").is_dir():
            return folder
    return None


def shown_path(path: str | Path, cwd: str | Path | None = None) -> str:
    """`path` as the user reads it from `cwd` (default: the current folder); see the module doc."""
    here = os.path.abspath(cwd if cwd is not None else os.getcwd())
    absolute = os.path.abspath(path)
    folder = os.sep if str(path).endswith(os.sep) and absolute != os.sep else ""  # `templates/` stays one
    relative = os.path.relpath(absolute, here)
    if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
        return relative + folder
    site = jekyll_site(Path(here))
    if site is not None and Path(absolute).resolve().is_relative_to(site):
        return os.path.relpath(Path(absolute).resolve(), Path(here).resolve()) + folder
    return str(path)
