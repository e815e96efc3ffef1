"""The canonical post (`post.md`) and the normalization report (`report.txt`)."""

from __future__ import annotations

from ..accounting.canonical import canonical_markdown, report_text
from ..model import Episode
from ..settings.config import Settings
from . import Rendered

__all__ = ["canonical_markdown", "render", "report_text"]


def render(episode: Episode, settings: Settings) -> Rendered:
    """`post.md` and `report.txt`."""
    return Rendered(
        files={
            "post.md": canonical_markdown(episode).encode("utf-8"),
            "report.txt": report_text(episode).encode("utf-8"),
        }
    )
