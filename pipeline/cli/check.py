"""`episode check`: everything a build would warn about, for the whole archive, writing nothing.

Each problem is a `results.Diagnostic` record (`post`, `line`, `format`, `rule`, `severity`,
`message`), made by the same functions the build uses, so both say the same thing in the same
words. A failed YouTube or Apple/Spotify rule is a warning, as in the build: the description is
still written, with what the rule could not keep dropped or shown as text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PipelineError, printable
from ..formats import FORMATS, render_format
from ..formats.descriptions import podcast, youtube
from ..formats.descriptions.common import Description, PlatformDescription
from ..model import Episode
from ..normalize.boilerplate import unmatched_rules
from ..normalize.stages import normalize_file
from ..results import Diagnostic, error_diagnostic, report_diagnostics
from ..settings.config import Settings
from ..source.discovery import discover_all

# Every format a build writes warnings for. The PDF is rendered too (WeasyPrint's warnings
# exist only once it has laid the pages out): ~0.1 s a post, left out with `--no-pdf`.
CHECKED_FORMATS = ("chapters", "newsletter", "pdf", "youtube", "podcast")
PDF_SKIPPED = "show-notes.pdf not rendered (--no-pdf): its warnings (fonts, images, links) are not checked"
# The descriptions whose platform rules every post is checked against, rendered or not.
PLATFORMS: dict[str, PlatformDescription] = {"youtube": youtube.FORMAT, "podcast": podcast.FORMAT}


@dataclass
class PostCheck:
    source: str
    problems: list[Diagnostic] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    """The platform rules the post passes (`YouTube: 2,070 of 5,000 bytes`), for `--verbose`."""
    notes: list[str] = field(default_factory=list)
    """The rest of its normalization report (merged, boilerplate, …), for `--verbose`."""
    youtube_id: str | None = None
    boilerplate: list[str] = field(default_factory=list)
    """What the configured boilerplate rules dropped, each piece whole."""
    normalized: bool = False


@dataclass
class ArchiveCheck:
    posts: list[PostCheck]
    formats: tuple[str, ...] = CHECKED_FORMATS
    ignored: list[str] = field(default_factory=list)
    settings: list[PostCheck] = field(default_factory=list)
    """Problems of the settings file that only the whole archive shows (a rule matching nothing)."""
    settings_warnings: list[PostCheck] = field(default_factory=list)
    """The settings' own warnings (an example From address), shown before the posts."""

    def count(self, severity: str) -> int:
        """The posts' problems of `severity`: what fails a check, as it fails a build."""
        return sum(1 for p in self.posts for problem in p.problems if problem.severity == severity)

    def settings_count(self) -> int:
        """The warnings about the settings (an example From address, a rule matching nothing):
        shown and counted apart, and like a build's, they never fail `--strict`."""
        return sum(len(p.problems) for p in self.settings + self.settings_warnings)

    def ok(self, strict: bool = False) -> bool:
        """No error, and under `--strict` no warning about a post either."""
        return not self.count("error") and not (strict and self.count("warning"))

    def records(self, shown: Callable[[str], str] = str) -> list[dict[str, object]]:
        """One record per problem: `post`, `line`, `format`, `rule`, `severity`, `message`."""
        return [
            {
                "post": shown(post.source) if post.source else None,
                "line": problem.line,
                "format": problem.format,
                "rule": problem.rule,
                "severity": problem.severity,
                "message": problem.message,
            }
            for post in self.settings_warnings + self.posts + self.settings
            for problem in post.problems
        ]

    def summary(self, strict: bool = False) -> dict[str, object]:
        return {
            "posts": len(self.posts),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "settings_warnings": self.settings_count(),
            "strict": strict,
            "ok": self.ok(strict),
            "formats": list(self.formats),
            "not_checked": [] if "pdf" in self.formats else [PDF_SKIPPED],
        }

    def summary_line(self, strict: bool = False) -> str:
        """`checked 5 post(s): 1 error, 2 warnings` (and what `--strict` made of the warnings)."""
        errors, warnings = self.count("error"), self.count("warning")
        text = (
            f"checked {len(self.posts)} post(s): {errors} error{'' if errors == 1 else 's'}, "
            f"{warnings} warning{'' if warnings == 1 else 's'}"
        )
        if settings := self.settings_count():
            text += f"; {settings} about the settings"
        if strict and warnings:
            text += " (--strict: warnings fail the check)"
        return text


