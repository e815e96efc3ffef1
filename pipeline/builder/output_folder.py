"""A post's output folder switched whole: it holds either its previous outputs or its new ones.

The new files are written into a staging folder beside the post's folder (`.<stem>.<pid>.new`);
when every file is there, the old folder is renamed aside (`.<stem>.<pid>.old`), the staging
folder renamed into place, and the old one removed. A build killed in the middle leaves one of
those folders behind; the next build finishes the switch (the staging folder was complete once
the old one was set aside) or undoes it (a staging folder alone may be half written), before it
decides which posts to build. Only folders of processes that are gone are touched, so two builds
into the same output folder do not undo each other's work.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import PipelineError, WriteError
from ..processes import pid_alive

LEFTOVER = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>\d+)\.(?P<kind>new|old)$")
# A new file only: never an existing one, never through a symbolic link.
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
SWITCH_ATTEMPTS = 5

_REASONS = {
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EFBIG: "a file is larger than the system allows",
    errno.EIO: "an input/output error of the disk",
    errno.ENAMETOOLONG: "a file name is too long",
    errno.EMLINK: "too many links",
    errno.ENOTDIR: "a path in the way is a file, not a folder",
    errno.EISDIR: "a path in the way is a folder, not a file",
}


def reason(exc: OSError) -> str:
    """An OSError's cause in words (`no space left on the disk`), without a traceback."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    return (exc.strerror or type(exc).__name__).lower()


def write_error(exc: OSError, post: Path) -> WriteError:
    """One line naming the post and why its outputs could not be written."""
    return WriteError(f"cannot write its outputs: {reason(exc)}; its previous outputs are kept", path=post)


_TEMP_NAMES = itertools.count()


def write_atomic(path: Path, data: bytes) -> bool:
    """Write through a temporary file in the same folder; False when the bytes were already there.

    The temporary name is `.<name>.<pid>.<n>.tmp`, created exclusively (`O_EXCL`, no symlinks
    followed): as safe as `tempfile.mkstemp` and a third of its cost, which a build pays for
    every file. The file gets the usual 0o666 less the umask, as any other tool's output would.
    """
    try:
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{next(_TEMP_NAMES)}.tmp"
        try:
            fd = os.open(tmp, NEW_FILE, 0o666)
            break
        except FileExistsError:  # left by a killed build whose process id we now have
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def _staging(folder: Path, kind: str) -> Path:
    return folder.parent / f".{folder.name}.{os.getpid()}.{kind}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, NEW_FILE, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _carry(old: Path, new: Path) -> None:
    """Keep a file of the old folder that the build did not write (the author's own)."""
    try:
        if old.is_dir() and not old.is_symlink():
            shutil.copytree(old, new, symlinks=True)
        elif old.is_symlink():
            os.symlink(os.readlink(old), new)
        else:
            try:
                os.link(old, new)
            except OSError:
                shutil.copy2(old, new)
    except FileExistsError:
        pass


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def replace_folder(folder: Path, files: Mapping[str, bytes], previous: Sequence[str]) -> None:
    """Make `folder` hold `files` (and any file it held that is not in `previous`), all at once.

    A file whose bytes did not change is linked from the old folder, so it keeps its inode and
    time. Raises OSError (the staging folder removed, the old folder as it was) when writing fails.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = _staging(folder, "new")
    aside = _staging(folder, "old")
    _remove(staging)
    _remove(aside)
    os.mkdir(staging)
    try:
        old_names = set(os.listdir(folder)) if folder.is_dir() else set()
        for name in sorted(files):
            data = files[name]
            if name in old_names and _same(folder / name, data):
                try:
                    os.link(folder / name, staging / name)
                    continue
                except OSError:
                    pass
            _write(staging / name, data)
        for name in sorted(old_names - set(files) - set(previous)):
            if not name.startswith(f".{folder.name}."):
                _carry(folder / name, staging / name)
        _switch(folder, staging, aside)
    except BaseException:
        _remove(staging)
        raise
    _remove(aside)


def _switch(folder: Path, staging: Path, aside: Path) -> None:
    for _ in range(SWITCH_ATTEMPTS):
        moved_aside = False
        if folder.exists() or folder.is_symlink():
            try:
                os.rename(folder, aside)
                moved_aside = True
            except FileNotFoundError:  # another build switched it meanwhile
                pass
        try:
            os.rename(staging, folder)
            return
        except OSError as exc:
            if moved_aside:  # undo: the previous outputs go back
                with contextlib.suppress(OSError):
                    os.rename(aside, folder)
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    raise OSError(errno.EBUSY, "another build keeps replacing this folder")


def recover(out: Path) -> list[str]:
    """Finish or undo the switches of builds that are gone; the names of the posts touched."""
    try:
        names = os.listdir(out)
    except OSError:
        return []
    touched: list[str] = []
    for name in sorted(names):
        match = LEFTOVER.match(name)
        if match is None:
            continue
        stem, pid = match["stem"], match["pid"]
        if int(pid) == os.getpid() or pid_alive(int(pid)):
            continue
        folder = out / stem
        staging = out / f".{stem}.{pid}.new"
        aside = out / f".{stem}.{pid}.old"
        try:
            if match["kind"] == "old":
                if not folder.exists() and staging.is_dir():
                    os.rename(staging, folder)  # the staging folder was complete: finish
                elif not folder.exists():
                    os.rename(aside, folder)  # nothing to switch to: undo
                _remove(aside)
                if staging.exists():
                    _remove(staging)
            elif not aside.exists():
                _remove(staging)  # maybe half written: undo
        except OSError:
            continue
        touched.append(stem)
    return sorted(set(touched))


def check_writable(out: Path) -> None:
    """A PipelineError (one line) when nothing can be written into `out` at all."""
    probe = out / f".episode-probe.{os.getpid()}"
    try:
        os.makedirs(probe, exist_ok=True)
        os.rmdir(probe)
    except OSError as exc:
        raise PipelineError(f"cannot write into the output folder: {reason(exc)}", path=out) from None
