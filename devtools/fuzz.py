"""Mutation fuzzing of the pipeline, deterministic for a given seed (`invoke fuzz`).

Seeds are the corpus posts and the broken and hostile fixtures under the repository's
`tests/fixtures/`. Each input is a seed with a few mutations (bit flips, deletions, repeats, a
splice of another seed, hostile snippets: `<script>`, `---`, `{{`, an unbalanced `[`, NUL, bidi
controls, huge numbers, comments and raw-text elements closed or not, inline images, HTML nested
300 deep…). The same seed gives the same inputs to every path through the code:

- `single`: one input at a time, `normalize_file` and each format's `render`, in memory;
- `batch`: rounds of inputs read and prepared, their bodies converted by one `convert.Batch`
  (one pandoc process), each compared with the same body converted alone, then normalized and
  rendered in memory;
- `stream`: rounds of inputs written as posts into a folder and built by the real
  `build.build` with one process (`--jobs 1`: pandoc converting ahead as a stream);
- `pool`: the same with two worker processes (`--jobs 2`).

An input passes when the pipeline refuses it with a PipelineError, as one line naming the post,
or renders outputs that keep the invariants: `youtube.txt` within 5000 bytes and free of `<`
`>`; no script-capable markup, event handler or `javascript:`/`vbscript:`/`data:` URL in an
HTML output; no bidi control in any output but `report.txt`, the PDF and the front matter that
`post.md` copies as written. A build round is also built twice (`--force`, two output folders)
and must write the same bytes both times, leave nothing half written (no `.<stem>.<pid>.new` or
`.old` folder, no `*.tmp` file, no folder for a post that failed, no file its result does not
list) and leave no pandoc scratch folder behind (a round is built again when the checkout's code
changed meanwhile: every digest covers the code). An internal error (anything but a
PipelineError, `PostResult.bug`) is always a finding.

A finding is saved as a reproducer: `<out>/<path>-<seed>-<n>/` (`n`: the number of the round's
first input) with the round's posts (`2024-01-01-fuzz.md` for `single`, `2024-01-01-fuzz-NN.md`
otherwise: build them with `invoke build --src <folder>`) and `problem.txt`, one line per problem.

No coverage guidance (atheris would add it; `check_input` takes bytes as its entry point needs).
"""

from __future__ import annotations

import contextlib
import difflib
import random
import re
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import pipeline
from pipeline.builder.output_folder import LEFTOVER
from pipeline.builder.run import build
from pipeline.errors import ConversionError, PipelineError
from pipeline.formats import load_format
from pipeline.model import Episode
from pipeline.normalize.stages import Prepared, normalize_file, normalize_prepared, prepare
from pipeline.pandoc.convert import Batch, body_to_ast, parse_raw
from pipeline.reports import describe, problem_line, shown_path
from pipeline.results import PostResult, error_diagnostic
from pipeline.settings.config import TEMPLATES_DIR, Settings
from pipeline.source.discovery import safe_stem
from pipeline.source.post_file import BIDI_CONTROLS, read_post

from . import REPOSITORY

FIXTURES = REPOSITORY / "tests" / "fixtures"
SEED_GLOBS = ("corpus/imported/*.markdown", "bad/*.md", "hostile/*.md")
CHEAP_FORMATS = ("post", "chapters", "newsletter", "youtube", "podcast")
POST_NAME = "2024-01-01-fuzz.md"
MAX_INPUT_BYTES = 256 * 1024
PATHS = ("single", "batch", "stream", "pool")
"""The paths through the code `--path` chooses from (`all`: each in turn)."""
ROUND = 8
"""Inputs per batch or build: two of the stream's pandoc batches (4, then 4), and enough posts to
keep two workers busy a few posts ahead."""
BUILD_JOBS = {"stream": 1, "pool": 2}
CODE_CHANGE_RETRIES = 3
"""Times a build round is tried again when the checkout's code changed while it ran."""


