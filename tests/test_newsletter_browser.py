"""The newsletter in a real headless Chromium: no sideways scrolling at 600 and 375 px."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.model import BulletList, ListItem, Paragraph, Section, Span
from tests.browser import (
    chromium_available,
    measure,
    screenshot,
    seed_episode,
    serve,
    write_newsletter,
)
from tests.sample_episode import sample_episode

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
WIDTHS = (600, 375)
LONG_URL = "https://example.org/" + "a-very-long-path-segment-without-any-break-" * 6 + "end"


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    """Skip without Chromium on a workstation; in CI (CI=true) its absence is a failure."""
    if chromium_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is required in CI: install the chromium package")
    pytest.skip("/usr/bin/chromium is not installed")


def _stress_episode() -> Any:
    """The seed-like episode plus what usually breaks narrow layouts: long URLs and words."""
    episode = sample_episode()
    long_link = Paragraph((Span("See "), Span(LONG_URL, url=LONG_URL), Span(" for the notes.")))
    resources = Section(
        "links",
        "Resources",
        (
            long_link,
            BulletList((ListItem((Span(LONG_URL, url=LONG_URL),)),)),
            Paragraph((Span("Pneumonoultramicroscopicsilicovolcanoconiosis" * 2),)),
        ),
    )
    return sample_episode(
        title=episode.title + " — Supercalifragilisticexpialidocious",
        sections=(*episode.sections, resources),
    )


@pytest.fixture(scope="module", params=["sample", "stress", "seed-post"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A served directory holding one rendered newsletter and its thumbnail."""
    directory = tmp_path_factory.mktemp(f"newsletter-{request.param}")
    with serve(directory) as base:
        episodes = {"sample": sample_episode, "stress": _stress_episode, "seed-post": seed_episode}
        episode = episodes[request.param]()
        write_newsletter(directory, base, episode)
        yield request.param, directory, base, episode


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_overflow_and_content_is_laid_out(site: Any, width: int) -> None:
    name, directory, base, episode = site
    numbers = measure(directory, base, "newsletter.html", width)
    assert numbers["innerWidth"] == width
    assert numbers["scrollWidth"] <= width, numbers
    assert numbers["bodyScrollWidth"] <= width, numbers
    assert numbers["rightmostEdge"] <= width + 0.5, numbers
    title, thumbnail, card = numbers["title"], numbers["thumbnail"], numbers["card"]
    assert title["width"] > 0
    assert title["height"] > 0
    assert numbers["thumbnailLoaded"], "the thumbnail did not load from the test server"
    assert 0 < thumbnail["width"] <= width
    # The thumbnail keeps the 4:3 shape of hqdefault.jpg at any width.
    assert thumbnail["height"] == pytest.approx(thumbnail["width"] * 3 / 4, abs=2)
    assert 0 < card["width"] <= 600
    assert len(numbers["buttons"]) == (2 if episode.substack_url else 1)
    assert all(b["width"] > 0 and b["right"] <= width for b in numbers["buttons"])
    shot = screenshot(
        f"{base}/newsletter.html",
        ARTIFACTS / f"newsletter-{name}-{width}.png",
        width,
        int(numbers["contentHeight"]),
    )
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_column_is_600_px_on_a_wide_screen(site: Any) -> None:
    _, directory, base, _ = site
    numbers = measure(directory, base, "newsletter.html", 900)
    assert numbers["card"]["width"] == 600
    assert numbers["card"]["left"] == pytest.approx(150, abs=1)
    assert numbers["scrollWidth"] <= 900
