"""The latest build the preview made, and which pages it changed: shared by the request threads,
which wait on it to tell an open page to reload."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .pages import PostView

# --- the state the pages are made from ------------------------------------------------------


@dataclass
class Snapshot:
    posts: dict[str, PostView] = field(default_factory=dict)
    problem: str | None = None  # a build that could not start (settings) or crashed
    summary: str = "not built yet"
    settings_line: str = ""
    built_at: str = ""


class State:
    """The latest build, and which pages it changed; shared by the request threads."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.changed: dict[str, int] = {}  # stem -> generation its page last changed
        self.everything = 0  # generation at which every page changed (a problem came or went)
        self.snapshot = Snapshot()
        self.stopping = False
        self.watching: dict[str, int] = {}  # stem -> pages open on it (their event streams)

    def open_stems(self) -> list[str]:
        """The posts a browser shows right now, most watched first: what a rebuild does first."""
        with self.condition:
            return sorted((s for s, n in self.watching.items() if n > 0), key=lambda s: -self.watching[s])

    @contextlib.contextmanager
    def page_open(self, stem: str | None) -> Iterator[None]:
        """Count a page's event stream as an open page of `stem` while it lasts."""
        if stem is None:
            yield
            return
        with self.condition:
            self.watching[stem] = self.watching.get(stem, 0) + 1
        try:
            yield
        finally:
            with self.condition:
                self.watching[stem] -= 1
                if not self.watching[stem]:
                    del self.watching[stem]

    def publish(self, snapshot: Snapshot, rebuilt: Iterable[str] = ()) -> None:
        """Make `snapshot` current and wake the pages it changes: those whose post shows
        differently, or whose outputs were written again (`rebuilt`)."""
        with self.condition:
            old = self.snapshot
            changed = set(rebuilt) | {
                stem
                for stem in old.posts.keys() | snapshot.posts.keys()
                if old.posts.get(stem) != snapshot.posts.get(stem)
            }
            everything = old.problem != snapshot.problem or old.settings_line != snapshot.settings_line
            if changed or everything:
                self.generation += 1
                for stem in changed:
                    self.changed[stem] = self.generation
                if everything:
                    self.everything = self.generation
            self.snapshot = snapshot
            self.condition.notify_all()

    def _changed_since(self, since: int, stem: str | None) -> bool:
        if stem is None:
            return self.generation > since
        return max(self.changed.get(stem, 0), self.everything) > since

    def wait(self, since: int, stem: str | None, timeout: float) -> int | None:
        """The generation once a page shown at `since` is out of date; None after `timeout`."""
        with self.condition:
            self.condition.wait_for(lambda: self.stopping or self._changed_since(since, stem), timeout)
            return self.generation if self._changed_since(since, stem) else None

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()
