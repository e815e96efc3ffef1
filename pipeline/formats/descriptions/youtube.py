"""`youtube.txt`: the video description, ready to paste (plain text, at most 5000 bytes).

Layout: the hook (front-matter `description`, else the summary's first sentence opens the
summary), the summary, the chapters (`0:00 Title`, one a line), each link section with its
URLs written out, the Substack link, the hashtags. The skeleton shared with `podcast` is
`common`; the rules are in `chapters` (chapters from 0:00, 10 s each), `budget` (the byte budget
and its drop order) and `text` (no angle brackets).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...model import Block, BulletList, Episode, Paragraph
from ...text.block_writers import blocks_to_text, plain_text
from .budget import RANK_CHAPTERS, RANK_HASHTAGS, RANK_SUBSTACK, Fitted, Group, Layout, Part
from .chapters import YOUTUBE_RULES, ChapterPlan, clock
from .common import PlatformDescription
from .limits import RuleResult
from .options import DescriptionOptions
from .text import angle_bracket_result, clean_text, one_line, replace_angle_brackets

FILE_NAME = "youtube.txt"


def _finish(text: str) -> str:
    """The whole text as pasted: no angle brackets, one newline at the end."""
    return replace_angle_brackets(text) + "\n"


LAYOUT = Layout(join="\n\n", hook=lambda words: words, finish=_finish)


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


class YouTubeDescription(PlatformDescription):
    """Plain text; chapters one a line, time first; URLs written out; hashtags last."""

    file_name = FILE_NAME
    table = "youtube"
    platform = "YouTube"
    chapter_rules = YOUTUBE_RULES
    layout = LAYOUT

    def block(self, block: Block) -> str:
        return blocks_to_text((block,))

    def chapter_groups(self, plan: ChapterPlan, options: DescriptionOptions, episode: Episode) -> list[Group]:
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

    def link_items(self, block: Block) -> list[tuple[str, str]]:
        """Each paragraph or list item as plain text, URLs written out."""
        return [(label, text) for label, text in _items(block) if text]

    def link_group(self, block: Block, parts: tuple[Part, ...], heading: str) -> Group:
        return Group(parts, head=heading + "\n" if heading else "")

    def closing_groups(self, episode: Episode, options: DescriptionOptions) -> list[Group]:
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

    def check_fitted(self, fitted: Fitted) -> Sequence[RuleResult]:
        """The angle brackets the finished text had replaced."""
        return (angle_bracket_result(fitted.raw),)


FORMAT = YouTubeDescription()
# The format's interface (`pipeline.formats.FormatModule`).
describe = FORMAT.describe
render = FORMAT.render
