"""The only module that knows about duplicated Markdown/HTML bodies: one post in, one Episode out.

read -> resolve Liquid, strip embeds -> pandoc AST -> drop boilerplate -> merge the two copies
sentence by sentence -> find labels, lists and chapters -> Episode.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import matching
from .accounting import verify
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
from .embeds import BADGE_TEXT
from .errors import ConversionError
from .links import absolute_url, is_absolute, is_own_video, strip_tracking, substack_post, unwrap_redirect
from .liquid import resolve_liquid
from .model import BulletList, Chapter, Episode, ListItem, Note, Paragraph, Reason, Section, Span
from .source import INVISIBLE, RawPost, read_post

AVAILABLE_ON = re.compile(r"^(available|listen|watch|subscribe|find us|follow( us)?)\b.*\b(on|at)\b", re.I)
READ_MORE = re.compile(
    r"\b(read more|read (it|this|the rest) on|continue reading|originally published|read on)\b",
    re.I,
)
BARE_URL = re.compile(r"https://[^\s<>()\[\]]+")
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
    depends_on: tuple[Path, ...] = ()  # posts its `{% post_url %}` links were resolved from


def prepare(raw: RawPost, settings: Settings) -> Prepared:
    """Everything that happens to a body before pandoc sees it."""
    notes: list[Note] = []
    body = _drop_control_characters(raw, notes)
    body, liquid_notes, depends_on = resolve_liquid(body, settings, raw.front_matter.values, raw.path)
    notes += liquid_notes
    return Prepared(raw, well_formed_html(body), tuple(notes), tuple(depends_on))


def well_formed_html(body: str) -> str:
    """The body with each top-level HTML block parsed and written again by html5lib.

    pandoc's HTML reader takes exponential time on some ill-formed feed HTML (unclosed `<a>`
    repeated in list items: 30 s for 1 KB); html5lib builds the tree a browser would, in linear
    time, and writes it well-formed, so pandoc reads the same content in milliseconds. Nothing
    is dropped or sanitized (the lossless check reads the author's body, not this one). Only
    HTML blocks as CommonMark finds them change, never code spans or fenced code; a block whose
    new text would not be one HTML block of as many lines (a `<pre>` with blank lines, say)
    stays as written.
    """
    if "<" not in body:
        return body
    from .inventory import _MD

    lines = body.split("\n")
    changed = False
    for token in reversed(_MD.parse(body)):  # from the end: the line numbers before stay valid
        if token.type != "html_block" or token.level != 0 or token.map is None:
            continue
        start, end = token.map
        original = "\n".join(lines[start:end])
        rewritten = _reserialize(original)
        if rewritten is None or rewritten == original:
            continue
        lines[start:end] = rewritten.split("\n")
        changed = True
    return "\n".join(lines) if changed else body


def _reserialize(html: str) -> str | None:
    """`html` as html5lib writes it, as many lines long; None when it would not stay one block."""
    import html5lib

    from .inventory import _MD, _parse_html

    try:
        text: str = html5lib.serialize(
            _parse_html(html), tree="etree", omit_optional_tags=False, quote_attr_values="always"
        )
    except RecursionError:
        return None
    text = text.rstrip("\n")
    count = html.count("\n") - text.count("\n")
    if count < 0 or any(not line.strip() for line in text.split("\n")):
        return None
    text += "\n" * count
    tokens = _MD.parse(text)
    if len(tokens) != 1 or tokens[0].type != "html_block":
        return None
    return text


def _drop_control_characters(raw: RawPost, notes: list[Note]) -> str:
    """The body without C0 controls (tab and newline stay), DEL, C1 controls and bidi controls.

    They reach terminals, `post.md` and the email otherwise; each is reported with its line.
    """
    body = raw.body
    if not INVISIBLE.search(body):
        return body
    for match in INVISIBLE.finditer(body):
        char = match.group()
        line = raw.body_line + body.count("\n", 0, match.start())
        name = unicodedata.name(char, "")  # C0 and C1 controls have no name
        label = f"U+{ord(char):04X}" + (f" {name}" if name else "")
        notes.append(Note("control-characters", f"{label} removed on line {line}"))
    return INVISIBLE.sub("", body)


def normalize_prepared(prepared: Prepared, ast: dict[str, Any], settings: Settings) -> Episode:
    """Normalize a prepared post, given pandoc's AST of its body."""
    raw = prepared.raw
    fm = raw.front_matter
    notes = list(prepared.notes)

    def resolve(url: str) -> str | None:
        """The link a post keeps for `url`, or None (the Walker keeps the text, reports `dropped`)."""

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
            notes.append(Note("changed", f"front matter: substack_url: {found_substack}"))
        elif found_substack != substack_url:
            notes.append(
                Note(
                    "warning",
                    f"body links to {found_substack} but substack_url is {substack_url}; kept substack_url",
                )
            )

    # Site links resolved and chapters read are not changes to the text: outputs use them.
    untouched = raw.text if all(n.kind == "warning" for n in notes) else None
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
        sections=tuple(sections),
        chapters=tuple(chapters),
        chapter_problems=tuple(problems),
        front_matter_text=front,
        notes=tuple(notes),
        chapter_lines=tuple(chapter_lines),
    )
    verify(raw, episode, settings)
    return episode


