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
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..builder.output_folder import write_atomic
from ..errors import PipelineError, printable
from ..places import shown_path
from ..settings.config import Settings
from ..source.post_file import RawPost, read_post
from .feeds import Article, Episode, Feed, Video, article_feed, podcast_feed, video_feed
from .fetch import FeedError, fetch_feed
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
    def values(self) -> dict[str, Any]:
        return dict(self.raw.front_matter.values)


def _site_posts(folders: Iterable[Path], say: Callable[[str], None]) -> list[_Post]:
    found: list[_Post] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in (".md", ".markdown") or not path.is_file():
                continue
            try:
                found.append(_Post(path, read_post(path)))
            except PipelineError as exc:
                say(f"warning: {exc.line_text().removeprefix('error: ')} (not matched against the feed)")
    return found


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


def _adoptable(episode: Episode, match: Match, posts: Sequence[_Post]) -> tuple[list[_Post], str]:
    """The posts already in the site that are this episode, and the rule that found them."""
    rules: list[tuple[str, Callable[[_Post], bool]]] = [
        ("podcast_guid", lambda p: p.values.get("podcast_guid") == episode.guid),
        ("youtubeID", lambda p: match.video is not None and p.raw.front_matter.youtube_id == match.video),
        (
            "substack_url",
            lambda p: match.substack is not None and p.raw.front_matter.substack_url == match.substack,
        ),
        (
            "a link to the episode in its body",
            lambda p: any(u and u in p.raw.body for u in (episode.enclosure, episode.link) if len(u) > 12),
        ),
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
        fits = [p for p in posts if rule(p)]
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


def _changed(before: dict[str, Any], proposal: Proposal, old_text: str) -> str:
    keys = [k for k in proposal.front if str(before.get(k)) != str(proposal.front[k]) and k != "date"]
    if str(before.get("date", "")) and str(before.get("date")) != str(proposal.front.get("date")):
        keys.append("date")
    old_body = old_text.split("\n---\n", 1)[-1].strip()
    new_body = proposal.text.split("\n---\n", 1)[-1].strip()
    if old_body != new_body:
        keys.append("body")
    return ", ".join(keys) or "layout of the file"


def _fetch_optional(
    run: _Run, source: str, parse: Callable[[bytes, str], Feed], key: str, cache: Path
) -> Feed:
    if not source:
        return Feed("", "", ())
    try:
        feed = parse(fetch_feed(source, base=run.site, cache=cache, field=key).data, key)
    except FeedError as exc:
        run.say(f"warning: {exc.line_text().removeprefix('error: ')} (imported without it)")
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
    fetched = fetch_feed(options.podcast_feed, base=site, cache=cache, field="podcast_feed")
    episodes_feed = podcast_feed(fetched.data)
    for warning in episodes_feed.warnings:
        say(f"warning: podcast_feed: {warning}")
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
    for episode in episodes:
        try:
            _one_episode(
                run, episode, matches[episode.guid], video_by_id, posts, shape, state, bool(videos.items)
            )
        except PipelineError as exc:
            summary.counts["failed"] += 1
            say(f"error: {printable(episode.title)}: {exc.line_text().removeprefix('error: ')}")
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
    video = video_by_id.get(match.video or "")
    proposal = propose(
        episode,
        match,
        video,
        shape,
        run.settings,
        categories=run.options.categories,
        layout=run.options.layout,
    )
    folder = run.site / ("_drafts" if run.options.drafts else "_posts")
    entry = state.entries.get(episode.guid)
    would = "would " if run.dry_run else ""
    if entry is not None and not (run.site / entry.file).is_file():
        moved = [p for p in posts if p.values.get("podcast_guid") == episode.guid]
        if len(moved) != 1:
            run.say(f"kept: {entry.file}: deleted since it was imported: not written again")
            run.summary.counts["kept"] += 1
            return
        entry = Entry(moved[0].path.relative_to(run.site).as_posix(), entry.written)
        state.entries[episode.guid] = entry
    if entry is None:
        found, rule = _adoptable(episode, match, posts)
        if len(found) > 1:
            names = ", ".join(run.shown(p.path) for p in found)
            raise PipelineError(
                f"is already in several posts ({names}, by {rule}): none adopted, none written"
            )
        if found and rule in ("youtubeID", "substack_url") and not _same_episode(episode, found[0]):
            post = found[0].raw.front_matter
            raise PipelineError(
                f"{rule} {match.video if rule == 'youtubeID' else match.substack} is that of "
                f"{run.shown(found[0].path)} ({post.title!r}, {post.date:%Y-%m-%d}): not adopted, "
                "not written; check which episode the link belongs to"
            )
        if found:
            path = found[0].path
            entry = Entry(path.relative_to(run.site).as_posix(), None)
            state.entries[episode.guid] = entry
            run.summary.counts["adopted"] += 1
            run.say(f"{would}adopt: {run.shown(path)} (by {rule})")
            _theirs(run, path, proposal, quiet=True)
            return
        name = proposal.name if not run.options.drafts else proposal.name[len("YYYY-MM-DD-") :]
        path = folder / name
        if path.exists() or state.owner(path.relative_to(run.site).as_posix()) is not None:
            raise PipelineError(f"{run.shown(path)} exists and is another post: not overwritten")
        data = proposal.text.encode("utf-8")
        run.write(path, data)
        run.keep_report(proposal)
        state.entries[episode.guid] = Entry(path.relative_to(run.site).as_posix(), digest(data))
        run.summary.counts["new"] += 1
        run.say(f"{would}write: {run.shown(path)}")
        _unmatched(run, episode, match, have_videos)
        return
    path = run.site / entry.file
    current = path.read_bytes()
    if entry.written is not None and digest(current) == entry.written:
        data = proposal.text.encode("utf-8")
        if data == current:
            run.summary.counts["unchanged"] += 1
            return
        before = dict(read_post(path).front_matter.values)
        run.write(path, data)
        run.keep_report(proposal)
        state.entries[episode.guid] = Entry(entry.file, digest(data))
        run.summary.counts["updated"] += 1
        run.say(f"{would}update: {run.shown(path)}: {_changed(before, proposal, current.decode('utf-8'))}")
        _unmatched(run, episode, match, have_videos)
        return
    _theirs(run, path, proposal)


def _theirs(run: _Run, path: Path, proposal: Proposal, quiet: bool = False) -> None:
    """A post the user owns (edited, or adopted): a missing id added, the proposal kept apart."""
    text = path.read_text("utf-8")
    values = read_post(path).front_matter.values
    missing = [k for k in ID_KEYS if k in proposal.front and k not in values]
    would = "would " if run.dry_run else ""
    if missing and run.add_keys:
        run.write(path, add_keys(text, proposal.front, missing).encode("utf-8"))
        run.say(f"{would}add {', '.join(missing)} to {run.shown(path)}")
    proposed = run.proposal_path(path.name)
    if proposal.text != text and run.write(proposed, proposal.text.encode("utf-8")):
        run.keep_report(proposal)
        if not quiet:
            run.say(f"kept: {run.shown(path)}: edited by hand; the import's version: {run.shown(proposed)}")
    if not quiet:
        run.summary.counts["kept"] += 1


def _unmatched(run: _Run, episode: Episode, match: Match, have_videos: bool) -> None:
    if have_videos and match.video is None:
        run.summary.counts["unmatched"] += 1
        run.say(f"unmatched: {printable(episode.title)}: no video of the YouTube feed fits it")
