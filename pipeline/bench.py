"""`invoke bench`: a synthetic archive shaped like the real posts, timed end to end.

Reports wall time, posts/s, per-stage medians, peak memory, and two ratios measured side by
side in the same run: against WeasyPrint alone in one warm process (the floor) and against a
per-post shell loop of the pandoc and weasyprint command-line tools.
"""

from __future__ import annotations

import hashlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .build import BuildSummary, build
from .config import Settings
from .convert import pandoc_path

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


def synthetic_archive(folder: Path, count: int, samples: Path = SAMPLES_DIR) -> list[Path]:
    """Write `count` posts cycling through the sample posts, each with its own date, title and id."""
    templates = sorted(samples.glob("*.markdown")) + sorted(samples.glob("*.md"))
    if not templates:
        raise FileNotFoundError(f"no sample posts in {samples}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number in range(count):
        template = templates[number % len(templates)]
        text = template.read_text("utf-8")
        video = hashlib.sha256(str(number).encode()).hexdigest()[:11]
        lines = []
        for line in text.split("\n"):
            if line.startswith("youtubeID:"):
                line = f"youtubeID: v{video[1:]}"
            lines.append(line)
        text = "\n".join(lines).replace("title: '", f"title: 'No. {number} ", 1)
        year = 2000 + number // 365
        day = number % 365
        name = f"{year}-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}-episode-{number:04d}.markdown"
        path = folder / name
        path.write_text(text, "utf-8")
        written.append(path)
    return written


@dataclass
class Timed:
    seconds: float
    summary: BuildSummary | None = None


@dataclass
class BenchReport:
    posts: int
    figures: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        f = self.figures
        out = [f"synthetic archive: {self.posts} posts (cycled from samples/)"]
        for key in (
            "full_1_worker",
            "full_2_workers",
            "noop",
            "one_change",
            "floor_weasyprint",
            "cli_loop",
        ):
            if key in f:
                out.append(
                    f"  {key:<18} {f[key]:8.2f} s  ({self.posts / f[key]:.1f} posts/s)"
                    if key.startswith(("full", "floor", "cli"))
                    else f"  {key:<18} {f[key]:8.3f} s"
                )
        out.append(
            "per-post stage medians (ms): "
            + ", ".join(f"{k} {v * 1000:.1f}" for k, v in sorted(self.stages.items()))
        )
        for key in ("ratio_vs_floor", "speedup_2_workers", "speedup_vs_cli_loop"):
            if key in f:
                out.append(f"  {key:<22} {f[key]:.2f}")
        for key in ("peak_rss_main_mb", "peak_rss_workers_mb"):
            if key in f:
                out.append(f"  {key:<22} {f[key]:.0f}")
        out += [f"  note: {n}" for n in self.notes]
        return out


def _timed(action: Callable[[], BuildSummary | None]) -> Timed:
    started = time.perf_counter()
    summary = action()
    return Timed(time.perf_counter() - started, summary)


def _stage_medians(summary: BuildSummary) -> dict[str, float]:
    stages: dict[str, list[float]] = {}
    for result in summary.results:
        for stage, seconds in result.timings.items():
            stages.setdefault(stage, []).append(seconds)
    return {stage: statistics.median(values) for stage, values in stages.items()}


def _noop_in_fresh_process(src: Path, out: Path) -> tuple[float, bool, int]:
    """A no-op rebuild timed inside a new interpreter: seconds, whether WeasyPrint was imported, posts built."""
    code = (
        "import sys, time, json; from pathlib import Path; t=time.perf_counter();"
        "from pipeline.build import build; from pipeline.config import load_settings;"
        f"s=build(Path({str(src)!r}), Path({str(out)!r}), load_settings(), jobs=2);"
        "print(json.dumps([time.perf_counter()-t, 'weasyprint' in sys.modules, s.count('built')]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    seconds, imported, built = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), bool(imported), int(built)


def _floor(src: Path, settings: Settings) -> float:
    """The same PDFs rendered by WeasyPrint alone, one warm process, HTML prepared beforehand."""
    from .formats import shownotes
    from .normalize import normalize_file

    options = shownotes.pdf_options(settings)
    documents = [
        shownotes.episode_html(normalize_file(p, settings), settings, options) for p in sorted(src.iterdir())
    ]
    shownotes.html_to_pdf(documents[0], settings)  # warm: imports, fonts, stylesheets
    started = time.perf_counter()
    for html in documents:
        shownotes.html_to_pdf(html, settings)
    return time.perf_counter() - started


def _cli_loop(src: Path, work: Path) -> float | None:
    """What a user would otherwise write: pandoc then weasyprint, per post, in a shell loop."""
    weasyprint = shutil.which("weasyprint")
    if weasyprint is None:
        return None
    script = (
        'for f in "$SRC"/*; do b=$(basename "$f"); '
        f'"{pandoc_path()}" --sandbox -s -f commonmark_x -t html5 --metadata title=x "$f" -o "$OUT/$b.html" && '
        f'"{weasyprint}" -q "$OUT/$b.html" "$OUT/$b.pdf"; done'
    )
    started = time.perf_counter()
    subprocess.run(
        ["bash", "-c", script],
        env={"SRC": str(src), "OUT": str(work), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return time.perf_counter() - started


def run_bench(count: int, settings: Settings, keep: Path | None = None) -> BenchReport:
    """Build a synthetic archive of `count` posts several ways and compare."""
    report = BenchReport(count)
    root = Path(tempfile.mkdtemp(prefix="pipeline-bench-")) if keep is None else keep
    try:
        src = root / "posts"
        synthetic_archive(src, count)
        one = _timed(lambda: build(src, root / "out1", settings, jobs=1))
        two = _timed(lambda: build(src, root / "out2", settings, jobs=2))
        assert one.summary is not None
        assert two.summary is not None
        failed = len(one.summary.failed) + len(two.summary.failed)
        if failed:
            report.notes.append(f"{failed} post build(s) failed: the figures are not comparable")
        report.figures["full_1_worker"] = one.seconds
        report.figures["full_2_workers"] = two.seconds
        report.stages = _stage_medians(one.summary)
        noop_seconds, imported, built = _noop_in_fresh_process(src, root / "out2")
        report.figures["noop"] = noop_seconds
        report.notes.append(
            f"no-op rebuild: built {built}, imported WeasyPrint: {'yes' if imported else 'no'}"
        )
        first = sorted(src.iterdir())[0]
        first.write_text(first.read_text("utf-8") + "\nOne more sentence for the benchmark.\n", "utf-8")
        report.figures["one_change"] = _timed(lambda: build(src, root / "out2", settings, jobs=2)).seconds
        report.figures["floor_weasyprint"] = _floor(src, settings)
        (root / "cli").mkdir(exist_ok=True)
        cli = _cli_loop(src, root / "cli")
        if cli is None:
            report.notes.append("weasyprint command not on PATH: CLI loop skipped")
        else:
            report.figures["cli_loop"] = cli
            report.figures["speedup_vs_cli_loop"] = cli / one.seconds
        report.figures["ratio_vs_floor"] = one.seconds / report.figures["floor_weasyprint"]
        report.figures["speedup_2_workers"] = one.seconds / two.seconds
        report.figures["peak_rss_main_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        report.figures["peak_rss_workers_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return report