SNIPPETS = tuple(
    s.encode("utf-8")
    for s in (
        "<script>alert(1)</script>", "\n---\n", "---\n", "{{ site.url }}", "{{", "{% post_url x %}",
        "[", "]", "[x](javascript:alert(1))", "](", "\x00", "\u202e", "\u2066", "&#x202e;",
        "99999999999999999999999999999", "1e999", "-0", "\nduration: 99999999999999999999\n",
        "\nyoutubeID: 12345678901\n", "\ntitle: no\n", '<a href="jav&#x61;script:alert(1)">x</a>',
        "<img src=x onerror=alert(1)>", '<iframe src="https://x.test/">', "<table><td><a href=https://x.test>",
        "<p>", "</p>", "<!--", "\r", "\r\n", "\t", "\ufeff", "00:00 Start\n", "99:99 Bad\n",
        "- 1:00:00 Late\n", "## Chapters\n", "**", "`", "*", "_", "<", ">", "&amp;", "data:text/html,x",
        "http://", "https://x.test/?utm_source=a&r=1", "mailto:a@b.c", "*|UNSUB|*", "&", '"', "'",
        # what no reader sees: comments, raw-text elements (closed or not), in code and out
        "-->", "<!-- a note with words -->", "<!-- wp:paragraph -->", "\n<!-- open\n\nWords after.\n",
        "<script>", "</script>", "<style>p{color:red}", "<textarea>", "<xmp>", "<noembed>",
        "<noscript>", "<plaintext>", "<p>Use <code><script></code> here.</p>", "`<!--`",
        # inline images, and HTML nested past the depth limit (one snippet: 300 levels)
        "![alt](https://x.test/i.png)", '<img src="https://x.test/i.png" alt="pic">', "<div>" * 300,
        "<b><a href=https://x.test/1>one <b><a href=https://x.test/2>two",
    )
)  # fmt: skip
# The newsletter's own <head> has <style> and <meta>; none of these belongs in any output.
_DANGEROUS_TAGS = {"script", "iframe", "frame", "object", "embed", "applet", "form", "svg", "math", "base"}
_DANGEROUS_URL = re.compile(r"(javascript|vbscript|data):", re.I)


def load_seeds(root: Path = FIXTURES) -> list[bytes]:
    """The seed inputs, sorted by path; `{PORT}` in hostile posts becomes 9 (discard)."""
    paths = sorted(p for pattern in SEED_GLOBS for p in root.glob(pattern))
    if not paths:
        raise PipelineError(f"no seed posts under {root}", field="fuzz")
    return [p.read_bytes().replace(b"{PORT}", b"9") for p in paths]


def mutate(data: bytes, seeds: Sequence[bytes], rng: random.Random) -> bytes:
    """One to four random edits of `data`."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        op = rng.randrange(6)
        if op == 0 and out:
            out[min(at, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif op in (1, 2):
            out[at:at] = rng.choice(SNIPPETS) * rng.choice((1, 1, 1, 3, 200))
        elif op == 3:
            del out[at : at + rng.randint(1, 64)]
        elif op == 4:
            end = min(len(out), at + rng.randint(1, 256))
            out[at:at] = bytes(out[at:end]) * rng.randint(1, 20)
        else:
            other = rng.choice(seeds)
            out[at:] = other[rng.randint(0, len(other)) :]
    return bytes(out[:MAX_INPUT_BYTES])


def inputs(seed: int, seeds: Sequence[bytes]) -> Iterator[bytes]:
    """The endless, reproducible stream of inputs for one seed."""
    rng = random.Random(seed)
    while True:
        yield mutate(rng.choice(seeds), seeds, rng)


class _Attributes(HTMLParser):
    """Collects tag names and (tag, attribute, value) of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def invariant_problems(files: Mapping[str, bytes]) -> list[str]:
    """What is wrong with rendered outputs (empty when they keep every invariant)."""
    problems: list[str] = []
    youtube = files.get("youtube.txt")
    if youtube is not None:
        if len(youtube) > 5000:
            problems.append(f"youtube.txt: {len(youtube)} bytes, over 5000")
        if b"<" in youtube or b">" in youtube:
            problems.append("youtube.txt: contains < or >")
    for name, data in sorted(files.items()):
        if name.endswith(".pdf"):
            continue
        text = data.decode("utf-8", errors="replace")
        if name == "post.md" and text.startswith("---\n"):
            text = text[4:].partition("\n---\n")[2]  # the author's front matter is kept as written
        if name != "report.txt" and BIDI_CONTROLS.search(text):
            problems.append(f"{name}: contains a bidi control character")
        if not name.endswith(".html"):
            continue
        parser = _Attributes()
        parser.feed(text)
        parser.close()
        if bad_tags := sorted(parser.tags & _DANGEROUS_TAGS):
            problems.append(f"{name}: has <{'>, <'.join(bad_tags)}>")
        for tag, attribute, value in parser.attributes:
            squeezed = re.sub(r"[\x00-\x20]", "", value)
            if attribute.startswith("on") or _DANGEROUS_URL.match(squeezed):
                problems.append(f"{name}: <{tag} {attribute}={value[:60]!r}>")
    return problems


