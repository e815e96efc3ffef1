"""The only module that runs pandoc: Markdown with embedded feed HTML to pandoc's JSON AST."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConversionError, ConversionTimeout
from ..interrupts import deferred
from ..processes import die_with_parent, pid_alive

LUA_DIR = Path(str(resources.files("pipeline.pandoc"))) / "lua"  # package data, in a wheel too
LUA_FILTER = LUA_DIR / "html_blocks.lua"  # the filters every body goes through
LUA_CONVERT = LUA_DIR / "convert.lua"  # reads one body, or a batch of them, through READER and LUA_FILTER
# commonmark_x is linear-time (the `markdown` reader is not, and eats `---` blocks); turn off
# the extensions that would change the writer's words: smart quotes, :emoji:, $math$, ~sub~.
# The lossless check reads the same Markdown with markdown-it (CommonMark plus tables), so the
# extensions CommonMark lacks (footnotes, attributes, strikeout, fancy lists, task lists …) are
# off too: `~~a~~`, `[^1]` or `{#id}` stay the text the author typed.
READER = (
    "commonmark_x-smart-emoji-tex_math_dollars-yaml_metadata_block-subscript-superscript"
    "-definition_lists-alerts-fenced_divs-raw_attribute-strikeout-footnotes-attributes"
    "-bracketed_spans-fancy_lists-implicit_header_references-task_lists-implicit_figures"
    "-wikilinks_title_after_pipe"
)
TIMEOUT_SECONDS = 30
MEMORY_LIMIT = "512M"
SIGNAL_REASONS: dict[int, str] = {
    int(signal.SIGXFSZ): "a file is larger than the system allows",
    int(signal.SIGKILL): "pandoc was killed (out of memory?)",
}


@lru_cache(maxsize=1)
def pandoc_path() -> str:
    """The pandoc binary shipped by pypandoc-binary."""
    import pypandoc

    return str(pypandoc.get_pandoc_path())


@lru_cache(maxsize=1)
def pandoc_version() -> str:
    """pandoc's version string (outputs depend on it)."""
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split("\n", 1)[0].split()[-1]


TEMP_PREFIX = "pipeline-pandoc-"
OWNER_FILE = "owner"  # in each temporary folder: the pid of its process, locked while it lives


def _claim(folder: Path) -> int:
    """Write this process's pid into `folder`/owner and hold a lock on it as long as it lives."""
    pending = folder / f"{OWNER_FILE}.tmp"
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, str(os.getpid()).encode())
        os.rename(pending, folder / OWNER_FILE)  # locked before its name says whose it is
    except BaseException:
        os.close(fd)
        raise
    _LOCKS.add(fd)
    return fd


# The owner files' locks this process holds. flock belongs to the open file, which a fork
# shares: a forked worker would hold a batch's lock for as long as it lives, and the folder of
# a build that is gone would look in use. A forked child closes its copies at once.
_LOCKS: set[int] = set()


def _drop_inherited_locks() -> None:
    for fd in _LOCKS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _LOCKS.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


