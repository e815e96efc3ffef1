"""`episode serve`: build, then show every output of every post in a browser, rebuilt on save.

One stdlib `ThreadingHTTPServer` on loopback (another interface only with an explicit `--host`),
a watcher thread (`pipeline.builder.watch`) that rebuilds on every change of a post, a template or the
settings, and server-sent events that make open pages reload themselves. What it answers:

    /                          the index: each post's title, date, status and diagnostics
    /<stem>/                   a post's page: every output side by side
    /<stem>/<file>             an output file: the very bytes the build wrote
    /events?since=N&stem=S     server-sent events: `reload` when what a page shows has changed
    /-/static/<path>           a file of the bundled templates folder (the pages' style and script)
    /-/page1/<stem>.png        page 1 of show-notes.pdf as a picture (pypdfium2)
    /-/podcast/<stem>.html     podcast.html with only the tags the apps keep, in a plain page

Files are streamed, CHUNK_BYTES at a time, with the Content-Length of the open file: an output of
any size costs a request a chunk of memory, never the file. A post's page shows at most the first
INLINE_LINES lines (and INLINE_BYTES) of each text it inlines, says how many lines it left out and
links to the whole file. A connection that sends nothing for `idle_timeout` seconds (or does not
read what it is sent) is closed; an event stream only writes, a comment every `heartbeat_seconds`,
so an open page keeps it. At most `max_connections` connections are served at once, each in its
own thread; one more is answered 503 at once, without a thread.

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
import logging
import os
import re
import secrets
import select
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from ..builder import manifest
from ..builder.run import build as run_build
from ..builder.watch import DEBOUNCE_MS, Watched, paths_shown, settings_files, template_trees, watch_changes
from ..builder.workers import warm_up
from ..errors import PipelineError
from ..formats import FORMATS
from ..formats.descriptions.limits import PODCAST_MAX_BYTES, YOUTUBE_MAX_BYTES
from ..formats.descriptions.text import sanitize_podcast_html
from ..formats.templating import render_template
from ..reports import note_line, problem_line, shown_path, summary_line
from ..results import BuildSummary, Diagnostic, PostResult, Reporter
from ..settings.config import TEMPLATES_DIR
from ..settings.site import Place, locate
from .pages import (
    CHUNK_BYTES,
    Excerpt,
    PostView,
    excerpt,
    open_regular,
    stored_lines,
    title_and_date,
    youtube_chapters,
)
from .state import Snapshot, State

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0  # an event stream writes a comment this often when nothing changes
IDLE_SECONDS = 60.0  # a connection that sends (or reads) nothing for this long is closed
MAX_CONNECTIONS = 64  # served at once (a browser opens at most 6 to one server); more: 503
TURN_AWAY_WAIT = 0.05  # seconds a refused connection's request may take to arrive (read, then 503)
WATCH_START_SECONDS = 10.0  # `start` waits this long at most for the watcher to run
QUICK_FORMATS = tuple(f for f in FORMATS if f != "pdf")  # what a page shows before the PDF is laid out
PAGE_WIDTH_PX = 900  # of the picture of the PDF's first page
_REFUSED_ENCODINGS = re.compile(r"%(?:2e|2f|5c|00)", re.IGNORECASE)

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
        idle_timeout: float = IDLE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
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
        self.idle_timeout = idle_timeout  # read by each new connection
        self.max_connections = max_connections
        self.heartbeat_seconds = heartbeat_seconds
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
            problem = exc.line_text()
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

    def _snapshot(self, place: Place, summary: BuildSummary | None, problem: str | None) -> Snapshot:
        previous = self.state.snapshot
        if summary is None:  # keep showing the posts as they were
            return Snapshot(
                dict(previous.posts), problem, previous.summary, place.settings_line, previous.built_at
            )
        recorded = manifest.load(self.out).posts
        posts: dict[str, PostView] = {}
        for result in sorted(summary.results, key=lambda r: r.source, reverse=True):
            posts[result.stem] = self._view(result, recorded.get(result.stem, manifest.Entry()))
        return Snapshot(
            posts,
            problem,
            summary_line(summary).splitlines()[-1],
            place.settings_line,
            dt.datetime.now().strftime("%H:%M:%S"),
        )

    def _view(self, result: PostResult, recorded: manifest.Entry) -> PostView:
        title, date = title_and_date(Path(result.source), result.stem)
        files = tuple(sorted(set(result.files) | set(recorded.files)))
        warnings = tuple(w.text for w in result.warnings)
        notes, known = tuple(note_line(n) for n in result.notes), True
        outputs = recorded.outputs or {}
        if result.status == "skipped" and outputs:  # what the build that made them found, any build
            warnings = stored_lines(outputs, "warnings", lambda d: d.text)
            notes = stored_lines(outputs, "notes", note_line)
        elif result.status == "skipped":  # a manifest from before it kept each output's record
            known = False
        error = None
        if result.status == "failed":
            failure = result.failure or Diagnostic("error", result.error or "failed")
            error = problem_line(result.source, failure)
        status = "failed" if error else ("warnings" if warnings else "built")
        source = shown_path(result.source)
        return PostView(result.stem, source, title, date, status, error, warnings, notes, files, known)

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

    def open_output(self, stem: str, name: str) -> io.BufferedReader | None:
        """A post's output file opened for reading, when it may be served: a regular file in the
        output folder, reached through no hidden name and no link that leads out of it."""
        path = inside(self.out, [stem, name])
        return open_regular(path) if path is not None else None

    def _sizes(self, post: PostView) -> dict[str, int]:
        """The post's output files that may be served now, with their sizes."""
        sizes: dict[str, int] = {}
        for name in post.files:
            path = inside(self.out, [post.stem, name])
            with contextlib.suppress(OSError):
                if path is not None:
                    sizes[name] = path.stat().st_size
        return sizes

    def _excerpt(self, stem: str, name: str) -> Excerpt | None:
        file = self.open_output(stem, name)
        if file is None:
            return None
        with file:
            try:
                return excerpt(file)
            except OSError:
                return None

    def post_page(self, post: PostView) -> bytes:
        snap = self.state.snapshot
        sizes = self._sizes(post)

        def shown(name: str) -> Excerpt | None:
            return self._excerpt(post.stem, name) if name in sizes else None

        youtube = shown("youtube.txt")
        chapter_files = [(n, e) for n in CHAPTER_FILES if (e := shown(n)) is not None]
        return render_template(
            "serve/post.html.j2",
            snap=snap,
            post=post,
            generation=self.state.generation,
            base=post.url,
            files=list(sizes.items()),
            has=set(sizes),
            plain=shown("newsletter.txt"),
            pdf_version=_version(self.out / post.stem / "show-notes.pdf"),
            youtube=youtube,
            youtube_limit=YOUTUBE_MAX_BYTES,
            chapters=youtube_chapters(youtube.text if youtube is not None else ""),
            podcast=shown("podcast.html"),
            podcast_limit=PODCAST_MAX_BYTES,
            chapter_files=chapter_files,
            report=shown("report.txt"),
            post_md=shown("post.md"),
        ).encode()

    def podcast_page(self, post: PostView, nonce: str) -> bytes | None:
        shown = self._excerpt(post.stem, "podcast.html") if "podcast.html" in post.files else None
        if shown is None:
            return None
        body = sanitize_podcast_html(shown.text)
        return render_template("serve/podcast.html.j2", nonce=nonce, body=body, title=post.title).encode()

    def first_page(self, post: PostView) -> bytes | None:
        """Page 1 of the post's show notes as a PNG, rendered once per version of the PDF; the
        PDF is hashed and read by pdfium from the file, never held whole."""
        file = self.open_output(post.stem, "show-notes.pdf") if "show-notes.pdf" in post.files else None
        if file is None:
            return None
        with file:
            try:
                key = (post.stem, hashlib.file_digest(file, "sha256").hexdigest())
            except OSError:
                return None
            with self._pdfium:
                if key not in self._pages:
                    self._pages = {k: v for k, v in self._pages.items() if k[0] != post.stem}
                    file.seek(0)
                    self._pages[key] = _render_first_page(file)
                return self._pages[key]


