"""Every summary sentence of the real posts appears exactly once; boilerplate and trackers are gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.formats.post import canonical_markdown
from pipeline.normalize.matching import sentence_bounds, sentence_key
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings

from .conftest import CORPUS

IMPORTED = sorted((CORPUS / "imported").glob("*.markdown"))


def _md_summary_sentences(path: Path) -> list[str]:
    body = path.read_text("utf-8").split("\n---\n", 1)[1]
    paragraphs = [
        p
        for p in body.split("\n\n")
        if p.strip() and not p.lstrip().startswith(("<", "Watch on", "Read more"))
    ]
    return [p[s:e].strip() for p in paragraphs for s, e in sentence_bounds(" ".join(p.split()))]


@pytest.mark.parametrize("path", IMPORTED, ids=lambda p: p.stem[:40])
def test_each_markdown_sentence_appears_exactly_once(path: Path, settings: Settings) -> None:
    body_key = sentence_key(canonical_markdown(normalize_file(path, settings)).split("\n---\n", 1)[1])
    for sentence in _md_summary_sentences(path):
        key = sentence_key(sentence)
        assert body_key.count(key) == 1, sentence


@pytest.mark.parametrize("path", IMPORTED, ids=lambda p: p.stem[:40])
def test_boilerplate_and_tracking_are_gone(path: Path, settings: Settings) -> None:
    text = canonical_markdown(normalize_file(path, settings))
    body = text.split("\n---\n", 1)[1]
    for gone in (
        "<iframe",
        "<p>",
        "Watch on",
        "Listen on Apple",
        "Read more on",
        "?si=",
        "Available on",
        "\n---\n",
        "A machine learning podcast that explores",
    ):
        assert gone not in body


def test_truncated_html_leaves_no_fragment(settings: Settings) -> None:
    path = next((CORPUS / "imported-truncated").glob("*.markdown"))
    episode = normalize_file(path, settings)
    body = canonical_markdown(episode).split("\n---\n", 1)[1]
    assert "His framewor " not in body and not body.rstrip().endswith("framewor")
    assert body.count("His framework for data quality") == 1
    assert any(
        n.kind == "merged" and "cut off" in n.message and "His framewor" in n.message for n in episode.notes
    )


def test_seed_html_only_parts_kept_and_chapters_found(settings: Settings) -> None:
    path = (
        CORPUS
        / "imported"
        / "2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12.markdown"
    )
    episode = normalize_file(path, settings)
    text = canonical_markdown(episode)
    assert "Thank you for listening." in text
    assert "## Chapters\n\n- 00:46 Introduction and Maxime's Background\n" in text
    assert [c.start for c in episode.chapters][:3] == [46, 107, 210]
    assert len(episode.chapters) == 17


def test_rewordings_are_reported_with_both_versions(settings: Settings) -> None:
    path = next((CORPUS / "imported").glob("2025-07-01-*.markdown"))
    episode = normalize_file(path, settings)
    reworded = [n.message for n in episode.notes if n.kind == "reworded"]
    assert any("helps frame" in m and "transforms how we approach" in m for m in reworded)
    body = canonical_markdown(episode)
    assert "helps frame" in body and "transforms how we approach" not in body
    assert "He explains the necessity" not in body


def test_nested_lists_survive(settings: Settings) -> None:
    path = next((CORPUS / "imported").glob("2024-10-25-*.markdown"))
    text = canonical_markdown(normalize_file(path, settings))
    assert (
        "- Maarten Grootendorst\n  - [Learning from Machine Learning Episode 1](https://youtu.be/bLW_RH2Y6oI)\n"
        in text
    )
