"""What a rebuild renders: each output has its own fingerprint, failures that would recur are
remembered, the posts asked for come first, and worker processes are recycled."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.builder import fingerprints, workers
from pipeline.builder.run import build
from pipeline.results import PostResult, Reporter
from pipeline.settings.config import TEMPLATES_DIR, Settings
from pipeline.source.discovery import safe_stem

from .conftest import CORPUS, ROOT

LIGHT = ["post", "chapters", "newsletter", "youtube", "podcast"]


def _posts(tmp_path: Path, count: int = 2, pattern: str = "*.markdown") -> Path:
    src = tmp_path / "posts"
    src.mkdir()
    for path in sorted((CORPUS / "imported").glob(pattern))[:count]:
        shutil.copy(path, src / path.name)
    return src


TWO_PAGES = "2024-10-25-*"  # a post whose show notes take two pages


def _stamps(out: Path, name: str) -> dict[str, tuple[int, int]]:
    return {p.parent.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob(f"*/{name}")}


def _rendered(summary_results: list[PostResult]) -> set[tuple[str, ...]]:
    return {tuple(r.rendered) for r in summary_results if r.status == "built"}


@pytest.fixture
def site_settings(tmp_path: Path, settings: Settings) -> Settings:
    """The samples' settings with a site `templates/` folder holding its own newsletter text."""
    overrides = tmp_path / "templates"
    overrides.mkdir()
    shutil.copy(TEMPLATES_DIR / "newsletter.txt.j2", overrides / "newsletter.txt.j2")
    return replace(settings, template_overrides=str(overrides))


def test_editing_the_newsletter_template_rebuilds_newsletters_only(
    tmp_path: Path, site_settings: Settings
) -> None:
    src, out = _posts(tmp_path), tmp_path / "out"
    build(src, out, site_settings, jobs=1)
    pdfs, posts = _stamps(out, "show-notes.pdf"), _stamps(out, "post.md")
    assert len(pdfs) == 2
    template = Path(site_settings.template_overrides) / "newsletter.txt.j2"
    template.write_text("Our own text edition.\n\n" + template.read_text())

    summary = build(src, out, site_settings, jobs=1)

    assert summary.count("built") == 2
    assert _rendered(summary.results) == {("newsletter",)}
    assert _stamps(out, "show-notes.pdf") == pdfs  # not one PDF written again
    assert _stamps(out, "post.md") == posts
    assert all(p.read_text().startswith("Our own text edition.") for p in out.glob("*/newsletter.txt"))
    # the folder still holds every output, and a clean build gives the same bytes
    build(src, tmp_path / "clean", site_settings, jobs=1)
    for folder in out.iterdir():
        if folder.is_dir():
            clean = tmp_path / "clean" / folder.name
            assert {p.name: p.read_bytes() for p in folder.iterdir()} == {
                p.name: p.read_bytes() for p in clean.iterdir()
            }


def test_a_format_table_rebuilds_that_format_and_a_post_edit_rebuilds_all(
    tmp_path: Path, settings: Settings
) -> None:
    src, out = _posts(tmp_path), tmp_path / "out"
    build(src, out, settings, jobs=1, only=LIGHT)
    tagged = replace(settings, formats={**settings.formats, "youtube": {"hashtags": ["podcast"]}})
    summary = build(src, out, tagged, jobs=1, only=LIGHT)
    assert _rendered(summary.results) == {("youtube",)}
    assert all("#podcast" in p.read_text() for p in out.glob("*/youtube.txt"))

    edited = sorted(src.iterdir())[0]
    edited.write_text(edited.read_text() + "\n\nA closing line, added later.\n")
    summary = build(src, out, tagged, jobs=1, only=LIGHT)
    assert [(Path(r.source).name, tuple(r.rendered)) for r in summary.results if r.status == "built"] == [
        (edited.name, tuple(LIGHT))
    ]


def test_only_leaves_the_other_outputs_and_a_full_build_completes_them(
    tmp_path: Path, settings: Settings
) -> None:
    src, out = _posts(tmp_path, 1), tmp_path / "out"
    build(src, out, settings, jobs=1, only=LIGHT)
    edited = next(src.iterdir())
    edited.write_text(edited.read_text() + "\n\nA closing line, added later.\n")
    build(src, out, settings, jobs=1, only=["newsletter"])
    folder = next(p for p in out.iterdir() if p.is_dir())
    assert "A closing line" in (folder / "newsletter.txt").read_text()
    assert "A closing line" not in (folder / "youtube.txt").read_text()  # kept, not deleted
    summary = build(src, out, settings, jobs=1, only=LIGHT)
    assert _rendered(summary.results) == {("chapters", "youtube", "podcast")}
    assert "A closing line" in (folder / "youtube.txt").read_text()