@dataclass
class FuzzReport:
    seed: int
    path: str = "single"
    tried: int = 0
    rendered: int = 0
    """Inputs that got through to outputs (the others were refused with a PipelineError)."""
    seconds: float = 0.0
    failures: list[Path] = field(default_factory=list)
    """The folder of each saved reproducer."""
    slow: list[Path] = field(default_factory=list)
    """Inputs that passed but took over `slow_seconds` each (saved too: a cost worth knowing)."""

    def lines(self) -> list[str]:
        rate = self.tried / self.seconds if self.seconds else 0.0
        head = (
            f"fuzz: {self.path}: seed {self.seed}: {self.tried} inputs in {self.seconds:.1f} s "
            f"({rate:.1f}/s), {self.rendered} rendered, "
        )
        return [
            head + f"{len(self.failures)} failure(s), {len(self.slow)} slow",
            *(f"  reproducer: {p}" for p in self.failures),
            *(f"  slow input: {p}" for p in self.slow),
        ]


@dataclass
class Outcome:
    """What one round of inputs did: how many were rendered, and what went wrong."""

    rendered: int = 0
    problems: list[str] = field(default_factory=list)
    """One line each (a traceback indented under its line), the post's file name in front."""

    def add(self, post: str, problem: str) -> None:
        self.problems.append(f"{post}: {problem}")


def _internal(exc: BaseException) -> str:
    """An unexpected exception as a finding: its line, then its traceback indented."""
    trace = "".join(traceback.format_exception(exc)).rstrip()
    return f"internal error: {type(exc).__name__}: {exc}\n" + _indent(trace)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _post_names(count: int) -> list[str]:
    return [POST_NAME] if count == 1 else [f"2024-01-01-fuzz-{i:02d}.md" for i in range(count)]


def _write_posts(folder: Path, datas: Sequence[bytes]) -> list[Path]:
    """The round's inputs as post files in a fresh `folder`."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = [folder / name for name in _post_names(len(datas))]
    for path, data in zip(paths, datas, strict=True):
        path.write_bytes(data)
    return paths


def _error_line_problem(exc: PipelineError, post: Path) -> str | None:
    """What is wrong with how a refused post is reported (None: one line, naming the post)."""
    text = str(exc)
    if "\n" in text or "\r" in text:
        return f"error message over several lines: {text!r}"
    line = problem_line(post, error_diagnostic(exc, post))
    if not line.startswith(shown_path(post)) or not line.partition(": error: ")[2].strip():
        return f"error line does not name the post or says nothing: {line!r}"
    return None


def _render_files(episode: Episode, settings: Settings, formats: Sequence[str]) -> dict[str, bytes]:
    """Every format's files of one episode, in memory."""
    files: dict[str, bytes] = {}
    for name in formats:
        files.update(load_format(name).render(episode, settings).files)
    return files


# --- single: normalize_file and render, in memory --------------------------------------------


