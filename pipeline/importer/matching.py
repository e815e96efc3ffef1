"""Which video and which Substack post belong to a podcast episode.

The rules, in order, each taken only when exactly one candidate fits:

1. a YouTube video or Substack post linked inside the episode's description (a draft Substack
   link, `/p/<uuid>`, stands for the feed's published post of the same title);
2. equal episode numbers (`itunes:episode` or `podcast:episode`, `#12` in both titles);
3. published within 3 days, with a title similarity of at least 0.8 that is 0.15 ahead of the
   next candidate.

A Short (a `/shorts/` link, `#shorts`) is never an episode's video; a candidate matched to one
episode is not offered to another.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import html5lib

from ..text.links import substack_post, youtube_video_id
from .feeds import Article, Episode, Video, episode_number

NEAR_DAYS = 3
MIN_SIMILARITY = 0.8
MIN_LEAD = 0.15
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)

C = TypeVar("C", Video, Article)
P = TypeVar("P", Video, Article, str)


@dataclass(frozen=True)
class Match:
    video: str | None = None  # the YouTube id
    video_rule: str = ""
    substack: str | None = None  # the post's URL
    substack_rule: str = ""


@dataclass(frozen=True)
class Link:
    url: str
    text: str = ""
    player: bool = False


def links_of(description: str) -> list[Link]:
    """Every link, player and bare URL of an episode's description, in order."""
    found: list[Link] = []
    tree = html5lib.parse(description, namespaceHTMLElements=False)
    for element in tree.iter():
        if element.tag == "a" and element.get("href"):
            found.append(Link(element.get("href").strip(), " ".join("".join(element.itertext()).split())))
        elif element.tag in ("iframe", "embed") and element.get("src"):
            found.append(Link(element.get("src").strip(), player=True))
    text = " ".join(tree.itertext())
    found += [Link(url) for url in re.findall(r"https?://[^\s<>\"')\]]+", text)]
    return found


_SUBSTACK_TEXT = re.compile(r"\bsubstack\b", re.IGNORECASE)
_WATCH = re.compile(r"\b(watch|video|youtube)\b", re.IGNORECASE)


def _own_video_link(link: Link) -> bool:
    """A link that says it is the episode's video: a player, a timestamp into it (`t=`), or a
    link whose text says watch, video or YouTube. A bare reference to another video is none."""
    if link.player:
        return True
    query = urlsplit(link.url).query
    return re.search(r"(?:^|&)t=\d", query) is not None or _WATCH.search(link.text) is not None


def comparable_title(title: str) -> str:
    """A title folded for comparison: accents, case, punctuation and spacing set aside."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(re.sub(r"[^a-z0-9#]+", " ", folded).split())


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, comparable_title(a), comparable_title(b)).ratio()


def _one(found: Iterable[str]) -> str | None:
    distinct = list(dict.fromkeys(found))
    return distinct[0] if len(distinct) == 1 else None


def _by_number(episode: Episode, candidates: Sequence[C]) -> C | None:
    number = episode.number if episode.number is not None else episode_number(episode.title)
    if number is None:
        return None
    fits = [c for c in candidates if episode_number(c.title) == number]
    return fits[0] if len(fits) == 1 else None


def _by_date_and_title(episode: Episode, candidates: Sequence[C]) -> C | None:
    if episode.published is None:
        return None
    near = [
        c
        for c in candidates
        if c.published is not None and abs(c.published - episode.published) <= dt.timedelta(days=NEAR_DAYS)
    ]
    scored = sorted(((similarity(episode.title, c.title), i) for i, c in enumerate(near)), reverse=True)
    if not scored or scored[0][0] < MIN_SIMILARITY:
        return None
    if len(scored) > 1 and scored[0][0] - scored[1][0] < MIN_LEAD:
        return None
    return near[scored[0][1]]


def _linked_video(links: Sequence[Link], shorts: set[str]) -> str | None:
    ids = []
    for link in links:
        video = youtube_video_id(link.url)
        if (
            video
            and _own_video_link(link)
            and "/shorts/" not in urlsplit(link.url).path
            and video not in shorts
        ):
            ids.append(video)
    return _one(ids)


def _linked_article(links: Sequence[Link], episode: Episode, articles: Sequence[Article]) -> str | None:
    """The show's own Substack post the description links: on the host of the Substack feed's
    posts; without that feed, a link whose text says Substack. A guest's essay on another
    publication is a reference, not the episode's post."""
    hosts = {urlsplit(a.url).hostname for a in articles}
    posts = [
        p
        for link in links
        if (p := substack_post(link.url, link.text)) is not None
        and (urlsplit(p).hostname in hosts if hosts else _SUBSTACK_TEXT.search(link.text) is not None)
    ]
    published = {a.url.split("?")[0].rstrip("/"): a for a in articles}
    chosen = _one(posts)
    if chosen is None:
        return None
    slug = chosen.rsplit("/p/", 1)[1]
    if _UUID.match(slug):  # a draft's address: the published post of the same title stands for it
        same = [a for a in articles if comparable_title(a.title) == comparable_title(episode.title)]
        return same[0].url.split("?")[0] if len(same) == 1 else None
    return published[chosen].url.split("?")[0] if chosen in published else chosen


def match_episodes(
    episodes: Sequence[Episode], videos: Sequence[Video], articles: Sequence[Article]
) -> dict[str, Match]:
    """`{guid: Match}` for every episode, by the rules above, in order."""
    shorts = {v.video_id for v in videos if v.short}
    free_videos = [v for v in videos if not v.short]
    free_articles = list(articles)
    matches: dict[str, Match] = {}
    links = {e.guid: links_of(e.description) for e in episodes}
    linked_videos = _alone({e.guid: _linked_video(links[e.guid], shorts) for e in episodes})
    linked_articles = _alone({e.guid: _linked_article(links[e.guid], e, articles) for e in episodes})
    for e in episodes:  # rule 1 first for all: what an episode links is surest
        video, article = linked_videos.get(e.guid), linked_articles.get(e.guid)
        matches[e.guid] = Match(video, "linked" if video else "", article, "linked" if article else "")
    free_videos = [v for v in free_videos if v.video_id not in {m.video for m in matches.values()}]
    free_articles = [
        a for a in free_articles if a.url.split("?")[0] not in {m.substack for m in matches.values()}
    ]
    for rule, pick in (("episode number", _by_number), ("date and title", _by_date_and_title)):
        video_picks = {e.guid: pick(e, free_videos) for e in episodes if matches[e.guid].video is None}
        article_picks = {e.guid: pick(e, free_articles) for e in episodes if matches[e.guid].substack is None}
        for guid, picked_video in _alone(video_picks).items():
            free_videos.remove(picked_video)
            m = matches[guid]
            matches[guid] = Match(picked_video.video_id, rule, m.substack, m.substack_rule)
        for guid, picked_article in _alone(article_picks).items():
            free_articles.remove(picked_article)
            m = matches[guid]
            matches[guid] = Match(m.video, m.video_rule, picked_article.url.split("?")[0], rule)
    return matches


def _alone(picks: dict[str, P | None]) -> dict[str, P]:
    """The picks no other episode made too: a candidate (a video, a post, an id) that fits two
    episodes fits none."""
    counts = Counter(c for c in picks.values() if c is not None)
    return {guid: c for guid, c in picks.items() if c is not None and counts[c] == 1}
