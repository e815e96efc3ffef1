"""Where the user's posts, outputs and settings are, found from the folder a command runs in.

A Jekyll site is a folder with `_config.yml` and `_posts/`: its posts are `_posts/`, its outputs
go to `_out/` (an underscore folder, which Jekyll never publishes), and its `_config.yml` gives
the show's name, author, URL and permalink style. Project settings come from `--config`,
`PIPELINE_CONFIG`, or the nearest `episode.toml` or `pyproject.toml` with a `[tool.pipeline]`
table, searched from the posts upwards and then from the current folder upwards; they win over
`_config.yml` where both give a value.

`_config.yml` comes from the site's repository, which takes pull requests: it is read as a regular
file of at most 1 MB, as a stream of YAML events (nothing but the few strings used is built, so no
alias or merge-key bomb, no recursion), and nesting deeper than 100 levels stops the command.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
import yaml

from ..errors import ConfigError, PipelineError
from ..places import jekyll_site, shown_path, upwards
from .config import (
    MAX_SETTINGS_BYTES,
    PipelineTable,
    Settings,
    read_settings_file,
    settings_from_table,
    settings_table,
)
from .schema import read_table

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


def _settings_file(starts: list[Path]) -> tuple[Path, dict[str, Any]] | None:
    for start in starts:
        for folder in upwards(start):
            for name in SETTINGS_FILES:
                candidate = folder / name
                if candidate.is_file():
                    table = settings_table(candidate)
                    if table is not None:
                        return candidate, table
    return None


MAX_YAML_DEPTH = 100
"""Collections nested deeper than this in `_config.yml` stop the command (a real one nests 3 or 4)."""

# libyaml, the parser Jekyll itself uses (through Ruby's Psych), when PyYAML was built with it.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER: Any = yaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
# _config.yml's keys the tool reads, and the settings they give.
JEKYLL_KEYS = {
    "title": "show_name",
    "author": "author",
    "url": "site_url",
    "baseurl": "baseurl",
    "permalink": "permalink",
}


def _yaml_string(event: yaml.ScalarEvent) -> str | None:
    """A scalar's text when YAML makes it a string (`title: 2024` is a number: None), as the
    composer resolves its tag."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
    return event.value if tag == _STR_TAG else None


@dataclass
class _Mapping:
    """A mapping being read: its string values by string key (collected only where used)."""

    collect: bool
    anchor: str | None
    key: str | None = None
    expecting_key: bool = True
    strings: dict[str, tuple[str, int]] = field(default_factory=dict)


def _top_level(text: str, path: Path) -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    """The string values of the first document's top-level mapping, and those of the mapping
    under `author` (`{key: (value, line)}`), read from the YAML events alone.

    An alias is followed to a string or to a top-level value's mapping; merge keys (`<<`) are not
    applied; later documents are not read (as Jekyll). Depth over MAX_YAML_DEPTH: ConfigError.
    """
    stack: list[_Mapping | None] = []  # None: a sequence
    anchors: dict[str, str | dict[str, tuple[str, int]] | None] = {}
    top: dict[str, tuple[str, int]] = {}
    author: dict[str, tuple[str, int]] = {}

    def done(value: str | dict[str, tuple[str, int]] | None, line: int) -> None:
        """A node completed inside the innermost collection."""
        nonlocal author
        frame = stack[-1] if stack else None
        if frame is None:
            return
        if frame.expecting_key:
            frame.key, frame.expecting_key = (value if isinstance(value, str) else None), False
            return
        if frame.collect and frame.key is not None:
            if isinstance(value, str):
                frame.strings[frame.key] = (value, line)
            elif isinstance(value, dict) and len(stack) == 1 and frame.key == "author":
                author = value
        frame.key, frame.expecting_key = None, True

    for event in yaml.parse(text, Loader=_YAML_LOADER):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_YAML_DEPTH:
                raise ConfigError(
                    f"nested more than {MAX_YAML_DEPTH} levels deep: not read", path=path, line=line
                )
            if isinstance(event, yaml.MappingStartEvent):
                stack.append(_Mapping(collect=len(stack) < 2, anchor=event.anchor))
            else:
                stack.append(None)
                if event.anchor:
                    anchors[event.anchor] = None
        elif isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            strings = dict(frame.strings) if frame is not None and frame.collect else None
            if frame is not None and frame.anchor:
                anchors[frame.anchor] = strings
            if not stack:
                if frame is not None:
                    top = frame.strings
                break  # the first document's root: all there is to read
            done(strings, line)
        elif isinstance(event, yaml.ScalarEvent):
            value = _yaml_string(event)
            if event.anchor:
                anchors[event.anchor] = value
            if not stack:
                break  # the document is a scalar: nothing to read
            done(value, line)
        elif isinstance(event, yaml.AliasEvent):
            done(anchors.get(event.anchor or ""), line)
        elif isinstance(event, yaml.DocumentEndEvent):
            break
    return top, author


