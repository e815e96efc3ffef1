"""The `[pdf]` settings table, checked. Light on purpose (no WeasyPrint): the settings loader
reads it before any post is read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...settings.schema import option, table_options

if TYPE_CHECKING:
    from ...settings.config import Settings

PAGE_SIZES = ("A4", "Letter")
PDF_VARIANTS = ("pdf/ua-1", "pdf/ua-2", "none")
ON_REFUSED = ("warn", "fail")


_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def _host_names(hosts: tuple[str, ...]) -> str | None:
    bad = [v for v in hosts if not _HOST.match(v.lower())]
    return f"not host names: {', '.join(map(repr, bad))} (write `example.org`)" if bad else None


def _lower(hosts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.lower() for v in hosts)


@dataclass(frozen=True)
class PdfOptions:
    """The `[tool.pipeline.pdf]` table, checked (`pipeline.settings.schema` reads it)."""

    page_size: str = option("A4", choices=PAGE_SIZES)
    author: str = ""
    summary_heading: str = "Summary"
    pdf_variant: str = option("pdf/ua-1", choices=PDF_VARIANTS)
    qr_code: bool = True
    on_refused_resource: str = option("warn", choices=ON_REFUSED)
    network: bool = False
    allowed_hosts: tuple[str, ...] = option((), check=_host_names, convert=_lower)
    max_resource_bytes: int = option(5_000_000, positive=True)
    max_image_pixels: int = option(20_000_000, positive=True)
    network_timeout: float = option(10.0, positive=True)
    timeout: float = option(60.0, positive=True)
    """Seconds one render may take (main thread only: SIGALRM); over it the post fails."""
    max_pages: int = option(40, positive=True)
    """Show notes longer than this are refused before the PDF is written (a pasted archive, a
    10,000-link body): the post fails with one line instead of a huge file."""


def _network_needs_hosts(options: PdfOptions) -> list[str]:
    if options.network and not options.allowed_hosts:
        return ["network: true needs a non-empty allowed_hosts list"]
    return []


def pdf_options(settings: Settings) -> PdfOptions:
    """The `[tool.pipeline.pdf]` options: those checked at load, else checked now (every
    unknown key or bad value reported at once)."""
    return table_options(settings, "pdf", PdfOptions, whole=_network_needs_hosts)
