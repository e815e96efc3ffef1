"""Which files under `--src` are posts, and the output folder each one gets."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import PipelineError, SourceError
from .results import PostResult, failed

DATED_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-")
POST_SUFFIXES = (".md", ".markdown")


def discover(src: Path) -> tuple[list[Path], list[PostResult]]:
    """The posts under `src` (a file or a folder), sorted; and posts that cannot be built at all."""
    posts, rejected, _ = discover_all(src)
    return posts, rejected


def discover_all(src: Path) -> tuple[list[Path], list[PostResult], list[str]]:
    """`discover`, plus the names of the files a Jekyll `_posts/` folder holds that are no posts.

    Jekyll reads only `YYYY-MM-DD-title` files in `_posts/`; anywhere else a file without the date
    in its name is still a post (its date comes from its front matter). An empty folder is an error.
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
    for path in sorted(src.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in POST_SUFFIXES:
            continue
        if src.name == "_posts" and not DATED_NAME.match(path.name):
            ignored.append(path.name)
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
            others = ", ".join(p.name for p in same if p != path)
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