def check_input(
    data: bytes, settings: Settings, formats: Sequence[str], folder: Path
) -> tuple[bool, str | None]:
    """Run one input through the pipeline: (were outputs rendered, what went wrong or None)."""
    path = folder / POST_NAME
    path.write_bytes(data)
    try:
        files = _render_files(normalize_file(path, settings), settings, formats)
    except PipelineError as exc:
        return False, _error_line_problem(exc, path)
    except Exception as exc:  # the point of fuzzing: anything but a PipelineError is a bug
        return False, _internal(exc)
    problems = invariant_problems(files)
    return True, "\n".join(problems) if problems else None


def check_single(datas: Sequence[bytes], settings: Settings, formats: Sequence[str], folder: Path) -> Outcome:
    outcome = Outcome()
    for data in datas:
        rendered, problem = check_input(data, settings, formats, folder)
        outcome.rendered += rendered
        if problem is not None and problem.startswith("internal error"):
            outcome.add(POST_NAME, problem)  # one line, its traceback indented under it
        elif problem is not None:
            for line in problem.splitlines():
                outcome.add(POST_NAME, line)
    return outcome


# --- batch: one pandoc process for a round of bodies -----------------------------------------


def _same_conversion(batched: object, alone: object) -> bool:
    """The batch gave a body what converting it alone gives: the same AST, or an error both ways."""
    if isinstance(batched, ConversionError) or isinstance(alone, ConversionError):
        return isinstance(batched, ConversionError) and isinstance(alone, ConversionError)
    return batched == alone


def _conversion(result: object) -> str:
    return f"error {result}" if isinstance(result, Exception) else "an AST"


def check_batch(datas: Sequence[bytes], settings: Settings, formats: Sequence[str], folder: Path) -> Outcome:
    """Read and prepare the round, convert its bodies in one `Batch`, normalize and render each."""
    outcome = Outcome()
    prepared: list[tuple[Path, Prepared]] = []
    for path in _write_posts(folder / "src", datas):
        try:
            prepared.append((path, prepare(read_post(path), settings)))
        except PipelineError as exc:
            if (problem := _error_line_problem(exc, path)) is not None:
                outcome.add(path.name, problem)
        except Exception as exc:
            outcome.add(path.name, _internal(exc))
    try:
        raws = Batch([(p.body, path) for path, p in prepared]).raw_results()
    except Exception as exc:  # the batch itself broke: every post of it is lost
        outcome.add("the batch", _internal(exc))
        return outcome
    if len(raws) != len(prepared):
        outcome.add("the batch", f"{len(raws)} results for {len(prepared)} bodies")
        return outcome
    for (path, post), raw in zip(prepared, raws, strict=True):
        ast = parse_raw(raw, path)
        try:
            alone: object = body_to_ast(post.body, path)
        except ConversionError as exc:
            alone = exc
        if not _same_conversion(ast, alone):
            outcome.add(
                path.name,
                f"converted in the batch: {_conversion(ast)}; alone: {_conversion(alone)}",
            )
        try:
            if isinstance(ast, ConversionError):
                raise ast
            files = _render_files(normalize_prepared(post, ast, settings), settings, formats)
        except PipelineError as exc:
            if (problem := _error_line_problem(exc, path)) is not None:
                outcome.add(path.name, problem)
            continue
        except Exception as exc:
            outcome.add(path.name, _internal(exc))
            continue
        outcome.rendered += 1
        for problem in invariant_problems(files):
            outcome.add(path.name, problem)
    return outcome


# --- stream and pool: the real build, twice ---------------------------------------------------


def _failure_problems(result: PostResult) -> list[str]:
    """What is wrong with how the build reported a post that failed (empty: one clean line)."""
    if result.bug is not None or "internal error" in (result.error or ""):
        trace = _indent(result.bug.rstrip()) if result.bug else ""
        return [f"{result.error}\n{trace}".rstrip()]
    if result.error is None or result.failure is None:
        return [f"failed without an error message: {result!r}"]
    if "\n" in result.error or "\r" in result.error:
        return [f"error message over several lines: {result.error!r}"]
    lines = describe(result, 1, 1, quiet=True)
    post = shown_path(result.source)
    if len(lines) != 1 or not lines[0].startswith(post) or not lines[0].partition(": error: ")[2].strip():
        return [f"error is not one line naming the post: {lines!r}"]
    return []


