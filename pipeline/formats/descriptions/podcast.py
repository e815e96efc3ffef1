"""`podcast.html`: the episode description for Apple Podcasts and Spotify (at most 4000 bytes).

Only `p`, `ol`, `ul`, `li`, `a[href]` and `br`, enforced by sanitizing the finished text with
the shared nh3 policy of `pipeline.formats.sanitize` (https and mailto links only; any other link is
made plain text first, with a warning). Layout: the hook (front-matter `description`, else the
summary's first sentence opens the summary), the summary, the chapters one paragraph each from
`00:00` (`00:00:00` style for every chapter once the episode passes an hour, as Apple writes
them), each link section as a heading paragraph and a list, the Substack link. The skeleton
shared with `youtube` is `pipeline.formats.descriptions.common`; the rules are in
`pipeline.formats.descriptions.chapters`, `pipeline.formats.descriptions.budget` (the drop order) and
`pipeline.formats.descriptions.text` (the allow-list).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace

from ...model import Block, BulletList, Episode, Paragraph
from ...text.block_writers import blocks_to_html, plain_text, spans_to_html
from ..sanitize import unlink_disallowed, unlinked_message
from .budget import RANK_CHAPTERS, RANK_SUBSTACK, Group, Layout, Part
from .chapters import PODCAST_RULES, ChapterPlan, is_long, podcast_time
from .common import PlatformDescription
from .limits import RuleResult
from .options import DescriptionOptions
from .text import clean_text, one_line, sanitize_podcast_html

FILE_NAME = "podcast.html"


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _paragraph(text: str) -> str:
    """One escaped paragraph of plain text."""
    return f"<p>{_escape(text)}</p>"


def _finish(text: str) -> str:
    """The whole description as pasted: sanitized, one newline at the end."""
    return sanitize_podcast_html(text) + "\n"


LAYOUT = Layout(join="\n", hook=_paragraph, finish=_finish)


def _list_items(block: BulletList) -> list[tuple[str, str]]:
    """(label, `<li>…</li>`) of each top-level item, sub-lists included."""
    out = []
    for item in block.items:
        wrapped = blocks_to_html((BulletList((item,), block.ordered),))
        out.append((plain_text(item.spans), wrapped[len("<ul>") : -len("</ul>")]))
    return out


class PodcastDescription(PlatformDescription):
    """HTML of a few tags; chapters one paragraph each; each link section a heading and a list."""

    file_name = FILE_NAME
    table = "podcast"
    platform = "Apple"
    chapter_rules = PODCAST_RULES
    layout = LAYOUT

    def prepare(self, episode: Episode) -> tuple[Episode, Sequence[RuleResult]]:
        """The episode with links the sanitizer would refuse (http://…) as text, one result each."""
        removed: list[str] = []
        sections = tuple(replace(s, blocks=unlink_disallowed(s.blocks, removed)) for s in episode.sections)
        results = [RuleResult("podcast.links", False, f"Apple: {unlinked_message(url)}") for url in removed]
        return replace(episode, sections=sections), results

    def block(self, block: Block) -> str:
        return blocks_to_html((block,))

    def chapter_groups(self, plan: ChapterPlan, options: DescriptionOptions, episode: Episode) -> list[Group]:
        """Chapters one paragraph each; a list the platforms will not take as a plain list."""
        long = is_long(plan.chapters, episode.duration)
        lines = [f"{podcast_time(c.start, long)} {one_line(c.title)}".rstrip() for c in plan.chapters]
        if not plan.usable and plan.written:
            lines = list(plan.written)
        if not lines:
            return []
        label = f"the chapter list ({len(lines)} lines)"
        if plan.usable:
            text = "\n".join(_paragraph(line) for line in lines)
            head = _paragraph(options.chapters_heading) + "\n"
            return [Group((Part(label, text, RANK_CHAPTERS),), head=head)]
        items = "".join(f"<li>{_escape(line)}</li>" for line in lines)
        head = _paragraph(options.timestamps_heading) + "\n<ul>"
        return [Group((Part(label, items, RANK_CHAPTERS),), head=head, tail="</ul>")]

    def link_items(self, block: Block) -> list[tuple[str, str]]:
        """A paragraph with words as one `<p>`; each list item as its `<li>`, sub-lists included."""
        if isinstance(block, BulletList):
            return _list_items(block)
        label = plain_text(block.spans)
        return [(label, f"<p>{spans_to_html(block.spans)}</p>")] if label.strip() else []

    def link_group(self, block: Block, parts: tuple[Part, ...], heading: str) -> Group:
        """A paragraph, or a list whose items are dropped one by one; the heading as a paragraph."""
        head = _paragraph(heading) + "\n" if heading else ""
        if isinstance(block, Paragraph):
            return Group(parts, head)
        tag = "ol" if block.ordered else "ul"
        return Group(parts, head=f"{head}<{tag}>", tail=f"</{tag}>", sep="")

    def closing_groups(self, episode: Episode, options: DescriptionOptions) -> list[Group]:
        """The Substack link as its own paragraph."""
        url = one_line(clean_text(episode.substack_url or ""))
        if not url:
            return []
        label = _escape(options.substack_label) + " " if options.substack_label else ""
        text = f'<p>{label}<a href="{html.escape(url)}">{_escape(url)}</a></p>'
        return [Group((Part("the Substack link", text, RANK_SUBSTACK),))]


FORMAT = PodcastDescription()
# The format's interface (`pipeline.formats.FormatModule`).
describe = FORMAT.describe
render = FORMAT.render
