"""The only module that knows about duplicated Markdown/HTML bodies: one post in, one Episode out.

read -> resolve Liquid, strip embeds -> pandoc AST -> drop boilerplate -> merge the two copies
sentence by sentence -> find labels, lists and chapters -> Episode.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import matching
from .ast import Heading, Item, Rule, SourceItem, Walker, tidy
from .blocks import plain_text
from .chapters import (
    NOT_CHAPTER_LABELS,
    check_order,
    parse_time,
    split_timestamp_line,
)
from .config import Settings
from .convert import body_to_ast
from .errors import ConversionError
from .links import SUBSTACK_POST, absolute_url, is_own_video, strip_tracking
from .liquid import resolve_liquid
from .model import BulletList, Chapter, Episode, ListItem, Note, Paragraph, Section, Span
from .source import RawPost, read_post

EMBED_TAGS = (
    "iframe",
    "script",
    "style",
    "object",
    "embed",
    "form",
    "svg",
    "math",
    "noscript",
    "template",
    "video",
    "audio",
    "canvas",
    "select",
    "textarea",
    "button",
)
EMBED_BLOCK = re.compile(r"<(" + "|".join(EMBED_TAGS) + r")\b[^>]*>.*?(</\1\s*>|\Z)", re.I | re.S)
VOID_EMBED = re.compile(r"<(link|meta|base|input|source|track|param|frame|frameset)\b[^>]*>", re.I)
IMAGE_LINK = re.compile(r"<a\b[^>]*>\s*<img\b([^>]*)>\s*</a>", re.I | re.S)
ALT = re.compile(r"""\balt\s*=\s*("([^"]*)"|'([^']*)')""", re.I)
BADGE_TEXT = re.compile(
    r"^(listen|watch|subscribe|follow|get it|available|download)\b.{0,40}\b(on|in|at|to|from)\b",
    re.I,
)
AVAILABLE_ON = re.compile(r"^(available|listen|watch|subscribe|find us|follow( us)?)\b.*\b(on|at)\b", re.I)
READ_MORE = re.compile(
    r"\b(read more|read (it|this|the rest) on|continue reading|originally published|read on)\b",
    re.I,
)
SENTENCE_FINAL = re.compile(r"[.!?…][\"'”’)]*$")


def normalize_file(path: Path, settings: Settings) -> Episode:
    """Read one post file and normalize it into an Episode."""
    return normalize_post(read_post(path), settings)


def normalize_post(raw: RawPost, settings: Settings) -> Episode:
    """Normalize an already-read post."""
    prepared = prepare(raw, settings)
    return normalize_prepared(prepared, body_to_ast(prepared.body, raw.path), settings)


@dataclass(frozen=True)
class Prepared:
    """A post read and made ready for pandoc: Liquid resolved, players and badges stripped."""

    raw: RawPost
    body: str
    notes: tuple[Note, ...]


def prepare(raw: RawPost, settings: Settings) -> Prepared:
    """Everything that happens to a body before pandoc sees it."""
    notes: list[Note] = []
    body, liquid_notes = resolve_liquid(raw.body, settings, raw.front_matter.values)
    notes += liquid_notes
    body = strip_embeds(body, notes)
    return Prepared(raw, body, tuple(notes))


def normalize_prepared(prepared: Prepared, ast: dict[str, Any], settings: Settings) -> Episode:
    """Normalize a prepared post, given pandoc's AST of its body."""
    raw = prepared.raw
    fm = raw.front_matter
    notes = list(prepared.notes)

    def resolve(url: str) -> str | None:
        absolute = absolute_url(url, settings.site_url, settings.baseurl)
        if absolute is None:
            return None
        cleaned = strip_tracking(absolute, settings.tracking_params)
        if cleaned != absolute:
            notes.append(Note("changed", f"removed tracking parameters: {absolute} -> {cleaned}"))
        return cleaned

    walker = Walker(resolve, notes)
    try:
        items = list(walker.blocks(ast["blocks"], "md"))
    except RecursionError:
        raise ConversionError("the body is nested too deeply to convert", path=raw.path) from None
    items, found_substack = drop_boilerplate_items(items, fm.youtube_id, settings, notes)
    merged = merge_copies(items, notes)
    sections, chapters, chapter_lines, problems = structure(merged, settings, notes)
    if fm.duration is not None:
        problems += [f"{c.title!r} starts after the episode ends" for c in chapters if c.start >= fm.duration]
    for problem in problems:
        notes.append(Note("warning", f"chapters: {problem}; no chapter files written"))

    substack_url = fm.substack_url
    front = raw.front_matter_text
    if found_substack:
        if substack_url is None:
            substack_url = found_substack
            front += f"substack_url: {found_substack}\n"
            notes.append(
                Note(
                    "moved",
                    f"the episode's Substack link to front matter substack_url: {found_substack}",
                )
            )
        elif found_substack != substack_url:
            notes.append(
                Note(
                    "warning",
                    f"body links to {found_substack} but substack_url is {substack_url}; kept substack_url",
                )
            )

    return Episode(
        stem=raw.stem,
        source_name=raw.path.name,
        title=fm.title,
        date=fm.date,
        youtube_id=fm.youtube_id,
        substack_url=substack_url,
        description=fm.description,
        categories=fm.categories,
        duration=fm.duration,
        sections=tuple(sections),
        chapters=tuple(chapters),
        chapter_problems=tuple(problems),
        front_matter_text=front,
        notes=tuple(notes),
        chapter_lines=tuple(chapter_lines),
    )