def _read_config(config: Path) -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    """`_top_level` of `_config.yml`, read once; an unreadable file is one ConfigError naming it
    and its line."""
    data = read_settings_file(config)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read the file: not UTF-8 (byte {exc.start})", path=config) from None
    try:
        return _top_level(text, config)
    except yaml.YAMLError as exc:
        # Where the construct left open starts (an unclosed `[` or quote), else where it broke.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", exc))
        if "maximum nesting depth" in problem:  # libyaml's own limit (1,000), met while scanning ahead
            deep = f"nested more than {MAX_YAML_DEPTH} levels deep: not read"
            raise ConfigError(deep, path=config, line=line) from None
        raise ConfigError(f"invalid YAML: {problem}", path=config, line=line) from None


def _jekyll_lines(config: Path) -> dict[str, tuple[str, int, str]]:
    """`{setting: (value, line, key)}` of what `_config.yml` says that the tool uses; `key` as
    written there (`url`, `author.name`)."""
    return _used(*_read_config(config))


def _used(
    top: Mapping[str, tuple[str, int]], author: Mapping[str, tuple[str, int]]
) -> dict[str, tuple[str, int, str]]:
    values: dict[str, tuple[str, int, str]] = {}
    for key, setting in JEKYLL_KEYS.items():
        if key in top and top[key][0].strip():
            values[setting] = (top[key][0].strip(), top[key][1], key)
    # Themes name the author a mapping's `name` (minima, jekyll-seo-tag). A top-level `name` is
    # the site's name in some themes: `episode init` proposes it, the settings never take it.
    value, line = author.get("name", ("", 0))
    if "author" not in values and value.strip():
        values["author"] = (value.strip(), line, "author.name")
    return values


def jekyll_values(config: Path) -> dict[str, Any]:
    """What `_config.yml` says that the tool uses: title, author (a string, else a mapping's
    `name`), url, baseurl, permalink, as the settings they give."""
    return {setting: value for setting, (value, _, _) in _jekyll_lines(config).items()}


def _checked_jekyll_values(config: Path, overridden: Mapping[str, Any]) -> dict[str, Any]:
    """`jekyll_values`, each value the settings file does not replace checked by the schema: a
    bad one is one ConfigError naming `_config.yml`, its line and its key (`url`, not `site_url`)."""
    found = _jekyll_lines(config)
    for setting, (value, line, key) in found.items():
        if setting in overridden:
            continue
        _, problems = read_table(PipelineTable, {setting: value})
        if problems:
            message = "; ".join(p.removeprefix(f"{setting}: ") for p in problems)
            raise ConfigError(message, path=config, line=line, field=key)
    return {setting: value for setting, (value, _, _) in found.items()}


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
        values.update(_checked_jekyll_values(site / "_config.yml", found[1] if found is not None else {}))
        sources.append(shown_path(site / "_config.yml", cwd))
        origin = str(site / "_config.yml")
    if found is not None:
        path, table = found
        values.update(table)
        sources.append(shown_path(path, cwd))
        origin = str(path)
    home = Path(origin).resolve().parent if origin != "defaults" else None
    overrides = _template_folder(home, cwd) if home is not None else None
    # Every table checked here, once, before any post is read: one error names every problem.
    return settings_from_table(
        values,
        origin if values else "defaults",
        sources=tuple(sources) + ((shown_path(overrides, cwd) + "/",) if overrides else ()),
        template_overrides=str(overrides) if overrides else "",
    )


def _template_folder(home: Path, cwd: Path) -> Path | None:
    """The site's own `templates/` beside its settings, when there is one. A symbolic link that
    leads out of `home` is refused: the templates would read files anywhere on the machine."""
    folder = home / "templates"
    if not folder.is_dir():
        return None
    if not folder.resolve().is_relative_to(home):
        raise ConfigError(
            f"a symbolic link to {folder.resolve()}, outside {home}: site templates must be in the site",
            path=str(Path(shown_path(home, cwd)) / "templates") + "/",
        )
    return folder


STARTER = """\
# Settings of `episode` for this site. Values from _config.yml ({found}) are used as they are;
# a key set here wins over it. Every key: the README's "Configuration".
{values}
# Sentences to drop wherever they stand (a recurring tagline), matched on their beginning:
{tagline}
# Labelled blocks to drop with their items ("Resources to learn more about <show>"):
# boilerplate_sections = []

[newsletter]
# from_address = "Show <news@example.org>"
# unsubscribe_url = "https://example.org/unsubscribe?email={{email}}&token={{token}}"
# postal_address = ""

# [pdf], [youtube], [podcast] and [email] take their own keys (see the README).

# `episode import` writes new episodes of the podcast feed as posts:
# [import]
# podcast_feed = "https://example.org/podcast/rss"
# youtube_channel_id = "UC…"
# substack_feed = "https://example.substack.com/feed"
"""
IGNORED = ("_out/", ".episode/")


