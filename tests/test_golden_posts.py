"""Golden tests: every corpus post against its reviewed post.md (regenerate: invoke goldens)."""

from __future__ import annotations

import os
from pathlib import Path

import frontmatter
import pytest

from pipeline.formats.post import canonical_markdown
from pipeline.normalize.stages import normalize_file
from pipeline.settings.config import Settings
from pipeline.source.post_file import decode, split_front_matter
from pipeline.text.chapters import chapters_to_json

from .conftest import CORPUS, GOLDEN

CASES = sorted(
    (p.parent.name, p) for d in ("imported", "imported-truncated") for p in (CORPUS / d).glob("*.markdown")
)
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _check(expected_path: Path, actual: str) -> None:
    if UPDATE:
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_text(actual, "utf-8")
    assert expected_path.is_file(), f"no golden file {expected_path}; run `invoke goldens`"
    assert actual == expected_path.read_text("utf-8")


@pytest.mark.parametrize(("corpus", "path"), CASES, ids=[f"{c}/{p.stem[:40]}" for c, p in CASES])
def test_post_matches_golden(corpus: str, path: Path, settings: Settings) -> None:
    episode = normalize_file(path, settings)
    folder = GOLDEN / corpus / path.stem
    _check(folder / "post.md", canonical_markdown(episode))
    if episode.chapters_valid:
        _check(folder / "chapters.json", chapters_to_json(episode.chapters))
    else:
        assert not (folder / "chapters.json").exists()


@pytest.mark.parametrize(("corpus", "path"), CASES, ids=[f"{c}/{p.stem[:40]}" for c, p in CASES])
def test_normalizing_the_output_again_changes_nothing(
    corpus: str, path: Path, settings: Settings, tmp_path: Path
) -> None:
    first = canonical_markdown(normalize_file(path, settings))
    again = tmp_path / path.name
    again.write_text(first, "utf-8")
    assert canonical_markdown(normalize_file(again, settings)) == first


@pytest.mark.parametrize(("corpus", "path"), CASES, ids=[f"{c}/{p.stem[:40]}" for c, p in CASES])
def test_front_matter_keeps_keys_in_order_and_adds_substack(
    corpus: str, path: Path, settings: Settings
) -> None:
    original = frontmatter.loads(path.read_text("utf-8")).metadata
    result = frontmatter.loads(canonical_markdown(normalize_file(path, settings))).metadata
    assert list(result)[: len(original)] == list(original)
    assert {k: result[k] for k in original} == original
    front, _, _ = split_front_matter(decode(path.read_bytes(), path), path)
    assert canonical_markdown(normalize_file(path, settings)).startswith("---\n" + front)


@pytest.mark.parametrize("path", sorted((CORPUS / "cleaned").glob("*.markdown")), ids=lambda p: p.stem[:40])
def test_a_clean_post_keeps_its_text_and_headings(path: Path, settings: Settings) -> None:
    source = path.read_text("utf-8")
    result = canonical_markdown(normalize_file(path, settings))
    assert result.rstrip("\n") == source.rstrip("\n")