# --- boilerplate ---------------------------------------------------------------------------


def _links(spans: Iterable[Span]) -> list[str]:
    return [s.url for s in spans if s.url]


def _unlinked_text(spans: Iterable[Span]) -> str:
    return "".join(s.text for s in spans if not s.url).strip()


def whole(spans: tuple[Span, ...]) -> str:
    """A piece's text and every link target in it, in full: what a report line names."""
    text = plain_text(spans).strip()
    urls = [u for u in dict.fromkeys(_links(spans)) if u not in text]
    return " ".join([text, *urls]).strip()


def _drop_sentences(
    spans: tuple[Span, ...], drop: Callable[[str, tuple[Span, ...]], Reason | None], notes: list[Note]
) -> tuple[Span, ...]:
    """The paragraph without the sentences `drop` gives a reason for; each one reported whole."""
    text = plain_text(spans)
    kept: list[Span] = []
    for start, end in matching.sentence_bounds(text):
        piece = matching.slice_spans(spans, start, end)
        reason = drop(text[start:end].strip(), piece)
        if reason is None:
            kept.extend(piece)
        else:
            notes.append(Note(reason, whole(tidy(piece))))
    return tidy(kept)


def drop_boilerplate_items(
    items: list[SourceItem], youtube_id: str | None, settings: Settings, notes: list[Note]
) -> tuple[list[SourceItem], str | None]:
    """Drop player lines, badges, read-more lines and configured sentences; find the Substack link."""
    kept: list[SourceItem] = []
    substack: str | None = None
    configured = [k for k in (matching.sentence_key(p) for p in settings.boilerplate_paragraphs) if k]

    def furniture(sentence: str, piece: tuple[Span, ...]) -> Reason | None:
        """Why one sentence is import furniture or configured boilerplate (None: it is content)."""
        nonlocal substack
        key = matching.sentence_key(sentence)
        if any(key.startswith(c) for c in configured):
            return "boilerplate"
        # A bare URL in Markdown text is no link to pandoc, but "Available on Substack: <URL>" is one.
        for url in _links(piece) or BARE_URL.findall(sentence):
            post = substack_post(url, sentence)
            if post is not None and substack is not None and post != substack:
                continue  # another Substack post (a friend's essay) is content
            if post is not None and (
                READ_MORE.search(sentence) or AVAILABLE_ON.match(sentence) or not _unlinked_text(piece)
            ):
                substack = substack or post
                return "substack-link"
        return None

    for source in items:
        item = source.item
        if isinstance(item, Paragraph) and item.code_language is not None:
            pass  # code is text, never boilerplate
        elif isinstance(item, Paragraph):
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
                and split_timestamp_line(text) is None  # a clickable chapter line is content
            ):
                notes.append(Note("own-video-link", whole(item.spans)))
                continue
            if links and not _unlinked_text(item.spans) and len(text) <= 60 and BADGE_TEXT.match(text):
                notes.append(Note("badge", whole(item.spans)))
                continue
            spans = _drop_sentences(item.spans, furniture, notes)
            if not spans:
                continue
            item = Paragraph(spans)
        elif isinstance(item, BulletList):
            item = BulletList(_clean_items(item.items, youtube_id, notes), item.ordered)
            if not item.items:
                continue
        kept.append(SourceItem(source.origin, item))
    return kept, substack


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
            notes.append(Note("own-video-link", whole(item.spans)))
            continue
        out.append(ListItem(item.spans, children))
    return tuple(out)


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
            if isinstance(source.item, Paragraph) and source.item.code_language is None:
                index.add_paragraph(number, plain_text(source.item.spans))
                md_position[number] = len(output)
            elif isinstance(source.item, BulletList):
                md_lists.append(_list_keys(source.item))
            output.append(source.item)
    if not any(s.origin == "html" for s in items):
        return output

    # Where each HTML item goes: after the Markdown that precedes it, or after what it matched.
    inserts: list[tuple[int, int, Item]] = []
    twin_links: list[str] = []  # links of HTML sentences and lists whose Markdown twin is kept
    pointer = -1
    md_seen = -1
    html_items = [(n, s.item) for n, s in enumerate(items) if s.origin == "html"]
    for order, (number, item) in enumerate(html_items):
        md_seen = max([md_position[k] for k in md_position if k < number], default=md_seen)
        pointer = max(pointer, md_seen)
        if isinstance(item, BulletList) and md_lists and any(_list_keys(item) <= keys for keys in md_lists):
            for entry in _list_entries(item.items):
                notes.append(Note("merged", whole(entry.spans)))
                twin_links.extend(_links(entry.spans))
            continue
        if not isinstance(item, Paragraph) or item.code_language is not None or not index.sentences:
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
            piece = tidy(matching.slice_spans(item.spans, match.start, match.end))
            _note_match(match, whole(piece), index.sentences[match.md].text, notes)
            twin_links.extend(_links(piece))
        if kept_spans:
            inserts.append((pointer, order, Paragraph(tidy(kept_spans))))

    # A twin kept for its words may lack a link the HTML copy had: that link is named, a warning.
    md_links = {url for block in output for url in _item_links(block)}
    for url in dict.fromkeys(twin_links):
        if url not in md_links:
            notes.append(Note("dropped", f"{url} (a link of the HTML copy; its Markdown twin has no link)"))

    merged: list[Item] = []
    by_pointer: dict[int, list[Item]] = {}
    for position, _, item in sorted(inserts, key=lambda t: (t[0], t[1])):
        by_pointer.setdefault(position, []).append(item)
    merged.extend(by_pointer.get(-1, []))
    for position, item in enumerate(output):
        merged.append(item)
        merged.extend(by_pointer.get(position, []))
    return merged


