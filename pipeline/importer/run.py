"""`episode import`: the podcast feed's episodes as posts of the site, safely and again and again.

The plan for each episode, oldest first: a post the import wrote and nobody touched since is
updated when its episode changed; a post somebody edited, or one the import found already there
(adopted), is never rewritten: the version the import would write goes to `<out>/import/` and
one line points to it; only a missing `youtubeID` or `substack_url` may be added to its front
matter, without changing another byte. A new episode gets a new file, never one that exists.
An episode gone from the feed never deletes a post. With `dry_run` nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from ..builder.output_folder import write_atomic
from ..errors import PipelineError, printable
from ..places import shown_path
from ..settings.config import Settings
from ..source.discovery import discover
from ..source.post_file import RawPost, read_post, read_post_file
from .feeds import Article, Episode, Feed, Video, article_feed, podcast_feed, video_feed
from .fetch import FeedError, fetch_feed, is_url
from .matching import Match, match_episodes, similarity
from .options import ImportOptions, import_options
from .posts import ID_KEYS, Proposal, SiteShape, add_keys, propose
from .state import Entry, ImportState, digest

KINDS = ("new", "updated", "unchanged", "adopted", "kept", "unmatched", "failed")


@dataclass
class ImportSummary:
    counts: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.counts["failed"] == 0

    def line(self) -> str:
        parts = [f"{self.counts[k]} {k}" for k in KINDS]
        return ("would import: " if self.dry_run else "imported: ") + ", ".join(parts)


@dataclass(frozen=True)
class _Post:
    """A post of the site, as the import sees it: its ids and what its body links."""

    path: Path
    raw: RawPost

    @property
    def values(self) -> Mapping[str, Any]:
        return self.raw.front_matter.values

    @cached_property
    def urls(self) -> set[str]:
        """The URLs its body holds, trailing punctuation set aside (read once a run)."""
        return {url.rstrip(".,;:!?") for url in _URL.findall(self.raw.body)}


def _site_posts(folders: Iterable[Path], say: Callable[[str], None]) -> list[_Post]:
    """Every post of `_posts/` and `_drafts/` (sub-folders too, as Jekyll reads them)."""
    found: list[_Post] = []
    for folder in folders:
        if not folder.is_dir() or not any(folder.iterdir()):
            continue
        paths, _ = discover(folder)
        for path in paths:
            try:
                found.append(_Post(path, read_post(path)))
            except PipelineError as exc:
                say(f"{exc.line_text('warning')} (not matched against the feed)")
    return found


_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+")


def site_shape(posts: Sequence[_Post]) -> SiteShape:
    """What a new post copies from the site's most recent post (by date, then name)."""
    dated = [p for p in posts if "_drafts" not in p.path.parts]
    if not dated:
        return SiteShape()
    recent = max(dated, key=lambda p: (p.raw.front_matter.date.isoformat(), p.path.name))
    values = recent.values
    suffixes = Counter(p.path.suffix for p in dated)
    layout = values.get("layout")
    return SiteShape(
        keys=tuple(values),
        layout=layout if isinstance(layout, str) and layout else "post",
        categories=values.get("categories"),
        suffix=suffixes.most_common(1)[0][0],
    )


def _adoptable(
    episode: Episode, match: Match, posts: Sequence[_Post], state: ImportState, site: Path
) -> tuple[list[_Post], str]:
    """The posts already in the site that are this episode, and the rule that found them. A
    post that belongs to another episode (the import's memory, its `podcast_guid`) is never one;
    one found by anything but its guid must not have both a date and a title far from it."""
    owners = state.owners()
    free = [
        p
        for p in posts
        if owners.get(p.path.relative_to(site).as_posix(), episode.guid) == episode.guid
        and p.values.get("podcast_guid") in (None, episode.guid)
    ]
    links = {u for u in (episode.enclosure, episode.link) if u}
    rules: list[tuple[str, Callable[[_Post], bool]]] = [
        ("podcast_guid", lambda p: p.values.get("podcast_guid") == episode.guid),
        ("youtubeID", lambda p: match.video is not None and p.raw.front_matter.youtube_id == match.video),
        (
            "substack_url",
            lambda p: match.substack is not None and p.raw.front_matter.substack_url == match.substack,
        ),
        ("a link to the episode in its body", lambda p: bool(links & p.urls)),
        (
            "its date and title",
            lambda p: (
                episode.published is not None
                and p.raw.front_matter.date.date() == episode.published.date()
                and similarity(p.raw.front_matter.title, episode.title) >= 0.8
            ),
        ),
    ]
    for name, rule in rules:
        fits = [p for p in free if rule(p)]
        if fits:
            return fits, name
    return [], ""


