"""Which files under `--src` are posts, and the output folder each one gets."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import PipelineError, SourceError
from ..results import PostResult, failed

DATED_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-")
POST_SUFFIXES = (".md", ".markdown")
POSTS_FOLDER = "_posts"
# Folders Jekyll never reads (its EntryFilter): hidden, underscore (`_drafts`, `_site`), `#…`, `~…`, `…~`.
SKIPPED_FOLDER = re.compile(r"^[._#~]|~$")


def discover(src: Path) -> tuple[list[Path], list[PostResult]]:
    """The posts under `src` (a file or a folder), sorted; and posts that cannot be built at all."""
    posts, rejected, _ = discover_all(src)
    return posts, rejected


def discover_all(src: Path) -> tuple[list[Path], list[PostResult], list[str]]:
    """`discover`, plus the files a Jekyll `_posts/` folder holds that are no posts (by their path
    from `src`).

    Jekyll reads only `YYYY-MM-DD-title` files in `_posts/` and its sub-folders; anywhere else a
    file without the date in its name is still a post (its date comes from its front matter). Two
    posts that would share an output folder both fail, each naming the other. An empty folder is
    an error.
    """
    if not src.exists():
        raise PipelineError("no such file or folder", path=src)
    if src.is_file():
        return [src], [], []
    if not src.is_dir():  # a FIFO, a device such as /dev/zero, a socket
        raise PipelineError("not a post file or a folder of posts (a pipe or a device?)", path=src)
    root = src.resolve()
    posts: list[Path] = []
    rejected: list[PostResult] = []
    ignored: list[str] = []
    for path in sorted(_files_under(src)):
        if path.name.startswith(".") or path.suffix.lower() not in POST_SUFFIXES:
            continue
        if src.name == POSTS_FOLDER and not DATED_NAME.match(path.name):
            ignored.append(_relative(path, src))
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            error = SourceError("a symbolic link to outside the posts folder; not read", path=path)
            rejected.append(failed(PostResult(path.stem, str(path)), error))
            continue
        if path.is_file():
            posts.append(path)
    by_stem: dict[str, list[Path]] = {}
    for path in posts:
        by_stem.setdefault(safe_stem(path).casefold(), []).append(path)
    clean: list[Path] = []
    for path in posts:
        same = by_stem[safe_stem(path).casefold()]
        if len(same) > 1:
            others = ", ".join(_relative(p, src.parent) for p in same if p != path)  # `_posts/2024/x.md`
            error = SourceError(f"its output folder would collide with {others}; rename one", path=path)
            rejected.append(failed(PostResult(safe_stem(path), str(path)), error))
        else:
            clean.append(path)
    if not clean and not rejected:
        raise PipelineError(
            "no posts here (.md or .markdown files" + (", named YYYY-MM-DD-title" if ignored else "") + ")",
            path=src,
        )
    return clean, rejected, ignored


def _files_under(src: Path) -> Iterator[Path]:
    """The entries of folder `src` that may be posts.

    A Jekyll `_posts/` folder is read with its sub-folders, at any depth, as Jekyll reads it
    (`_posts/2024/2024-05-01-x.md` is published), skipping the folders Jekyll skips; symbolic links
    to folders are not followed (no loops, nothing from outside). Any other folder is read flat:
    its sub-folders are not posts (they may hold the targets of symlinked posts, or anything else).
    """
    if src.name != POSTS_FOLDER:
        yield from src.iterdir()
        return
    for folder, subfolders, files in os.walk(src):
        subfolders[:] = [name for name in subfolders if not SKIPPED_FOLDER.search(name)]
        yield from (Path(folder, name) for name in files)


def reads_folder(src: Path, folder: Path) -> bool:
    """True when discovering the folder `src` reads the posts in `folder`: `src` itself, or a
    sub-folder of a Jekyll `_posts/` folder that Jekyll does not skip."""
    src, folder = src.resolve(), folder.resolve()
    if folder == src:
        return True
    if src.name != POSTS_FOLDER or not folder.is_relative_to(src):
        return False
    return not any(SKIPPED_FOLDER.search(part) for part in folder.relative_to(src).parts)


def _relative(path: Path, src: Path) -> str:
    """How a message names a file: by its path from the folder `src`."""
    return path.relative_to(src).as_posix()


def safe_stem(path: Path) -> str:
    """The output folder name: the file's stem, made safe as a single path component."""
    stem = path.stem
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip(".-")
    return cleaned[:200] or "post"


def output_dir(out: Path, path: Path) -> Path:
    """`out/<stem>`, checked to stay inside `out`."""
    target = (out / safe_stem(path)).resolve()
    if not target.is_relative_to(out.resolve()) or target == out.resolve():
        raise SourceError("the output folder would fall outside the output directory", path=path)
    return target
