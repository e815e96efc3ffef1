"""Mutation fuzzing of read -> normalize -> render, deterministic for a given seed (`invoke fuzz`).

Seeds are the corpus posts and the broken and hostile fixtures under `tests/fixtures/`. Each input
is a seed with a few mutations (bit flips, deletions, repeats, a splice of another seed, hostile
snippets: `<script>`, `---`, `{{`, an unbalanced `[`, NUL, bidi controls, huge numbers…). An input
passes when the pipeline either raises PipelineError or renders outputs that keep the invariants:
`youtube.txt` within 5000 bytes and free of `<` `>`; no script-capable markup, event handler or
`javascript:`/`vbscript:`/`data:` URL in an HTML output; no bidi control in any output but
`report.txt`, the PDF and the front matter that `post.md` copies as written.
Anything else is saved as a reproducer: `<out>/<seed>-<n>/2024-01-01-fuzz.md` plus `problem.txt`.

No coverage guidance (atheris would add it; `check_input` takes bytes as its entry point needs).
"""

from __future__ import annotations

import random
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .config import Settings
from .errors import PipelineError
from .formats import load_format
from .normalize import normalize_file
from .source import BIDI_CONTROLS

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SEED_GLOBS = ("corpus/imported/*.markdown", "bad/*.md", "hostile/*.md")
CHEAP_FORMATS = ("post", "chapters", "newsletter", "youtube", "podcast")
POST_NAME = "2024-01-01-fuzz.md"
MAX_INPUT_BYTES = 256 * 1024
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


def check_input(
    data: bytes, settings: Settings, formats: Sequence[str], folder: Path
) -> tuple[bool, str | None]:
    """Run one input through the pipeline: (were outputs rendered, what went wrong or None)."""
    path = folder / POST_NAME
    path.write_bytes(data)
    try:
        episode = normalize_file(path, settings)
        files: dict[str, bytes] = {}
        for name in formats:
            files.update(load_format(name).render(episode, settings).files)
    except PipelineError:
        return False, None
    except Exception:  # the point of fuzzing: anything but a PipelineError is a bug
        return False, traceback.format_exc()
    problems = invariant_problems(files)
    return True, "\n".join(problems) if problems else None


@dataclass
class FuzzReport:
    seed: int
    tried: int = 0
    rendered: int = 0
    """Inputs that got through to outputs (the others were refused with a PipelineError)."""
    seconds: float = 0.0
    failures: list[Path] = field(default_factory=list)
    """The folder of each saved reproducer."""
    slow: list[Path] = field(default_factory=list)
    """Inputs that passed but took over `slow_seconds` (saved too: a cost worth knowing)."""

    def lines(self) -> list[str]:
        rate = self.tried / self.seconds if self.seconds else 0.0
        head = (
            f"fuzz: seed {self.seed}: {self.tried} inputs in {self.seconds:.1f} s ({rate:.1f}/s), "
            f"{self.rendered} rendered, "
        )
        return [
            head + f"{len(self.failures)} failure(s), {len(self.slow)} slow",
            *(f"  reproducer: {p}" for p in self.failures),
            *(f"  slow input: {p}" for p in self.slow),
        ]


def _save(folder: Path, data: bytes, problem: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / POST_NAME).write_bytes(data)
    (folder / "problem.txt").write_text(problem + "\n", "utf-8")
    return folder


def run_fuzz(
    settings: Settings,
    *,
    seed: int = 0,
    examples: int | None = None,
    seconds: float | None = None,
    pdf: bool = False,
    out: Path = Path("out/fuzz"),
    slow_seconds: float = 10.0,
    clock: Callable[[], float] = time.monotonic,
) -> FuzzReport:
    """Try inputs until `examples` were tried or `seconds` passed (whichever comes first)."""
    if examples is None and seconds is None:
        raise PipelineError("give --examples or --seconds", field="fuzz")
    formats = (*CHEAP_FORMATS, "pdf") if pdf else CHEAP_FORMATS
    report = FuzzReport(seed)
    started = clock()
    stream = inputs(seed, load_seeds())
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        while (examples is None or report.tried < examples) and (
            seconds is None or clock() - started < seconds
        ):
            data = next(stream)
            report.tried += 1
            began = clock()
            rendered, problem = check_input(data, settings, formats, Path(work))
            took = clock() - began
            report.rendered += rendered
            name = f"{seed}-{report.tried}"
            if problem is not None:
                report.failures.append(_save(out / name, data, problem))
            elif took > slow_seconds:
                report.slow.append(_save(out / f"{name}-slow", data, f"took {took:.1f} s"))
    report.seconds = clock() - started
    return report
