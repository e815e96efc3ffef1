"""`episode serve`: build, then show every output of every post in a browser, rebuilt on save.

One stdlib `ThreadingHTTPServer` on loopback (another interface only with an explicit `--host`),
a watcher thread (`pipeline.watch`) that rebuilds on every change of a post, a template or the
settings, and server-sent events that make open pages reload themselves. What it answers:

    /                          the index: each post's title, date, status and diagnostics
    /<stem>/                   a post's page: every output side by side
    /<stem>/<file>             an output file: the very bytes the build wrote
    /events?since=N&stem=S     server-sent events: `reload` when what a page shows has changed
    /-/static/<path>           a file of the bundled templates folder (the pages' style and script)
    /-/page1/<stem>.png        page 1 of show-notes.pdf as a picture (pypdfium2)
    /-/podcast/<stem>.html     podcast.html with only the tags the apps keep, in a plain page

A post's output folder never starts with `-` (`discovery.safe_stem`), so `/-/` is never a post.
Nothing else is served: only the output files the build knows of its posts and the bundled
templates; never `..`, `.`, an encoded `.`, `/` or `\\`, a hidden name (the manifest, `.episode/`),
nor anything a symbolic link leads to outside those folders. A request whose `Host` is not the
served address is refused (DNS rebinding); every answer carries a Content-Security-Policy, and
the outputs are shown in sandboxed frames. A rebuild never stops the server: a failing post's
error is shown on its page (with its previous outputs) and the next save is built again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import http.server
import io
import itertools
import json
import logging
import re
import secrets
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from . import manifest
from .build import build as run_build
from .cli import note_line, problem_line, shown_path, summary_line
from .config import TEMPLATES_DIR
from .errors import PipelineError
from .formats import FORMATS
from .output import write_atomic
from .platform_limits import PODCAST_MAX_BYTES, YOUTUBE_MAX_BYTES
from .platform_text import sanitize_podcast_html
from .results import BuildSummary, Diagnostic, PostResult, Reporter
from .site import Place, locate
from .templating import render_template
from .watch import DEBOUNCE_MS, Watched, paths_shown, settings_files, template_trees, watch_changes
from .workers import warm_up

log = logging.getLogger(__name__)

DIAGNOSTICS = ".serve.json"  # in the output folder: the warnings of posts built by an earlier run
HEARTBEAT_SECONDS = 15.0
WATCH_START_SECONDS = 10.0  # `start` waits this long at most for the watcher to run
QUICK_FORMATS = tuple(f for f in FORMATS if f != "pdf")  # what a page shows before the PDF is laid out
PAGE_WIDTH_PX = 900  # of the picture of the PDF's first page
DATE_IN_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-")
_REFUSED_ENCODINGS = re.compile(r"%(?:2e|2f|5c|00)", re.IGNORECASE)
_CHAPTER_LINE = re.compile(r"^(?:(\d{1,2}):)?(\d{1,2}):(\d{2})\s+(.*\S)")

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; object-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# An output shown on its own or in a frame: no script, no plugin, its own sandbox; the newsletter's
# pictures are remote (its thumbnail) and its style inline.
OUTPUT_CSP = (
    "sandbox; default-src 'none'; img-src 'self' http: https: data:; style-src 'unsafe-inline'; "
    "font-src 'self' http: https: data:; frame-ancestors 'self'"
)
# Chromium's PDF viewer refuses a sandboxed document: the PDF only says who may frame it.
PDF_CSP = "frame-ancestors 'self'"
STATIC_CSP = "default-src 'none'; frame-ancestors 'none'"
TEXT_CSP = "sandbox; default-src 'none'; frame-ancestors 'self'"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".j2": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".vtt": "text/vtt; charset=utf-8",
    ".xml": "application/xml",
    ".pdf": "application/pdf",
    ".eml": "message/rfc822",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
}
CHAPTER_FILES = ("chapters.json", "chapters.vtt", "chapters.psc.xml")


# --- what a page shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class PostView:
    """One post as the pages show it, after the latest build."""

    stem: str
    source: str  # as the user reads it: relative to the current folder when below it
    title: str
    date: str
    status: str  # built | warnings | failed
    error: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # the output files the build knows of, now or from before
    known: bool = True  # False: unchanged since a build this server did not see; warnings unknown

    @property
    def url(self) -> str:
        return f"/{quote(self.stem)}/"


def _stored(
    outputs: Mapping[str, Mapping[str, object]], kind: str, line: Callable[[Diagnostic], str]
) -> tuple[str, ...]:
    """The diagnostics of `kind` the manifest keeps for a post's outputs, each line once."""
    lines: dict[str, None] = {}
    for name in sorted(outputs):
        stored = outputs[name].get(kind)
        for data in stored if isinstance(stored, list) else ():
            diagnostic = Diagnostic.from_json(data)
            if diagnostic is not None:
                lines.setdefault(line(diagnostic))
    return tuple(lines)


