"""The WeasyPrint engine of the show notes: print HTML in, PDF bytes and WeasyPrint's warnings
out, through the locked-down fetcher (`pipeline.formats.pdf.fetcher.SafeURLFetcher`), within a time and a
page limit.

WeasyPrint is imported lazily and only here (importing it costs about half a second), and the
parsed stylesheet and font configuration are kept for the life of the process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import signal
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from types import FrameType
from typing import TYPE_CHECKING, Any

from ...errors import RenderError, RenderTimeout
from ...settings.config import TEMPLATES_DIR, Settings
from .options import PAGE_SIZES, PdfOptions, pdf_options

if TYPE_CHECKING:
    from .fetcher import FetchPolicy

log = logging.getLogger(__name__)

FILENAME = "show-notes.pdf"
STYLESHEET = TEMPLATES_DIR / "show-notes.css"


def _fetch_policy(options: PdfOptions) -> FetchPolicy:
    """The fetcher policy that the options describe."""
    from .fetcher import FetchPolicy

    return FetchPolicy(
        assets_dir=TEMPLATES_DIR,
        network=options.network,
        allowed_hosts=frozenset(options.allowed_hosts),
        max_bytes=options.max_resource_bytes,
        max_image_pixels=options.max_image_pixels,
        timeout=options.network_timeout,
        fatal=options.on_refused_resource == "fail",
    )


@dataclass(frozen=True)
class PdfOutput:
    pdf: bytes
    warnings: list[str]


_RENDER_LOCK = threading.Lock()


def _weasyprint() -> Any:
    """The weasyprint module, imported on first use (once per process)."""
    import weasyprint

    return weasyprint


@lru_cache(maxsize=1)
def _font_config() -> Any:
    """One FontConfiguration for every render (it caches font lookups)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=len(PAGE_SIZES))
def _stylesheets(page_size: str) -> tuple[Any, ...]:
    """The parsed print stylesheet and the page size rule, parsed once per process."""
    from .fetcher import SafeURLFetcher

    weasyprint = _weasyprint()
    fetcher = SafeURLFetcher()
    font_config = _font_config()
    main = weasyprint.CSS(
        string=STYLESHEET.read_text(encoding="utf-8"),
        base_url=STYLESHEET.as_uri(),
        url_fetcher=fetcher,
        font_config=font_config,
    )
    size = weasyprint.CSS(string=f"@page {{ size: {page_size}; }}", font_config=font_config)
    return main, size


BASE_URL = TEMPLATES_DIR.as_uri() + "/"  # what relative URLs in the print HTML resolve against


def write_pdf_options(options: PdfOptions, identifier: str) -> dict[str, Any]:
    """The `write_pdf` arguments of every show-notes PDF (the benchmark's floor uses them too)."""
    return {
        "stylesheets": list(_stylesheets(options.page_size)),
        "font_config": _font_config(),
        "pdf_variant": None if options.pdf_variant == "none" else options.pdf_variant,
        "pdf_tags": True,
        "pdf_identifier": hashlib.sha256(identifier.encode()).hexdigest()[:32].encode(),
    }


def warm_up(settings: Settings) -> None:
    """Import WeasyPrint and parse the print stylesheets now, not in the first render."""
    _stylesheets(pdf_options(settings).page_size)