def _note_match(match: matching.SentenceMatch, html: str, md_text: str, notes: list[Note]) -> None:
    """Report one HTML sentence whose Markdown twin is kept, naming it (and the twin) in full."""
    if match.kind in ("fuzzy", "reworded"):
        notes.append(Note("reworded", f'kept the Markdown "{md_text}" for the HTML "{html}"'))
    elif match.kind == "truncated":
        notes.append(Note("merged", f"{html} (cut off; the Markdown has the whole sentence)"))
    else:
        notes.append(Note("merged", html))


def _item_links(item: Item) -> list[str]:
    if isinstance(item, BulletList):
        return [url for entry in _list_entries(item.items) for url in _links(entry.spans)]
    return _links(item.spans) if isinstance(item, Paragraph | Heading) else []


def _list_entries(items: Iterable[ListItem]) -> Iterator[ListItem]:
    for entry in items:
        yield entry
        yield from _list_entries(entry.children)


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
    if not isinstance(item, Paragraph) or item.code_language is not None:
        return False
    text = plain_text(item.spans).strip()
    if _links(item.spans) or _timestamp(item):
        return True
    return len(text) <= 150 and not SENTENCE_FINAL.search(text) and not _is_strong_only(item.spans)


def _is_label(item: Item, following: Item | None) -> bool:
    if not isinstance(item, Paragraph) or item.code_language is not None:
        return False
    if _links(item.spans) or _timestamp(item):
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
) -> tuple[list[Section], list[Chapter], list[tuple[Span, ...]], list[str]]:
    """Group items into sections: summary, labelled lists, the chapter list."""
    sections: list[Section] = []
    heading: str | None = None
    kind = "summary"
    blocks: list[Paragraph | BulletList] = []
    chapters: list[Chapter] = []
    chapter_lines: list[tuple[Span, ...]] = []
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
            if heading is not None:  # a `---` ends a labelled section: what follows is not its item
                close()
                heading, kind = None, "text"
            i += 1
            continue
        label: str | None = None
        is_heading = isinstance(item, Heading)
        if isinstance(item, Heading):
            label = _label_text(item.spans)
            # A section heading is words only: a link in it is named, as a warning.
            notes.extend(
                Note("dropped", f"{url} (a link in the heading {label!r})") for url in _links(item.spans)
            )
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
            if _is_label(candidate, after) and (
                plain_text(_block_spans(candidate)).rstrip().endswith(":")
                or (after is not None and _timestamp(after) and not _timestamp(items[run_end - 1]))
            ):
                break  # the next label starts the next section, a boilerplate one included
            if not is_heading and not _item_like(candidate):
                break
            if label is None and not (
                _timestamp(candidate) or (isinstance(candidate, BulletList) and _list_timestamps(candidate))
            ):
                break
            run_end += 1
        run = items[start:run_end]
        i = run_end

        reason = _boilerplate_reason(label, run, boilerplate) if label is not None else None
        if label is not None and reason is not None:
            notes.append(Note(reason, label))
            for block in run:
                if isinstance(block, BulletList):
                    notes.extend(Note(reason, whole(e.spans)) for e in _list_entries(block.items))
                elif isinstance(block, Paragraph | Heading):
                    notes.append(Note(reason, whole(block.spans)))
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
            chapter_lines.extend(_run_line_spans(run))  # as written: clickable times stay links
            for (_, title), (_, seconds) in zip(stamps, times, strict=True):
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


def _boilerplate_reason(label: str, run: list[Item], configured: set[str]) -> Reason | None:
    """`boilerplate` for a configured section, `badge` for an "Available on …" link block."""
    if matching.sentence_key(label) in configured:
        return "boilerplate"
    if AVAILABLE_ON.match(label) and all(
        isinstance(r, BulletList) or (isinstance(r, Paragraph) and _links(r.spans)) for r in run
    ):
        return "badge"
    return None


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


def _run_line_spans(run: list[Item]) -> list[tuple[Span, ...]]:
    """The spans of each line of a run of timestamps, in the order `_run_timestamps` reads them."""
    lines: list[tuple[Span, ...]] = []
    for item in run:
        if isinstance(item, BulletList):
            lines.extend(entry.spans for entry in item.items)
        elif isinstance(item, Paragraph):
            lines.append(item.spans)
    return lines


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
