"""What YouTube, Apple Podcasts and Spotify accept in a pasted description, and how a check says so.

The numbers the platforms impose live here, once, for the formats, `episode check`, the preview
server and `episode publish`. `RuleResult` is one such rule checked on one episode, in plain
words, so the build, the check and the preview report the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...results import Diagnostic

YOUTUBE_MAX_BYTES = 5000
PODCAST_MAX_BYTES = 4000
# YouTube ignores every hashtag of a description that has more than 15.
MAX_HASHTAGS = 15
# Both platforms make chapters only from a list of at least three, from 0:00.
MIN_CHAPTERS = 3
YOUTUBE_MIN_CHAPTER_SECONDS = 10


@dataclass(frozen=True)
class RuleResult:
    """One platform rule checked on one episode, explained in plain words."""

    name: str
    """A stable id such as `youtube.bytes`."""
    passed: bool
    message: str
    adjusted: bool = False
    """The output was changed to pass (a 0:00 Intro added): worth an info line, not a warning."""


def diagnostics_of(results: Sequence[RuleResult]) -> list[Diagnostic]:
    """A warning for each failed rule (what the user should fix or know was lost) and news for
    each rule that passed because the output was adjusted, each naming its rule."""
    return [
        Diagnostic("warning" if not r.passed else "info", r.message, rule=r.name)
        for r in results
        if not r.passed or r.adjusted
    ]