def _same_episode(episode: Episode, post: _Post) -> bool:
    """A post found by an id is this episode unless both its date and its title say otherwise."""
    front = post.raw.front_matter
    near = episode.published is None or abs((front.date.date() - episode.published.date()).days) <= 7
    return near or similarity(front.title, episode.title) >= 0.5


@dataclass
class _Run:
    site: Path
    out: Path
    settings: Settings
    options: ImportOptions
    dry_run: bool
    add_keys: bool
    say: Callable[[str], None]
    summary: ImportSummary

    def shown(self, path: Path) -> str:
        return shown_path(path)

    def write(self, path: Path, data: bytes) -> bool:
        """`data` at `path` unless the bytes are there already; False then (no mtime touched)."""
        if self.dry_run:
            return not (path.is_file() and path.read_bytes() == data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return write_atomic(path, data)
        except OSError as exc:
            raise PipelineError(f"cannot write: {exc.strerror or exc}", path=path) from None

    def proposal_path(self, name: str) -> Path:
        return self.out / "import" / name

    def keep_report(self, proposal: Proposal) -> None:
        self.write(self.proposal_path(proposal.name + ".report.txt"), proposal.report.encode("utf-8"))


def _front_lines(text: str) -> dict[str, str]:
    """`{key: its lines}` of a front matter the import wrote: a key's line and the indented or
    `- ` lines under it (a list of categories)."""
    found: dict[str, str] = {}
    key = None
    for line in text.split("\n---\n", 1)[0].splitlines()[1:]:
        if re.match(r"^[\w-]+:", line):
            key = line.split(":", 1)[0]
            found[key] = line
        elif key is not None:
            found[key] += "\n" + line
    return found


def _changed(old_text: str, new_text: str) -> str:
    """What an update changes: the front-matter keys (added, changed or gone), then the body."""
    before, after = _front_lines(old_text), _front_lines(new_text)
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    if old_text.split("\n---\n", 1)[-1].strip() != new_text.split("\n---\n", 1)[-1].strip():
        keys.append("body")
    return ", ".join(keys) or "the layout of the file"


def read_feed(
    source: str, parse: Callable[[bytes, str], Feed], key: str, *, site: Path, cache: Path, keep: bool = True
) -> Feed:
    """One feed fetched and parsed; its FeedError names the file (or the URL) and the setting."""
    try:
        fetched = fetch_feed(source, base=site, cache=cache, field=key)
        feed = parse(fetched.data, key)
        if keep:
            fetched.remember()  # only a copy that was read is kept for the next request
        return feed
    except FeedError as exc:
        if is_url(source):
            raise FeedError(exc.message, field=f"{key}: {source}") from None
        raise FeedError(exc.message, path=exc.path or site / source, field=key) from None


def _fetch_optional(
    run: _Run, source: str, parse: Callable[[bytes, str], Feed], key: str, cache: Path
) -> Feed:
    if not source:
        return Feed("", "", ())
    try:
        feed = read_feed(source, parse, key, site=run.site, cache=cache, keep=not run.dry_run)
    except FeedError as exc:
        run.say(f"{exc.line_text('warning')} (imported without it)")
        return Feed("", "", ())
    for warning in feed.warnings:
        run.say(f"warning: {key}: {warning}")
    return feed


def run_import(
    site: Path,
    out: Path,
    settings: Settings,
    *,
    dry_run: bool = False,
    since: dt.date | None = None,
    add_missing_keys: bool = True,
    say: Callable[[str], None] = print,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import the podcast feed's episodes into `site` (see the module's docstring)."""
    options = import_options(settings)
    if not options.podcast_feed:
        path, table = settings.table_in_words("import")
        raise PipelineError(
            "podcast_feed: required (the podcast's RSS feed: a URL or a file)", path=path, field=table
        )
    summary = ImportSummary(dry_run=dry_run)
    run = _Run(site, out, settings, options, dry_run, add_missing_keys, say, summary)
    state_folder = settings.state_dir / "import"
    cache = state_folder / "feeds"
    episodes_feed = read_feed(
        options.podcast_feed, podcast_feed, "podcast_feed", site=site, cache=cache, keep=not dry_run
    )
    for warning in episodes_feed.warnings:
        say(f"warning: podcast_feed: {warning}")
    for problem in episodes_feed.problems:
        summary.counts["failed"] += 1
        say(f"error: podcast_feed: {problem}")
    videos = _fetch_optional(run, options.video_feed, video_feed, "youtube_feed", cache)
    articles = _fetch_optional(run, options.substack_feed, article_feed, "substack_feed", cache)
    episodes: list[Episode] = sorted(
        (
            e
            for e in episodes_feed.items
            if since is None or (e.published is not None and e.published.date() >= since)
        ),
        key=lambda e: (e.published.isoformat() if e.published else "", e.guid),
    )
    matches = match_episodes(
        episodes,
        [v for v in videos.items if isinstance(v, Video)],
        [a for a in articles.items if isinstance(a, Article)],
    )
    video_by_id = {v.video_id: v for v in videos.items if isinstance(v, Video)}
    posts = _site_posts((site / "_posts", site / "_drafts"), say)
    shape = site_shape(posts)
    state = ImportState.load(state_folder)
    try:
        for done, episode in enumerate(episodes):
            if progress is not None:
                progress(done, len(episodes))
            try:
                _one_episode(
                    run, episode, matches[episode.guid], video_by_id, posts, shape, state, bool(videos.items)
                )
            except PipelineError as exc:
                summary.counts["failed"] += 1
                say(f"error: {printable(episode.title)}: {exc.line_text().removeprefix('error: ')}")
    finally:  # what was written is remembered, even when a run stops on the way
        if not dry_run:
            state.save()
    return summary


def _one_episode(
    run: _Run,
    episode: Episode,
    match: Match,
    video_by_id: dict[str, Video],
    posts: list[_Post],
    shape: SiteShape,
    state: ImportState,
    have_videos: bool,
) -> None:
    would = "would " if run.dry_run else ""
    entry = state.entries.get(episode.guid)
    if entry is not None and not (run.site / entry.file).is_file():
        moved = [p for p in posts if p.values.get("podcast_guid") == episode.guid]
        if len(moved) != 1:
            run.say(f"kept: {entry.file}: deleted since it was imported: not written again")
            run.summary.counts["kept"] += 1
            return
        entry = replace(entry, file=moved[0].path.relative_to(run.site).as_posix())
        state.entries[episode.guid] = entry
    adopted_by = ""
    if entry is None:
        found, rule = _adoptable(episode, match, posts, state, run.site)
        if len(found) > 1:
            names = ", ".join(run.shown(p.path) for p in found)
            raise PipelineError(
                f"is already in several posts ({names}, by {rule}): none adopted, none written"
            )
        if found and rule != "podcast_guid" and not _same_episode(episode, found[0]):
            post = found[0].raw.front_matter
            raise PipelineError(
                f"found by {rule} in {run.shown(found[0].path)} ({post.title!r}, {post.date:%Y-%m-%d}), "
                "whose date and title are another episode's: not adopted, not written; check which "
                "episode it is"
            )
        if found:
            entry, adopted_by = Entry(found[0].path.relative_to(run.site).as_posix(), None), rule
    path = run.site / entry.file if entry is not None else None
    current, values = b"", {}
    if path is not None:
        current, read = read_post_file(path)  # read once: compared, and edited by `_theirs`
        values = read.front_matter.values
        if values.get("podcast_guid") not in (None, episode.guid):
            raise PipelineError(
                f"{run.shown(path)}, this episode's post, now holds the episode {values['podcast_guid']}: "
                "left alone; .episode/import/posts.json names the post of each episode"
            )
        match = _with_kept_ids(match, values)
    proposal = propose(
        episode,
        match,
        video_by_id.get(match.video or ""),
        shape,
        run.settings,
        categories=run.options.categories,
        layout=run.options.layout,
    )
    data = proposal.text.encode("utf-8")
    if entry is None or path is None:
        name = proposal.name if not run.options.drafts else proposal.name[len("YYYY-MM-DD-") :]
        target = run.site / ("_drafts" if run.options.drafts else "_posts") / name
        if target.exists() or target.relative_to(run.site).as_posix() in state.owners():
            raise PipelineError(f"{run.shown(target)} exists and is another post: not overwritten")
        run.write(target, data)
        run.keep_report(proposal)
        state.entries[episode.guid] = Entry(target.relative_to(run.site).as_posix(), digest(data))
        run.summary.counts["new"] += 1
        run.say(f"{would}write: {run.shown(target)}")
        _unmatched(run, episode, match, have_videos)
        return
    if adopted_by:
        # A post exactly as the import would write it is the import's own again (its memory was
        # deleted); any other is the user's from now on.
        entry = Entry(entry.file, digest(current) if current == data else None)
        state.entries[episode.guid] = entry
        run.summary.counts["adopted" if entry.written is None else "unchanged"] += 1
        if entry.written is None:
            run.say(f"{would}adopt: {run.shown(path)} (by {adopted_by})")
            _theirs(
                run, path, current, values, proposal, match, state, episode.guid, "not written by the import"
            )
        return
    if entry.written is not None and digest(current) == entry.written:
        if data == current:
            run.summary.counts["unchanged"] += 1
            return
        run.write(path, data)
        run.keep_report(proposal)
        state.entries[episode.guid] = Entry(entry.file, digest(data))
        run.summary.counts["updated"] += 1
        run.say(f"{would}update: {run.shown(path)}: {_changed(current.decode('utf-8'), proposal.text)}")
        _unmatched(run, episode, match, have_videos)
        return
    run.summary.counts["kept"] += 1
    _theirs(run, path, current, values, proposal, match, state, episode.guid)


def _with_kept_ids(match: Match, values: Mapping[str, Any]) -> Match:
    """The ids a post already has stand where this run found none (a feed that failed, a video
    gone from the channel's latest 15): an update never drops them."""
    video, substack = values.get("youtubeID"), values.get("substack_url")
    if match.video is None and isinstance(video, str) and video:
        match = replace(match, video=video, video_rule="kept")
    if match.substack is None and isinstance(substack, str) and substack:
        match = replace(match, substack=substack, substack_rule="kept")
    return match


def _theirs(
    run: _Run,
    path: Path,
    data: bytes,
    values: Mapping[str, Any],
    proposal: Proposal,
    match: Match,
    state: ImportState,
    guid: str,
    why: str = "edited by hand",
) -> None:
    """A post the user owns (edited, or adopted): never rewritten. An id it lacks is added, once
    (one the user deletes afterwards stays deleted); an id the feed gives differently is named;
    the import's version goes beside the outputs, with a line when it changed."""
    would = "would " if run.dry_run else ""
    for key, found in (("youtubeID", match.video), ("substack_url", match.substack)):
        if found and values.get(key) and str(values[key]) != found:
            run.say(f"note: {run.shown(path)}: {key} {values[key]} kept; the episode's feed gives {found}")
    entry = state.entries[guid]
    missing = [k for k in ID_KEYS if k in proposal.front and k not in values and k not in entry.added]
    if missing and run.add_keys:
        run.write(path, add_keys(data, proposal.front, missing))
        state.entries[guid] = replace(entry, added=(*entry.added, *missing))
        run.say(f"{would}add {', '.join(missing)} to {run.shown(path)}")
    proposed = run.proposal_path(path.name)
    if proposal.text.encode("utf-8") != data and run.write(proposed, proposal.text.encode("utf-8")):
        run.keep_report(proposal)
        where = f"the import's version {'would be' if run.dry_run else 'is'} in {run.shown(proposed)}"
        run.say(f"kept: {run.shown(path)}: {why}; {where}")


def _unmatched(run: _Run, episode: Episode, match: Match, have_videos: bool) -> None:
    if have_videos and match.video is None:
        run.summary.counts["unmatched"] += 1
        run.say(f"unmatched: {printable(episode.title)}: no video of the YouTube feed fits it")