def _tree(out: Path) -> dict[str, bytes]:
    """Every file under `out` by its path there (symlinks as their target, marked)."""
    files: dict[str, bytes] = {}
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        if path.is_symlink():
            files[name] = b"-> " + str(path.readlink()).encode()
        elif path.is_file():
            files[name] = path.read_bytes()
    return files


def half_written(out: Path, results: Sequence[PostResult]) -> list[tuple[str, str]]:
    """(post, problem) for whatever a build left half done in `out`."""
    problems: list[tuple[str, str]] = []
    sources = {r.stem: Path(r.source).name for r in results}
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        leftover = LEFTOVER.match(path.name)
        if leftover is not None or path.name.endswith(".tmp"):
            stem = leftover["stem"] if leftover else name.partition("/")[0]
            problems.append((sources.get(stem, "the build"), f"left behind in the output folder: {name}"))
    for result in results:
        folder = out / result.stem
        post = Path(result.source).name
        if result.status == "failed" and (folder.exists() or folder.is_symlink()):
            problems.append((post, f"failed, yet its output folder exists: {sorted(_tree(folder))}"))
        elif result.status == "built":
            written = sorted(_tree(folder)) if folder.is_dir() else []
            if written != sorted(result.files):
                problems.append(
                    (post, f"output folder holds {written}, the build says {sorted(result.files)}")
                )
    return problems


def _code_state() -> tuple[tuple[str, int, int], ...]:
    """The name, size and time of each file of the pipeline's code and templates.

    Every output's digest covers the code (`pipeline.builder.fingerprints`): a file saved in the
    checkout between a round's two builds changes the manifest, which is no fault of the build.
    """
    found = []
    for root in (Path(pipeline.__file__).resolve().parent, TEMPLATES_DIR):
        for path in sorted(root.rglob("*")):
            if "__pycache__" not in path.parts and path.is_file():
                stat = path.stat()
                found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def check_build(
    datas: Sequence[bytes], settings: Settings, formats: Sequence[str], folder: Path, jobs: int
) -> Outcome:
    """Build the round twice with `build.build` (`--force`, two output folders) and compare."""
    outcome = Outcome()
    src = folder / "src"
    paths = _write_posts(src, datas)
    for _ in range(CODE_CHANGE_RETRIES):
        code = _code_state()
        summaries = []
        for side in ("a", "b"):
            out = folder / f"out-{side}"
            shutil.rmtree(out, ignore_errors=True)
            try:
                summaries.append(build(src, out, settings, jobs=jobs, force=True, only=formats))
            except PipelineError as exc:  # the posts' fault, yet the whole build stopped
                outcome.add("the build", f"stopped with an error naming no post: {exc}")
                return outcome
            except Exception as exc:
                outcome.add("the build", _internal(exc))
                return outcome
        stable = _code_state() == code
        if stable:
            break
    first, second = summaries
    names = {str(p): p.name for p in paths}
    for result in first.results:
        post = names.get(result.source, Path(result.source).name)
        if result.status == "failed":
            for problem in _failure_problems(result):
                outcome.add(post, problem)
        elif result.status == "built":
            outcome.rendered += 1
            files = {n: (folder / "out-a" / result.stem / n).read_bytes() for n in result.files}
            for problem in invariant_problems(files):
                outcome.add(post, problem)
        else:
            outcome.add(post, f"{result.status} in a forced build")
    for side, summary in zip(("a", "b"), summaries, strict=True):
        for post, problem in half_written(folder / f"out-{side}", summary.results):
            outcome.add(post, problem)
    if not stable:  # the pipeline's code was being edited meanwhile: the two builds may differ
        return outcome
    # Deterministic: the same posts built twice give the same results and the same bytes.
    stems = {safe_stem(p): p.name for p in paths}
    for one, two in zip(first.results, second.results, strict=True):
        if (one.source, one.status, one.error) != (two.source, two.status, two.error):
            post = Path(one.source).name
            outcome.add(post, f"built twice: {one.status} {one.error!r}, then {two.status} {two.error!r}")
    tree_a, tree_b = _tree(folder / "out-a"), _tree(folder / "out-b")
    for name in sorted(set(tree_a) | set(tree_b)):
        if tree_a.get(name) != tree_b.get(name):
            post = stems.get(name.partition("/")[0], "the build")
            outcome.add(
                post, f"built twice, {name} differs: {_difference(tree_a.get(name), tree_b.get(name))}"
            )
    return outcome