def test_a_failure_that_would_recur_is_reported_again_without_rendering(
    tmp_path: Path, settings: Settings
) -> None:
    src, out = _posts(tmp_path, 1, TWO_PAGES), tmp_path / "out"
    one_page = replace(settings, formats={**settings.formats, "pdf": {"max_pages": 1}})
    first = build(src, out, one_page, jobs=1)
    assert first.failed and "1-page limit" in (first.failed[0].error or "")
    assert not first.failed[0].remembered

    again = build(src, out, one_page, jobs=1)
    [result] = again.failed
    assert result.remembered and not result.timings  # nothing converted, nothing rendered
    assert "1-page limit" in (result.error or "") and "--force tries again" in (result.error or "")

    forced = build(src, out, one_page, jobs=1, force=True)
    assert forced.failed and not forced.failed[0].remembered and forced.failed[0].timings
    assert build(src, out, settings, jobs=1).count("built") == 1  # other settings: tried, and fine


def test_a_time_limit_is_never_remembered(tmp_path: Path, settings: Settings) -> None:
    src, out = _posts(tmp_path, 1), tmp_path / "out"
    hurried = replace(settings, formats={**settings.formats, "pdf": {"timeout": 0.001}})
    first = build(src, out, hurried, jobs=1)
    assert first.failed and "pdf.timeout" in (first.failed[0].error or "")
    again = build(src, out, hurried, jobs=1)
    assert again.failed and not again.failed[0].remembered and again.failed[0].timings


class _Order(Reporter):
    def __init__(self) -> None:
        self.built: list[str] = []

    def post_done(self, result: PostResult) -> None:
        if result.status == "built":
            self.built.append(Path(result.source).name)


@pytest.mark.parametrize("jobs", [1, 2])
def test_posts_asked_for_first_are_built_first(tmp_path: Path, settings: Settings, jobs: int) -> None:
    src = _posts(tmp_path, 4)
    last = sorted(src.iterdir())[-1]
    order = _Order()
    build(src, tmp_path / "out", settings, jobs=jobs, only=["post"], first=[safe_stem(last)], reporter=order)
    assert order.built[0] == last.name and len(order.built) == 4


