"""`invoke bench`: a synthetic archive shaped like the real posts, timed end to end.

Reports wall time, posts/s, per-stage medians, peak memory, and two ratios measured side by
side in the same run: against WeasyPrint alone in one warm process (the floor) and against a
per-post shell loop of the pandoc and weasyprint command-line tools.

One function per measurement (`measure_*`), run in the order of MEASUREMENTS over one shared
`BenchRun`; each adds its figures and notes to the `BenchReport`. A new measurement is one
more function and one more entry there; a figure `BenchReport.lines` does not know is listed
after the known ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.builder.run import build
from pipeline.builder.workers import fewer_collections
from pipeline.errors import PipelineError
from pipeline.pandoc.convert import pandoc_path
from pipeline.results import BuildSummary
from pipeline.settings.config import TEMPLATES_DIR, Settings
from pipeline.source.discovery import discover

from . import REPOSITORY

PROJECT_DIR = REPOSITORY  # the fresh interpreters run here, so `devtools` imports
SAMPLES_DIR = PROJECT_DIR / "samples"

# With no flags `invoke bench` is a quick look (about 20 s on the 2-core development machine,
# under a minute when it is busy); the figures in docs/speed.md come from the big runs of FULL_RUN.
DEFAULT_POSTS = 10
DEFAULT_REPEAT = 1
DEFAULT_NOOP_POSTS = 100
DEFAULT_CLI_POSTS = 3
FULL_RUN = "--posts 100 --repeat 3 --noop-posts 1000 --cli-posts 100"


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
class BenchReport:
    posts: int
    repeat: int
    figures: dict[str, float] = field(default_factory=dict)
    stages: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        f = self.figures
        shown: set[str] = set()
        out = [
            f"synthetic archive: {self.posts} posts (cycled from samples/); "
            f"medians of {self.repeat} runs, each build in a fresh interpreter"
        ]
        rates = (
            "full_1_worker",
            "full_2_workers",
            "pdf_only_1_worker",
            "floor_weasyprint",
            "floor_weasyprint_build_gc",
            "cli_loop",
        )
        for key in (*rates, "startup_weasyprint", "noop", "one_change", "noop_archive"):
            if key in f:
                shown.add(key)
                rate = f"  ({self.posts / f[key]:.1f} posts/s)" if key in rates else ""
                out.append(f"  {key:<22} {f[key]:8.3f} s{rate}")
        out.append(
            "per-post stage medians of the 1-worker builds (ms): "
            + ", ".join(f"{k} {v * 1000:.1f}" for k, v in sorted(self.stages.items()))
        )
        for key in (
            "ratio_vs_floor",
            "ratio_vs_floor_after_startup",
            "ratio_pdf_only_vs_floor",
            "ratio_vs_floor_build_gc",
            "speedup_2_workers",
            "speedup_vs_cli_loop",
        ):
            if key in f:
                shown.add(key)
                out.append(f"  {key:<30} {f[key]:.2f}")
        for key in ("peak_rss_half_mb", "peak_rss_full_mb", "peak_rss_pandoc_mb", "peak_rss_2_workers_mb"):
            if key in f:
                shown.add(key)
                out.append(f"  {key:<30} {f[key]:.0f}")
        # A new measurement's figures: seconds end in `_s`, milliseconds in `_ms`, sizes in `_mb`.
        out += [f"  {key:<30} {f[key]:.3f}" for key in f if key not in shown]
        out += [f"  note: {n}" for n in self.notes]
        return out


@dataclass
class ChildBuild:
    """What a build in a fresh interpreter reported."""

    seconds: float  # the whole interpreter, start to exit, as the user waits for it
    built: int
    failed: int
    weasyprint_imported: bool
    peak_rss_mb: float  # the build's own process
    peak_rss_children_mb: float  # its largest child: a worker, or a pandoc process
    stages: dict[str, float]


def child_build(src: str, out: str, jobs: int, only: str = "", config: str = "") -> None:
    """Run one build and print its figures as JSON (called in a fresh interpreter)."""
    from pipeline.settings.config import load_settings
    from pipeline.settings.site import find_settings

    # as `episode build --config` reads it: a site's `templates/` beside the file included
    settings = find_settings(config, env={}) if config else load_settings(None)
    started = time.perf_counter()
    summary = build(Path(src), Path(out), settings, jobs=jobs, only=only.split(",") if only else None)
    figures = {
        "seconds": time.perf_counter() - started,
        "built": summary.count("built"),
        "failed": len(summary.failed),
        "weasyprint_imported": "weasyprint" in sys.modules,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "stages": _stage_medians(summary),
    }
    sys.stdout.write(json.dumps(figures) + "\n")


def _in_fresh_interpreter(call: str) -> tuple[str, float]:
    """Run `devtools.bench.<call>` in a new Python; its last line of output, and the wall time."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", f"from devtools import bench; bench.{call}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_DIR,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise PipelineError(f"a benchmark build failed: {detail}")
    return done.stdout.strip().splitlines()[-1], wall


