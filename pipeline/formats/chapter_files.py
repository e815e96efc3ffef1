"""Chapter files: Podcasting 2.0 JSON (`chapters.json`)."""

from __future__ import annotations

from ..chapters import chapters_to_json
from ..config import Settings
from ..model import Episode
from . import Rendered


def render(episode: Episode, settings: Settings) -> Rendered:
    """`chapters.json` when the episode has a valid chapter list."""
    result = Rendered()
    if episode.chapters_valid:
        result.files["chapters.json"] = chapters_to_json(episode.chapters).encode()
    return result