def _starter(found: Mapping[str, tuple[str, int, str]], description: str = "", name: str = "") -> str:
    """The starter `episode.toml`: each value from `_config.yml` written by a TOML writer (escaped
    as TOML says, on its one commented line) naming the key it came from, with the comments that
    explain it."""
    shown = ("show_name", "author", "site_url", "baseurl")
    lines = [
        f"# {tomli_w.dumps({key: found[key][0]}).rstrip()}  # from _config.yml {found[key][2]}"
        if key in found
        else f'# {key} = ""'
        for key in shown
    ]
    if "author" not in found and name:  # set here, where the user sees it: `name` may be the site's
        author = tomli_w.dumps({"author": name}).rstrip()
        lines[shown.index("author")] = (
            f"{author}  # from _config.yml name (in some themes the site's: check it)"
        )
    keys = ", ".join(found[key][2] for key in shown if key in found) or "nothing found"
    example = description or "A podcast that explores more than just algorithms and data"
    quoted = tomli_w.dumps({"x": example}).rstrip().removeprefix("x = ")  # escaped as TOML says
    tagline = f"# boilerplate_paragraphs = [{quoted}]"
    if description:  # the site's own tagline, which feeds often repeat in every episode
        tagline += "  # from _config.yml description"
    return STARTER.format(found=keys, values="\n".join(lines), tagline=tagline)


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _create(path: Path, text: str) -> bool:
    """Write `text` into a new file `path`; False when something is there (a symbolic link too,
    even to nothing: never followed). A half-written file is removed."""
    try:
        fd = os.open(path, _CREATE, 0o666)
    except FileExistsError:
        return False
    except OSError as exc:
        raise PipelineError(f"cannot write it: {exc.strerror}", path=path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise PipelineError(f"cannot write it: {exc.strerror}", path=path) from None
    return True


def _ignore_outputs(gitignore: Path) -> list[str]:
    """Add IGNORED to `.gitignore`. One that is a symbolic link (it may lead out of the site, or to
    nothing), not a regular file, not UTF-8 or over 1 MB is left alone with one warning."""
    entries = "".join(f"{entry}\n" for entry in IGNORED)
    yourself = f"add {', '.join(IGNORED)} to it yourself"
    try:
        info = os.lstat(gitignore)
    except FileNotFoundError:
        if _create(gitignore, entries):
            return [f"added {', '.join(IGNORED)} to .gitignore"]
        info = os.lstat(gitignore)  # it appeared meanwhile: look at it as it is
    except OSError as exc:
        return [f"warning: {gitignore}: cannot read it ({exc.strerror}): left as it is; {yourself}"]
    if stat.S_ISLNK(info.st_mode):
        return [f"warning: {gitignore}: a symbolic link: left as it is; {yourself}"]
    if not stat.S_ISREG(info.st_mode):
        return [f"warning: {gitignore}: not a regular file: left as it is; {yourself}"]
    flags = (
        os.O_RDWR | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    try:
        fd = os.open(gitignore, flags)
    except OSError as exc:
        return [f"warning: {gitignore}: cannot open it ({exc.strerror}): left as it is; {yourself}"]
    with os.fdopen(fd, "r+b") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # it changed since lstat
            return [f"warning: {gitignore}: not a regular file: left as it is; {yourself}"]
        data = handle.read(MAX_SETTINGS_BYTES + 1)
        if len(data) > MAX_SETTINGS_BYTES:
            return [f"warning: {gitignore}: over 1 MB: left as it is; {yourself}"]
        try:
            present = data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            return [f"warning: {gitignore}: not UTF-8: left as it is; {yourself}"]
        missing = [entry for entry in IGNORED if entry not in present and entry.rstrip("/") not in present]
        if not missing:
            return []
        prefix = b"\n" if data and not data.endswith(b"\n") else b""
        try:
            handle.write(prefix + "".join(f"{entry}\n" for entry in missing).encode("utf-8"))
            handle.flush()
        except OSError as exc:
            raise PipelineError(f"cannot update it: {exc.strerror}", path=gitignore) from None
    return [f"added {', '.join(missing)} to .gitignore"]


def init_site(folder: Path) -> list[str]:
    """Write a starter `episode.toml` and ignore the outputs and the state folder in `.gitignore`.

    Returns what was done, a line each (a `.gitignore` left alone is a `warning: …` line). An
    existing `episode.toml` is never replaced, nor written through a symbolic link.
    """
    done: list[str] = []
    config = folder / "_config.yml"
    top, author = _read_config(config) if config.is_file() else ({}, {})
    # The site's `description` (a folded `>-` block is one line already) and top-level `name`.
    description = " ".join(top.get("description", ("", 0))[0].split())
    name = top.get("name", ("", 0))[0].strip()
    target = folder / "episode.toml"
    if _create(target, _starter(_used(top, author), description, name)):
        done.append(f"wrote {target.name}")
    else:
        done.append(f"{target.name} exists: left as it is")
    done.extend(_ignore_outputs(folder / ".gitignore"))
    return done
