"""Where the user's posts, outputs and settings are, found from the folder a command runs in.

A Jekyll site is a folder with `_config.yml` and `_posts/`: its posts are `_posts/`, its outputs
go to `_out/` (an underscore folder, which Jekyll never publishes), and its `_config.yml` gives
the show's name, author, URL and permalink style. Project settings come from `--config`,
`PIPELINE_CONFIG`, or the nearest `episode.toml` or `pyproject.toml` with a `[tool.pipeline]`
table, searched from the posts upwards and then from the current folder upwards; they win over
`_config.yml` where both give a value.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import Settings, settings_from_table, settings_table
from .errors import ConfigError, PipelineError

SETTINGS_FILES = ("episode.toml", "pyproject.toml")
SAMPLES = Path("samples")


@dataclass(frozen=True)
class Place:
    """What a command works on."""

    posts: Path
    out: Path
    settings: Settings
    site: Path | None = None

    @property
    def settings_line(self) -> str:
        """`settings: _config.yml, episode.toml` — the first line of every command."""
        return "settings: " + (", ".join(self.settings.sources) or "defaults (no settings file found)")


def _upwards(start: Path) -> Iterator[Path]:
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    yield folder
    yield from folder.parents


def jekyll_site(start: Path) -> Path | None:
    """The nearest folder from `start` upwards with `_config.yml` and `_posts/`."""
    for folder in _upwards(start):
        if (folder / "_config.yml").is_file() and (folder / "_posts").is_dir():
            return folder
    return None


def _shown(path: Path, cwd: Path) -> str:
    """A path as a user reads it: relative to the current folder when it is below it."""
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)


def _settings_file(starts: list[Path]) -> tuple[Path, dict[str, Any]] | None:
    for start in starts:
        for folder in _upwards(start):
            for name in SETTINGS_FILES:
                candidate = folder / name
                if candidate.is_file():
                    table = settings_table(candidate)
                    if table is not None:
                        return candidate, table
    return None


def jekyll_values(config: Path) -> dict[str, Any]:
    """What `_config.yml` says that the tool uses: title, author, url, baseurl, permalink."""
    try:
        doc = yaml.safe_load(config.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file: {exc}", path=config) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=config, line=line) from None
    if not isinstance(doc, Mapping):
        return {}
    values: dict[str, Any] = {}
    author = doc.get("author")
    if isinstance(author, Mapping):
        author = author.get("name")
    for key, value in (
        ("show_name", doc.get("title")),
        ("author", author),
        ("site_url", doc.get("url")),
        ("baseurl", doc.get("baseurl")),
        ("permalink", doc.get("permalink")),
    ):
        if isinstance(value, str) and value.strip():
            values[key] = value.strip()
    return values


def locate(
    src: str | None,
    out: str | None,
    config: str | None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] = os.environ,
) -> Place:
    """The posts, the output folder and the settings of one command, as the user meant them."""
    cwd = cwd or Path.cwd()
    source = Path(src) if src else None
    site = jekyll_site(source if source is not None else cwd)
    if source is not None:
        if not source.exists():
            raise PipelineError("no such file or folder", path=source, field="--src")
        is_site = (source / "_posts").is_dir() and (source / "_config.yml").is_file()
        posts = source / "_posts" if is_site else source
    elif site is not None:
        posts = site / "_posts"
    elif SAMPLES.is_dir():
        posts = SAMPLES
    else:
        raise PipelineError(
            "no posts here: run it in a Jekyll site (a folder with _config.yml and _posts/) or pass --src",
            field="--src",
        )
    output = Path(out) if out else (site / "_out" if site is not None else Path("out"))

    return Place(posts, output, find_settings(config, posts, site, cwd=cwd, env=env), site)


def find_settings(
    config: str | None,
    near: Path | None = None,
    site: Path | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] = os.environ,
) -> Settings:
    """The settings for posts `near` a place: `--config`, `PIPELINE_CONFIG`, or the nearest
    settings file, over the Jekyll site's `_config.yml`; `sources` says which were read."""
    cwd = cwd or Path.cwd()
    if site is None:
        site = jekyll_site(near if near is not None else cwd)
    named = config or env.get("PIPELINE_CONFIG") or None
    found: tuple[Path, dict[str, Any]] | None
    if named:
        path = Path(named)
        table = settings_table(path)
        if table is None:
            raise ConfigError("has no [tool.pipeline] table", path=path)
        found = (path, table)
    else:
        found = _settings_file([near, cwd] if near is not None else [cwd])

    sources: list[str] = []
    values: dict[str, Any] = {}
    origin = "defaults"
    if site is not None:
        values.update(jekyll_values(site / "_config.yml"))
        sources.append(_shown(site / "_config.yml", cwd))
        origin = str(site / "_config.yml")
    if found is not None:
        path, table = found
        values.update(table)
        sources.append(_shown(path, cwd))
        origin = str(path)
    home = Path(origin).resolve().parent if origin != "defaults" else None
    overrides = home / "templates" if home is not None and (home / "templates").is_dir() else None
    # Every table checked here, once, before any post is read: one error names every problem.
    return settings_from_table(
        values,
        origin if values else "defaults",
        sources=tuple(sources) + ((_shown(overrides, cwd) + "/",) if overrides else ()),
        template_overrides=str(overrides) if overrides else "",
    )


