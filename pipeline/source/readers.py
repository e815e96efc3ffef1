"""The Markdown and HTML readers, set up once: `prepare` (what pandoc is given) and `inventory`
(what the lossless check counts) both read bodies with them, each for its own purpose.

markdown-it reads CommonMark with tables, keeps every link target as written (entities and
escapes decoded, every scheme) and reads nesting 200 levels deep (its presets stop at 20, nine
lists deep, and drop what is deeper). html5lib parses a fragment as a browser does; one parser a
thread, since a parser is not safe to share.
"""

from __future__ import annotations

import threading
from typing import Any

import html5lib
from markdown_it import MarkdownIt


def _markdown() -> MarkdownIt:
    # 200 is well inside Python's recursion limit (markdown-it recurses once a level).
    md = MarkdownIt("commonmark", {"maxNesting": 200}).enable("table")
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    md.normalizeLinkText = lambda link: link  # type: ignore[method-assign]
    return md


MARKDOWN = _markdown()
_LOCAL = threading.local()


def parse_html(html: str) -> Any:
    """The element tree (`etree`, no namespaces) of an HTML fragment, as html5lib builds it."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
        _LOCAL.parser = parser
    return parser.parseFragment(html)