@dataclass(frozen=True)
class Chapters:
    """The chapters YouTube makes of a description: lines that start with a time."""

    lines: tuple[tuple[str, str], ...]
    problem: str  # why YouTube makes none of them ("" when it makes them)


def youtube_chapters(text: str) -> Chapters:
    """YouTube's rules: the first at 0:00, at least three, in order, each at least 10 s long."""
    found: list[tuple[str, str, int]] = []
    for line in text.splitlines():
        match = _CHAPTER_LINE.match(line.strip())
        if match:
            hours, minutes, seconds, title = match.groups()
            at = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
            found.append((line.strip()[: match.start(4)].strip(), title, at))
    problem = ""
    if not found:
        problem = "no line starts with a time: YouTube makes no chapters"
    elif found[0][2] != 0:
        problem = f"the first time is {found[0][0]}, not 0:00: YouTube makes no chapters"
    elif len(found) < 3:
        problem = f"{len(found)} time(s); YouTube needs at least 3 to make chapters"
    else:
        for (_, _, before), (clock, _, at) in itertools.pairwise(found):
            if at - before < 10:
                problem = f"{clock} comes less than 10 s after the one before: YouTube makes no chapters"
                break
    return Chapters(tuple((clock, title) for clock, title, _ in found), problem)


def _title_and_date(source: Path, stem: str) -> tuple[str, str]:
    """The post's title and date from its front matter; from its file name when it cannot be read."""
    from .source import read_post

    try:
        front = read_post(source).front_matter
        return front.title, front.date.date().isoformat()
    except Exception:  # a broken post: its page says why, from the build's error
        match = DATE_IN_NAME.match(source.name)
        return stem, match.group(1) if match else ""


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return ""


# --- the state the pages are made from ------------------------------------------------------


@dataclass
class _Snapshot:
    posts: dict[str, PostView] = field(default_factory=dict)
    problem: str | None = None  # a build that could not start (settings) or crashed
    summary: str = "not built yet"
    settings_line: str = ""
    built_at: str = ""


class State:
    """The latest build, and which pages it changed; shared by the request threads."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.changed: dict[str, int] = {}  # stem -> generation its page last changed
        self.everything = 0  # generation at which every page changed (a problem came or went)
        self.snapshot = _Snapshot()
        self.stopping = False
        self.watching: dict[str, int] = {}  # stem -> pages open on it (their event streams)

    def open_stems(self) -> list[str]:
        """The posts a browser shows right now, most watched first: what a rebuild does first."""
        with self.condition:
            return sorted((s for s, n in self.watching.items() if n > 0), key=lambda s: -self.watching[s])

    @contextlib.contextmanager
    def page_open(self, stem: str | None) -> Iterator[None]:
        """Count a page's event stream as an open page of `stem` while it lasts."""
        if stem is None:
            yield
            return
        with self.condition:
            self.watching[stem] = self.watching.get(stem, 0) + 1
        try:
            yield
        finally:
            with self.condition:
                self.watching[stem] -= 1
                if not self.watching[stem]:
                    del self.watching[stem]

    def publish(self, snapshot: _Snapshot, rebuilt: Iterable[str] = ()) -> None:
        """Make `snapshot` current and wake the pages it changes: those whose post shows
        differently, or whose outputs were written again (`rebuilt`)."""
        with self.condition:
            old = self.snapshot
            changed = set(rebuilt) | {
                stem
                for stem in old.posts.keys() | snapshot.posts.keys()
                if old.posts.get(stem) != snapshot.posts.get(stem)
            }
            everything = old.problem != snapshot.problem or old.settings_line != snapshot.settings_line
            if changed or everything:
                self.generation += 1
                for stem in changed:
                    self.changed[stem] = self.generation
                if everything:
                    self.everything = self.generation
            self.snapshot = snapshot
            self.condition.notify_all()

    def _changed_since(self, since: int, stem: str | None) -> bool:
        if stem is None:
            return self.generation > since
        return max(self.changed.get(stem, 0), self.everything) > since

    def wait(self, since: int, stem: str | None, timeout: float) -> int | None:
        """The generation once a page shown at `since` is out of date; None after `timeout`."""
        with self.condition:
            self.condition.wait_for(lambda: self.stopping or self._changed_since(since, stem), timeout)
            return self.generation if self._changed_since(since, stem) else None

    def stop(self) -> None:
        with self.condition:
            self.stopping = True
            self.condition.notify_all()


