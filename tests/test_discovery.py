"""Which files are posts: a Jekyll `_posts/` folder is read with its sub-folders, as Jekyll reads it.

Real sites in tmp_path, the real build and check (pandoc included), the command line through the
installed `episode` program.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pipeline.builder.run import build
from pipeline.cli.check import check_archive
from pipeline.settings.config import Settings
from pipeline.source.discovery import discover_all

from .conftest import CORPUS, run_episode

SITE_TODAY = CORPUS / "site-today"
WELCOME = SITE_TODAY / "2023-01-07-welcome-to-learning-from-machine-learning.markdown"
OTHER = (
    SITE_TODAY
    / "2023-02-24-nils-reimers-sentence-transformers-search-future-of-nlp-learning-from-machine-learning-3.markdown"
)
NESTED = "2024-05-01-nested.md"
FAST = ["post", "chapters"]


def _site(tmp_path: Path) -> Path:
    """A Jekyll site: one post at the top of `_posts/`, one two folders down, and what Jekyll skips."""
    site = tmp_path / "site"
    posts = site / "_posts"
    for folder in ("2024/05", "_drafts", ".hidden", "_site", "old~"):
        (posts / folder).mkdir(parents=True)
    shutil.copy(SITE_TODAY / "_config.yml", site / "_config.yml")
    shutil.copy(OTHER, posts / OTHER.name)
    shutil.copy(WELCOME, posts / "2024" / "05" / NESTED)
    for folder in ("_drafts", ".hidden", "_site", "old~"):
        shutil.copy(WELCOME, posts / folder / f"2024-06-01-in-{folder.strip('._~')}.md")
    (posts / "2024" / "notes.md").write_text("---\ntitle: Notes\n---\nNot a post: no date in the name.\n")
    return site


def _episode(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_episode(cwd, *args)


def test_posts_in_sub_folders_of_posts_are_built_and_checked(tmp_path: Path, settings: Settings) -> None:
    site = _site(tmp_path)
    posts, out = site / "_posts", site / "_out"
    nested = posts / "2024" / "05" / NESTED
    found, rejected, ignored = discover_all(posts)
    assert found == [posts / OTHER.name, nested] and rejected == []
    assert ignored == ["2024/notes.md"]  # said once, as at the top of `_posts/`
    summary = build(posts, out, settings, jobs=1, only=FAST)
    assert summary.count("built") == 2 and summary.failed == []
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted([nested.stem, OTHER.stem])
    assert (out / nested.stem / "post.md").read_bytes() == WELCOME.read_bytes()  # a clean post, as written
    checked = check_archive(posts, settings, formats=("post",))
    assert [c.source for c in checked.posts] == [str(posts / OTHER.name), str(nested)]
    assert checked.ignored == ["2024/notes.md"] and checked.ok()


def test_a_folder_that_is_no_posts_folder_is_still_read_flat(tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(OTHER, folder / OTHER.name)
    shutil.copy(WELCOME, folder / "sub" / NESTED)  # e.g. the target of a symlinked post
    assert discover_all(folder) == ([folder / OTHER.name], [], [])


def test_two_posts_with_one_stem_both_fail_naming_each_other_and_the_rest_builds(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "_posts" / "2025").mkdir()
    shutil.copy(OTHER, site / "_posts" / "2025" / NESTED)
    first, second = f"_posts/2024/05/{NESTED}", f"_posts/2025/{NESTED}"
    for command in (["build", "--only", "post"], ["check", "--no-pdf"]):
        done = _episode(site, *command)
        assert done.returncode == 1, done.stdout
        lines = [line for line in done.stdout.splitlines() if NESTED in line]
        assert lines == [
            f"{first}: error: its output folder would collide with {second}; rename one",
            f"{second}: error: its output folder would collide with {first}; rename one",
        ]
    assert sorted(p.name for p in (site / "_out").iterdir() if p.is_dir()) == [OTHER.stem]
    (site / "_posts" / "2025" / NESTED).rename(site / "_posts" / "2025" / "2025-01-01-renamed.md")
    done = _episode(site, "build", "--only", "post")
    assert done.returncode == 0, done.stdout
    assert "built 2, skipped 1, warnings 0, failed 0" in done.stdout.splitlines()[-1]


def test_a_post_deleted_from_a_sub_folder_is_stale_then_pruned(tmp_path: Path, settings: Settings) -> None:
    site = _site(tmp_path)
    posts, out = site / "_posts", site / "_out"
    build(posts, out, settings, jobs=1, only=FAST)
    shutil.rmtree(posts / "2024")
    stem = Path(NESTED).stem
    assert build(posts, out, settings, jobs=1, only=FAST).stale == [stem]
    pruned = build(posts, out, settings, jobs=1, only=FAST, prune=True)
    assert pruned.removed == [stem] and not (out / stem).exists() and (out / OTHER.stem).is_dir()
