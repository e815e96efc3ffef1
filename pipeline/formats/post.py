"""The canonical post (`post.md`) and the normalization report (`report.txt`)."""

from __future__ import annotations

from ..blocks import blocks_to_markdown
from ..config import Settings
from ..model import BulletList, Episode, ListItem, Span
from . import Rendered


def canonical_markdown(episode: Episode) -> str:
    """The post as Jekyll reads it: original front matter (plus additions), then a clean body."""
    parts: list[str] = []
    for section in episode.sections:
        if section.heading is not None:
            parts.append(f"## {section.heading}")
        if section.kind == "chapters" and episode.chapter_lines:
            chapter_list = BulletList(tuple(ListItem((Span(line),)) for line in episode.chapter_lines))
            parts.append(blocks_to_markdown([chapter_list]))
        if section.blocks:
            parts.append(blocks_to_markdown(section.blocks))
    body = "\n\n".join(p for p in parts if p)
    return f"---\n{episode.front_matter_text}---\n\n{body}\n"


def report_text(episode: Episode) -> str:
    """One line per note: what normalization dropped, merged, reworded or moved."""
    if not episode.notes:
        return "nothing dropped or changed\n"
    return "".join(f"{note.kind}: {note.message}\n" for note in episode.notes)


def render(episode: Episode, settings: Settings) -> Rendered:
    """`post.md` and `report.txt`."""
    return Rendered(
        files={
            "post.md": canonical_markdown(episode).encode("utf-8"),
            "report.txt": report_text(episode).encode("utf-8"),
        }
    )