def remove_abandoned(root: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove the temporary folders of builds that are gone: no lock held on their owner file
    and no process with its pid. A running build's folder stays, and so does one without an
    owner file unless it is older than UNOWNED_SECONDS (a build killed the instant it made it)."""
    removed: list[Path] = []
    for folder in sorted(Path(root or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*")):
        try:
            fd = os.open(folder / OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            if _unowned_and_old(folder, time.time() if now is None else now):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            pid = int(os.read(fd, 32).decode("ascii", "replace").strip() or "0")
        except (OSError, ValueError):  # locked: its build runs
            continue
        finally:
            os.close(fd)
        if pid == os.getpid() or pid_alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


UNOWNED_SECONDS = 3600


def _unowned_and_old(folder: Path, now: float) -> bool:
    """A scratch folder with no owner file that nobody has touched for UNOWNED_SECONDS."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and now - info.st_mtime > UNOWNED_SECONDS


def _pandoc_command() -> list[str]:
    return [pandoc_path(), "+RTS", f"-M{MEMORY_LIMIT}", "-RTS"]


def _convert_command(*bodies_list: str) -> list[str]:
    """`pandoc lua convert.lua READER FILTER [LIST]`: the one way a body becomes an AST.

    A single post (no LIST: the body on standard input) and a batch (LIST) run the same script,
    so they share the reader, its extensions and options, the Lua filters and the writer.
    """
    return [*_pandoc_command(), "lua", str(LUA_CONVERT), READER, str(LUA_FILTER), *bodies_list]


def _convert_environment(**extra: str) -> dict[str, str]:
    """The environment for pandoc: without LUA_* (`pandoc lua` would run LUA_INIT first)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUA_")}
    env.update(extra)
    return env


def _failure(stderr: bytes, returncode: int | None, path: Path | str) -> ConversionError:
    detail = stderr.decode("utf-8", "replace").strip().splitlines()
    message = detail[-1] if detail else f"exit code {returncode}"
    if returncode is not None and -returncode in SIGNAL_REASONS:
        message = SIGNAL_REASONS[-returncode]
    if "Heap exhausted" in " ".join(detail):
        message = f"pandoc ran out of its {MEMORY_LIMIT} memory limit"
    return ConversionError(f"pandoc failed: {message}", path=path)


def _parse(data: bytes, path: Path | str) -> dict[str, Any]:
    try:
        ast: dict[str, Any] = json.loads(data)
    except RecursionError:
        raise ConversionError("the body is nested too deeply to convert", path=path) from None
    return ast


def body_to_ast(body: str, path: Path | str) -> dict[str, Any]:
    """pandoc's JSON AST of a post body; HTML blocks arrive parsed, in Divs of class from-html.

    One pandoc process for one body, through the script and filters a Batch uses (no scratch
    folder: the body goes in on standard input, the JSON comes out on standard output), and
    read as a batch result is. As in a batch, a body near the MEMORY_LIMIT heap cap may thrash
    until TIMEOUT_SECONDS rather than fail at once.
    """
    try:
        done = subprocess.run(
            _convert_command(),
            input=body.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
            env=_convert_environment(),
            preexec_fn=partial(die_with_parent, os.getpid()),
        )
    except subprocess.TimeoutExpired:
        raise ConversionTimeout(f"pandoc took over {TIMEOUT_SECONDS} s on this body", path=path) from None
    if done.returncode != 0:
        raise _failure(done.stderr, done.returncode, path)
    ast = parse_raw(done.stdout, path)
    if isinstance(ast, ConversionError):
        raise ast
    return ast


BodyResult = dict[str, Any] | ConversionError
Raw = bytes | ConversionError  # pandoc's JSON, parsed only when the post is normalized


class Batch:
    """Several bodies converted by one `pandoc lua` process, started now and read later.

    One process per batch instead of one per post (pandoc's reader set-up is most of a small
    conversion), and it runs beside the caller: while Python renders one batch's posts, pandoc
    converts the next. The bodies go through a list file (pandoc crashes on 83+ arguments).
    A body pandoc fails on, or writes nothing for within TIMEOUT_SECONDS of the caller waiting
    for it, fails alone and a new process takes the rest. Under `pandoc lua` a body near the
    MEMORY_LIMIT heap cap may thrash until that time limit rather than fail at once.
    """

    def __init__(self, bodies: Sequence[tuple[str, Path | str]], timeout: float | None = None) -> None:
        self.paths = [path for _, path in bodies]
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout
        self._owner = os.getpid()
        self._process: _Running | None = None
        self._cleanup: Callable[[], object] = _nothing
        try:
            # Ctrl-C or SIGTERM waits until the folder has its owner and pandoc its holder, so the
            # clean-up below (and `close`) always knows both; it then unwinds through it.
            with deferred():
                # Not a TemporaryDirectory: its finalizer removes the folder in whichever process
                # runs it, and a forked copy of this process runs it on exit, while this process
                # still reads the folder. Only the process that made the folder removes it
                # (`_release`, at close or on GC).
                self._root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
                try:
                    lock = _claim(self._root)
                except BaseException:
                    shutil.rmtree(self._root, ignore_errors=True)
                    raise
                self._cleanup = weakref.finalize(self, _release, self._root, lock, self._owner)
                for index, (body, _) in enumerate(bodies):
                    (self._root / f"{index}.md").write_bytes(body.encode("utf-8"))
                self._process = self._start(range(len(bodies)))
        except BaseException:
            self.close()
            raise

    def _output(self, index: int) -> Path:
        return self._root / f"{index}.json"

    def _start(self, indexes: Sequence[int]) -> _Running | None:
        """A pandoc process for the bodies at `indexes`."""
        if not indexes:
            return None
        listing = "".join(f"{self._root / f'{i}.md'}\n{self._output(i)}\n" for i in indexes)
        list_file = self._root / f"list-{indexes[0]}"
        list_file.write_text(listing, "utf-8")
        stderr_file = self._root / f"stderr-{indexes[0]}"
        # TMPDIR: an interactive `pandoc lua` leaves a pandoc-hist* file there; keep any in our folder.
        env = _convert_environment(TMPDIR=str(self._root))
        with stderr_file.open("wb") as stderr:
            # unbuffered: the selector in _read_line must see every line pandoc writes
            process = subprocess.Popen(
                _convert_command(str(list_file)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                bufsize=0,
                env=env,
                preexec_fn=partial(die_with_parent, os.getpid()),
            )
        return _Running(process, stderr_file)

    def results(self) -> list[BodyResult]:
        """Each body's AST, or the error that body alone caused; in the order given."""
        return [parse_raw(raw, path) for raw, path in zip(self.raw_results(), self.paths, strict=True)]

    def raw_results(self) -> list[Raw]:
        """Each body's JSON bytes (a few KB, where the parsed AST is a hundred), or its error."""
        try:
            return list(self._collect())
        finally:
            self.close()

    def close(self) -> None:
        """Stop pandoc if it still runs and remove the batch's files; safe to call twice.

        Nothing in a forked copy of the process: pandoc and the files are the original's.
        """
        if os.getpid() != self._owner:
            return
        with deferred():  # a clean-up cut short would leave pandoc running or the folder half gone
            if self._process is not None:
                _stop(self._process.process)
                self._process = None
            self._cleanup()  # once; a scratch folder already removed is no traceback

    def _collect(self) -> Iterator[Raw]:
        index = 0
        while index < len(self.paths):
            running = self._process
            assert running is not None
            line = _read_line(running.process, self.timeout)
            path = self.paths[index]
            if line is None:  # stuck on this body: it fails alone, the rest get a new process
                _stop(running.process)
                yield ConversionTimeout(f"pandoc took over {self.timeout:g} s on this body", path=path)
            elif line.rstrip(b"\n") == bytes(self._output(index)):
                yield self._result(index)
                running.stderr_seen = _size(running.stderr_file)
                index += 1
                continue
            else:  # pandoc died on this body (e.g. heap exhausted), or said something unexpected
                _stop(running.process)
                stderr = _read_from(running.stderr_file, running.stderr_seen)  # only this body's
                if line and not stderr:
                    stderr = b"unexpected output " + line[:200]
                yield _failure(stderr, running.process.returncode, path)
            index += 1
            try:
                with deferred():  # pandoc is held by `self` as soon as it runs
                    self._process = self._start(range(index, len(self.paths)))
            except OSError as exc:  # the scratch folder is gone: the rest cannot be converted
                for path in self.paths[index:]:
                    yield ConversionError(
                        f"pandoc's scratch files are gone ({exc.strerror or exc}); build again", path=path
                    )
                return

    def _result(self, index: int) -> Raw:
        path = self.paths[index]
        error = self._root / f"{index}.json.err"
        try:
            if error.exists():
                message = error.read_text("utf-8", "replace").strip().splitlines()
                detail = message[-1] if message else "unknown error"
                return ConversionError(f"pandoc failed: {detail}", path=path)
            return self._output(index).read_bytes()
        except OSError as exc:
            return ConversionError(f"pandoc's output could not be read: {exc.strerror}", path=path)


def _nothing() -> None:
    pass


def _release(root: Path, lock: int, owner: int) -> None:
    """Remove a batch's scratch folder, then let go of its lock; only in the process that made them.

    The owner file goes last: a folder that cannot be removed whole (a disk error) keeps it, so
    the next build, seeing its process gone, removes the rest.
    """
    if os.getpid() != owner:
        return  # a forked copy exiting or collecting garbage: the folder is still in use
    _LOCKS.discard(lock)
    try:
        for entry in os.scandir(root):
            if entry.name != OWNER_FILE:
                _remove_entry(Path(entry.path))
        (root / OWNER_FILE).unlink()
        root.rmdir()
    except OSError:
        pass
    finally:
        os.close(lock)


def _remove_entry(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _read_from(path: Path, offset: int) -> bytes:
    """What pandoc wrote to its stderr file after `offset`; a note when the file is gone."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError as exc:
        return f"its error output could not be read ({exc.strerror or exc})".encode()


@dataclass
class _Running:
    process: subprocess.Popen[bytes]
    stderr_file: Path
    stderr_seen: int = 0  # bytes of stderr that belong to bodies already done


def parse_raw(raw: Raw, path: Path | str) -> BodyResult:
    """The AST of one batch result, or its error."""
    if isinstance(raw, ConversionError):
        return raw
    try:
        return _parse(raw, path)
    except ConversionError as exc:
        return exc
    except ValueError:  # cut short, e.g. by a full disk
        return ConversionError("pandoc's output is not complete JSON", path=path)


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes | None:
    """The next line pandoc writes; b"" when it exited, None when it wrote nothing in time."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if selector.select(left):
                return process.stdout.readline()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