def _fresh_build(src: Path, out: Path, jobs: int, only: str = "", config: str = "") -> ChildBuild:
    line, wall = _in_fresh_interpreter(
        f"child_build({str(src)!r}, {str(out)!r}, {jobs}, {only!r}, {config!r})"
    )
    return ChildBuild(**{**json.loads(line), "seconds": wall})


def _stage_medians(summary: BuildSummary) -> dict[str, float]:
    stages: dict[str, list[float]] = {}
    for result in summary.results:
        for stage, seconds in result.timings.items():
            stages.setdefault(stage, []).append(seconds)
    return {stage: statistics.median(values) for stage, values in stages.items()}


def _pdf_documents(src: Path, settings: Settings) -> list[tuple[str, str]]:
    """Each post's print HTML and its stem (the PDF's identifier), as the build makes them."""
    from pipeline.formats.pdf import show_notes
    from pipeline.formats.pdf.options import pdf_options
    from pipeline.normalize.stages import normalize_file

    options = pdf_options(settings)
    posts, _ = discover(src)  # samples/ holds its episode.toml beside the posts
    episodes = (normalize_file(p, settings) for p in posts)
    return [(show_notes.episode_html(e, settings, options), e.stem) for e in episodes]


def render_alone(html: str, settings: Settings, identifier: str = "show-notes") -> bytes:
    """One PDF by WeasyPrint alone: its own URL fetcher, none of the build's checks around it.

    The same HTML, stylesheets, font configuration and `write_pdf` options as the build's
    `pdf_engine.html_to_pdf`, so the same PDF; without the locked-down fetcher, the warning
    capture and the time limit, whose cost belongs to the build, not to the floor.
    """
    import weasyprint

    from pipeline.formats.pdf import engine as pdf_engine
    from pipeline.formats.pdf.options import pdf_options

    options = pdf_options(settings)
    document = weasyprint.HTML(string=html, base_url=pdf_engine.BASE_URL)
    pdf: bytes = document.write_pdf(**pdf_engine.write_pdf_options(options, identifier))
    return pdf


def child_floor(src: str, config: str = "", tuned_gc: bool = False) -> None:
    """Print the floor: the same PDFs rendered by WeasyPrint alone in this (fresh) process, warm.

    The HTML is prepared before the clock starts. `tuned_gc`: with the build's garbage-collector
    threshold instead of Python's default.
    """
    from pipeline.settings.config import load_settings

    settings = load_settings(Path(config) if config else None)
    documents = _pdf_documents(Path(src), settings)
    render_alone(documents[0][0], settings)  # warm: imports, fonts, stylesheets
    with fewer_collections() if tuned_gc else contextlib.nullcontext():
        started = time.perf_counter()
        for html, stem in documents:
            render_alone(html, settings, stem)
        seconds = time.perf_counter() - started
    sys.stdout.write(json.dumps(seconds) + "\n")


