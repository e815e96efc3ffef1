"""A single post and a batch of posts are converted the same way: the same Episode, every post.

`normalize_file` (check, normalize, send, fuzz, bench) runs one pandoc for one body; a build
streams posts through `convert.Batch`. Both run `lua/convert.lua` with the same reader, options
and filters, so neither can drift from the other.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from pipeline.model import Episode
from pipeline.normalize.stages import normalize_converted, normalize_file
from pipeline.pandoc import convert
from pipeline.pandoc.stream import converted
from pipeline.settings.config import Settings

from .conftest import FIXTURES, ROOT

POSTS = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in (".md", ".markdown")) + sorted(
    (ROOT / "samples").glob("*.markdown")
)


def _outcome(make: Callable[[], Episode]) -> Episode | tuple[str, str]:
    """The Episode, or the error (its type and its one line) that stopped the post."""
    try:
        return make()
    except Exception as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.slow
def test_every_post_gives_the_same_episode_alone_and_in_a_batch(settings: Settings) -> None:
    assert len(POSTS) > 60
    batched = {
        item.path: _outcome(partial(normalize_converted, item, settings))
        for item in converted(POSTS, settings)
    }
    assert list(batched) == POSTS
    episodes = 0
    for path in POSTS:
        single = _outcome(partial(normalize_file, path, settings))
        assert single == batched[path], path
        episodes += isinstance(single, Episode)
    assert episodes > 30  # most of them are posts, not refusals


def test_one_script_converts_a_single_body_and_a_batch() -> None:
    single = convert._convert_command()
    batch = convert._convert_command("list")
    assert batch[: len(single)] == single
    assert str(convert.LUA_CONVERT) in single
    assert convert.READER in single
    assert str(convert.LUA_FILTER) in single


def test_lua_init_in_the_environment_does_not_reach_a_single_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUA_INIT", 'print("surprise")')
    ast = convert.body_to_ast("One.", Path("a.md"))
    assert ast["blocks"][0]["c"][0]["c"] == "One."