# --- the preview -----------------------------------------------------------------------------


def _port_error(host: str, port: int, exc: OSError) -> PipelineError:
    if exc.errno == errno.EADDRINUSE:
        return PipelineError(
            f"port {port} on {host} is in use; choose another with --port (0: any free port)", field="--port"
        )
    if exc.errno == errno.EACCES:
        return PipelineError(f"not allowed to listen on port {port} of {host}", field="--port")
    return PipelineError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--host")


class Preview:
    """Build, serve and rebuild one site's posts; `start()`, then `stop()`."""

    def __init__(
        self,
        src: str | None = None,
        out: str | None = None,
        config: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        say: Callable[[str], None] = lambda line: None,
        reporter: Callable[[], Reporter] = Reporter,
        jobs: int | None = None,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        self.args = (src, out, config)
        self.place: Place = locate(src, out, config)
        self.out = self.place.out
        self.host = host
        self.port = port
        self.say = say
        self.reporter = reporter
        self.jobs = jobs
        self.debounce_ms = debounce_ms
        self.state = State()
        self.server: _Server | None = None
        self.stopped = threading.Event()
        self.watching = threading.Event()  # set once file changes are being watched
        self._threads: list[threading.Thread] = []
        self.hosts: frozenset[str] = frozenset()  # the Host headers answered, once bound
        self._pages: dict[tuple[str, str], bytes] = {}  # (stem, pdf hash) -> PNG of page 1
        self._pdfium = threading.Lock()  # pdfium is not thread-safe

    # -- lifecycle --

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def bind(self) -> str:
        """Listen on the address (a PipelineError, one line, when the port is taken); the URL."""
        server_class = _Server6 if ":" in self.host else _Server
        try:
            self.server = server_class((self.host, self.port), _Handler, self)
        except OSError as exc:
            raise _port_error(self.host, self.port, exc) from None
        self.port = int(self.server.server_address[1])
        self.hosts = self._allowed_hosts()
        return self.url

    def start(self) -> str:
        """Listen, build, then serve and watch in threads; the URL."""
        if self.server is None:
            self.bind()
        assert self.server is not None
        self.build()
        for target, name in ((self.server.serve_forever, "serve"), (self._watch, "watch")):
            thread = threading.Thread(target=target, name=f"episode-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.watching.wait(WATCH_START_SECONDS)
        self.warm_up()
        return self.url

    def stop(self) -> None:
        """Stop watching and serving; waits for both threads."""
        self.stopped.set()
        self.state.stop()
        if self.server is not None:
            if self._threads:
                self.server.shutdown()
            self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    def _allowed_hosts(self) -> frozenset[str]:
        """The `Host` headers of this server's own address (and its loopback names)."""
        names = {self.host.lower(), "127.0.0.1", "localhost", "[::1]"}
        if self.host in ("0.0.0.0", "::", ""):
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
        ports = {f":{self.port}"} | ({""} if self.port == 80 else set())
        return frozenset(n + p for n in names for p in ports)

    # -- building --

    def build(self, *, quick: bool = False) -> None:
        """Build what changed and publish the result; never raises.

        `quick`: every output but the PDF, so that a page shows an edit before WeasyPrint has
        laid the show notes out; the full build that follows renders only the PDFs it left.
        The posts open in a browser are built first.
        """
        problem: str | None = None
        summary: BuildSummary | None = None
        place = self.place
        try:
            place = locate(*self.args)  # the settings may have changed
            summary = run_build(
                place.posts,
                self.out,
                place.settings,
                jobs=self.jobs,
                reporter=self.reporter(),
                only=QUICK_FORMATS if quick else None,
                first=self.state.open_stems(),
            )
        except PipelineError as exc:
            problem = f"error: {exc}"
            self.say(problem)
        except Exception as exc:  # a bug: shown, and the server goes on
            problem = " ".join(f"internal error: {type(exc).__name__}: {exc}".split())
            self.say(problem)
            self.say("".join(traceback.format_exception(exc)).rstrip())
        self.place = place
        if summary is not None:
            self.say(summary_line(summary))
        rebuilt = [r.stem for r in summary.results if r.status == "built"] if summary is not None else []
        self.state.publish(self._snapshot(place, summary, problem), rebuilt)

    def warm_up(self) -> None:
        """Import the renderers in this process (a rebuild of one post renders here), off the
        request threads, so that the first edit does not wait for WeasyPrint to load."""
        thread = threading.Thread(
            target=warm_up, args=(self.place.settings, tuple(FORMATS)), name="episode-warm-up", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _snapshot(self, place: Place, summary: BuildSummary | None, problem: str | None) -> _Snapshot:
        previous = self.state.snapshot
        if summary is None:  # keep showing the posts as they were
            return _Snapshot(
                dict(previous.posts), problem, previous.summary, place.settings_line, previous.built_at
            )
        cache = self._load_diagnostics()
        recorded = manifest.load(self.out).posts
        posts: dict[str, PostView] = {}
        for result in sorted(summary.results, key=lambda r: r.source, reverse=True):
            posts[result.stem] = self._view(result, cache, recorded.get(result.stem, {}))
        self._save_diagnostics(summary.results, cache)
        return _Snapshot(
            posts,
            problem,
            summary_line(summary).splitlines()[-1],
            place.settings_line,
            dt.datetime.now().strftime("%H:%M:%S"),
        )

    def _view(self, result: PostResult, cache: Mapping[str, Any], recorded: Mapping[str, object]) -> PostView:
        title, date = _title_and_date(Path(result.source), result.stem)
        listed = (str(f) for f in manifest.listed_files(recorded))
        files = tuple(sorted(set(result.files) | set(listed)))
        warnings = tuple(w.text for w in result.warnings)
        notes, known = tuple(note_line(n) for n in result.notes), True
        outputs = manifest.outputs_of(recorded)
        if result.status == "skipped" and outputs:  # what the build that made them found, any build
            warnings = _stored(outputs, "warnings", lambda d: d.text)
            notes = _stored(outputs, "notes", note_line)
        elif result.status == "skipped":  # a manifest from before it kept diagnostics
            entry = cache.get(result.stem)
            known = isinstance(entry, dict) and entry.get("digest") == result.digest
            if known and isinstance(entry, dict):
                warnings = tuple(str(w) for w in entry.get("warnings", ()))
                notes = tuple(str(n) for n in entry.get("notes", ()))
        error = None
        if result.status == "failed":
            failure = result.failure or Diagnostic("error", result.error or "failed")
            error = problem_line(result.source, failure)
        status = "failed" if error else ("warnings" if warnings else "built")
        source = shown_path(result.source)
        return PostView(result.stem, source, title, date, status, error, warnings, notes, files, known)

    def _load_diagnostics(self) -> dict[str, Any]:
        try:
            data = json.loads((self.out / DIAGNOSTICS).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_diagnostics(self, results: Iterable[PostResult], cache: dict[str, Any]) -> None:
        new = dict(cache)
        for result in results:
            if result.status == "built":
                new[result.stem] = {
                    "digest": result.digest,
                    "warnings": [w.text for w in result.warnings],
                    "notes": [note_line(n) for n in result.notes],
                }
        if new != cache:
            with contextlib.suppress(OSError):
                write_atomic(self.out / DIAGNOSTICS, json.dumps(new, indent=1, sort_keys=True).encode())

    # -- watching --

    def watched(self) -> Watched:
        settings = self.place.settings
        return Watched(self.place.posts, template_trees(settings), settings_files(settings, self.place.site))

    def _watch(self) -> None:
        while not self.stopped.is_set():
            watched = self.watched()
            try:
                for changed in watch_changes(watched, self.stopped, debounce_ms=self.debounce_ms):
                    if not changed:  # watching from now on: catch up with edits made before
                        self.build()
                        self.watching.set()
                        continue
                    self.say("changed: " + ", ".join(paths_shown(changed)))
                    self.build(quick=True)
                    self.build()
                    if self.watched() != watched:
                        break  # the settings moved the posts or the templates: watch those
            except Exception as exc:  # a watched folder vanished, say: look again in a moment
                self.say(f"watching stopped ({type(exc).__name__}: {exc}); trying again")
                self.stopped.wait(1.0)

    # -- pages --

    def index_page(self) -> bytes:
        snap = self.state.snapshot
        return render_template(
            "serve/index.html.j2",
            snap=snap,
            posts=list(snap.posts.values()),
            generation=self.state.generation,
        ).encode()

    def post_page(self, post: PostView) -> bytes:
        snap = self.state.snapshot
        folder = self.out / post.stem
        present = [name for name in post.files if (folder / name).is_file()]
        youtube = _read_text(folder / "youtube.txt") if "youtube.txt" in present else None
        podcast = (folder / "podcast.html").read_bytes() if "podcast.html" in present else None
        return render_template(
            "serve/post.html.j2",
            snap=snap,
            post=post,
            generation=self.state.generation,
            base=post.url,
            files=[(name, (folder / name).stat().st_size) for name in present],
            has=set(present),
            text=_read_text(folder / "newsletter.txt"),
            pdf_version=_version(folder / "show-notes.pdf"),
            youtube=youtube,
            youtube_bytes=len(youtube.encode()) if youtube is not None else 0,
            youtube_limit=YOUTUBE_MAX_BYTES,
            chapters=youtube_chapters(youtube or ""),
            podcast=podcast.decode("utf-8", errors="replace") if podcast is not None else None,
            podcast_bytes=len(podcast) if podcast is not None else 0,
            podcast_limit=PODCAST_MAX_BYTES,
            chapter_files=[(n, _read_text(folder / n)) for n in CHAPTER_FILES if n in present],
            report=_read_text(folder / "report.txt") if "report.txt" in present else None,
            post_md=_read_text(folder / "post.md") if "post.md" in present else None,
        ).encode()

    def podcast_page(self, post: PostView, nonce: str) -> bytes | None:
        path = self.out / post.stem / "podcast.html"
        if "podcast.html" not in post.files or not path.is_file():
            return None
        shown = sanitize_podcast_html(_read_text(path))
        return render_template("serve/podcast.html.j2", nonce=nonce, body=shown, title=post.title).encode()

    def first_page(self, post: PostView) -> bytes | None:
        """Page 1 of the post's show notes as a PNG, rendered once per version of the PDF."""
        path = self.out / post.stem / "show-notes.pdf"
        if "show-notes.pdf" not in post.files:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        key = (post.stem, hashlib.sha256(data).hexdigest())
        with self._pdfium:
            if key not in self._pages:
                self._pages = {k: v for k, v in self._pages.items() if k[0] != post.stem}
                self._pages[key] = _render_first_page(data)
            return self._pages[key]


def _render_first_page(data: bytes) -> bytes:
    """A PNG of page 1, PAGE_WIDTH_PX wide (call with the lock held: pdfium is not thread-safe)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0]
        image = page.render(scale=PAGE_WIDTH_PX / page.get_width()).to_pil()
        page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _version(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "0"
    return f"{stat.st_mtime_ns:x}{stat.st_size:x}"


# --- requests -------------------------------------------------------------------------------


def request_parts(target: str) -> list[str] | None:
    """The decoded segments of a request's path (a trailing `/` gives a last `""`); None when the
    path must be refused: `..`, `.`, hidden names, `//`, a backslash, an encoded `.` `/` `\\` or NUL,
    bytes that are not UTF-8."""
    path = target.split("?", 1)[0].split("#", 1)[0]  # origin-form only: no scheme, no host
    if not path.startswith("/") or "\\" in path or _REFUSED_ENCODINGS.search(path):
        return None
    try:
        parts = [unquote(part, errors="strict") for part in path[1:].split("/")]
    except UnicodeDecodeError:
        return None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "" and last:
            continue
        if not part or part.startswith(".") or any(c in part for c in "/\\\0") or part.isspace():
            return None
    return parts


def inside(root: Path, parts: Iterable[str]) -> Path | None:
    """The regular file `root/<parts>` when it is really in `root`: symbolic links are followed and
    the file they reach must be under `root` too, with no hidden folder or file on the way."""
    try:
        top = root.resolve(strict=True)
        real = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if real == top or not real.is_relative_to(top):
        return None
    if any(part.startswith(".") for part in real.relative_to(top).parts):
        return None
    return real if real.is_file() else None


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], preview: Preview) -> None:
        self.preview = preview
        super().__init__(address, handler)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    server_version = "episode-serve"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("serve: " + format, *args)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self._send(code, f"{code} {message or self.responses.get(code, ('',))[0]}\n".encode(), TEXT_CSP)

    def _send(
        self,
        status: int,
        data: bytes,
        csp: str,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _refuse(self, status: int, why: str) -> None:
        self._send(status, f"{status}: {why}\n".encode(), TEXT_CSP)

    def _answer(self, body: bool) -> None:
        preview = self.server.preview
        host = (self.headers.get("Host") or "").strip().lower()
        if host not in preview.hosts:
            self._refuse(403, f"this server answers only at {preview.url} (the Host header was {host!r})")
            return
        parts = request_parts(self.path)
        if parts is None:
            self._refuse(403, "refused: not a path this server serves")
            return
        try:
            self._route(preview, parts)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a bug: one line to the browser, the server goes on
            log.exception("serve: %s failed", self.path)
            with contextlib.suppress(OSError):
                self._send(500, f"500: internal error: {type(exc).__name__}: {exc}\n".encode(), TEXT_CSP)

    def _route(self, preview: Preview, parts: list[str]) -> None:
        posts = preview.state.snapshot.posts
        if parts == [""]:
            self._send(200, preview.index_page(), PAGE_CSP, CONTENT_TYPES[".html"])
        elif parts == ["events"]:
            self._events(preview)
        elif parts[0] == "-":
            self._tool(preview, parts[1:], posts)
        elif parts[0] not in posts:
            self._refuse(404, "no such post")
        elif len(parts) == 1:
            self._send(301, b"", TEXT_CSP, headers={"Location": posts[parts[0]].url})
        elif parts[1:] == [""]:
            self._send(200, preview.post_page(posts[parts[0]]), PAGE_CSP, CONTENT_TYPES[".html"])
        elif len(parts) == 2 and parts[1] in posts[parts[0]].files:
            self._output(preview.out, parts)
        else:
            self._refuse(404, "no such output")

    def _output(self, out: Path, parts: list[str]) -> None:
        path = inside(out, parts)
        if path is None:
            self._refuse(404, "no such output")
            return
        suffix = path.suffix.lower()
        csp = PDF_CSP if suffix == ".pdf" else OUTPUT_CSP if suffix in (".html", ".xml") else TEXT_CSP
        content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
        self._send(200, path.read_bytes(), csp, content_type)

    def _tool(self, preview: Preview, parts: list[str], posts: Mapping[str, PostView]) -> None:
        if len(parts) >= 2 and parts[0] == "static":
            path = inside(TEMPLATES_DIR, parts[1:])
            if path is None:
                self._refuse(404, "no such file")
            else:
                type_ = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
                self._send(200, path.read_bytes(), STATIC_CSP, type_)
            return
        if len(parts) == 2 and parts[0] == "page1" and parts[1].endswith(".png"):
            post = posts.get(parts[1][: -len(".png")])
            picture = preview.first_page(post) if post is not None else None
            if picture is None:
                self._refuse(404, "no show notes")
            else:
                self._send(200, picture, TEXT_CSP, "image/png")
            return
        if len(parts) == 2 and parts[0] == "podcast" and parts[1].endswith(".html"):
            post = posts.get(parts[1][: -len(".html")])
            nonce = secrets.token_urlsafe(16)
            page = preview.podcast_page(post, nonce) if post is not None else None
            if page is None:
                self._refuse(404, "no podcast description")
            else:
                csp = f"sandbox; default-src 'none'; style-src 'nonce-{nonce}'; frame-ancestors 'self'"
                self._send(200, page, csp, CONTENT_TYPES[".html"])
            return
        self._refuse(404, "not found")

    def _events(self, preview: Preview) -> None:
        query = parse_qs(self.path.partition("?")[2])
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            since = 0
        stem = query.get("stem", [None])[0] or None
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Security-Policy", STATIC_CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(b"retry: 1000\n\n")
        self.wfile.flush()
        with preview.state.page_open(stem):
            self._stream_events(preview, since, stem)

    def _stream_events(self, preview: Preview, since: int, stem: str | None) -> None:
        while not preview.state.stopping:
            generation = preview.state.wait(since, stem, HEARTBEAT_SECONDS)
            if preview.state.stopping:
                break
            if generation is None:
                self.wfile.write(b": still here\n\n")
            else:
                since = generation
                self.wfile.write(f"event: reload\ndata: {generation}\n\n".encode())
            self.wfile.flush()