# --- before pandoc -------------------------------------------------------------------------


def strip_embeds(body: str, notes: list[Note]) -> str:
    """Remove players, scripts, forms and image badges from the raw body, noting each."""

    def image_link(match: re.Match[str]) -> str:
        alt = ALT.search(match.group(1))
        text = (alt.group(2) or alt.group(3) or "") if alt else ""
        notes.append(Note("dropped", f"image link {text or '(no alt text)'!r}"))
        return ""

    def embed(match: re.Match[str]) -> str:
        tag = match.group(1).lower()
        src = re.search(r"""\bsrc\s*=\s*["']?([^"'\s>]+)""", match.group(0))
        what = f"<{tag}> {src.group(1)[:80]}" if src else f"<{tag}>"
        notes.append(Note("dropped", f"embedded {what}"))
        return ""

    def void(match: re.Match[str]) -> str:
        notes.append(Note("dropped", f"<{match.group(1).lower()}> element"))
        return ""

    body = IMAGE_LINK.sub(image_link, body)
    body = EMBED_BLOCK.sub(embed, body)
    return VOID_EMBED.sub(void, body)


# --- boilerplate ---------------------------------------------------------------------------


def _links(spans: Iterable[Span]) -> list[str]:
    return [s.url for s in spans if s.url]


def _unlinked_text(spans: Iterable[Span]) -> str:
    return "".join(s.text for s in spans if not s.url).strip()


def drop_boilerplate_items(
    items: list[SourceItem], youtube_id: str | None, settings: Settings, notes: list[Note]
) -> tuple[list[SourceItem], str | None]:
    """Drop player lines, badges, read-more lines and configured paragraphs; find the Substack link."""
    kept: list[SourceItem] = []
    substack: str | None = None
    configured = [matching.sentence_key(p) for p in settings.boilerplate_paragraphs]
    for source in items:
        item = source.item
        if isinstance(item, Paragraph):
            text = plain_text(item.spans).strip()
            links = _links(item.spans)
            if not text:
                continue
            if text.strip("-–—*_ ") == "" and len(text) >= 3:
                kept.append(SourceItem(source.origin, Rule()))
                continue
            if (
                links
                and all(is_own_video(u, youtube_id) for u in links)
                and len(_unlinked_text(item.spans)) <= 40
            ):
                notes.append(Note("dropped", f"{text!r} (link to the episode's own video)"))
                continue
            post_links = [u for u in links if SUBSTACK_POST.match(u)]
            if post_links and (READ_MORE.search(text) or _unlinked_text(item.spans) == ""):
                substack = substack or SUBSTACK_POST.match(post_links[0]).group(0)  # type: ignore[union-attr]
                notes.append(Note("dropped", f"{text!r} (the Substack link moved to front matter)"))
                continue
            if links and not _unlinked_text(item.spans) and len(text) <= 60 and BADGE_TEXT.match(text):
                notes.append(Note("dropped", f"badge {text!r}"))
                continue
            key = matching.sentence_key(text)
            if any(c and key.startswith(c) for c in configured):
                notes.append(Note("dropped", f"show boilerplate paragraph {_short(text)!r}"))
                continue
            item = Paragraph(_unlink_own_video(item.spans, youtube_id, notes))
        elif isinstance(item, BulletList):
            item = BulletList(_clean_items(item.items, youtube_id, notes), item.ordered)
            if not item.items:
                continue
        kept.append(SourceItem(source.origin, item))
    return kept, substack


