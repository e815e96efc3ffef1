"""Feed HTML pandoc's HTML reader is exponential on (unclosed `<ul>` repeated) converts in
milliseconds wherever it sits in the Markdown, and a pandoc time limit is never remembered."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.builder.run import build
from pipeline.errors import ConversionTimeout
from pipeline.pandoc import convert
from pipeline.settings.config import Settings

from .conftest import write_post

COUNT = 22  # 30 s in pandoc's HTML reader each, before
LINKED = "".join(f'<ul><li><a href="https://example.com/{i}">word{i}' for i in range(COUNT))
LISTS = "".join(f"<ul><li>item{i}" for i in range(COUNT))

SHAPES = {
    "list-item-after-text": f"- item {LINKED}\n",
    "list-item-start": f"- {LINKED}\n",
    "numbered-item-after-text": f"1. item {LINKED}\n",
    "numbered-item-start": f"1. {LINKED}\n",
    "nested-list": f"- outer\n  - inner {LINKED}\n",
    "blockquote": f"> {LINKED}\n",
    "blockquote-in-list-item": f"- > {LINKED}\n",
    "blockquote-tab": f">\t{LINKED}\n",
    "paragraph-after-text": f"Some text {LINKED}\n",
    "paragraph-lists-only": f"Some text {LISTS}\n",
    "comment-with-blank-line": f"> <!--\n>\n> -->{LINKED}\n",
    "text-moved-out-of-table": f"<table>x{LINKED}\n",
}


def test_unclosed_lists_anywhere_convert_quickly(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(convert, "TIMEOUT_SECONDS", 3)  # a regression fails in seconds, not minutes
    src = tmp_path / "posts"
    src.mkdir()
    for name, body in SHAPES.items():
        write_post(src, f"2025-01-02-{name}.md", f"---\ntitle: {name}\ndate: 2025-01-02\n---\n{body}")
    started = time.perf_counter()
    summary = build(src, tmp_path / "out", settings, jobs=1, only=["post", "chapters"])
    elapsed = time.perf_counter() - started
    assert [(r.source, r.error) for r in summary.results if r.error] == []
    assert summary.count("built") == len(SHAPES)
    assert elapsed < 10
    for name, body in SHAPES.items():
        post = (tmp_path / "out" / f"2025-01-02-{name}" / "post.md").read_text("utf-8")
        words = [f"item{i}" if "item0" in body else f"word{i}" for i in range(COUNT)]
        assert [w for w in words if w not in post] == [], name


@pytest.mark.parametrize("jobs", [1, 2])  # 2: the error crosses to worker processes
def test_a_pandoc_time_limit_is_never_remembered(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(convert, "TIMEOUT_SECONDS", 0.001)  # pandoc takes longer to start (in this process)
    src = tmp_path / "posts"
    src.mkdir()
    for day in (1, 2, 3):
        write_post(src, f"2025-01-0{day}-slow.md", f"---\ntitle: Slow\ndate: 2025-01-0{day}\n---\nA body.\n")
    out = tmp_path / "out"
    first = build(src, out, settings, jobs=jobs, only=["post"])
    assert len(first.failed) == 3 and all("pandoc took over" in (r.error or "") for r in first.failed)
    assert not any(r.failure_key for r in first.failed)
    assert (jobs == 1) == all(r.worker == os.getpid() for r in first.failed)
    again = build(src, out, settings, jobs=jobs, only=["post"])
    assert len(again.failed) == 3 and not any(r.remembered for r in again.failed)
    assert all("pandoc took over" in (r.error or "") and "pandoc" in r.timings for r in again.failed)


def test_time_limits_are_conversion_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = convert.Batch([("A body.\n", "a.md")], timeout=0.001)
    (result,) = batch.raw_results()
    assert isinstance(result, ConversionTimeout) and result.transient
    monkeypatch.setattr(convert, "TIMEOUT_SECONDS", 0.001)
    with pytest.raises(ConversionTimeout, match="pandoc took over"):
        convert.body_to_ast("A body.\n", "a.md")
