"""Readers of the chapter files the build writes, for the tests' round trips only.

The pipeline writes `chapters.json`, `chapters.vtt` and `chapters.psc.xml` and never reads them
back; these read them as a podcast app would, so a test can check each file says exactly what
`Episode.chapters` said.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET

from pipeline.formats.chapter_files import PSC_NAMESPACE
from pipeline.model import Chapter

_VTT_TIMING = re.compile(
    r"^(?P<start>(?:\d+:)?\d{2}:\d{2}\.\d{3})\s+-->\s+(?P<end>(?:\d+:)?\d{2}:\d{2}\.\d{3})"
)
_VTT_TAG = re.compile(r"<[^>]*>")


def chapters_from_json(text: str) -> tuple[Chapter, ...]:
    """Podcasting 2.0 JSON chapters, read back."""
    doc = json.loads(text)
    return tuple(Chapter(int(c["startTime"]), str(c.get("title", ""))) for c in doc["chapters"])


def parse_media_time(text: str) -> int:
    """Whole seconds of `[[HH:]MM:]SS[.mmm]` (the fraction is dropped); ValueError when not one."""
    match = re.fullmatch(r"\s*(?:(?:(\d+):)?(\d{1,2}):)?(\d{1,2})(?:\.(\d+))?\s*", text)
    if match is None:
        raise ValueError(f"{text!r} is not a time")
    hours, minutes, seconds = (int(g or 0) for g in match.groups()[:3])
    return hours * 3600 + minutes * 60 + seconds


def parse_vtt(text: str) -> tuple[Chapter, ...]:
    """The chapters of a WebVTT file: each cue's start and its text (tags removed)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise ValueError("not a WebVTT file: the first line must be WEBVTT")
    chapters: list[Chapter] = []
    index = 0
    while index < len(lines):
        match = _VTT_TIMING.match(lines[index])
        index += 1
        if match is None:
            continue
        cue: list[str] = []
        while index < len(lines) and lines[index] != "":
            cue.append(lines[index])
            index += 1
        title = html.unescape(_VTT_TAG.sub("", "\n".join(cue)))
        chapters.append(Chapter(parse_media_time(match.group("start")), title))
    return tuple(chapters)


def parse_psc(text: str) -> tuple[Chapter, ...]:
    """The chapters of a Podlove Simple Chapters document."""
    root = ET.fromstring(text.encode("utf-8"))
    if root.tag != f"{{{PSC_NAMESPACE}}}chapters":
        raise ValueError(f"not Podlove Simple Chapters: the root element is {root.tag!r}")
    return tuple(
        Chapter(parse_media_time(node.get("start", "")), node.get("title", ""))
        for node in root.iter(f"{{{PSC_NAMESPACE}}}chapter")
    )
