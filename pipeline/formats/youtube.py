"""`youtube.txt`: the video description, ready to paste (plain text, at most 5000 bytes).

Layout: the hook (front-matter `description`, else the summary's first sentence opens the
summary), the summary, the chapters (`0:00 Title`, one a line), each link section with its
URLs written out, the Substack link, the hashtags. The rules (chapters from 0:00, the byte
budget and its drop order, no angle brackets) are in `pipeline.platform_rules`. The text is
joined here rather than in a template because every part is measured as it is dropped.
"""

from __future__ import annotations

from ..blocks import blocks_to_text, plain_text
from ..config import Settings
from ..model import Block, BulletList, Episode, Paragraph
from ..platform_rules import (
    RANK_CHAPTERS,
    RANK_HASHTAGS,
    RANK_LINK_ITEM,
    RANK_SUBSTACK,
    YOUTUBE_RULES,
    ChapterPlan,
    Description,
    DescriptionOptions,
    Group,
    Layout,
    Part,
    angle_bracket_result,
    budget_result,
    clean_blocks,
    clean_text,
    clock,
    description_options,
    fit_to_budget,
    notes_of,
    one_line,
    plan_chapters,
    replace_angle_brackets,
    short_label,
    summary_groups,
    warnings_of,
)
from . import Rendered

FILE_NAME = "youtube.txt"


def _finish(text: str) -> str:
    """The whole text as pasted: no angle brackets, one newline at the end."""
    return replace_angle_brackets(text) + "\n"


LAYOUT = Layout(join="\n\n", hook=lambda words: words, finish=_finish)


def youtube_options(settings: Settings) -> DescriptionOptions:
    """The validated `[tool.pipeline.youtube]` table."""
    return description_options(settings, "youtube")


def _chapters(plan: ChapterPlan, options: DescriptionOptions) -> list[Group]:
    """Chapters one a line, time first; a list YouTube will not take as `- ` timestamps."""
    if plan.usable:
        lines = [f"{clock(c.start)} {one_line(c.title)}".rstrip() for c in plan.chapters]
        heading = options.chapters_heading
    else:
        written = plan.written or [f"{clock(c.start)} {one_line(c.title)}" for c in plan.chapters]
        lines = [f"- {line}".rstrip() for line in written]
        heading = options.timestamps_heading
    if not lines:
        return []
    part = Part(f"the chapter list ({len(lines)} lines)", "\n".join(lines), RANK_CHAPTERS)
    return [Group((part,), head=heading + "\n")]


def _items(block: Block) -> list[tuple[str, str]]:
    """(label, text) of each paragraph or top-level list item (with its sub-items)."""
    if isinstance(block, Paragraph):
        return [(plain_text(block.spans), blocks_to_text((block,)))]
    assert isinstance(block, BulletList)
    chunks: list[list[str]] = []
    for line in blocks_to_text((block,)).split("\n"):
        if chunks and line.startswith(" "):
            chunks[-1].append(line)
        else:
            chunks.append([line])
    labels = [plain_text(item.spans) for item in block.items]
    return list(zip(labels, ("\n".join(c) for c in chunks), strict=True))


def _links(episode: Episode) -> list[Group]:
    """Each section after the summary and chapters: its heading, then one part per item, URLs written out."""
    groups: list[Group] = []
    for section in episode.sections:
        if section.kind not in ("links", "text"):  # the summary and chapters have their own parts
            continue
        heading = one_line(section.heading or "")
        for block in clean_blocks(section.blocks):
            name = heading or "links"
            parts = tuple(
                Part(f"{name}: {short_label(label)}", text, RANK_LINK_ITEM)
                for label, text in _items(block)
                if text
            )
            if parts:
                groups.append(Group(parts, head=heading + "\n" if heading else ""))
                heading = ""
    return groups


def _closing(episode: Episode, options: DescriptionOptions) -> list[Group]:
    """The Substack link and the hashtags."""
    groups: list[Group] = []
    url = one_line(clean_text(episode.substack_url or ""))
    if url:
        line = f"{options.substack_label} {url}".strip()
        groups.append(Group((Part("the Substack link", line, RANK_SUBSTACK),)))
    if options.hashtags:
        tags = " ".join(options.hashtags)
        groups.append(Group((Part("the hashtags", tags, RANK_HASHTAGS),)))
    return groups


def describe(episode: Episode, settings: Settings) -> Description:
    """The YouTube description and every rule checked on it."""
    options = youtube_options(settings)
    plan = plan_chapters(episode, YOUTUBE_RULES, options.intro_title)
    groups = [
        *summary_groups(episode, lambda block: blocks_to_text((block,)), LAYOUT),
        *_chapters(plan, options),
        *_links(episode),
        *_closing(episode, options),
    ]
    fitted = fit_to_budget(groups, LAYOUT, options.max_bytes)
    size = budget_result(
        "youtube.bytes",
        "YouTube",
        fitted.size_before,
        options.max_bytes,
        fitted.dropped,
        len(fitted.text.encode()),
    )
    results = (*plan.results, size, angle_bracket_result(fitted.raw))
    return Description(fitted.text, results)


def render(episode: Episode, settings: Settings) -> Rendered:
    """`youtube.txt`; warnings for what the user should fix or know was dropped."""
    description = describe(episode, settings)
    return Rendered(
        files={FILE_NAME: description.text.encode("utf-8")},
        warnings=warnings_of(description.results),
        notes=notes_of(description.results),
    )
