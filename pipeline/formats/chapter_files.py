"""Chapter files, all from `Episode.chapters`: Podcasting 2.0 JSON, WebVTT and Podlove.

Written only when `Episode.chapters_valid`. The chapters are the post's own: no 0:00 Intro is
added here (that is a rule of the pasted descriptions), so every file agrees with
`chapters.json`. `chapters.vtt` needs end times, hence the episode's length
(`Episode.duration`); without it the file is left out. The pipeline never reads these files
back (the tests' readers are in `tests/chapter_parsers.py`).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

from ..model import Chapter, Episode
from ..settings.config import Settings
from ..text.chapters import chapters_to_json, format_time
from . import Rendered

log = logging.getLogger(__name__)

PSC_NAMESPACE = "http://podlove.org/simple-chapters"
PSC_VERSION = "1.2"

# Characters XML 1.0 cannot hold at all (they are left out of a Podlove title).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def media_time(seconds: int) -> str:
    """`HH:MM:SS.000`, the time form of WebVTT and Podlove Simple Chapters."""
    return format_time(seconds, hours=True) + ".000"


# --- WebVTT -------------------------------------------------------------------------------


def _vtt_text(title: str) -> str:
    """A title as one line of cue text (`&`, `<`, `>` escaped, line breaks as spaces)."""
    return " ".join(html.escape(title, quote=False).replace("\r", "\n").split("\n"))


def chapters_to_vtt(chapters: Sequence[Chapter], duration: int) -> str:
    """WebVTT chapters: each cue ends where the next begins, the last at `duration`."""
    ends = [c.start for c in chapters[1:]] + [duration][: len(chapters)]
    cues = [
        f"{number}\n{media_time(c.start)} --> {media_time(end)}\n{_vtt_text(c.title)}\n"
        for number, (c, end) in enumerate(zip(chapters, ends, strict=True), 1)
    ]
    return "WEBVTT\n\n" + "\n".join(cues)


# --- Podlove Simple Chapters ---------------------------------------------------------------


def _psc_attribute(title: str) -> str:
    """A title as an XML attribute value that reads back exactly."""
    clean = _NOT_XML.sub("", title)
    return escape(clean, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def chapters_to_psc(chapters: Sequence[Chapter]) -> str:
    """Podlove Simple Chapters 1.2 (`psc:chapters`), one `psc:chapter` element a line."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<psc:chapters version="{PSC_VERSION}" xmlns:psc="{PSC_NAMESPACE}">',
        *(
            f'  <psc:chapter start="{media_time(c.start)}" title="{_psc_attribute(c.title)}"/>'
            for c in chapters
        ),
        "</psc:chapters>",
    ]
    return "\n".join(lines) + "\n"


# --- the format ---------------------------------------------------------------------------


def render(episode: Episode, settings: Settings) -> Rendered:
    """`chapters.json`, `chapters.psc.xml` and, with a known length, `chapters.vtt`."""
    result = Rendered()
    if not episode.chapters_valid:
        return result
    chapters = episode.chapters
    result.files["chapters.json"] = chapters_to_json(chapters).encode()
    result.files["chapters.psc.xml"] = chapters_to_psc(chapters).encode()
    last = chapters[-1]
    if episode.duration is None:
        log.info("%s: chapters.vtt left out: the episode length (duration) is not known",
                 episode.source_name)  # fmt: skip
    elif episode.duration <= last.start:
        result.warn(
            f"chapters.vtt left out: the last chapter starts at {format_time(last.start)}, "
            f"not before the episode ends ({format_time(episode.duration)})",
            rule="chapters.vtt",
        )
    else:
        result.files["chapters.vtt"] = chapters_to_vtt(chapters, episode.duration).encode()
    return result