def test_workers_are_recycled_after_a_number_of_posts(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _posts(tmp_path, 5)
    monkeypatch.setattr(workers, "RECYCLE_AFTER", 1)  # the main process decides: no fork needed
    summary = build(src, tmp_path / "out", settings, jobs=2, only=["post"])
    assert summary.count("built") == 5
    # two posts a pool, then new workers: more processes than two rendered the five posts
    assert len({r.worker for r in summary.results}) > 2


def test_a_worker_over_the_memory_limit_is_replaced(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "posts"
    src.mkdir()
    corpus = sorted((CORPUS / "imported").glob("*.markdown"))
    for n in range(20):  # more than the posts handed to the first workers before any comes back
        shutil.copy(corpus[n % len(corpus)], src / f"2025-01-{n:02d}-{corpus[n % len(corpus)].name[11:]}")
    monkeypatch.setattr(workers, "MAX_WORKER_RSS", 1)  # every worker is "too large" after a post
    summary = build(src, tmp_path / "out", settings, jobs=2, only=["post"])
    assert summary.count("built") == 20
    assert all(r.worker_rss > 1 for r in summary.results)
    assert len({r.worker for r in summary.results}) > 2
    clean = build(src, tmp_path / "clean", settings, jobs=1, only=["post"])
    assert clean.count("built") == 20
    assert {p.relative_to(tmp_path / "out"): p.read_bytes() for p in (tmp_path / "out").glob("*/*")} == {
        p.relative_to(tmp_path / "clean"): p.read_bytes() for p in (tmp_path / "clean").glob("*/*")
    }


def test_a_forced_build_of_one_post_keeps_the_records_of_the_others(
    tmp_path: Path, settings: Settings
) -> None:
    """`--src ONE_POST --force` rebuilt that post and forgot every other: the next plain build
    rendered the whole archive again, PDFs included. Only `--prune` removes records."""
    src, out = tmp_path / "posts", tmp_path / "out"
    src.mkdir()
    for path in sorted((CORPUS / "imported").glob("*.markdown"))[:3]:
        shutil.copy(path, src / path.name)
    first = build(src, out, settings, jobs=1, only=["post", "chapters"])
    assert first.count("built") == 3
    one = sorted(src.iterdir())[0]
    forced = build(one, out, settings, jobs=1, only=["post", "chapters"], force=True)
    assert forced.count("built") == 1
    again = build(src, out, settings, jobs=1, only=["post", "chapters"])
    assert again.count("skipped") == 3 and again.count("built") == 0


# --- the code outputs are made with ------------------------------------------------------------


def _local_imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The package's modules `path` (the module `module`) imports, from its syntax tree."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            target = (
                (base + ("." + node.module if node.module else "")) if node.level else (node.module or "")
            )
            found |= {name for name in (target, *(f"{target}.{a.name}" for a in node.names)) if name in known}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
    return found


def test_no_module_outputs_are_made_with_is_left_out_of_the_fingerprint() -> None:
    """Every module that reading, normalizing, rendering or writing a post imports, at any depth,
    is hashed: the modules left out (`NOT_OUTPUT_CODE`) must be none of them."""
    package = fingerprints.PACKAGE_DIR
    files = {
        "pipeline." + ".".join(p.relative_to(package).with_suffix("").parts).removesuffix(".__init__"): p
        for p in package.rglob("*.py")
    }
    starts = ["pipeline.normalize.stages", "pipeline.builder.workers", "pipeline.builder.run"]
    starts += [name for name in files if name.startswith("pipeline.formats.")]
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_local_imports(files[module], module, set(files)))
    used = {files[name].relative_to(package).as_posix() for name in seen}
    assert {
        u
        for u in used
        if u in fingerprints.NOT_OUTPUT_CODE or u.split("/")[0] in fingerprints.NOT_OUTPUT_CODE
    } == set()
    assert (
        "normalize/stages.py" in used and "formats/newsletter/edition.py" in used
    )  # the walk follows imports


@pytest.fixture
def package_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the package's code that the fingerprints hash instead: a test edits it freely."""
    copy = tmp_path / "pipeline"
    shutil.copytree(fingerprints.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(fingerprints, "PACKAGE_DIR", copy)
    return copy


def test_editing_the_preview_or_sending_changes_no_fingerprint(
    settings: Settings, package_copy: Path
) -> None:
    copy = package_copy
    before = fingerprints.fingerprints(settings)
    for name in ("preview/server.py", "mail/sending.py", "youtube/publish.py", "importer/run.py"):
        (copy / name).write_text((copy / name).read_text() + "\n# an edit\n")
    assert fingerprints.fingerprints(settings) == before
    (copy / "normalize/stages.py").write_text((copy / "normalize/stages.py").read_text() + "\n# an edit\n")
    after = fingerprints.fingerprints(settings)
    assert after.shared != before.shared


def test_importing_one_module_of_the_package_loads_that_module_alone() -> None:
    code = (
        "import sys, pipeline.errors, pipeline.places; "
        "print(sorted(m for m in sys.modules if m.startswith('pipeline')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "['pipeline', 'pipeline.errors', 'pipeline.places']"


def test_editing_a_formats_own_helper_changes_that_formats_fingerprint_only(
    settings: Settings, package_copy: Path
) -> None:
    copy = package_copy
    before = fingerprints.fingerprints(settings)
    for helper, only in (
        ("pdf/engine.py", "pdf"),
        ("pdf/fetcher.py", "pdf"),
        ("newsletter/message.py", "newsletter"),
    ):
        (copy / "formats" / helper).write_text((copy / "formats" / helper).read_text() + "\n# an edit\n")
        after = fingerprints.fingerprints(settings)
        assert after.shared == before.shared
        assert {name for name in after.formats if after.formats[name] != before.formats[name]} == {only}
        before = after


def test_the_package_names_stay_what_they_are_once_every_module_is_loaded() -> None:
    code = (
        "import inspect, pipeline; first = {n: getattr(pipeline, n) for n in pipeline.__all__}; "
        "import pipeline.builder.run, pipeline.settings.config, pipeline.normalize.stages, pipeline.results; "
        "print(all(getattr(pipeline, n) is v and not inspect.ismodule(v) for n, v in first.items()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "True"
