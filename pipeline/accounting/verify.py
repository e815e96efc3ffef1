"""Nothing the user wrote is lost silently: every piece of the source is kept or reported.

The inventory is taken from the raw body by readers of its own (accounting/inventory.py), never
from normalization's intermediate results, so a bug in normalization cannot hide itself.
"""

from __future__ import annotations

from ..errors import PipelineError
from ..model import Episode
from ..settings.config import Settings
from ..source.post_file import INVISIBLE, RawPost
from .canonical import rendered_markdown, report_text
from .inventory import take_inventory, unaccounted


class LostContent(PipelineError):
    """Normalization neither kept nor reported a piece of the post: a bug, shown as one line."""


def verify(raw: RawPost, episode: Episode, settings: Settings) -> None:
    """Raise LostContent naming, in full, every piece of `raw` that `episode` neither keeps nor reports."""
    lost = unaccounted(
        # Without the invisible characters: prepare removes each one and names it in the report.
        take_inventory(INVISIBLE.sub("", raw.body)),
        # The Episode itself, not a post.md kept as written: every output is made from it.
        rendered_markdown(episode),
        report_text(episode),
        site_url=settings.site_url,
        baseurl=settings.baseurl,
    )
    if lost:
        named = "; ".join(f'"{piece.text}"' for piece in lost)
        raise LostContent(
            f"normalization lost {named}",  # the severity is the CLI's to add
            path=raw.path,
            line=raw.body_line + lost[0].line - 1,
        )
