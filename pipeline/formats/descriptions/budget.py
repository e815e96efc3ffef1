"""Fitting a description into a byte budget: whole parts dropped in a fixed order.

YouTube counts 5,000 bytes of UTF-8, Apple Podcasts and Spotify 4,000 (`limits`).
A format lays its description out as `Group`s of `Part`s, each part with a drop rank, and
`fit_to_budget` drops parts until the finished text fits.

Drop order when a description passes its byte limit. The first step listed goes first; within
a step the part written last goes first. Parts are whole: a paragraph, a list item with its
sub-items, the hashtag line, the Substack line, or the whole chapter list.

1. items of the link sections (resources, references, ...), from the last section's last item
   upwards; a section's heading goes with its last item;
2. summary paragraphs after the first, the last first;
3. the hashtags (YouTube);
4. the Substack link;
5. the first summary paragraph: without a front-matter `description` it is replaced by its
   first sentence (the hook) rather than dropped; with one, the description is the hook;
6. the chapter list, whole, and only when it cannot fit even beside a one-word hook (a
   list of hundreds of chapters); a single chapter line is never dropped;
7. last resort: the hook is cut after the last whole word that fits and ends in "…".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...errors import RenderError
from .limits import RuleResult
from .text import ELLIPSIS

# Drop ranks (see the module docstring): the highest rank is dropped first, KEEP never.
RANK_LINK_ITEM = 6
RANK_LATER_PARAGRAPH = 5
RANK_HASHTAGS = 4
RANK_SUBSTACK = 3
RANK_FIRST_PARAGRAPH = 2
RANK_CHAPTERS = 1
KEEP = 0


def utf8_len(text: str) -> int:
    """The length platforms count: bytes of UTF-8 (an emoji is 4)."""
    return len(text.encode("utf-8"))


def budget_result(
    name: str, platform: str, size: int, limit: int, dropped: Sequence[str] = (), final: int = 0
) -> RuleResult:
    """`YouTube: 3,120 of 5,000 bytes`, or what passed the limit and what was dropped for it."""
    if size <= limit:
        return RuleResult(name, True, f"{platform}: {size:,} of {limit:,} bytes")
    message = f"{platform}: {size:,} bytes, over {limit:,} by {size - limit:,}"
    if dropped:
        message += f"; dropped {', '.join(dropped)} ({final:,} bytes now)"
    return RuleResult(name, False, message)


@dataclass(frozen=True)
class Part:
    """One piece of a description that is kept or dropped whole."""

    label: str
    """How the part is named when it is dropped."""
    text: str
    rank: int = KEEP
    hook: str | None = None
    """Plain words kept in place of a dropped part; on a KEEP part, what is cut as a last resort."""


@dataclass(frozen=True)
class Group:
    """Parts written together (a heading and its list); it vanishes with its last part."""

    parts: tuple[Part, ...]
    head: str = ""
    tail: str = ""
    sep: str = "\n"


@dataclass(frozen=True)
class Layout:
    """How one format joins groups, writes a hook, and finishes the whole text."""

    join: str
    hook: Callable[[str], str]
    finish: Callable[[str], str]


@dataclass(frozen=True)
class Fitted:
    """A description within its budget, the size it had before, and what was dropped."""

    text: str
    raw: str
    """The kept text before `Layout.finish`."""
    size_before: int
    dropped: tuple[str, ...]


State = list[list[Part | None]]


def _assemble(groups: Sequence[Group], state: State, join: str) -> str:
    chunks = []
    for group, parts in zip(groups, state, strict=True):
        kept = [p.text for p in parts if p is not None]
        if kept:
            chunks.append(group.head + group.sep.join(kept) + group.tail)
    return join.join(chunks)


def _cut_words(words: str, fits: Callable[[str], bool]) -> tuple[str, int]:
    """The longest start of `words` ending in `…` that `fits`, cut between words; its word count."""
    tokens = words.split()
    low, high = 0, len(tokens) - 1  # keeping every token is what did not fit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(" ".join(tokens[:middle]) + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return " ".join(tokens[:low]) + ELLIPSIS, low


class _Budget:
    """The parts of one description while they are being dropped to fit a byte limit."""

    def __init__(self, groups: Sequence[Group], layout: Layout, limit: int) -> None:
        self.groups = groups
        self.layout = layout
        self.limit = limit
        self.state: State = [list(g.parts) for g in groups]
        self.dropped: list[str] = []

    def size(self, state: State | None = None) -> int:
        """Bytes of the finished text of `state` (default: the current one)."""
        raw = _assemble(self.groups, self.state if state is None else state, self.layout.join)
        return utf8_len(self.layout.finish(raw))

    def over(self) -> bool:
        return self.size() > self.limit

    def where(self, keep: Callable[[Part], bool]) -> list[tuple[int, int, Part]]:
        """(group, index, part) of the kept parts `keep` selects, in output order."""
        return [
            (g, i, part) for g, parts in enumerate(self.state) for i, part in enumerate(parts)
            if part is not None and keep(part)
        ]  # fmt: skip

    def hooked(self, part: Part, words: str) -> Part:
        """`part` replaced by its hook words, now never dropped."""
        return Part(part.label, self.layout.hook(words), KEEP, part.hook)

    def without(self, steps: Sequence[tuple[int, int, Part]]) -> State:
        """The current state with `steps` dropped (a part with a hook keeps its hook)."""
        state = [list(parts) for parts in self.state]
        for g, i, part in steps:
            state[g][i] = self.hooked(part, part.hook) if part.hook else None
        return state

    def drop_ranked(self) -> None:
        """Drop steps 1-5: the highest rank first, within a rank the part written last first."""
        order = self.where(lambda part: part.rank > RANK_CHAPTERS)
        order.sort(key=lambda gip: (-gip[2].rank, -gip[0], -gip[1]))
        if not self.over():
            return
        # Each drop only shortens the text, so the fewest drops that fit are found by bisection.
        low, high = 1, len(order)
        while low < high:
            middle = (low + high) // 2
            if self.size(self.without(order[:middle])) <= self.limit:
                high = middle
            else:
                low = middle + 1
        steps = order[:low]
        self.state = self.without(steps)
        for _, _, part in steps:
            kept = " (kept its first sentence)" if part.hook else ""
            self.dropped.append(part.label + kept)

    def drop_chapters_if_hopeless(self) -> None:
        """Drop step 6: the chapter list, only when it does not fit beside a one-word hook."""
        if not self.over():
            return
        shortest = [list(parts) for parts in self.state]
        for g, i, part in self.where(lambda part: part.rank == KEEP and bool(part.hook)):
            shortest[g][i] = self.hooked(part, ELLIPSIS)
        if self.size(shortest) <= self.limit:
            return
        for g, i, part in self.where(lambda part: part.rank == RANK_CHAPTERS):
            self.state[g][i] = None
            self.dropped.append(part.label)

    def cut_hooks(self) -> None:
        """Drop step 7: cut the hook between words, the last hook first."""
        for g, i, part in reversed(self.where(lambda part: part.rank == KEEP and bool(part.hook))):
            if not self.over():
                return
            assert part.hook is not None

            def fits(words: str, g: int = g, i: int = i, part: Part = part) -> bool:
                trial = [list(parts) for parts in self.state]
                trial[g][i] = self.hooked(part, words)
                return self.size(trial) <= self.limit

            words, count = _cut_words(part.hook, fits)
            self.state[g][i] = self.hooked(part, words)
            self.dropped.append(f"{part.label} after its first {count:,} words")


def fit_to_budget(groups: Sequence[Group], layout: Layout, limit: int) -> Fitted:
    """Drop whole parts in the documented order until the finished text is within `limit` bytes."""
    budget = _Budget(groups, layout, limit)
    size_before = budget.size()
    budget.drop_ranked()
    budget.drop_chapters_if_hopeless()
    budget.cut_hooks()
    raw = _assemble(groups, budget.state, layout.join)
    text = layout.finish(raw)
    if utf8_len(text) > limit:
        raise RenderError(f"cannot fit the description into {limit:,} bytes")
    return Fitted(text, raw, size_before, tuple(budget.dropped))
