"""The one way a pasted platform description is written; `youtube` and `podcast` fill in the rest.

Not a format itself: the base of the two that are. `PlatformDescription.describe` reads the
format's settings table, plans the chapters by the platform's rules, lays the description out
in a fixed order (the hook and summary, the chapters, each link section, the closing lines),
fits it into the byte budget and collects every rule checked on the way. A subclass says only
what differs: how a block, the chapter list, a link item and the closing lines are written, and
any rule it checks before or after the fitting. The text is joined in code rather than in a
template because every part is measured as it is dropped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...model import Block, BulletList, Episode, Paragraph
from ...settings.config import Settings
from ...text.block_writers import blocks_to_text, first_sentence
from .. import Rendered
from .budget import (
    KEEP,
    RANK_FIRST_PARAGRAPH,
    RANK_LATER_PARAGRAPH,
    RANK_LINK_ITEM,
    Fitted,
    Group,
    Layout,
    Part,
    budget_result,
    fit_to_budget,
)
from .chapters import ChapterPlan, ChapterRules, plan_chapters
from .limits import RuleResult, diagnostics_of
from .options import DescriptionOptions, description_options
from .text import clean_blocks, one_line, short_label


@dataclass(frozen=True)
class Description:
    """A finished platform description and the rules checked while writing it."""

    text: str
    results: tuple[RuleResult, ...]


def hook_of(block: Block) -> str | None:
    """The first sentence of a paragraph, or of a list's first item: what is left when it goes."""
    if isinstance(block, BulletList):
        block = Paragraph(block.items[0].spans if block.items else ())
    return first_sentence((block,)) or None


def summary_groups(episode: Episode, render: Callable[[Block], str], layout: Layout) -> list[Group]:
    """The hook and the summary blocks, one group each, ranked for the drop order."""
    groups: list[Group] = []
    description = one_line(episode.description or "")
    if description:
        groups.append(Group((Part("the description", layout.hook(description), KEEP, description),)))
    for number, block in enumerate(clean_blocks(episode.summary), 1):
        if not blocks_to_text((block,)).strip():
            continue
        label = f"summary paragraph {number}"
        if groups:
            part = Part(label, render(block), RANK_LATER_PARAGRAPH)
        else:
            part = Part(label, render(block), RANK_FIRST_PARAGRAPH, hook_of(block))
        groups.append(Group((part,)))
    return groups


class PlatformDescription(ABC):
    """One platform's description: the shared skeleton, with a hook for each thing that differs."""

    file_name: str
    table: str
    """The settings table (`[tool.pipeline.<table>]`), also the prefix of the byte rule's name."""
    platform: str
    """How the byte-budget message names the platform (`YouTube: 3,120 of 5,000 bytes`)."""
    chapter_rules: ChapterRules
    layout: Layout

    def describe(self, episode: Episode, settings: Settings) -> Description:
        """The description and every rule checked on it, in the order they were checked."""
        options = description_options(settings, self.table)
        episode, checked_first = self.prepare(episode)
        plan = plan_chapters(episode, self.chapter_rules, options.intro_title)
        groups = [
            *summary_groups(episode, self.block, self.layout),
            *self.chapter_groups(plan, options, episode),
            *self.link_groups(episode),
            *self.closing_groups(episode, options),
        ]
        fitted = fit_to_budget(groups, self.layout, options.max_bytes)
        size = budget_result(
            f"{self.table}.bytes",
            self.platform,
            fitted.size_before,
            options.max_bytes,
            fitted.dropped,
            len(fitted.text.encode()),
        )
        return Description(fitted.text, (*plan.results, *checked_first, size, *self.check_fitted(fitted)))

    def rendered(self, description: Description) -> Rendered:
        """The file; warnings for what the user should fix or know was dropped."""
        return Rendered(
            files={self.file_name: description.text.encode("utf-8")},
            diagnostics=diagnostics_of(description.results),
        )

    def render(self, episode: Episode, settings: Settings) -> Rendered:
        """The format's `render`: `describe`, then `rendered`."""
        return self.rendered(self.describe(episode, settings))

    def link_groups(self, episode: Episode) -> list[Group]:
        """Each section after the summary and chapters: its heading, then one part per item."""
        groups: list[Group] = []
        for section in episode.sections:
            if section.kind not in ("links", "text"):  # the summary and chapters have their own parts
                continue
            heading = one_line(section.heading or "")
            for block in clean_blocks(section.blocks):
                name = heading or "links"
                parts = tuple(
                    Part(f"{name}: {short_label(label)}", text, RANK_LINK_ITEM)
                    for label, text in self.link_items(block)
                )
                if parts:
                    groups.append(self.link_group(block, parts, heading))
                    heading = ""  # a section's heading is written once, before its first block
        return groups

    # --- hooks ----------------------------------------------------------------------------

    def prepare(self, episode: Episode) -> tuple[Episode, Sequence[RuleResult]]:
        """The episode as this platform can take it, and the rules checked on the way (none)."""
        return episode, ()

    @abstractmethod
    def block(self, block: Block) -> str:
        """One summary block as written in this description."""

    @abstractmethod
    def chapter_groups(self, plan: ChapterPlan, options: DescriptionOptions, episode: Episode) -> list[Group]:
        """The chapter list (chapters if usable, else plain timestamps) under its heading."""

    @abstractmethod
    def link_items(self, block: Block) -> list[tuple[str, str]]:
        """(label, text) of each item of a link-section block that is written at all."""

    @abstractmethod
    def link_group(self, block: Block, parts: tuple[Part, ...], heading: str) -> Group:
        """The parts of one link-section block as a group, with the section's heading if given."""

    @abstractmethod
    def closing_groups(self, episode: Episode, options: DescriptionOptions) -> list[Group]:
        """What closes the description (the Substack link, the hashtags)."""

    def check_fitted(self, fitted: Fitted) -> Sequence[RuleResult]:
        """Rules checked on the fitted text, reported after the byte budget (none)."""
        return ()
