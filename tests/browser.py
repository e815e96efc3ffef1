"""A real headless Chromium for layout tests: a loopback HTTP server and two ways to look at a page.

`measure()` loads a page in an iframe of a given width and returns what a script measured in it
(`--dump-dom` of a wrapper page); `screenshot()` writes a PNG. Regenerate the README picture with
`python -m tests.browser docs/newsletter.png` (the seed post of samples/, placeholder thumbnail).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import http.server
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pipeline.formats.newsletter import edition as newsletter
from pipeline.model import Episode
from pipeline.settings.config import Settings, load_settings
from tests.sample_episode import sample_episode

log = logging.getLogger(__name__)

CHROMIUM = Path(os.environ.get("PIPELINE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
TIMEOUT = 90
ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "samples" / "episode.toml"
SEED_POST = (
    ROOT
    / "samples"
    / ("2025-05-28-maxime-labonne-thinking-beyond-transformers-learning-from-machine-learning-12.markdown")
)

# Measures the page inside the iframe once everything (thumbnail included) has loaded.
_WRAPPER = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<style>body{margin:0} iframe{border:0;display:block}</style></head>
<body>
<iframe id="frame" src="%(page)s" style="width:%(width)dpx;height:%(height)dpx"></iframe>
<pre id="result">pending</pre>
<script>
window.addEventListener("load", function () {
  var frame = document.getElementById("frame");
  var doc = frame.contentDocument, win = frame.contentWindow;
  function box(el) {
    if (!el) { return null; }
    var r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, width: r.width, height: r.height};
  }
  var widest = 0;
  doc.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > widest) { widest = r.right; }
  });
  var img = doc.querySelector("img");
  document.getElementById("result").textContent = JSON.stringify({
    innerWidth: win.innerWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    bodyScrollWidth: doc.body.scrollWidth,
    scrollHeight: doc.documentElement.scrollHeight,
    contentHeight: Math.ceil(doc.documentElement.getBoundingClientRect().height),
    rightmostEdge: widest,
    title: box(doc.querySelector("h1")),
    thumbnail: box(img),
    thumbnailLoaded: !!(img && img.complete && img.naturalWidth > 0),
    card: box(doc.querySelector("table.card")),
    buttons: Array.prototype.map.call(doc.querySelectorAll("a.button"), box)
  });
});
</script>
</body></html>
"""


def chromium_available() -> bool:
    """True when the Chromium binary is installed."""
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _run_chromium(args: list[str]) -> str:
    """Run headless Chromium with a throwaway profile; its stdout."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        completed = subprocess.run(
            [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"chromium exited {completed.returncode}: {completed.stderr[-2000:]}")
    return completed.stdout


def measure(directory: Path, base_url: str, page: str, width: int, height: int = 4000) -> dict[str, Any]:
    """Layout numbers of `page` (served from `directory` at `base_url`) shown `width` px wide."""
    wrapper = directory / f"_measure_{width}.html"
    wrapper.write_text(_WRAPPER % {"page": page, "width": width, "height": height}, encoding="utf-8")
    dom = _run_chromium(["--virtual-time-budget=10000", "--dump-dom", f"{base_url}/{wrapper.name}"])
    match = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    if not match or match.group(1) == "pending":
        raise RuntimeError(f"the measuring script did not run; DOM was: {dom[:2000]}")
    result: dict[str, Any] = json.loads(html.unescape(match.group(1)))
    return result


def screenshot(url: str, out: Path, width: int, height: int) -> Path:
    """A PNG of the page at `url` in a `width` x `height` window."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run_chromium([
        f"--window-size={width},{height}",
        "--virtual-time-budget=10000",
        f"--screenshot={out.resolve()}",
        url,
    ])  # fmt: skip
    return out


def placeholder_thumbnail(path: Path, width: int = 480, height: int = 360) -> Path:
    """A stand-in for a YouTube thumbnail (no internet here): a dark frame with a play button."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (24, 28, 38))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = 24 + (y * 40) // height
        draw.line([(0, y), (width, y)], fill=(shade, shade + 6, shade + 20))
    cx, cy = width // 2, height // 2
    draw.rounded_rectangle([cx - 48, cy - 34, cx + 48, cy + 34], radius=16, fill=(230, 33, 23))
    draw.polygon([(cx - 14, cy - 18), (cx - 14, cy + 18), (cx + 20, cy)], fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


def write_newsletter(directory: Path, base_url: str, episode: Episode | None = None) -> Path:
    """Render a newsletter (the seed-like one by default) and its thumbnail into `directory`."""
    settings = with_newsletter_options(load_settings(PYPROJECT), thumbnail_url=f"{base_url}/thumbnail.jpg")
    rendered = newsletter.render(episode if episode is not None else sample_episode(), settings)
    placeholder_thumbnail(directory / "thumbnail.jpg")
    page = directory / "newsletter.html"
    page.write_bytes(rendered.files["newsletter.html"])
    return page


def with_newsletter_options(settings: Settings, **options: object) -> Settings:
    """A copy of `settings` with some `[tool.pipeline.newsletter]` keys set."""
    formats = {name: dict(table) for name, table in settings.formats.items()}
    formats.setdefault("newsletter", {}).update(options)
    frozen = MappingProxyType({name: MappingProxyType(table) for name, table in formats.items()})
    return dataclasses.replace(settings, formats=frozen)


def seed_episode() -> Episode:
    """The seed post of samples/, normalized as a build would."""
    from pipeline.normalize.stages import normalize_file

    return normalize_file(SEED_POST, load_settings(PYPROJECT))


def main(argv: list[str]) -> int:
    """Write the README screenshot of the seed post's newsletter at 600 px."""
    out = Path(argv[0] if argv else "docs/newsletter.png")
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as base:
        write_newsletter(Path(tmp), base, seed_episode())
        height = int(measure(Path(tmp), base, "newsletter.html", 600)["contentHeight"])
        screenshot(f"{base}/newsletter.html", out, 600, height)
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