STARTER = """\
# Settings of `episode` for this site. Values from _config.yml ({found}) are used as they are;
# a key set here wins over it. Every key: the README's "Configuration".
{values}
# Sentences to drop wherever they stand (a recurring tagline), matched on their beginning:
# boilerplate_paragraphs = ["A podcast that explores more than just algorithms and data"]
# Labelled blocks to drop with their items ("Resources to learn more about <show>"):
# boilerplate_sections = []

[newsletter]
# from_address = "Show <news@example.org>"
# unsubscribe_url = "https://example.org/unsubscribe?email={{email}}&token={{token}}"
# postal_address = ""

# [pdf], [youtube], [podcast] and [email] take their own keys (see the README).
"""
IGNORED = ("_out/", ".episode/")


def init_site(folder: Path) -> list[str]:
    """Write a starter `episode.toml` and ignore the outputs and the state folder in `.gitignore`.

    Returns what was done, a line each. An existing `episode.toml` is never replaced.
    """
    done: list[str] = []
    config = folder / "_config.yml"
    values = jekyll_values(config) if config.is_file() else {}
    target = folder / "episode.toml"
    if target.exists():
        done.append(f"{target.name} exists: left as it is")
    else:
        shown = {"show_name": "title", "author": "author", "site_url": "url", "baseurl": "baseurl"}
        lines = [
            f"# {key} = {tomllib_string(values[key])}  # from _config.yml {source}"
            if key in values
            else f'# {key} = ""'
            for key, source in shown.items()
        ]
        found = ", ".join(shown[k] for k in shown if k in values) or "nothing found"
        text = STARTER.format(found=found, values="\n".join(lines))
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise PipelineError(f"cannot write it: {exc.strerror}", path=target) from None
        done.append(f"wrote {target.name}")
    gitignore = folder / ".gitignore"
    try:
        present = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
        missing = [entry for entry in IGNORED if entry not in present and entry.rstrip("/") not in present]
        if missing:
            prefix = "" if not present or gitignore.read_text(encoding="utf-8").endswith("\n") else "\n"
            with gitignore.open("a", encoding="utf-8") as handle:
                handle.write(prefix + "".join(f"{entry}\n" for entry in missing))
            done.append(f"added {', '.join(missing)} to .gitignore")
    except OSError as exc:
        raise PipelineError(f"cannot update it: {exc.strerror}", path=gitignore) from None
    return done


def tomllib_string(value: str) -> str:
    """`value` as a TOML basic string."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