def _render_first_page(file: io.BufferedReader) -> bytes:
    """A PNG of page 1, PAGE_WIDTH_PX wide (call with the lock held: pdfium is not thread-safe)."""
    import pypdfium2

    document = pypdfium2.PdfDocument(file)
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
    """A thread per connection, at most `preview.max_connections` of them at once."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], preview: Preview) -> None:
        self.preview = preview
        self.connections = 0  # being served, each in its thread
        self._counting = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._counting:
            admitted = self.connections < self.preview.max_connections
            self.connections += admitted
        if not admitted:
            _turn_away(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._done()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done()

    def _done(self) -> None:
        with self._counting:
            self.connections -= 1


class _Server6(_Server):
    address_family = socket.AF_INET6


_BUSY_BODY = b"503: too many connections to this preview at once; close a few of its pages and reload\n"
_BUSY = (
    "HTTP/1.0 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    f"Content-Length: {len(_BUSY_BODY)}\r\n"
    f"Content-Security-Policy: {TEXT_CSP}\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n"
    "Retry-After: 5\r\n"
    "Connection: close\r\n\r\n"
).encode() + _BUSY_BODY


def _turn_away(connection: socket.socket) -> None:
    """Answer 503 from the serving thread, never blocking it for long: wait a moment for the
    request and read it (a socket closed with unread data is reset; the client still reads the
    answer, but the request should not come back as an error), then send the answer if it fits
    in the socket's buffer (a new socket's buffer is empty)."""
    with contextlib.suppress(OSError, ValueError):
        select.select([connection], [], [], TURN_AWAY_WAIT)
        connection.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            connection.recv(65536)
        connection.send(_BUSY)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    server_version = "episode-serve"
    sys_version = ""
    answered = False  # the status line and headers of this request's answer are sent

    def setup(self) -> None:
        # A socket timeout: a connection that sends nothing (or reads nothing of what it is sent)
        # for this long is closed. An event stream only writes, so it is not cut while open.
        super().setup()
        self.connection.settimeout(self.server.preview.idle_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("serve: " + format, *args)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self._send(code, f"{code} {message or self.responses.get(code, ('',))[0]}\n".encode(), TEXT_CSP)

    def end_headers(self) -> None:
        self.answered = True
        super().end_headers()

    def _head(
        self,
        status: int,
        length: int,
        csp: str,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send(
        self,
        status: int,
        data: bytes,
        csp: str,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._head(status, len(data), csp, content_type, headers)
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_file(self, file: io.BufferedReader, csp: str, content_type: str) -> None:
        """The file's bytes as they are when opened (a rebuild renames a new file into place and
        leaves this one whole), CHUNK_BYTES at a time, with its size from fstat."""
        size = os.fstat(file.fileno()).st_size
        self._head(200, size, csp, content_type)
        if self.command == "HEAD":
            return
        chunk = memoryview(bytearray(CHUNK_BYTES))
        left = size
        while left:
            read = file.readinto(chunk[: min(left, CHUNK_BYTES)])
            if not read:  # cut short while sent (not by a build): the client must see it unfinished
                self.close_connection = True
                log.debug("serve: %s shrank while it was sent", self.path)
                return
            self.wfile.write(chunk[:read])
            left -= read

    def _refuse(self, status: int, why: str) -> None:
        self._send(status, f"{status}: {why}\n".encode(), TEXT_CSP)

    def _answer(self, body: bool) -> None:
        preview = self.server.preview
        self.answered = False
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
        except (ConnectionError, TimeoutError):  # the client left, or stopped reading
            self.close_connection = True
        except Exception as exc:  # a bug: one line to the browser, the server goes on
            log.exception("serve: %s failed", self.path)
            self.close_connection = True
            if not self.answered:  # else the answer is under way: closing it is all there is to do
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
            self._output(preview, parts[0], parts[1])
        else:
            self._refuse(404, "no such output")

    def _output(self, preview: Preview, stem: str, name: str) -> None:
        file = preview.open_output(stem, name)
        if file is None:
            self._refuse(404, "no such output")
            return
        suffix = Path(name).suffix.lower()
        csp = PDF_CSP if suffix == ".pdf" else OUTPUT_CSP if suffix in (".html", ".xml") else TEXT_CSP
        with file:
            self._send_file(file, csp, CONTENT_TYPES.get(suffix, "application/octet-stream"))

    def _tool(self, preview: Preview, parts: list[str], posts: Mapping[str, PostView]) -> None:
        if len(parts) >= 2 and parts[0] == "static":
            path = inside(TEMPLATES_DIR, parts[1:])
            file = open_regular(path) if path is not None else None
            if path is None or file is None:
                self._refuse(404, "no such file")
                return
            type_ = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
            with file:
                self._send_file(file, STATIC_CSP, type_)
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
            generation = preview.state.wait(since, stem, preview.heartbeat_seconds)
            if preview.state.stopping:
                break
            if generation is None:
                self.wfile.write(b": still here\n\n")
            else:
                since = generation
                self.wfile.write(f"event: reload\ndata: {generation}\n\n".encode())
            self.wfile.flush()
