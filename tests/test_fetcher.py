"""The locked-down WeasyPrint URL fetcher: what it reads, and what it refuses without fetching."""

from __future__ import annotations

import base64
import io
import os
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from pipeline.formats.pdf.fetcher import (
    FetchPolicy,
    ResourceRefused,
    SafeURLFetcher,
    _SameHostRedirects,
)
from pipeline.settings.config import TEMPLATES_DIR


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    """An assets directory with one image, and a secret next to it."""
    root = tmp_path / "templates"
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "logo.png").write_bytes(_png(4, 4))
    (tmp_path / "secret.txt").write_text("top secret")
    return root


def test_is_a_weasyprint_url_fetcher() -> None:
    assert isinstance(SafeURLFetcher(), URLFetcher)


def test_allows_the_project_stylesheet() -> None:
    fetcher = SafeURLFetcher()
    response = fetcher.fetch((TEMPLATES_DIR / "show-notes.css").as_uri())
    assert b"@page" in response.read()
    assert response.content_type == "text/css"


def test_allows_an_asset_under_the_assets_dir(assets: Path) -> None:
    fetcher = SafeURLFetcher(FetchPolicy(assets_dir=assets))
    response = fetcher.fetch((assets / "assets" / "logo.png").as_uri())
    assert response.read().startswith(b"\x89PNG")
    assert response.content_type == "image/png"
    assert fetcher.refused == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://otherhost/share/file.png",
        # `..` and symlinks are resolved before the check.
        (TEMPLATES_DIR / ".." / "pyproject.toml").as_uri().replace("/../", "/%2e%2e/"),
        TEMPLATES_DIR.as_uri() + "/../pyproject.toml",
    ],
)
def test_refuses_files_outside_templates(url: str) -> None:
    fetcher = SafeURLFetcher()
    with pytest.raises(ResourceRefused):
        fetcher.fetch(url)
    assert fetcher.refused
    assert fetcher.fetched == []


def test_refuses_a_symlink_out_of_the_assets_dir(assets: Path) -> None:
    link = assets / "assets" / "sneaky.png"
    link.symlink_to(assets.parent / "secret.txt")
    fetcher = SafeURLFetcher(FetchPolicy(assets_dir=assets))
    with pytest.raises(ResourceRefused, match="outside"):
        fetcher.fetch(link.as_uri())


def test_refuses_non_asset_files_inside_templates() -> None:
    fetcher = SafeURLFetcher()
    with pytest.raises(ResourceRefused, match="not a template asset"):
        fetcher.fetch((TEMPLATES_DIR / "show-notes.html.j2").as_uri())


def test_an_asset_that_is_a_fifo_or_a_folder_is_refused_without_reading(assets: Path) -> None:
    os.mkfifo(assets / "assets" / "pipe.png")
    (assets / "assets" / "folder.css").mkdir()
    fetcher = SafeURLFetcher(FetchPolicy(assets_dir=assets))
    with pytest.raises(ResourceRefused, match=r"not a template asset \(is a FIFO, not a regular file\)"):
        fetcher.fetch((assets / "assets" / "pipe.png").as_uri())
    with pytest.raises(ResourceRefused, match=r"not a template asset \(is a folder, not a file\)"):
        fetcher.fetch((assets / "assets" / "folder.css").as_uri())


def test_refuses_an_asset_over_the_size_cap(assets: Path) -> None:
    fetcher = SafeURLFetcher(FetchPolicy(assets_dir=assets, max_bytes=10))
    with pytest.raises(ResourceRefused, match="larger than"):
        fetcher.fetch((assets / "assets" / "logo.png").as_uri())


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1/x.png", "https://example.org/x.png", "http://example.org/x.png"],
)
def test_refuses_the_network_when_disabled(url: str) -> None:
    fetcher = SafeURLFetcher()
    with pytest.raises(ResourceRefused, match="network access is disabled"):
        fetcher.fetch(url)


def test_with_network_enabled_only_https_to_listed_hosts() -> None:
    policy = FetchPolicy(network=True, allowed_hosts=frozenset({"images.example.org"}))
    fetcher = SafeURLFetcher(policy)
    with pytest.raises(ResourceRefused, match="only https"):
        fetcher.fetch("http://images.example.org/x.png")
    with pytest.raises(ResourceRefused, match="not in allowed_hosts"):
        fetcher.fetch("https://127.0.0.1/x.png")
    with pytest.raises(ResourceRefused, match="not in allowed_hosts"):
        fetcher.fetch("https://images.example.org.evil.test/x.png")
    with pytest.raises(ResourceRefused, match="credentials or a non-standard port"):
        fetcher.fetch("https://user:pw@images.example.org/x.png")
    with pytest.raises(ResourceRefused, match="credentials or a non-standard port"):
        fetcher.fetch("https://images.example.org:8443/x.png")


def test_redirects_to_another_host_are_refused() -> None:
    handler = _SameHostRedirects()
    request = urllib.request.Request("https://images.example.org/a.png")
    with pytest.raises(ResourceRefused, match="redirect"):
        handler.redirect_request(request, None, 302, "Found", {}, "https://evil.test/a.png")
    with pytest.raises(ResourceRefused, match="redirect"):
        handler.redirect_request(request, None, 302, "Found", {}, "http://images.example.org/a")
    same = handler.redirect_request(request, None, 302, "Found", {}, "https://images.example.org/b.png")
    assert same is not None
    assert same.full_url == "https://images.example.org/b.png"


@pytest.mark.parametrize("url", ["ftp://example.org/x", "javascript:alert(1)", "gopher://x/"])
def test_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ResourceRefused, match="scheme"):
        SafeURLFetcher().fetch(url)


def test_data_urls_are_read_without_io() -> None:
    uri = "data:image/png;base64," + base64.b64encode(_png(2, 2)).decode()
    response = SafeURLFetcher().fetch(uri)
    assert response.read().startswith(b"\x89PNG")


def test_refuses_an_image_over_the_pixel_cap() -> None:
    uri = "data:image/png;base64," + base64.b64encode(_png(40, 40)).decode()
    fetcher = SafeURLFetcher(FetchPolicy(max_image_pixels=1000))
    with pytest.raises(ResourceRefused, match="40x40 pixels over the 1000-pixel cap"):
        fetcher.fetch(uri)


def test_fatal_policy_stops_the_render() -> None:
    fetcher = SafeURLFetcher(FetchPolicy(fatal=True))
    with pytest.raises(FatalURLFetchingError):
        fetcher.fetch("file:///etc/passwd")
