"""The canonical post text and its report, as `post.md` and `report.txt` hold them.

Normalization checks these against the source (`verify.py`) before any output is
written, so they live beside it rather than in an output format.
"""

from __future__ import annotations

from ..model import BulletList, Episode, ListItem, Span
from ..text.block_writers import blocks_to_markdown, spans_to_markdown


def canonical_markdown(episode: Episode) -> str:
    """The post as Jekyll reads it: original front matter (plus additions), then a clean body.

    A post normalization found nothing to change in stays exactly as its author wrote it.
    """
    if episode.unchanged_source is not None:
        return episode.unchanged_source
    return rendered_markdown(episode)


def rendered_markdown(episode: Episode) -> str:
    """The post written from the Episode itself: what every output is made from."""
    parts: list[str] = []
    comments: dict[tuple[int, int], list[str]] = {}
    for comment in episode.comments:
        if comment.section is not None:
            comments.setdefault((comment.section, comment.block), []).append(comment.text)
    for s, section in enumerate(episode.sections):
        if section.heading is not None:
            parts.append(f"## {spans_to_markdown((Span(section.heading),))}")
        if section.kind == "chapters" and episode.chapter_lines:
            chapter_list = BulletList(tuple(ListItem(line) for line in episode.chapter_lines))
            parts.append(blocks_to_markdown([chapter_list]))
        for b, block in enumerate(section.blocks):
            parts.extend(comments.get((s, b), ()))  # each an HTML block of its own
            parts.append(blocks_to_markdown([block]))
    parts.extend(c.text for c in episode.comments if c.section is None)
    body = episode.liquid.protect("\n\n".join(p for p in parts if p))
    # No blank line is added after the front matter and the post ends with one newline: the
    # layout a post's author gave it is theirs (`episode normalize --write` keeps the rest of it).
    return front_matter_block(episode) + (f"{body}\n" if body else "")


def front_matter_block(episode: Episode) -> str:
    """The front matter with its `---` lines, as the canonical post starts: the body follows."""
    return f"---\n{episode.front_matter_text}---\n"


def report_text(episode: Episode) -> str:
    """One line per note, `<reason>: <the whole sentence or URL>`; warnings and changes too."""
    if not episode.report:
        return "nothing dropped or changed\n"
    return "".join(f"{note.kind}: {' '.join(note.message.splitlines())}\n" for note in episode.report)