class _Collect(logging.Handler):
    """Keep WeasyPrint's warnings and errors for the render that is running."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _render_environment(date: dt.datetime | None, max_pixels: int) -> Iterator[_Collect]:
    """Capture the `weasyprint` logger, pin SOURCE_DATE_EPOCH and cap image pixels."""
    from PIL import Image

    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    saved_epoch = os.environ.get("SOURCE_DATE_EPOCH")
    saved_pixels = Image.MAX_IMAGE_PIXELS
    with _RENDER_LOCK:
        logger.addHandler(handler)
        # fontTools, WeasyPrint's subsetter when libharfbuzz-subset is missing, stamps the
        # fonts with the current time unless this is set (harfbuzz does not).
        epoch = int(date.timestamp()) if date else 0
        os.environ["SOURCE_DATE_EPOCH"] = str(max(epoch, 0))
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield handler
        finally:
            logger.removeHandler(handler)
            Image.MAX_IMAGE_PIXELS = saved_pixels
            if saved_epoch is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = saved_epoch


def _warnings(records: Sequence[logging.LogRecord], refused: Sequence[str]) -> list[str]:
    """One message per problem: refusals, then WeasyPrint's own, missing glyphs summed up."""
    messages = list(refused)
    missing: list[str] = []
    for record in records:
        if str(record.msg).startswith(".notdef glyph") and isinstance(record.args, tuple):
            char = str(record.args[0])
            if char not in missing:
                missing.append(char)
            continue
        text = " ".join(record.getMessage().split())
        if any(r in text for r in refused) or text in messages:
            continue
        messages.append(text)
    if missing:
        shown = " ".join(f"{c} (U+{ord(c):04X})" for c in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        messages.append(f"no installed font has these characters: {shown}{more}{_font_hint(missing)}")
    return messages


def _font_hint(missing: Sequence[str]) -> str:
    """Which font package draws them (Debian/Ubuntu names): emoji, or CJK, or any other script."""
    if any(unicodedata.category(c) == "So" and ord(c) >= 0x1F000 for c in missing):
        return " (emoji: install an emoji font, e.g. fonts-noto-color-emoji)"
    if any(0x2E80 <= ord(c) <= 0x9FFF or 0xAC00 <= ord(c) <= 0xD7AF for c in missing):
        return " (Chinese, Japanese, Korean: install e.g. fonts-noto-cjk)"
    return " (install a font that has them, e.g. fonts-noto-core)"


class _RenderTimeout(BaseException):
    """Raised by SIGALRM inside a render; a BaseException so no `except Exception` swallows it."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` with _RenderTimeout; no limit outside the main thread.

    Only the main thread receives signals (a worker process runs its tasks there). An exception
    raised where Python cannot pass it on (a gc callback, a finalizer) is lost, so the alarm
    repeats every 50 ms until one gets through, and the block fails at its end in any case. The
    previous SIGALRM handler and ITIMER_REAL timer (less the time spent here) are put back.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    state = {"fired": False, "done": False}

    def expired(signum: int, frame: FrameType | None) -> None:
        if state["done"]:
            return
        state["fired"] = True
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        raise _RenderTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    started = time.monotonic()
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        state["done"] = True
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
            if old_delay:
                remaining = old_delay - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), old_interval)
    if state["fired"]:
        raise _RenderTimeout


def html_to_pdf(
    html: str,
    settings: Settings,
    *,
    identifier: str = "show-notes",
    date: dt.datetime | None = None,
    options: PdfOptions | None = None,
) -> PdfOutput:
    """Render print HTML to PDF bytes through the locked-down fetcher; collect warnings.

    `options`: the settings' own, when the caller has them already."""
    from .fetcher import SafeURLFetcher

    options = options or pdf_options(settings)
    weasyprint = _weasyprint()
    fetcher = SafeURLFetcher(_fetch_policy(options))
    with _render_environment(date, options.max_image_pixels) as collected:
        # Stylesheets are parsed once a process, outside the time limit: it is for this document.
        write_options = write_pdf_options(options, identifier)
        try:
            with _time_limit(options.timeout):
                document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
                # What `HTML.write_pdf` does, with the page count checked between its two steps.
                render_options = {**weasyprint.DEFAULT_OPTIONS, **write_options}
                font_config = render_options.pop("font_config")
                laid_out = document.render(font_config, None, None, **render_options)
                if len(laid_out.pages) > options.max_pages:
                    raise RenderError(
                        f"{FILENAME}: {len(laid_out.pages)} pages, over the {options.max_pages}-page "
                        "limit (pdf.max_pages)"
                    )
                pdf_options_ = {key: render_options[key] for key in weasyprint.DEFAULT_OPTIONS}
                pdf: bytes = laid_out.write_pdf(None, 1, None, **pdf_options_)
        except _RenderTimeout:
            limit = f"{options.timeout:g}"
            raise RenderTimeout(f"{FILENAME}: rendering took longer than {limit} s (pdf.timeout)") from None
        except weasyprint.urls.FatalURLFetchingError as exc:
            reason = fetcher.refused[-1] if fetcher.refused else str(exc)
            raise RenderError(f"{FILENAME}: {reason}") from None
    return PdfOutput(pdf, _warnings(collected.records, fetcher.refused))