def check_platforms(episode: Episode, settings: Settings) -> dict[str, Description]:
    """The YouTube and Apple/Spotify descriptions of one episode, each with every rule checked on it."""
    return {name: platform.describe(episode, settings) for name, platform in PLATFORMS.items()}


def check_post(path: Path, settings: Settings, formats: Sequence[str] = CHECKED_FORMATS) -> PostCheck:
    """Normalize one post and render each format in memory; its problems as the build has them."""
    check = PostCheck(str(path))
    current: str | None = None
    try:
        episode = normalize_file(path, settings)
        check.youtube_id = episode.youtube_id
        warnings, notes = report_diagnostics(episode)
        check.problems += warnings
        check.notes += [f"{n.rule}: {n.message}" for n in notes]
        check.boilerplate = [n.message for n in episode.notes if n.kind == "boilerplate"]
        check.normalized = True
        descriptions = check_platforms(episode, settings)
        rules = [result for description in descriptions.values() for result in description.results]
        check.passed = [printable(r.message) for r in rules if r.passed]
        for name in formats:
            if name not in FORMATS:
                continue
            current = name
            rendered = render_format(name, episode, settings)  # as the build renders it
            check.problems += [d for d in rendered.diagnostics if d.severity == "warning"]
    except PipelineError as exc:
        check.problems.append(error_diagnostic(exc, path, current))
    except Exception as exc:  # a bug, not the user's mistake: still one record, the others go on
        check.problems.append(Diagnostic("error", f"internal error: {type(exc).__name__}: {exc}", current))
    return check


def check_archive(
    src: Path,
    settings: Settings,
    formats: Sequence[str] = CHECKED_FORMATS,
    settings_warnings: Sequence[Diagnostic] = (),
) -> ArchiveCheck:
    """Every post under `src`, checked as `check_post` does, and what only the archive shows:
    two posts with the same YouTube video, boilerplate rules that matched nothing. The settings'
    own warnings (`settings_warnings`, shown before the posts) are counted and recorded too."""
    posts, rejected, ignored = discover_all(src)
    checks = [
        PostCheck(r.source, [r.failure or Diagnostic("error", r.error or "cannot be built")])
        for r in rejected
    ]
    seen_ids: dict[str, str] = {}
    for path in posts:
        check = check_post(path, settings, formats)
        checks.append(check)
        youtube_id = check.youtube_id
        if youtube_id is None:
            continue
        if youtube_id in seen_ids:
            check.problems.append(
                Diagnostic(
                    "error",
                    f"youtubeID: {youtube_id} is also the video of {seen_ids[youtube_id]}",
                    rule="youtubeID",
                )
            )
        else:
            seen_ids[youtube_id] = path.name
    return ArchiveCheck(
        sorted(checks, key=lambda c: c.source),
        tuple(formats),
        ignored,
        _unmatched_rules(checks, settings) if src.is_dir() and posts else [],
        [PostCheck(d.post or "", [d]) for d in settings_warnings],
    )


def _unmatched_rules(checks: list[PostCheck], settings: Settings) -> list[PostCheck]:
    """A warning for each boilerplate rule that dropped nothing in any post checked: a rule
    mistyped, or one the show stopped needing. Named against the settings file that has it."""
    dropped = [text for check in checks for text in check.boilerplate]
    checked = sum(1 for check in checks if check.normalized)
    if not checked:  # no post was read: a rule matching nothing says nothing
        return []
    problems = [
        Diagnostic(
            "warning",
            f"{setting}: {json.dumps(rule, ensure_ascii=False)} matched nothing in the "
            f"{checked} post(s) checked",
            rule=setting,
        )
        for setting, rule in unmatched_rules(settings, dropped)
    ]
    return [PostCheck(settings.source, problems)] if problems else []