def _difference(first: bytes | None, second: bytes | None, lines: int = 6) -> str:
    """How two builds' bytes of one file differ, shortly: a few lines of a diff for text."""
    if first is None or second is None:
        return f"written by the {'second' if first is None else 'first'} build only"
    try:
        a, b = first.decode("utf-8").splitlines(), second.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return f"{len(first)} bytes, then {len(second)} bytes"
    changed = [
        line[:200]
        for line in difflib.unified_diff(a, b, "first", "second", n=0, lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n" + _indent("\n".join(changed[:lines]))


# --- the run -----------------------------------------------------------------------------------


Check = Callable[[Sequence[bytes], Settings, Sequence[str], Path], Outcome]


def checker(path: str) -> tuple[Check, int]:
    """The check of one path and how many inputs it takes at a time."""
    if path == "single":
        return check_single, 1
    if path == "batch":
        return check_batch, ROUND
    if path in BUILD_JOBS:
        return partial(check_build, jobs=BUILD_JOBS[path]), ROUND
    raise PipelineError(f"unknown path {path!r}; choose from {', '.join((*PATHS, 'all'))}", field="--path")


def paths_of(choice: str) -> tuple[str, ...]:
    """The paths `--path` names: one of PATHS, or `all` for each in turn."""
    if choice == "all":
        return PATHS
    checker(choice)  # an unknown name is one line
    return (choice,)


@contextlib.contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    """Temporary files (pandoc's scratch folders) go to `folder` for a while, so that what a
    round leaves behind is seen, and only this run's: another build's never counts."""
    folder.mkdir()
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = previous


def _save(folder: Path, datas: Sequence[bytes], problems: Sequence[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in zip(_post_names(len(datas)), datas, strict=True):
        (folder / name).write_bytes(data)
    (folder / "problem.txt").write_text("\n".join(problems) + "\n", "utf-8")
    return folder


def run_fuzz(
    settings: Settings,
    *,
    path: str = "single",
    seed: int = 0,
    examples: int | None = None,
    seconds: float | None = None,
    pdf: bool = False,
    out: Path = Path("out/fuzz"),
    slow_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> FuzzReport:
    """Try inputs along one path until `examples` were tried or `seconds` passed (whichever first).

    The build paths take ROUND inputs at a time (fewer to end on `examples`); a round whose
    inputs took over `slow_seconds` each is saved as slow.
    """
    if examples is None and seconds is None:
        raise PipelineError("give --examples or --seconds", field="fuzz")
    check, size = checker(path)
    formats = (*CHEAP_FORMATS, "pdf") if pdf else CHEAP_FORMATS
    report = FuzzReport(seed, path)
    started = clock()
    stream = inputs(seed, load_seeds())
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work, _scratch(Path(work) / "tmp") as scratch:
        while (examples is None or report.tried < examples) and (
            seconds is None or clock() - started < seconds
        ):
            count = size if examples is None else min(size, examples - report.tried)
            datas = [next(stream) for _ in range(count)]
            name = f"{path}-{seed}-{report.tried + 1}"
            report.tried += count
            began = clock()
            outcome = check(datas, settings, formats, Path(work))
            took = clock() - began
            left = sorted(p.name for p in scratch.iterdir())
            if left:
                outcome.add("the round", f"left in the temporary folder: {', '.join(left)}")
                for leftover in scratch.iterdir():
                    shutil.rmtree(leftover, ignore_errors=True)
            report.rendered += outcome.rendered
            if outcome.problems:
                report.failures.append(_save(out / name, datas, outcome.problems))
            elif took > slow_seconds * count:
                report.slow.append(_save(out / f"{name}-slow", datas, [f"took {took:.1f} s"]))
    report.seconds = clock() - started
    return report
