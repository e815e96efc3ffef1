"""`episode watch` and `episode serve`: notice changes to posts, templates and settings.

File-system events through `watchfiles` (inotify, FSEvents, ReadDirectoryChangesW), not polling.
Every folder is watched on its own, not recursively: the posts folder (a Jekyll `_posts/` is
flat), each folder of the template trees, and the folders holding the settings files, so that
an editor that saves by renaming a new file into place is seen, and the output folder beside
them is not watched at all (a build's own writes never trigger a build).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..settings.config import TEMPLATES_DIR, Settings
from ..source.discovery import POST_SUFFIXES

DEBOUNCE_MS = 1600  # at most this long between the first change of a burst and the build
STEP_MS = 50  # a burst ends after this long without a change
READY_MS = 200  # how soon the watcher says it is watching (an empty set), then nothing while idle


class Event(Protocol):
    def is_set(self) -> bool: ...


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


@dataclass(frozen=True)
class Watched:
    """What a change of starts a build: the posts, the template trees and the settings files."""

    posts: Path
    templates: tuple[Path, ...] = (TEMPLATES_DIR,)
    files: tuple[Path, ...] = ()

    def folders(self) -> list[Path]:
        """Every folder to watch (non-recursively), each once."""
        posts = _absolute(self.posts)
        found = [posts if posts.is_dir() else posts.parent]
        for tree in self.templates:
            if tree.is_dir():
                root = _absolute(tree)
                found.append(root)
                found += sorted(p for p in root.rglob("*") if p.is_dir() and "__pycache__" not in p.parts)
        found += [_absolute(f).parent for f in self.files]
        return list(dict.fromkeys(p for p in found if p.is_dir()))

    def wants(self, path: str | Path) -> bool:
        """True when a change of `path` can change what a build makes."""
        changed = _absolute(Path(path))
        posts = _absolute(self.posts)
        if changed == posts:
            return True
        if changed.parent == posts:
            return changed.suffix.lower() in POST_SUFFIXES and not changed.name.startswith(".")
        if any(changed.is_relative_to(_absolute(tree)) for tree in self.templates):
            return not changed.name.startswith(".") and "__pycache__" not in changed.parts
        return changed in {_absolute(f) for f in self.files}


def template_trees(settings: Settings) -> tuple[Path, ...]:
    """The bundled templates and the site's own `templates/` folder, when it has one."""
    overrides = (Path(settings.template_overrides),) if settings.template_overrides else ()
    return (TEMPLATES_DIR, *overrides)


def settings_files(settings: Settings, site: Path | None) -> tuple[Path, ...]:
    """The files the settings were read from: the site's `_config.yml` and the settings file."""
    files: list[Path] = []
    if site is not None:
        files.append(site / "_config.yml")
    if settings.source != "defaults" and Path(settings.source).is_file():
        files.append(Path(settings.source))
    return tuple(dict.fromkeys(files))


def watch_changes(
    src: Path | Watched, stop_event: Event | None = None, *, debounce_ms: int = DEBOUNCE_MS
) -> Iterator[set[str]]:
    """Yield an empty set once the watcher is watching, then the paths changed by each burst.

    Whatever changes after the empty set is seen: build on it, and no edit made while the watcher
    was starting is missed.

    Runs until `stop_event` is set (or forever); `src` is the posts (a file or a folder) with the
    bundled templates, or a `Watched`.
    """
    import watchfiles

    watched = src if isinstance(src, Watched) else Watched(src)
    ignore = watchfiles.DefaultFilter()

    def wanted(change: watchfiles.Change, path: str) -> bool:
        return ignore(change, path) and watched.wants(path)

    ready = False
    for changes in watchfiles.watch(
        *watched.folders(),
        watch_filter=wanted,
        recursive=False,
        stop_event=stop_event,
        debounce=debounce_ms,
        step=STEP_MS,
        rust_timeout=READY_MS,
        yield_on_timeout=True,  # the first timeout says the watcher runs
    ):
        if changes or not ready:
            ready = True
            yield {path for _, path in changes}


def paths_shown(paths: Iterable[str], cwd: Path | None = None) -> Sequence[str]:
    """Changed paths as a user reads them, relative to the current folder when below it."""
    here = _absolute(cwd or Path.cwd())
    shown = []
    for path in sorted(paths):
        absolute = _absolute(Path(path))
        shown.append(str(absolute.relative_to(here)) if absolute.is_relative_to(here) else str(path))
    return shown
