"""The one Jinja environment: sandboxed, autoescape for HTML templates, StrictUndefined everywhere.

A site's own templates come from its repository, which takes pull requests, so a template is
never a way to run code or to read a file on the machine that builds:

- Every template, bundled or the site's, renders in Jinja's `SandboxedEnvironment`: no attribute
  that starts with `_` (the way from `cycler` to Python's internals and the `os` module), no
  unsafe callable, `str.format` sandboxed too. The context holds plain data only.
- The loader reads a template (and whatever it includes, imports or extends) only as a regular
  UTF-8 file inside its templates folder: no `..`, no symbolic link that leads out, no pipe.

A template that breaks a rule, and a site template Jinja cannot compile or render, is one
`RenderError` naming the template and its line. Templates are trusted for time and memory.
"""

from __future__ import annotations

import os
import stat
import traceback
from collections.abc import Callable
from functools import lru_cache

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from ..errors import PipelineError, RenderError
from ..settings.config import TEMPLATES_DIR


def _autoescape(name: str | None) -> bool:
    # select_autoescape() looks only at the last suffix, so `x.html.j2` would not be escaped.
    return name is not None and (".html" in name or ".xml" in name)


def _inside(path: str, folder: str) -> bool:
    """`path` is `folder` or below it (both absolute; a frame's `<string>` is not)."""
    if not (os.path.isabs(path) and os.path.isabs(folder)):
        return False
    return os.path.commonpath([path, folder]) == folder


class FolderLoader(jinja2.BaseLoader):
    """Templates from `folders`, the first that has the name winning; each read only as a
    regular UTF-8 file whose real path is inside its folder."""

    def __init__(self, folders: tuple[str, ...]) -> None:
        self.folders = folders

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # TemplateNotFound for `..` and separators in a piece
        for folder in self.folders:
            path = os.path.join(folder, *pieces)
            try:
                if stat.S_ISDIR(os.stat(path).st_mode):
                    continue  # a folder of that name is no template: as Jinja's own loader does
            except (FileNotFoundError, NotADirectoryError):
                if os.path.islink(path):
                    raise RenderError("a symbolic link to nothing: not read", path=path) from None
                continue
            except OSError as exc:
                raise RenderError(f"cannot read the template: {exc.strerror}", path=path) from None
            return self._read(folder, path)
        raise jinja2.TemplateNotFound(template)

    @staticmethod
    def _read(folder: str, path: str) -> tuple[str, str, Callable[[], bool]]:
        real = os.path.realpath(path)
        if not _inside(real, os.path.realpath(folder)):
            raise RenderError("a symbolic link to a file outside the templates folder: not read", path=path)
        try:
            # O_NONBLOCK: a pipe put in the template's place does not hang the build before fstat.
            fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise RenderError(f"cannot read the template: {exc.strerror}", path=path) from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise RenderError("not a regular file: not read", path=path)
            data = handle.read()
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RenderError(f"not UTF-8 (byte {exc.start})", path=path) from None
        mtime = info.st_mtime_ns

        def uptodate() -> bool:
            try:
                return os.stat(path).st_mtime_ns == mtime
            except OSError:
                return False

        return source, path, uptodate


def _folders(overrides: str) -> tuple[str, ...]:
    bundled = os.path.abspath(TEMPLATES_DIR)
    return (os.path.abspath(overrides), bundled) if overrides else (bundled,)


@lru_cache(maxsize=4)
def environment(overrides: str = "") -> SandboxedEnvironment:
    """The shared environment; templates are parsed once per process.

    `overrides` is a site's own `templates/` folder: a file there replaces the bundled one of the
    same name (as MkDocs' `custom_dir` and Sphinx's `templates_path` do).
    """
    return SandboxedEnvironment(
        loader=FolderLoader(_folders(overrides)),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _frames(exc: Exception, folders: tuple[str, ...]) -> list[tuple[str, int | None]]:
    """The template files and lines an error passed through, outermost first."""
    found: list[tuple[str, int | None]] = [
        (f.filename, f.lineno)
        for f in traceback.extract_tb(exc.__traceback__)
        if any(_inside(f.filename, d) for d in folders)
    ]
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        found.append((exc.filename, exc.lineno))
    return found


def template_error(exc: Exception, overrides: str) -> RenderError | None:
    """The one line for a template that broke a sandbox rule (any template) or that Jinja cannot
    compile or render (`{{ 1 / 0 }}` too) when a site's own template is involved; None for an
    error of the bundled templates alone: a bug."""
    folders = _folders(overrides)
    frames = _frames(exc, folders)
    site = bool(overrides) and any(_inside(name, folders[0]) for name, _ in frames)
    if isinstance(exc, jinja2.exceptions.SecurityError):
        message = f"not allowed in a template: {exc.message}"
    elif not site:
        return None
    elif isinstance(exc, jinja2.TemplateNotFound):
        message = f"template {exc.name!r} not found: a template includes only files of templates/"
    elif isinstance(exc, jinja2.TemplateError):
        message = f"template error: {exc.message}"
    else:
        message = f"template error: {type(exc).__name__}: {exc}"
    if not frames:
        return RenderError(message)
    name, line = frames[-1]  # the innermost template: where the error is
    return RenderError(message, path=name, line=line)


def render_template(name: str, overrides: str = "", **context: object) -> str:
    """Render `templates/<name>` (or the site's own) with `context`. Post text is data, never source."""
    try:
        return environment(overrides).get_template(name).render(**context)
    except PipelineError:
        raise  # the loader's refusals: one line already
    except Exception as exc:
        error = template_error(exc, overrides)
        if error is None:
            raise
        raise error from None
