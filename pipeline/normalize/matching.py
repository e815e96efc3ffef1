"""Sentence-level matching of the feed's HTML copy against the edited Markdown copy.

Tolerant of white space, entities, typographic quotes and dashes, emphasis, paragraph splits
and merges, small rewordings and a copy cut off mid-word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from ..model import Span

FUZZY_RATIO = 0.8
FUZZY_MIN_WORDS = 6
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
FOLD = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "−": "-",
        "…": "...",
        "\u00a0": " ",
    }
)


_NOT_KEY = re.compile(r"[^a-z0-9]+")


def sentence_key(text: str) -> str:
    """A comparison key: case, accents, punctuation and spacing folded away."""
    text = text.translate(FOLD)
    if not text.isascii():  # ASCII has nothing to decompose (most text: skip the slow part)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NOT_KEY.sub(" ", text.lower()).split())


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a paragraph's text."""
    bounds: list[tuple[int, int]] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        following = text[match.end() : match.end() + 2]
        if following and (following[0].isupper() or following[0].isdigit() or following[0] in "\"“‘'(["):
            bounds.append((start, match.end()))
            start = match.end()
    if start < len(text) and text[start:].strip():
        bounds.append((start, len(text)))
    return bounds


def slice_spans(spans: tuple[Span, ...], start: int, end: int) -> tuple[Span, ...]:
    """The spans covering text[start:end] of their joined text, marks and links kept."""
    out: list[Span] = []
    position = 0
    for span in spans:
        s, e = position, position + len(span.text)
        position = e
        lo, hi = max(s, start), min(e, end)
        if lo < hi:
            out.append(Span(span.text[lo - s : hi - s], span.url, span.strong, span.emph, span.code))
    return tuple(out)


@dataclass
class MdSentence:
    paragraph: int
    text: str
    key: str
    matched: bool = False
    words: int = field(init=False)  # of the key, for the fuzzy-match minimum
    _matcher: SequenceMatcher[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.words = len(self.key.split())

    def ratio_to(self, key: str) -> float:
        """SequenceMatcher(None, key, self.key).ratio(), 0.0 when its quick bounds are below
        FUZZY_RATIO; the analysis of this sentence's key is made once, not once per query."""
        if 2.0 * min(len(key), len(self.key)) / (len(key) + len(self.key)) < FUZZY_RATIO:
            return 0.0  # real_quick_ratio: the lengths alone rule it out
        if self._matcher is None:
            self._matcher = SequenceMatcher(None, "", self.key, autojunk=False)
        self._matcher.set_seq1(key)
        if self._matcher.quick_ratio() < FUZZY_RATIO:
            return 0.0
        return self._matcher.ratio()


@dataclass
class SentenceMatch:
    """How one HTML sentence relates to the Markdown copy."""

    text: str
    start: int
    end: int
    md: int | None = None  # global index of the Markdown sentence it matches
    kind: str = "unmatched"  # exact | fuzzy | truncated | reworded | unmatched


@dataclass
class MarkdownIndex:
    """Every sentence of the Markdown copy, in order."""

    sentences: list[MdSentence] = field(default_factory=list)
    by_key: dict[str, int] = field(default_factory=dict)

    def add_paragraph(self, paragraph: int, text: str) -> None:
        for start, end in sentence_bounds(text):
            sentence = text[start:end].strip()
            key = sentence_key(sentence)
            if key:
                self.by_key.setdefault(key, len(self.sentences))
                self.sentences.append(MdSentence(paragraph, sentence, key))

    def find(self, key: str, allow_prefix: bool) -> tuple[int | None, str]:
        if key in self.by_key:
            return self.by_key[key], "exact"
        best, best_ratio = None, 0.0
        # Short sentences (on either side) must match exactly; a sentence already matched is taken.
        fuzzy_ok = len(key.split()) >= FUZZY_MIN_WORDS
        for index, candidate in enumerate(self.sentences):
            if candidate.matched or not fuzzy_ok or candidate.words < FUZZY_MIN_WORDS:
                continue
            ratio = candidate.ratio_to(key)
            if ratio > best_ratio:
                best, best_ratio = index, ratio
        if best is not None and best_ratio >= FUZZY_RATIO:
            return best, "fuzzy"
        if allow_prefix and len(key) >= 8:
            for index, candidate in enumerate(self.sentences):
                if not candidate.matched and candidate.key.startswith(key):
                    return index, "truncated"
        return None, "unmatched"


def match_paragraph(index: MarkdownIndex, text: str, may_be_cut: bool) -> list[SentenceMatch]:
    """Match each sentence of one HTML paragraph; the last one may be a cut-off prefix."""
    bounds = sentence_bounds(text)
    matches: list[SentenceMatch] = []
    for number, (start, end) in enumerate(bounds):
        sentence = text[start:end].strip()
        key = sentence_key(sentence)
        if not key:
            matches.append(SentenceMatch(sentence, start, end, None, "empty"))
            continue
        last = number == len(bounds) - 1
        found, kind = index.find(key, allow_prefix=may_be_cut and last)
        matches.append(SentenceMatch(sentence, start, end, found, kind))
        if found is not None:
            index.sentences[found].matched = True
    return matches


def resolve_rewordings(index: MarkdownIndex, matches: list[SentenceMatch]) -> None:
    """Unmatched HTML sentences that stand where the Markdown has unmatched ones are rewordings."""
    matched = [m for m in matches if m.md is not None]
    if not matched:
        return
    for position, match in enumerate(matches):
        if match.md is not None or match.kind == "empty":
            continue
        before = next((m.md for m in reversed(matches[:position]) if m.md is not None), None)
        after = next((m.md for m in matches[position + 1 :] if m.md is not None), None)
        anchor = before if before is not None else after
        assert anchor is not None
        paragraph = index.sentences[anchor].paragraph
        lo = before + 1 if before is not None else _paragraph_start(index, paragraph)
        hi = after if after is not None else _paragraph_end(index, paragraph)
        gap = [g for g in range(lo, hi) if not index.sentences[g].matched]
        if gap:
            match.md = gap[0]
            match.kind = "reworded"
            index.sentences[gap[0]].matched = True


def _paragraph_start(index: MarkdownIndex, paragraph: int) -> int:
    return next(i for i, s in enumerate(index.sentences) if s.paragraph == paragraph)


def _paragraph_end(index: MarkdownIndex, paragraph: int) -> int:
    return max(i for i, s in enumerate(index.sentences) if s.paragraph == paragraph) + 1