def _floor(src: Path, config: str, tuned_gc: bool = False) -> float:
    return float(json.loads(_in_fresh_interpreter(f"child_floor({str(src)!r}, {config!r}, {tuned_gc})")[0]))


def child_startup(config: str = "") -> None:
    """Print what WeasyPrint costs once per process: the import and the first render's extra time."""
    from pipeline.settings.config import load_settings

    settings = load_settings(Path(config) if config else None)
    documents = _pdf_documents(SAMPLES_DIR, settings)
    started = time.perf_counter()
    from pipeline.formats.pdf import engine as pdf_engine

    pdf_engine.warm_up(settings)  # the import and the stylesheets: what any first render pays
    imported = time.perf_counter()
    pdf_engine.html_to_pdf(documents[0][0], settings)
    first = time.perf_counter()
    again = []
    for _ in range(3):
        begin = time.perf_counter()
        pdf_engine.html_to_pdf(documents[0][0], settings)
        again.append(time.perf_counter() - begin)
    extra = (first - imported) - statistics.median(again)
    sys.stdout.write(json.dumps((imported - started) + extra) + "\n")


def _startup(config: str) -> float:
    return float(json.loads(_in_fresh_interpreter(f"child_startup({config!r})")[0]))


def _cli_loop(src: Path, work: Path, count: int) -> float | None:
    """What a user would otherwise write: pandoc then weasyprint, per post, in a shell loop.

    Over the first `count` posts only: each post costs the loop the same (two programs started
    per post), so its per-post time at 100 posts is its per-post time at 1,000.
    """
    weasyprint = shutil.which("weasyprint")
    if weasyprint is None:
        return None
    sample = work / "cli-posts"
    sample.mkdir()
    for path in sorted(src.iterdir())[:count]:
        shutil.copyfile(path, sample / path.name)
    src = sample
    script = (
        'for f in "$SRC"/*; do b=$(basename "$f"); '
        f'"{pandoc_path()}" --sandbox -s -f commonmark_x -t html5 --metadata title=x '
        '"$f" -o "$OUT/$b.html" && '
        f'"{weasyprint}" -q "$OUT/$b.html" "$OUT/$b.pdf"; done'
    )
    started = time.perf_counter()
    subprocess.run(
        ["bash", "-c", script],
        env={"SRC": str(src), "OUT": str(work), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return time.perf_counter() - started


def _noop_archive(root: Path, count: int, repeat: int, config: str) -> tuple[float, ChildBuild]:
    """A no-op rebuild of `count` posts: median seconds, and the last run's figures.

    The archive is built once with the fast formats only (a full build of 1,000 posts takes
    minutes); deciding to skip a post reads the same manifest whatever the formats.
    """
    src, out = root / "noop-posts", root / "noop-out"
    synthetic_archive(src, count)
    _fresh_build(src, out, 2, "post,chapters", config)
    runs = [_fresh_build(src, out, 2, "post,chapters", config) for _ in range(repeat)]
    return statistics.median(r.seconds for r in runs), runs[-1]


def _clean_build(src: Path, root: Path, jobs: int, config: str, only: str = "") -> ChildBuild:
    out = root / f"out-{jobs}-{only or 'all'}"
    run = _fresh_build(src, out, jobs, only, config)
    shutil.rmtree(out, ignore_errors=True)
    return run


@dataclass
class BenchRun:
    """What every measurement of one `invoke bench` shares: the archive, its size, the settings."""

    root: Path  # a scratch folder, removed at the end unless kept
    src: Path  # the synthetic archive of `count` posts
    count: int
    repeat: int
    settings: Settings
    config: str  # the settings file, for the fresh interpreters ("" for the defaults)
    noop_posts: int
    cli_posts: int
    full_builds: list[ChildBuild] = field(default_factory=list)  # the 1-worker builds, for others


Measurement = Callable[[BenchRun, BenchReport], None]


def measure_full_builds(run: BenchRun, report: BenchReport) -> None:
    """Full builds (1 and 2 workers, `--only pdf`) against the floor, interleaved run by run."""
    ones, twos, pdfs, floors, tuned = [], [], [], [], []
    for _ in range(run.repeat):  # interleaved, so a noisy neighbour hits each side alike
        ones.append(_clean_build(run.src, run.root, 1, run.config))
        twos.append(_clean_build(run.src, run.root, 2, run.config))
        pdfs.append(_clean_build(run.src, run.root, 1, run.config, "pdf"))
        floors.append(_floor(run.src, run.config))
        tuned.append(_floor(run.src, run.config, tuned_gc=True))
    run.full_builds = ones
    one = statistics.median(r.seconds for r in ones)
    two = statistics.median(r.seconds for r in twos)
    pdf_only = statistics.median(r.seconds for r in pdfs)
    floor = statistics.median(floors)
    floor_tuned = statistics.median(tuned)
    failed = sum(r.failed for r in ones + twos)
    if failed:
        report.notes.append(f"{failed} post build(s) failed: the figures are not comparable")
    report.figures |= {"full_1_worker": one, "full_2_workers": two, "floor_weasyprint": floor}
    report.stages = {
        stage: statistics.median(r.stages[stage] for r in ones if stage in r.stages)
        for stage in ones[0].stages
    }
    report.figures["ratio_vs_floor"] = one / floor
    report.figures["floor_weasyprint_build_gc"] = floor_tuned
    report.figures["ratio_vs_floor_build_gc"] = one / floor_tuned
    report.figures["pdf_only_1_worker"] = pdf_only
    report.figures["ratio_pdf_only_vs_floor"] = pdf_only / floor
    report.figures["speedup_2_workers"] = one / two
    report.figures["peak_rss_full_mb"] = statistics.median(r.peak_rss_mb for r in ones)
    report.figures["peak_rss_pandoc_mb"] = statistics.median(r.peak_rss_children_mb for r in ones)
    report.figures["peak_rss_2_workers_mb"] = statistics.median(r.peak_rss_children_mb for r in twos)
    report.notes.append(
        "floor_weasyprint runs with Python's default garbage-collector threshold; "
        "floor_weasyprint_build_gc with the build's (workers.GC_THRESHOLD)"
    )
    report.notes.append("pdf_only_1_worker: `--only pdf` (post.md is always written too)")


def measure_startup(run: BenchRun, report: BenchReport) -> None:
    """What WeasyPrint costs once per process, and the full build's ratio to the floor without it."""
    startup = _startup(run.config)
    report.figures["startup_weasyprint"] = startup
    if "full_1_worker" in report.figures:
        one, floor = report.figures["full_1_worker"], report.figures["floor_weasyprint"]
        report.figures["ratio_vs_floor_after_startup"] = (one - startup) / floor
    report.notes.append(
        "startup_weasyprint: importing WeasyPrint plus its first render's extra time, paid once "
        "per process; the floor is measured warm, so it has none"
    )


def measure_rebuilds(run: BenchRun, report: BenchReport) -> None:
    """A no-op rebuild of the archive, then a rebuild after one post changed (it edits that post)."""
    out = run.root / "out"
    _fresh_build(run.src, out, 2, config=run.config)
    noop = [_fresh_build(run.src, out, 2, config=run.config) for _ in range(run.repeat)]
    report.figures["noop"] = statistics.median(r.seconds for r in noop)
    first = sorted(run.src.iterdir())[0]
    first.write_text(first.read_text("utf-8") + "\nOne more sentence for the benchmark.\n", "utf-8")
    report.figures["one_change"] = _fresh_build(run.src, out, 2, config=run.config).seconds
    report.notes.append(
        f"noop: built {noop[-1].built}, imported WeasyPrint: "
        f"{'yes' if noop[-1].weasyprint_imported else 'no'}"
    )


def measure_half_archive_memory(run: BenchRun, report: BenchReport) -> None:
    """Peak memory of a 1-worker build of half the archive (memory must stay flat with size)."""
    half = run.root / "half"
    synthetic_archive(half, run.count // 2)
    halves = _fresh_build(half, run.root / "out-half", 1, config=run.config)
    report.figures["peak_rss_half_mb"] = halves.peak_rss_mb


def measure_noop_archive(run: BenchRun, report: BenchReport) -> None:
    """A no-op rebuild of a large archive of `noop_posts` posts (skipped when 0)."""
    if not run.noop_posts:
        return
    seconds, last = _noop_archive(run.root, run.noop_posts, run.repeat, run.config)
    report.figures["noop_archive"] = seconds
    report.notes.append(
        f"noop_archive: no-op rebuild of {run.noop_posts} posts: built {last.built}, "
        f"imported WeasyPrint: {'yes' if last.weasyprint_imported else 'no'}"
    )


def measure_cli_loop(run: BenchRun, report: BenchReport) -> None:
    """The pandoc + weasyprint shell loop over the first `cli_posts` posts, scaled to the archive."""
    sampled = min(run.count, run.cli_posts)
    cli = _cli_loop(run.src, run.root, sampled) if sampled else None
    if cli is None:
        report.notes.append("CLI loop skipped (no weasyprint command on PATH, or --cli-posts 0)")
        return
    report.figures["cli_loop"] = cli * run.count / sampled
    if "full_1_worker" in report.figures:
        one = report.figures["full_1_worker"]
        report.figures["speedup_vs_cli_loop"] = (cli / sampled) / (one / run.count)
    if sampled < run.count:
        report.notes.append(
            f"cli_loop: timed over the first {sampled} posts ({cli:.1f} s) and scaled to "
            f"{run.count}; the loop pays the same per post however long the archive"
        )


def measure_template_edit(run: BenchRun, report: BenchReport) -> None:
    """Edit a site's own newsletter template: only newsletters are rendered again, no PDF."""
    site = run.root / "site"
    (site / "templates").mkdir(parents=True, exist_ok=True)
    settings_file = site / "episode.toml"
    settings_file.write_bytes(Path(run.config).read_bytes() if run.config else b"")
    template = site / "templates" / "newsletter.txt.j2"
    template.write_bytes((TEMPLATES_DIR / "newsletter.txt.j2").read_bytes())
    out = run.root / "out-template"
    _fresh_build(run.src, out, 2, config=str(settings_file))
    pdfs = {p: p.stat().st_mtime_ns for p in out.glob("*/show-notes.pdf")}
    runs = []
    for n in range(run.repeat):
        template.write_text(f"Edition {n}.\n\n" + (TEMPLATES_DIR / "newsletter.txt.j2").read_text("utf-8"))
        runs.append(_fresh_build(run.src, out, 2, config=str(settings_file)))
    rewritten = sum(1 for p, stamp in pdfs.items() if p.stat().st_mtime_ns != stamp)
    report.figures["template_edit_s"] = statistics.median(r.seconds for r in runs)
    report.notes.append(
        f"template_edit_s: the newsletter template of a site edited, {run.count} posts, 2 workers: "
        f"built {runs[-1].built}, PDFs rewritten {rewritten} of {len(pdfs)}"
    )
    shutil.rmtree(out, ignore_errors=True)


DEEP = 20_000  # elements nested one in another: 30 s in an HTML parser, before the depth limit


def measure_deep_nesting(run: BenchRun, report: BenchReport) -> None:
    """What one post nested DEEP elements deep adds to a build of the archive (it must fail fast,
    not stall the others): the archive with and without it, interleaved, fast formats, 2 workers."""
    deep = run.root / "deep-posts"
    shutil.copytree(run.src, deep)
    (deep / "2020-01-01-deep.md").write_text(
        f"---\ntitle: Deep\ndate: 2020-01-01\n---\n{'<div>' * DEEP}x{'</div>' * DEEP}\n", "utf-8"
    )
    alone, beside = [], []
    for _ in range(run.repeat):
        alone.append(_clean_build(run.src, run.root, 2, run.config, "post,chapters"))
        beside.append(_clean_build(deep, run.root, 2, run.config, "post,chapters"))
    extra = statistics.median(r.seconds for r in beside) - statistics.median(r.seconds for r in alone)
    report.figures["deep_nesting_extra_s"] = extra
    report.notes.append(
        f"deep_nesting_extra_s: {run.count} posts with one nested {DEEP:,} elements deep, minus "
        f"without it (`--only post,chapters`); failed {beside[-1].failed} (the deep one)"
    )
    shutil.rmtree(deep, ignore_errors=True)


SERVE_EDITS = 20


def measure_serve_latency(run: BenchRun, report: BenchReport) -> None:
    """`episode serve`: from saving a post to its open page being told to reload, median of 20
    edits; first with every output but the PDF, then with the PDF."""
    from pipeline.preview.server import Preview
    from pipeline.source.discovery import safe_stem

    src = run.root / "serve-posts"
    synthetic_archive(src, 5)
    post = sorted(src.iterdir())[0]
    stem, text = safe_stem(post), post.read_text("utf-8")
    preview = Preview(str(src), str(run.root / "serve-out"), run.config or None, port=0, jobs=1)
    preview.start()
    quick: list[float] = []
    full: list[float] = []
    try:
        time.sleep(2.0)  # the warm-up thread imports WeasyPrint, as it does while a writer reads
        with preview.state.page_open(stem):
            for n in range(SERVE_EDITS):
                since = preview.state.generation
                started = time.perf_counter()
                post.write_text(text + f"\n\nEdit number {n}.\n", "utf-8")
                first = preview.state.wait(since, stem, 60)
                quick.append(time.perf_counter() - started)
                second = preview.state.wait(first or since, stem, 60)
                full.append(time.perf_counter() - started)
                if first is None or second is None:
                    report.notes.append("serve latency: a rebuild did not arrive within 60 s")
                    return
                time.sleep(0.2)
    finally:
        preview.stop()
    report.figures["serve_without_pdf_ms"] = statistics.median(quick) * 1000
    report.figures["serve_with_pdf_ms"] = statistics.median(full) * 1000
    report.notes.append(
        f"serve_*_ms: medians of {SERVE_EDITS} edits of one post, saved to page told to reload "
        f"(without the PDF: max {max(quick) * 1000:.0f} ms; with it: max {max(full) * 1000:.0f} ms)"
    )


# In this order: `measure_rebuilds` edits a post after the full builds and the CLI loop reads
# the archive as it then is (the edit does not change its cost).
MEASUREMENTS: tuple[Measurement, ...] = (
    measure_full_builds,
    measure_startup,
    measure_rebuilds,
    measure_half_archive_memory,
    measure_noop_archive,
    measure_cli_loop,
    measure_template_edit,
    measure_deep_nesting,
    measure_serve_latency,
)


def run_bench(
    count: int = DEFAULT_POSTS,
    settings: Settings | None = None,
    repeat: int = DEFAULT_REPEAT,
    noop_posts: int = DEFAULT_NOOP_POSTS,
    keep: Path | None = None,
    cli_posts: int = DEFAULT_CLI_POSTS,
    measurements: Sequence[Measurement] = MEASUREMENTS,
) -> BenchReport:
    """Build a synthetic archive of `count` posts several ways and compare, side by side."""
    report = BenchReport(count, repeat)
    settings = settings or Settings()
    config = settings.source if Path(settings.source).is_file() else ""  # for the fresh interpreters
    root = Path(tempfile.mkdtemp(prefix="pipeline-bench-")) if keep is None else keep
    try:
        src = root / "posts"
        synthetic_archive(src, count)
        run = BenchRun(root, src, count, repeat, settings, config, noop_posts, cli_posts)
        for measure in measurements:
            measure(run, report)
        if count < 100 or repeat < 3:
            report.notes.append(f"a quick run: docs/speed.md's figures come from `invoke bench {FULL_RUN}`")
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return report