def _unlink_own_video(spans: tuple[Span, ...], youtube_id: str | None, notes: list[Note]) -> tuple[Span, ...]:
    if not any(s.url and is_own_video(s.url, youtube_id) for s in spans):
        return spans
    notes.append(Note("changed", "a link to the episode's own video kept as text"))
    return tuple(replace(s, url=None) if s.url and is_own_video(s.url, youtube_id) else s for s in spans)


def _clean_items(
    items: tuple[ListItem, ...], youtube_id: str | None, notes: list[Note]
) -> tuple[ListItem, ...]:
    out = []
    for item in items:
        links = _links(item.spans)
        children = _clean_items(item.children, youtube_id, notes)
        if (
            links
            and all(is_own_video(u, youtube_id) for u in links)
            and not _unlinked_text(item.spans)
            and not children
        ):
            notes.append(
                Note(
                    "dropped",
                    f"list item {plain_text(item.spans)!r} (link to the episode's own video)",
                )
            )
            continue
        out.append(ListItem(_unlink_own_video(item.spans, youtube_id, notes), children))
    return tuple(out)


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the two copies ------------------------------------------------------------------------


def _list_keys(item: BulletList) -> set[str]:
    keys: set[str] = set()
    stack = list(item.items)
    while stack:
        entry = stack.pop()
        keys.add(matching.sentence_key(plain_text(entry.spans)))
        stack.extend(entry.children)
    return keys


def merge_copies(items: list[SourceItem], notes: list[Note]) -> list[Item]:
    """One copy of every sentence: Markdown wording where both have it, HTML-only parts kept in place."""
    index = matching.MarkdownIndex()
    output: list[Item] = []
    md_position: dict[int, int] = {}
    md_lists: list[set[str]] = []
    for number, source in enumerate(items):
        if source.origin == "md":
            if isinstance(source.item, Paragraph):
                index.add_paragraph(number, plain_text(source.item.spans))
                md_position[number] = len(output)
            elif isinstance(source.item, BulletList):
                md_lists.append(_list_keys(source.item))
            output.append(source.item)
    if not any(s.origin == "html" for s in items):
        return output

    # Where each HTML item goes: after the Markdown that precedes it, or after what it matched.
    inserts: list[tuple[int, int, Item]] = []
    pointer = -1
    md_seen = -1
    html_items = [(n, s.item) for n, s in enumerate(items) if s.origin == "html"]
    for order, (number, item) in enumerate(html_items):
        md_seen = max([md_position[k] for k in md_position if k < number], default=md_seen)
        pointer = max(pointer, md_seen)
        if isinstance(item, BulletList) and md_lists and any(_list_keys(item) <= keys for keys in md_lists):
            notes.append(Note("merged", "a list the HTML copy repeats"))
            continue
        if not isinstance(item, Paragraph) or not index.sentences:
            inserts.append((pointer, order, item))
            continue
        text = plain_text(item.spans)
        is_last_paragraph = not any(isinstance(i, Paragraph) for _, i in html_items[order + 1 :])
        may_be_cut = not SENTENCE_FINAL.search(text.strip()) and (is_last_paragraph or len(text) > 40)
        matches = matching.match_paragraph(index, text, may_be_cut)
        matching.resolve_rewordings(index, matches)
        kept_spans: list[Span] = []
        for match in matches:
            if match.md is None:
                if match.kind != "empty":
                    piece = tidy(matching.slice_spans(item.spans, match.start, match.end))
                    if kept_spans and piece:
                        kept_spans.append(Span(" "))
                    kept_spans.extend(piece)
                continue
            pointer = max(pointer, md_position[index.sentences[match.md].paragraph])
            _note_match(match, index.sentences[match.md].text, notes)
        if kept_spans:
            if len(kept_spans) < len(item.spans) or any(m.md is not None for m in matches):
                notes.append(
                    Note(
                        "merged",
                        f"kept the HTML-only part {_short(plain_text(tuple(kept_spans)))!r}",
                    )
                )
            inserts.append((pointer, order, Paragraph(tidy(kept_spans))))

    repeated = sum(1 for s in index.sentences if s.matched)
    if repeated:
        notes.append(
            Note(
                "merged",
                f"{repeated} sentence(s) that both copies carry: kept the Markdown wording",
            )
        )
    merged: list[Item] = []
    by_pointer: dict[int, list[Item]] = {}
    for position, _, item in sorted(inserts, key=lambda t: (t[0], t[1])):
        by_pointer.setdefault(position, []).append(item)
    merged.extend(by_pointer.get(-1, []))
    for position, item in enumerate(output):
        merged.append(item)
        merged.extend(by_pointer.get(position, []))
    return merged


