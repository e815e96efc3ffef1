"""`podcast.html`: the episode description for Apple Podcasts and Spotify (at most 4000 bytes).

Only `p`, `ol`, `ul`, `li`, `a[href]` and `br`, enforced by sanitizing the finished text with
the shared nh3 policy of `pipeline.sanitize` (https and mailto links only; any other link is
made plain text first, with a warning). Layout: the hook (front-matter `description`, else the
summary's first sentence opens the summary), the summary, the chapters one paragraph each from
`00:00` (`00:00:00` style for every chapter once the episode passes an hour, as Apple writes
them), each link section as a heading paragraph and a list, the Substack link. Rules and the
drop order: `pipeline.platform_rules`.
"""

from __future__ import annotations

import html
from dataclasses import replace

from ..blocks import blocks_to_html, plain_text, spans_to_html
from ..config import Settings
from ..model import BulletList, Episode, Paragraph
from ..platform_rules import (
    PODCAST_RULES,
    RANK_CHAPTERS,
    RANK_LINK_ITEM,
    RANK_SUBSTACK,
    ChapterPlan,
    Description,
    DescriptionOptions,
    Group,
    Layout,
    Part,
    RuleResult,
    budget_result,
    clean_blocks,
    clean_text,
    description_options,
    fit_to_budget,
    is_long,
    notes_of,
    one_line,
    plan_chapters,
    podcast_time,
    sanitize_podcast_html,
    short_label,
    summary_groups,
    warnings_of,
)
from ..sanitize import unlink_disallowed, unlinked_message
from . import Rendered

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


def podcast_options(settings: Settings) -> DescriptionOptions:
    """The validated `[tool.pipeline.podcast]` table."""
    return description_options(settings, "podcast")


def _chapters(plan: ChapterPlan, options: DescriptionOptions, duration: int | None) -> list[Group]:
    """Chapters one paragraph each; a list the platforms will not take as a plain list."""
    long = is_long(plan.chapters, duration)
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


def _list_items(block: BulletList) -> list[tuple[str, str]]:
    """(label, `<li>…</li>`) of each top-level item, sub-lists included."""
    out = []
    for item in block.items:
        wrapped = blocks_to_html((BulletList((item,), block.ordered),))
        out.append((plain_text(item.spans), wrapped[len("<ul>") : -len("</ul>")]))
    return out


def _links(episode: Episode) -> list[Group]:
    """Each section after the summary and chapters: a heading paragraph, then paragraphs and list items."""
    groups: list[Group] = []
    for section in episode.sections:
        if section.kind not in ("links", "text"):  # the summary and chapters have their own parts
            continue
        heading = one_line(section.heading or "")
        for block in clean_blocks(section.blocks):
            name = heading or "links"
            head = _paragraph(heading) + "\n" if heading else ""
            if isinstance(block, Paragraph):
                label = plain_text(block.spans)
                if not label.strip():
                    continue
                text = f"<p>{spans_to_html(block.spans)}</p>"
                group = Group((Part(f"{name}: {short_label(label)}", text, RANK_LINK_ITEM),), head)
            else:
                tag = "ol" if block.ordered else "ul"
                parts = tuple(
                    Part(f"{name}: {short_label(label)}", text, RANK_LINK_ITEM)
                    for label, text in _list_items(block)
                )
                if not parts:
                    continue
                group = Group(parts, head=f"{head}<{tag}>", tail=f"</{tag}>", sep="")
            groups.append(group)
            heading = ""
    return groups


def _substack(episode: Episode, options: DescriptionOptions) -> list[Group]:
    """The Substack link as its own paragraph."""
    url = one_line(clean_text(episode.substack_url or ""))
    if not url:
        return []
    label = _escape(options.substack_label) + " " if options.substack_label else ""
    text = f'<p>{label}<a href="{html.escape(url)}">{_escape(url)}</a></p>'
    return [Group((Part("the Substack link", text, RANK_SUBSTACK),))]


def _without_disallowed_links(episode: Episode) -> tuple[Episode, list[RuleResult]]:
    """The episode with links the sanitizer would refuse (http://…) as text, one result each."""
    removed: list[str] = []
    sections = tuple(replace(s, blocks=unlink_disallowed(s.blocks, removed)) for s in episode.sections)
    results = [RuleResult("podcast.links", False, f"Apple: {unlinked_message(url)}") for url in removed]
    return replace(episode, sections=sections), results


def describe(episode: Episode, settings: Settings) -> Description:
    """The Apple Podcasts / Spotify description and every rule checked on it."""
    options = podcast_options(settings)
    episode, link_results = _without_disallowed_links(episode)
    plan = plan_chapters(episode, PODCAST_RULES, options.intro_title)
    groups = [
        *summary_groups(episode, lambda block: blocks_to_html((block,)), LAYOUT),
        *_chapters(plan, options, episode.duration),
        *_links(episode),
        *_substack(episode, options),
    ]
    fitted = fit_to_budget(groups, LAYOUT, options.max_bytes)
    size = budget_result(
        "podcast.bytes",
        "Apple",
        fitted.size_before,
        options.max_bytes,
        fitted.dropped,
        len(fitted.text.encode()),
    )
    return Description(fitted.text, (*plan.results, *link_results, size))


def render(episode: Episode, settings: Settings) -> Rendered:
    """`podcast.html`; warnings for what the user should fix or know was dropped."""
    description = describe(episode, settings)
    return Rendered(
        files={FILE_NAME: description.text.encode("utf-8")},
        warnings=warnings_of(description.results),
        notes=notes_of(description.results),
    )
