"""One post in, one Episode out: the stages of normalization, in order.

read (`source`) -> prepare (`prepare`: control characters, Liquid, well-formed HTML) -> pandoc
(`convert`) -> blocks (`ast.Walker`, links resolved here) -> furniture and boilerplate out
(`boilerplate`) -> the Markdown and HTML copies merged (`merge`) -> labels, sections and chapters
(`structure`) -> the Episode, checked against the raw body (`accounting.verify`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..accounting.verify import verify
from ..errors import ConversionError
from ..model import Episode, Note
from ..pandoc.blocks import Walker
from ..pandoc.convert import body_to_ast, parse_raw
from ..settings.config import Settings
from ..source.post_file import RawPost, read_post
from ..source.prepare import Prepared, prepare, well_formed_html
from ..text.links import absolute_url, is_absolute, strip_tracking, unwrap_redirect
from .boilerplate import remove_boilerplate
from .comments import note_comments, place_comments
from .merge import merge_copies
from .structure import find_structure

if TYPE_CHECKING:
    from ..pandoc.stream import Converted

__all__ = [
    "Prepared",
    "normalize_file",
    "normalize_post",
    "normalize_prepared",
    "prepare",
    "well_formed_html",
]


def normalize_file(path: Path, settings: Settings) -> Episode:
    """Read one post file and normalize it into an Episode."""
    return normalize_post(read_post(path), settings)


def normalize_post(raw: RawPost, settings: Settings) -> Episode:
    """Normalize an already-read post."""
    prepared = prepare(raw, settings)
    return normalize_prepared(prepared, body_to_ast(prepared.body, raw.path), settings)


def normalize_converted(item: Converted, settings: Settings) -> Episode:
    """Normalize one post of the conversion stream; raises the post's own error (a PipelineError
    for the user's mistakes)."""
    if item.error is not None:
        raise item.error
    assert item.prepared is not None
    assert item.raw is not None
    ast = parse_raw(item.raw, item.path)
    if isinstance(ast, Exception):
        raise ast
    return normalize_prepared(item.prepared, ast, settings)


def normalize_prepared(prepared: Prepared, ast: dict[str, Any], settings: Settings) -> Episode:
    """Normalize a prepared post, given pandoc's AST of its body."""
    raw = prepared.raw
    fm = raw.front_matter
    notes = list(prepared.notes)  # the report, in the order the stages find things
    walker = Walker(_link_resolver(settings, notes), notes)
    try:
        items = list(walker.blocks(ast["blocks"], "md"))
    except RecursionError:
        raise ConversionError("the body is nested too deeply to convert", path=raw.path) from None
    walker.comments_after_the_body()
    comment_texts = note_comments([text for _, text in walker.comments], raw.body, raw.body_line, notes)
    cleaned = remove_boilerplate(items, fm.youtube_id, settings, notes)
    merged = merge_copies(cleaned.items, notes)
    structure = find_structure(merged, settings, fm.duration, notes, fm.youtube_id)

    substack_url = fm.substack_url
    front = raw.front_matter_text
    if cleaned.substack_url:
        if substack_url is None:
            substack_url = cleaned.substack_url
            front += f"substack_url: {substack_url}\n"
            notes.append(Note("changed", f"front matter: substack_url: {substack_url}"))
        elif cleaned.substack_url != substack_url:
            notes.append(
                Note(
                    "warning",
                    f"body links to {cleaned.substack_url} but substack_url is {substack_url};"
                    " kept substack_url",
                )
            )

    # Site links resolved and chapters read are not changes to the text: outputs use them.
    # A comment is not one either: post.md keeps it as written.
    # A separator line is only gone from a post.md written from the Episode (`Episode.report`).
    untouched = raw.text if all(n.kind in ("warning", "comment", "separator") for n in notes) else None
    episode = Episode(
        unchanged_source=untouched or None,
        stem=raw.stem,
        source_name=raw.path.name,
        title=fm.title,
        date=fm.date,
        youtube_id=fm.youtube_id,
        substack_url=substack_url,
        description=fm.description,
        categories=fm.categories,
        duration=fm.duration,
        sections=structure.sections,
        chapters=structure.chapters,
        chapter_problems=structure.problems,
        front_matter_text=front,
        notes=tuple(notes),
        chapter_lines=structure.chapter_lines,
        comments=place_comments(walker.comments, comment_texts, items, structure.sections),
        liquid=prepared.liquid,
    )
    verify(raw, episode, settings)
    return episode


def _link_resolver(settings: Settings, notes: list[Note]) -> Callable[[str], str | None]:
    """What the Walker calls for each link: the URL a post keeps, or None (the text stays, reported
    `dropped`); redirect wrappers unwrapped and tracking parameters removed, each reported."""

    def resolve(url: str) -> str | None:
        original = url.strip()
        target = unwrap_redirect(original)
        if target is not None and not is_absolute(target):
            return None  # a wrapper around `javascript:…` or a path on the wrapper's own site
        absolute = absolute_url(original if target is None else target, settings.site_url, settings.baseurl)
        if absolute is None:
            return None
        if target is not None:
            notes.append(Note("redirect", original))
        cleaned = strip_tracking(absolute, settings.tracking_params)
        if cleaned != absolute:
            notes.append(Note("tracking-parameters", original))
        return cleaned

    return resolve