def _note_match(match: matching.SentenceMatch, md_text: str, notes: list[Note]) -> None:
    if match.kind == "fuzzy" or match.kind == "reworded":
        notes.append(
            Note(
                "reworded",
                f"kept Markdown {_short(md_text, 200)!r}; dropped HTML {_short(match.text, 200)!r}",
            )
        )
    elif match.kind == "truncated":
        notes.append(
            Note(
                "dropped",
                f"the cut-off HTML fragment {match.text!r} (the Markdown has the whole sentence)",
            )
        )


# --- structure -----------------------------------------------------------------------------


def _is_strong_only(spans: tuple[Span, ...]) -> bool:
    words = [s for s in spans if s.text.strip()]
    return bool(words) and all(s.strong for s in words)


def _timestamp(item: Item) -> tuple[str, str] | None:
    if isinstance(item, Paragraph):
        return split_timestamp_line(plain_text(item.spans))
    return None


def _item_like(item: Item) -> bool:
    if isinstance(item, BulletList):
        return True
    if not isinstance(item, Paragraph):
        return False
    text = plain_text(item.spans).strip()
    if _links(item.spans) or _timestamp(item):
        return True
    return len(text) <= 150 and not SENTENCE_FINAL.search(text) and not _is_strong_only(item.spans)


def _is_label(item: Item, following: Item | None) -> bool:
    if not isinstance(item, Paragraph) or _links(item.spans) or _timestamp(item):
        return False
    text = plain_text(item.spans).strip()
    if not text or len(text) > 100 or len(text.split()) > 14 or SENTENCE_FINAL.search(text.rstrip(":")):
        return False
    if following is None or not _item_like(following):
        return False
    if _is_strong_only(item.spans):
        return True
    return (
        isinstance(following, BulletList)
        or bool(_timestamp(following))
        or bool(isinstance(following, Paragraph) and _links(following.spans))
    )


def _label_text(spans: tuple[Span, ...]) -> str:
    return plain_text(spans).strip().rstrip(":").strip()


def _list_timestamps(item: BulletList) -> list[tuple[str, str]] | None:
    found = [split_timestamp_line(plain_text(i.spans)) for i in item.items]
    if item.items and all(found) and not any(i.children for i in item.items):
        return [f for f in found if f]
    return None


def _bare_url_to_link(item: ListItem) -> ListItem:
    """`Title - https://x` (a link whose text is its URL) becomes a link titled `Title`."""
    spans = item.spans
    if len(spans) < 2 or not spans[-1].url or spans[-1].text.strip() != spans[-1].url:
        return item
    lead = spans[:-1]
    if any(s.url for s in lead):
        return item
    text = plain_text(lead).rstrip()
    title = re.sub(r"\s*[-–—:|]\s*$", "", text)
    if not title:
        return item
    return ListItem((Span(title, url=spans[-1].url),), item.children)


