"""One clean post from one podcast episode: its file name, its front matter in the site's key
order, and its body made by the tool's own normalization (the summary once, chapters, labelled
link lists; players and the show's own links left out, and listed in the report)."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..accounting.canonical import front_matter_block, rendered_markdown, report_text
from ..errors import PipelineError
from ..model import OPENER
from ..normalize.stages import normalize_file
from ..settings.config import Settings
from .feeds import Episode, Video
from .matching import Match

KEY_ORDER = ("layout", "title", "date", "categories", "podcast_guid", "youtubeID", "substack_url", "duration")
"""The keys of a new post, in this order after those of the site's most recent post."""
ID_KEYS = ("youtubeID", "substack_url")
"""The keys the import may add to a post it does not own (nothing else of such a post changes)."""
SHORT_DESCRIPTION = 200
"""A podcast description with fewer characters of text than this gives way to the video's."""
RAW_END = re.compile(r"\{%-?\s*endraw\s*-?%\}")
MAX_SLUG = 150
"""Characters of a new post's name after its date: whole words, well under a file name's 255 bytes."""


@dataclass(frozen=True)
class SiteShape:
    """What new posts copy from the site: the key order, layout and categories of its most
    recent post, and the extension its posts use."""

    keys: tuple[str, ...] = ()
    layout: str = "post"
    categories: Any = None
    suffix: str = ".md"


@dataclass(frozen=True)
class Proposal:
    name: str  # the file name
    text: str
    report: str
    front: Mapping[str, Any]


def slug(title: str) -> str:
    """`maxime-labonne-thinking-beyond-transformers` from a title: ASCII, lower case, dashes."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9]+", " ", folded.replace("'", "")).split()
    kept: list[str] = []
    for word in words:  # whole words, at most MAX_SLUG characters
        if len("-".join([*kept, word])) > MAX_SLUG:
            break
        kept.append(word)
    return "-".join(kept)


def date_text(when: dt.datetime) -> str:
    """`2025-05-28 22:30:30 +0000`, as Jekyll writes a post's date."""
    return when.strftime("%Y-%m-%d %H:%M:%S %z")


def duration_seconds(text: str) -> int | None:
    """`1:02:03`, `62:03` or `3723` as seconds; None when it is none of these."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds


def _yaml_line(key: str, value: Any) -> str:
    if key == "date":
        return f"date: {value}\n"
    dumped: str = yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=10**6)
    return dumped


def front_matter(values: Mapping[str, Any], order: Sequence[str]) -> str:
    """The front matter lines of `values` in the site's order, then ours for the rest."""
    keys = [k for k in order if k in values] + [k for k in KEY_ORDER if k in values and k not in order]
    return "".join(_yaml_line(k, values[k]) for k in keys)


def _text_length(description: str) -> int:
    return len(" ".join(re.sub(r"<[^>]*>", " ", html.unescape(description)).split()))


def _video_html(text: str) -> str:
    """A YouTube description (plain text) as HTML paragraphs, a line break for each line."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.splitlines()) + "</p>" for p in paragraphs
    )


def body_html(episode: Episode, video: Video | None) -> str:
    if _text_length(episode.description) < SHORT_DESCRIPTION and video is not None and video.description:
        return _video_html(video.description)
    return episode.description


def protected(text: str) -> str:
    """`text` as Jekyll shows it but never runs it: inside `{% raw %}…{% endraw %}` when it looks
    like Liquid (an `{% endraw %}` in it written with its `{%` as a Liquid string)."""
    if not OPENER.search(text):
        return text
    text = RAW_END.sub(lambda m: '{% endraw %}{{ "{%" }}' + m.group()[2:] + "{% raw %}", text)
    return "{% raw %}" + text + "{% endraw %}"


def front_values(
    episode: Episode, match: Match, shape: SiteShape, categories: Any, layout: str
) -> dict[str, Any]:
    values: dict[str, Any] = {"layout": layout or shape.layout, "title": episode.title}
    assert episode.published is not None  # an item without a date is not imported (feeds.py)
    values["date"] = date_text(episode.published)
    chosen = categories if categories else shape.categories
    if chosen:
        values["categories"] = list(chosen) if isinstance(chosen, tuple) else chosen
    values["podcast_guid"] = episode.guid
    if match.video:
        values["youtubeID"] = match.video
    if match.substack:
        values["substack_url"] = match.substack
    if (seconds := duration_seconds(episode.duration)) is not None:
        values["duration"] = seconds
    return values


def file_name(episode: Episode, suffix: str) -> str:
    """`<date>-<slug><suffix>`; a title with no Latin letters or digits is named by its guid."""
    assert episode.published is not None
    name = slug(episode.title) or "episode-" + hashlib.sha256(episode.guid.encode()).hexdigest()[:12]
    return f"{episode.published:%Y-%m-%d}-{name}{suffix}"


def propose(
    episode: Episode,
    match: Match,
    video: Video | None,
    shape: SiteShape,
    settings: Settings,
    *,
    categories: Any = None,
    layout: str = "",
) -> Proposal:
    """The post the import would write for `episode`, and its report (what was left out)."""
    values = front_values(episode, match, shape, categories, layout)
    name = file_name(episode, shape.suffix)
    body = protected(body_html(episode, video))
    with tempfile.TemporaryDirectory(prefix="episode-import-") as scratch:
        source = Path(scratch) / name
        source.write_text(f"---\n{front_matter(values, shape.keys)}---\n{body}\n", "utf-8")
        try:
            normalized = normalize_file(source, settings)
        except PipelineError as exc:
            raise PipelineError(f"{episode.title!r}: {exc.message}", field="podcast_feed") from None
    text = rendered_markdown(normalized)
    body_md = text[len(front_matter_block(normalized)) :]
    report = report_text(replace(normalized, unchanged_source=None))  # the post is written from it
    return Proposal(name, front_matter_block(normalized) + "\n" + body_md, report, values)


def add_keys(data: bytes, values: Mapping[str, Any], keys: Sequence[str]) -> bytes:
    """`data` with the lines of `keys` added at the end of its front matter, in the file's own
    line endings; every other byte stays where it was."""
    text = data.decode("utf-8")
    newline = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
    lines = "".join(_yaml_line(k, values[k]) for k in keys).replace("\n", newline)
    start = text.index("\n") + 1  # after the opening ---
    end = re.search(r"^(---|\.\.\.)[ \t]*\r?$", text[start:], re.MULTILINE)
    assert end is not None
    position = start + end.start()
    return (text[:position] + lines + text[position:]).encode("utf-8")
