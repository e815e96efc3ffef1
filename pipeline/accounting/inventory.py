"""An independent check that nothing of a post's body was lost on its way to `post.md`.

`take_inventory` lists every piece of the ORIGINAL body (sentences, links, chapter timestamps,
images, embeds) with readers of its own: markdown-it for the Markdown, html5lib for every HTML
block and every paragraph with inline HTML. Nothing here uses the pipeline's parsing (pandoc,
`normalize`, `ast`, `matching`, `convert`, `blocks`), so a bug there cannot hide itself.
`unaccounted` then returns the pieces that `post.md` neither keeps nor `report.txt` names.

Kept: a sentence or timestamp whose `fold` is in the folded plain text of `post.md`'s body; a
URL that appears in `post.md` as written (raw, or as a decoded link target), or, for a
site-relative target and a known `site_url`, resolved. Reported: named by a report line whose
reason is one of `model.REASONS` (`warning:` and `changed:` lines account for nothing).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from markdown_it.token import Token

from ..model import REASONS
from ..pandoc.embeds import CONTAINERS, VOID
from ..source.post_file import INVISIBLE
from ..source.readers import MARKDOWN, parse_html
from .unseen import find_unseen

PieceKind = Literal["sentence", "link", "timestamp", "image", "embed"]


@dataclass(frozen=True)
class Piece:
    """One thing the body says: a sentence, a URL, a chapter timestamp, an image or an embed."""

    kind: PieceKind
    text: str
    """The whole sentence / the whole URL as written (entities decoded) / the timestamp / the src."""
    line: int
    """1-based line within the body where it starts (best effort; in HTML, counted from the block)."""
    written: bool = False
    """A URL written in the text rather than a link target: words, which a merged twin accounts for."""


# --- fold -----------------------------------------------------------------------------------------

_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "*": None,
        "_": None,
        "`": None,
        "[": None,  # an image's alt text stands in its sentence as `[alt]`
        "]": None,
    }
)
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def fold(text: str) -> str:
    """A sentence as compared: NFKC, case-folded, ASCII quotes and dashes, no emphasis, code or
    bracket marks (`*`, `_`, backticks, `[]`; backslash escapes resolved first), no control or bidi
    characters, whitespace collapsed."""
    if "&nbsp;" in text:
        text = text.replace("&nbsp;", " ")
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    if INVISIBLE.search(text):  # normalization drops them and reports each one
        text = INVISIBLE.sub("", text)
    if not text.isascii():
        # Translate first too: NFKC turns a double prime into two primes.
        text = unicodedata.normalize("NFKC", text.translate(_FOLD))
    return " ".join(text.translate(_FOLD).casefold().split())


# --- sentences --------------------------------------------------------------------------------------

_BOUNDARY = re.compile("[.!?\u2026]+[\"'\u201d\u2019\u00bb)\\]]*\\s+")
_OPENERS = frozenset("\"'\u201c\u2018\u00ab([")
# fmt: off
_ABBREVIATIONS = frozenset([
    "e.g", "i.e", "eg", "ie", "dr", "mr", "mrs", "ms", "mx", "prof", "sr", "jr", "st", "mt", "vs", "v",
    "cf", "al", "approx", "ca", "no", "nos", "vol", "fig", "figs", "pp", "ph.d", "inc", "ltd", "co",
    "corp", "dept", "est", "govt", "u.s", "u.k", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec",
])
# fmt: on
_DOTTED = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]$")  # e.g, u.s, a.k.a (not 2.1)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the `.` at `dot` ends an abbreviation or an initial rather than a sentence."""
    start = max(text.rfind(" ", 0, dot), text.rfind("\n", 0, dot)) + 1
    word = text[start:dot].lstrip("\"'([\u201c\u2018").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()) or bool(_DOTTED.match(word))


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs: a sentence ends at `.!?…` (and closing quotes) followed by
    whitespace and a capital, a digit or an opening quote, or at the end of the text; never
    after a common abbreviation or an initial. Decimals and URLs have no space after the dot."""
    out: list[tuple[int, str]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if end >= len(text):
            break
        nxt = text[end]
        if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
            continue
        if text[m.start()] == "." and text[m.start() + 1] != "." and _is_abbreviation(text, m.start()):
            continue
        _append_sentence(out, text, start, end)
        start = end
    _append_sentence(out, text, start, len(text))
    return out


def _append_sentence(out: list[tuple[int, str]], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        out.append((start + len(chunk) - len(chunk.lstrip()), stripped))


# --- the inventory ----------------------------------------------------------------------------------

_STRING_OUTPUT = re.compile(r"""\{\{-?\s*(["'])(.*?)\1\s*-?\}\}""")
_OUTER = "".join(map(chr, range(0x21)))  # what a browser strips around an href: C0 controls, space
_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
_PLACEHOLDER = re.compile("\ue000(\\d+) ?\ue001")
_HAS_WORD = re.compile(r"[^\W_]")
_TIMESTAMP = re.compile(
    r"^\s*[\[(]?((?:\d{1,2}:)?\d{1,2}:\d\d)(?!\w)(?!:\d)[\])]?[\s\-\u2013\u2014:|\u00b7\u2022]*"
)
_BARE_URL = re.compile(r"https?://[^\s<>)\"]+")
# What a sentence is compared without: Liquid (resolved or reported apart) and URLs (link pieces).
_GAP = re.compile(rf"{_LIQUID.pattern}|{_BARE_URL.pattern}", re.DOTALL)
# The target of a Markdown link or image that holds Liquid (`[text]({{ site.baseurl }}/x "title")`):
# text to markdown-it here (the tag has spaces), a link once the pipeline resolves the Liquid, text
# when it cannot. It is a gap of its sentence (an image's `!` too): either reading keeps the rest.
_LIQUID_LINK = r"\{\{[^{}\n]*\}\}|\{%[^{}\n]*%\}"
_LIQUID_TARGET = re.compile(
    rf"\]\(\s*[^\s(){{}}]*(?:{_LIQUID_LINK})(?:[^\s(){{}}]|{_LIQUID_LINK})*"
    r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)"""
)
_GAP_EDGE = " -:|,;()[]<>"
_URL_TRAIL = ".,;:!?'\"]\u2019\u201d"
_BREAK = "\x1e"  # a hard line break: the text before and after are separate items

# The elements a post cannot carry: normalization removes them and names them (their words too)
# in the report, so their content is no sentence here; their src is an `embed` piece.
_SKIP = CONTAINERS | VOID
_RAW_TEXT = frozenset({"script", "style", "iframe"})
# Raw-text elements whose words a post keeps: html5lib holds their content as one text, tags
# and all; pandoc reads the same content as markup.
_TEXT_AS_MARKUP = frozenset({"textarea", "xmp", "noembed", "noframes", "plaintext", "title"})
_EMBED_ATTR = {
    "iframe": "src",
    "embed": "src",
    "object": "data",
    "video": "src",
    "audio": "src",
    "source": "src",
    "script": "src",
}
# fmt: off
_BLOCK = frozenset([
    "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "section", "article", "aside",
    "header", "footer", "nav", "main", "figure", "figcaption", "address", "hr", "details", "summary",
    "form", "fieldset", "legend", "center", "pre", "body", "html", "dialog", "menu",
])
# fmt: on


class _Collector:
    """Walks one body: text items (later split into sentences) and URL pieces."""

    def __init__(self, liquid: list[str]) -> None:
        self.liquid = liquid
        # In the order of the body: URL pieces, and text items (text, line, is code) to split later.
        self.entries: list[Piece | tuple[str, int, bool]] = []
        self.seen: set[str] = set()  # URLs already listed: a URL written as its link's text is one piece

    # shared --------------------------------------------------------------------------------------
    def restore(self, text: str) -> str:
        if "\ue000" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: self.liquid[int(m[1])], text)

    def url(self, kind: PieceKind, url: str | None, line: int, *, written: bool = False) -> None:
        # As a browser reads an href: tabs and newlines go, outer spaces and controls too.
        url = re.sub(r"[\t\n\r]", "", url or "").strip(_OUTER)
        if not url or "\ue000" in url or "{%" in url or "{{" in url:
            return  # nothing, or Liquid: the pipeline resolves or reports those itself
        if kind == "link" and url.startswith("#"):
            return
        self.seen.add(url)
        self.entries.append(Piece(kind, url, line, written))

    def written_urls(self, text: str, line: int) -> None:
        """Every `http(s)://` URL written in text (link texts and code included) is a link piece."""
        if "://" not in text:
            return
        for m in _BARE_URL.finditer(text):
            url = m.group().rstrip(_URL_TRAIL)
            if len(url) > 8 and url not in self.seen:
                self.url("link", url, line + text.count("\n", 0, m.start()), written=True)

    def text_item(self, text: str, line: int, is_code: bool = False) -> None:
        self.written_urls(text, line)
        if text.strip():
            self.entries.append((text, line, is_code))

    # Markdown --------------------------------------------------------------------------------
    def markdown(self, body: str) -> None:
        env: dict[str, Any] = {}
        line = 1
        for tok in MARKDOWN.parse(body, env):
            if tok.map is not None:
                line = tok.map[0] + 1
            if tok.type == "inline":
                self.inline(tok.children or [], line)
            elif tok.type == "fence":
                self.code(tok.content, line + 1)
            elif tok.type == "code_block":
                self.code(tok.content, line)
            elif tok.type == "html_block":
                self.html(tok.content, line)
        for ref in env.get("references", {}).values():
            ref_map = ref.get("map")
            self.url("link", ref.get("href"), ref_map[0] + 1 if ref_map else 1)

    def code(self, content: str, line: int) -> None:
        for i, text in enumerate(content.split("\n")):
            self.text_item(text, line + i, is_code=True)

    def inline(self, children: list[Token], line: int) -> None:
        if any(c.type == "html_inline" for c in children):
            self.html(MARKDOWN.renderer.render(children, MARKDOWN.options, {}), line)
            return
        text: list[str] = []
        newlines = 0
        for c in children:
            kind = c.type
            if kind in ("text", "code_inline"):
                text.append(c.content)
            elif kind == "softbreak":
                text.append("\n")
                newlines += 1
            elif kind == "hardbreak":
                text.append(_BREAK + "\n")
                newlines += 1
            elif kind == "link_open":
                self.url("link", str(c.attrs.get("href", "")), line + newlines)
            elif kind == "image":
                self.url("image", str(c.attrs.get("src", "")), line + newlines)
                alt = "".join(a.content for a in c.children or [] if a.type in ("text", "code_inline"))
                if alt.strip():  # the image's place in its sentence
                    text.append(f"[{alt.strip()}]")
                self.written_urls(alt, line + newlines)
        self.text_item("".join(text), line)

    # HTML ------------------------------------------------------------------------------------
    def html(self, html: str, line: int) -> None:
        _HtmlWalk(self, html, line).run()


class _HtmlWalk:
    """One html5lib fragment: block elements end items, skipped elements give embeds only."""

    def __init__(self, out: _Collector, html: str, line: int) -> None:
        self.out = out
        self.source = html.lower()
        self.html = html
        self.line = line
        self.newlines = 0  # newlines in the text seen so far: the line of what follows
        self.text: list[str] = []
        self.item_line = line

    def run(self) -> None:
        # An explicit stack, not recursion: feed HTML may nest thousands of elements deep.
        self.stack: list[tuple[str, Any]] = []
        self.children(parse_html(self.html))
        while self.stack:
            action, value = self.stack.pop()
            if action == "element":
                self.element(value)
            elif action == "text":
                self.add(value)
            else:
                self.flush()
        self.flush()

    def here(self) -> int:
        return self.line + self.newlines

    def add(self, text: str) -> None:
        if not self.text:
            self.item_line = self.here()
        self.text.append(text)
        self.newlines += text.count("\n")

    def flush(self) -> None:
        if self.text:
            self.out.text_item("".join(self.text), self.item_line)
            self.text = []

    def children(self, el: Any) -> None:
        """Read `el`'s text now and queue its children (each followed by its tail)."""
        if el.text:
            self.add(el.text)
        for child in reversed(list(el)):
            if child.tail:
                self.stack.append(("text", child.tail))
            self.stack.append(("element", child))

    def closed(self, tag: str) -> bool:
        """Whether the source closes every `<tag` it opens (else html5lib swallowed what followed)."""
        return self.source.count("</" + tag) >= len(re.findall(rf"<{tag}(?![\w-])", self.source))

    def embed(self, tag: str, el: Any) -> None:
        attr = _EMBED_ATTR.get(tag)
        if attr is None:
            return
        src = (el.get(attr) or "").strip()
        self.out.url("embed", src or f"<{tag}>", self.here())

    def element(self, el: Any) -> None:
        tag = el.tag
        if not isinstance(tag, str):
            return  # a comment
        if tag.startswith("{"):
            tag = tag.partition("}")[2]
        tag = tag.lower()
        if tag in _SKIP:
            self.embed(tag, el)
            if tag == "embed" or self.closed(tag):
                for sub in el.iter():
                    sub_tag = sub.tag if isinstance(sub.tag, str) else ""
                    if sub is not el and sub_tag in _EMBED_ATTR:
                        self.embed(sub_tag, sub)
                return
            # Unclosed: what html5lib put inside is what followed in the source. Keep it, as items
            # of their own: the element's start ends the sentence before it.
            self.flush()
            self.stack.append(("flush", None))
            if tag in _RAW_TEXT:
                if el.text and el.text.strip():
                    self.children(parse_html(el.text))
            else:
                self.children(el)
            return
        if tag in _TEXT_AS_MARKUP:  # its text is what a reader sees, read as the markup it holds
            self.flush()
            self.stack.append(("flush", None))
            if el.text and el.text.strip():
                self.children(parse_html(el.text))
            return
        if tag in _BLOCK:
            self.flush()
        if tag == "br":
            self.add(_BREAK)
            return
        if tag == "img":
            self.out.url("image", el.get("src"), self.here())
            alt = (el.get("alt") or "").strip()
            if alt:  # the image's place in its sentence
                self.add(f"[{alt}]")
            return
        if tag in _EMBED_ATTR:  # video, audio, source
            self.embed(tag, el)
        if tag == "pre":
            self.out.code("".join(el.itertext()), self.here())
            self.newlines += "".join(el.itertext()).count("\n")
            return
        if tag == "a":
            self.out.url("link", el.get("href"), self.here())
        if tag in _BLOCK:
            self.stack.append(("flush", None))  # after the children queued next
        self.children(el)


def _collect(body: str) -> _Collector:
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    liquid: list[str] = []
    if "{%" in body or "{{" in body:

        def hold(m: re.Match[str]) -> str:
            liquid.append(m.group())
            # A tag with spaces cannot be a link target, so `[a]({{ x }}/p)` is text here, as
            # pandoc reads it when the pipeline cannot resolve it (`_has_text` accepts the link it
            # makes otherwise); `[a]({% post_url … %})` is a link or, unresolved, its text alone.
            target = body[m.start() : body.find(")", m.start()) + 1 or m.end()]
            opens_target = body[max(0, m.start() - 2) : m.start()] in ("](", "}}")
            as_target = opens_target and "post_url" in target
            space = " " if not as_target and any(c.isspace() for c in m.group()) else ""
            return f"\ue000{len(liquid) - 1}{space}\ue001"

        body = _LIQUID.sub(hold, body)
    out = _Collector(liquid)
    out.markdown(body)
    return out


def _text_pieces(out: _Collector, text: str, line: int, pieces: list[Piece]) -> None:
    for part in text.split(_BREAK):
        lines = part.split("\n")
        run: list[str] = []
        run_line = line
        for i, text_line in enumerate(lines):
            m = _TIMESTAMP.match(text_line)
            if m is None:
                if not run:
                    run_line = line + i
                run.append(text_line)
                continue
            _sentences(out, "\n".join(run), run_line, pieces)
            run = []
            pieces.append(Piece("timestamp", m.group(1), line + i))
            _sentences(out, text_line[m.end() :], line + i, pieces)
        _sentences(out, "\n".join(run), run_line, pieces)
        line += len(lines) - 1


def _has_words(text: str) -> bool:
    """Letters or digits besides Liquid placeholders and URLs (a URL alone is a link piece)."""
    if "\ue000" in text:
        text = _PLACEHOLDER.sub(" ", text)
    if "://" in text:
        text = _BARE_URL.sub(" ", text)
    return _HAS_WORD.search(text) is not None


def _sentences(out: _Collector, text: str, line: int, pieces: list[Piece]) -> None:
    if not text or text.isspace():
        return
    for offset, sentence in split_sentences(text):
        if _has_words(sentence):
            pieces.append(
                Piece("sentence", out.restore(" ".join(sentence.split())), line + text.count("\n", 0, offset))
            )


_TAG = re.compile(r"<[^>]*>")


def _words_of(markup: str) -> str:
    """Text with its tags out and entities decoded, as the report names an element's words."""
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split())


def _unseen_pieces(body: str, seen: set[str]) -> list[Piece]:
    """The sentences of the body's comments and raw-text elements, found by the check's own
    tokenizer (`unseen`): the author's words, though no reader of the page sees them. A
    sentence already among the pieces `seen` is not listed twice."""
    pieces: list[Piece] = []
    out = _Collector([])
    for unseen in find_unseen(body):
        found: list[Piece] = []
        _sentences(out, _words_of(unseen.text), unseen.line, found)
        pieces.extend(p for p in found if p.text not in seen)
    return pieces


def _unseen_text(body: str) -> str:
    return " ".join(_words_of(unseen.text) for unseen in find_unseen(body))


def take_inventory(body: str) -> list[Piece]:
    """Every piece of `body` (a post's text after its front matter): what markdown-it and html5lib
    read, in the order of the body, then the words of its comments and raw-text elements."""
    pieces = _visible_pieces(body)
    if "<" in body:
        pieces += _unseen_pieces(body, {p.text for p in pieces})
    return pieces


def _visible_pieces(body: str) -> list[Piece]:
    out = _collect(body)
    pieces: list[Piece] = []
    for entry in out.entries:
        if isinstance(entry, Piece):
            pieces.append(entry)
            continue
        text, line, is_code = entry
        if is_code:
            if _has_words(text):
                pieces.append(Piece("sentence", out.restore(text.strip()), line))
        else:
            _text_pieces(out, text, line, pieces)
    return pieces


# --- the check --------------------------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URL_END = frozenset(")>\"'<]|`*")
_URL_START = frozenset("(<\"'[>|`*,;")
_SRCLESS = re.compile(r"^<([a-z]+)>$")
_REASONS = frozenset(REASONS)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _post_body(post_md: str) -> str:
    lines = post_md.replace("\r\n", "\n").split("\n")
    if lines and lines[0].rstrip() == "---":
        for i in range(1, len(lines)):
            if lines[i].rstrip() == "---":
                return "\n".join(lines[i + 1 :])
    return post_md


def _has_url(haystack: str, url: str) -> bool:
    """`url` occurs in `haystack`, and not as a part of a longer URL there."""
    if not url:
        return False
    i = haystack.find(url)
    while i >= 0:
        end = i + len(url)
        if i > 0 and not (haystack[i - 1].isspace() or haystack[i - 1] in _URL_START):
            i = haystack.find(url, i + 1)
            continue
        if end >= len(haystack):
            return True
        c = haystack[end]
        if c.isspace() or c in _URL_END:
            return True
        if c in ".,;:!?" and (
            end + 1 >= len(haystack) or haystack[end + 1].isspace() or haystack[end + 1] in _URL_END
        ):
            return True
        i = haystack.find(url, i + 1)
    return False


def _has_text(haystack: str, text: str) -> bool:
    """Every folded part of `text` between Liquid tags and URLs occurs in `haystack`, in order."""
    if "{" not in text and "://" not in text:
        folded = fold(text).rstrip(":").rstrip()  # a label `Links:` may become the heading `Links`
        return not folded or folded in haystack
    if "](" in text:
        text, targets = _LIQUID_TARGET.subn("{{}}", text)
        if targets:
            text = text.replace("![", "{{}}[")
    pos = 0
    for part in _GAP.split(text):
        folded = fold(part).strip(_GAP_EDGE)
        if not folded:
            continue
        found = haystack.find(folded, pos)
        if found < 0:
            return False
        pos = found + len(folded)
    return True


def _resolved(url: str, site_url: str, baseurl: str) -> str | None:
    if not site_url or url.startswith("//") or _SCHEME.match(url):
        return None
    site = site_url.rstrip("/")
    if url.startswith("/"):
        return site + url
    base = baseurl.strip("/")
    return f"{site}/{base}/{url}" if base else f"{site}/{url}"


_REWORDED = re.compile(r'^kept the Markdown "(?P<md>.*)" for the HTML "(?P<html>.*)"$', re.DOTALL)
_NOT_WORD = re.compile(r"[\W_]+")


def _loose(text: str) -> str:
    """Only the words of already folded text: a twin may differ in punctuation."""
    return " ".join(_NOT_WORD.sub(" ", text).split())


def unaccounted(
    pieces: Sequence[Piece], post_md: str, report: str, *, site_url: str = "", baseurl: str = ""
) -> list[Piece]:
    """The pieces `post_md` does not keep and no `<reason>: …` line of `report` names."""
    # A Liquid string (`{{ "{{" }}`) is its text to Jekyll: the post shows what it says.
    body = _STRING_OUTPUT.sub(lambda m: m.group(2), _post_body(post_md))
    post = _collect(body)
    texts: list[str] = []
    urls_kept: list[str] = [body]  # the body only: a URL in the front matter keeps no link
    for entry in post.entries:
        if isinstance(entry, Piece):
            urls_kept.append(entry.text)
        else:
            texts.append(post.restore(entry[0]))
    if "<" in body:  # kept in a comment or a raw-text element: kept as written
        texts.append(_unseen_text(body))
    post_text = fold(" ".join(texts))
    post_urls = "\n".join(urls_kept)
    messages: list[str] = []
    twins: list[str] = []  # `merged`: the piece's twin must be in post.md, in any punctuation
    reworded: list[tuple[str, str]] = []  # (the HTML wording, the Markdown wording kept)
    for report_line in report.splitlines():
        reason, sep, message = report_line.partition(":")
        reason, message = reason.strip(), message.strip()
        if not sep or reason not in _REASONS:
            continue
        if reason == "merged":
            twins.append(message)
        elif reason == "reworded" and (both := _REWORDED.match(message)):
            reworded.append((both["html"], both["md"]))
        else:
            messages.append(message)
    # A link is accounted for by a line naming it for itself, never by a merged twin's words.
    report_raw = "\n".join(messages)
    twins_raw = "\n".join(twins + [html for html, _ in reworded])
    # A message quoting Markdown names its link texts too: `Read more on [Substack](url)`.
    report_folded = "\n".join(
        [fold(m) for m in messages] + [fold(_MD_LINK.sub(r"\1", m)) for m in messages if "](" in m]
    )
    twins_folded = "\n".join(fold(m) for m in twins)
    report_unquoted = unquote(report_raw)
    post_loose = _loose(post_text)
    reworded_kept = "\n".join(fold(html) for html, md in reworded if _has_text(post_text, md))

    def reported(text: str) -> bool:
        if _has_text(report_folded, text) or _has_text(reworded_kept, text):
            return True
        # A merged sentence is accounted for only while its twin is kept.
        return _has_text(twins_folded, text) and _loose(fold(text)) in post_loose

    missing: list[Piece] = []
    for piece in pieces:
        if piece.kind in ("sentence", "timestamp"):
            if _has_text(post_text, piece.text) or reported(piece.text):
                continue
        else:
            urls = [piece.text]
            resolved = _resolved(piece.text, site_url, baseurl)
            if resolved is not None:
                urls.append(resolved)
            srcless = _SRCLESS.match(piece.text) if piece.kind == "embed" else None
            if srcless is not None and re.search(rf"<{srcless[1]}[\s/>]", post_md, re.IGNORECASE):
                continue
            if any(_has_url(post_urls, u) for u in urls):
                continue
            if any(_has_url(report_raw, u) or _has_url(report_folded, fold(u)) for u in urls):
                continue
            if piece.written and any(_has_url(twins_raw, u) for u in urls):
                continue  # a URL in the words of a sentence whose twin is kept
            # pandoc percent-encodes some targets (`data:text/html,<b>` -> `%3Cb%3E`).
            if any(_has_url(report_unquoted, unquote(u)) for u in urls):
                continue
        missing.append(piece)
    return missing