def structure(
    items: list[Item], settings: Settings, notes: list[Note]
) -> tuple[list[Section], list[Chapter], list[str], list[str]]:
    """Group items into sections: summary, labelled lists, the chapter list."""
    sections: list[Section] = []
    heading: str | None = None
    kind = "summary"
    blocks: list[Paragraph | BulletList] = []
    chapters: list[Chapter] = []
    chapter_lines: list[str] = []
    problems: list[str] = []
    boilerplate = {matching.sentence_key(s) for s in settings.boilerplate_sections}

    def close() -> None:
        nonlocal blocks
        if heading is not None or blocks or kind == "chapters":
            section_kind = kind
            if kind not in ("summary", "chapters"):
                section_kind = (
                    "links"
                    if any(isinstance(b, BulletList) or _links(_block_spans(b)) for b in blocks)
                    else "text"
                )
            sections.append(Section(section_kind, heading, tuple(blocks)))  # type: ignore[arg-type]
        blocks = []

    i = 0
    while i < len(items):
        item = items[i]
        following = items[i + 1] if i + 1 < len(items) else None
        if isinstance(item, Rule):
            i += 1
            continue
        label: str | None = None
        is_heading = isinstance(item, Heading)
        if isinstance(item, Heading):
            label = _label_text(item.spans)
        elif _is_label(item, following):
            label = _label_text(item.spans)  # type: ignore[union-attr]
        if (
            label is None
            and not _timestamp(item)
            and not (isinstance(item, BulletList) and _list_timestamps(item))
        ):
            blocks.append(item)  # type: ignore[arg-type]
            i += 1
            continue

        # A labelled run (or an unlabelled list of timestamps) starts here.
        start = i + (1 if label is not None else 0)
        run_end = start
        while run_end < len(items):
            candidate = items[run_end]
            if isinstance(candidate, Heading | Rule):
                break
            if (
                isinstance(candidate, Paragraph)
                and _is_strong_only(candidate.spans)
                and not _links(candidate.spans)
            ):
                break
            after = items[run_end + 1] if run_end + 1 < len(items) else None
            if plain_text(_block_spans(candidate)).rstrip().endswith(":") and _is_label(candidate, after):
                break
            if not is_heading and not _item_like(candidate):
                break
            if label is None and not (
                _timestamp(candidate) or (isinstance(candidate, BulletList) and _list_timestamps(candidate))
            ):
                break
            run_end += 1
        run = items[start:run_end]
        i = run_end

        if label is not None and _is_boilerplate_label(label, run, boilerplate):
            what = ", ".join(
                _short(plain_text(_block_spans(r)), 50) for r in run if not isinstance(r, BulletList)
            )
            extra = f" with {len(run)} item(s)" + (f": {what}" if what else "")
            notes.append(Note("dropped", f"boilerplate block {label!r}{extra}"))
            continue

        stamps = _run_timestamps(run)
        label_says_not = label is not None and NOT_CHAPTER_LABELS.search(label)
        if (
            stamps is not None
            and len(stamps) >= 2
            and not label_says_not
            and not chapters
            and not chapter_lines
        ):
            close()
            heading = label if label is not None else settings.chapters_heading
            kind = "chapters"
            times = [(t, parse_time(t)) for t, _ in stamps]
            problems.extend(check_order(times))
            for (time_text, title), (_, seconds) in zip(stamps, times, strict=True):
                chapter_lines.append(f"{time_text} {title}")
                if seconds is not None:
                    chapters.append(Chapter(seconds, title))
            close()
            heading, kind = None, "text"
            continue
        if stamps is not None and label_says_not:
            notes.append(
                Note(
                    "warning",
                    f"the timestamps under {label!r} are not treated as chapters (its label says so)",
                )
            )
        elif stamps is not None and (chapters or chapter_lines):
            notes.append(Note("warning", "a second list of timestamps is kept as a list, not as chapters"))

        if label is not None:
            close()
            heading, kind = label, "links"
        if is_heading:
            blocks.extend(_as_blocks(run))
        else:
            blocks.extend(_as_list(run))
    close()
    return sections, chapters, chapter_lines, problems


def _block_spans(block: Item) -> tuple[Span, ...]:
    return block.spans if isinstance(block, Paragraph | Heading) else ()


def _is_boilerplate_label(label: str, run: list[Item], configured: set[str]) -> bool:
    if matching.sentence_key(label) in configured:
        return True
    return bool(AVAILABLE_ON.match(label)) and all(
        isinstance(r, BulletList) or (isinstance(r, Paragraph) and _links(r.spans)) for r in run
    )


def _run_timestamps(run: list[Item]) -> list[tuple[str, str]] | None:
    stamps: list[tuple[str, str]] = []
    for item in run:
        if isinstance(item, BulletList):
            found = _list_timestamps(item)
            if found is None:
                return None
            stamps.extend(found)
        else:
            stamp = _timestamp(item)
            if stamp is None:
                return None
            stamps.append(stamp)
    return stamps or None


def _as_list(run: list[Item]) -> list[Paragraph | BulletList]:
    """Item paragraphs and lists of one labelled run as a single list."""
    entries: list[ListItem] = []
    ordered = False
    for item in run:
        if isinstance(item, BulletList):
            entries.extend(item.items)
            ordered = ordered or item.ordered
        elif isinstance(item, Paragraph | Heading):
            entries.append(ListItem(item.spans))
    if not entries:
        return []
    return [BulletList(tuple(_bare_url_to_link(e) for e in entries), ordered and len(run) == 1)]


def _as_blocks(run: list[Item]) -> list[Paragraph | BulletList]:
    """The content under a Markdown heading, as written (lists of bare links tidied)."""
    out: list[Paragraph | BulletList] = []
    for item in run:
        if isinstance(item, BulletList):
            out.append(BulletList(tuple(_bare_url_to_link(e) for e in item.items), item.ordered))
        elif isinstance(item, Paragraph):
            out.append(item)
    return out
