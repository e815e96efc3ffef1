"""The fuzzing entry point (`invoke fuzz`) runs, is reproducible, and catches broken invariants."""

from __future__ import annotations

import itertools
from pathlib import Path

from pipeline.config import Settings
from pipeline.fuzz import inputs, invariant_problems, load_seeds, run_fuzz


def test_a_few_inputs_pass(tmp_path: Path, settings: Settings) -> None:
    report = run_fuzz(settings, seed=7, examples=12, out=tmp_path / "fuzz")
    assert report.tried == 12 and report.rendered > 0
    assert report.failures == [], [(p / "problem.txt").read_text() for p in report.failures]
    assert report.lines()[0].startswith("fuzz: seed 7: 12 inputs")


def test_the_same_seed_gives_the_same_inputs() -> None:
    seeds = load_seeds()
    assert all(b"{PORT}" not in s for s in seeds)
    first = list(itertools.islice(inputs(3, seeds), 50))
    assert first == list(itertools.islice(inputs(3, seeds), 50))
    assert first != list(itertools.islice(inputs(4, seeds), 50))


def test_broken_invariants_are_named() -> None:
    assert invariant_problems({"youtube.txt": b"ok\n", "podcast.html": b'<p><a href="https://x.test/">x</a></p>'}) == []
    problems = invariant_problems(
        {
            "youtube.txt": b"<b>" + b"x" * 5000,
            "podcast.html": b'<p><a href=" jav&#x61;script:alert(1)">x</a><img src=x onerror=alert(1)></p>',
            "newsletter.html": b"<p><script>alert(1)</script></p>",
            "newsletter.txt": "evil \u202e text".encode(),
        }
    )
    assert any("over 5000" in p for p in problems)
    assert any("< or >" in p for p in problems)
    assert any("podcast.html: <a href=" in p for p in problems)
    assert any("onerror" in p for p in problems)
    assert any("newsletter.html: has <script>" in p for p in problems)
    assert any("newsletter.txt: contains a bidi" in p for p in problems)
