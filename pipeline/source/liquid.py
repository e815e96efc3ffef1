"""Jekyll Liquid in post bodies: resolve what the settings allow, report the rest.

Post text is never rendered as a template: only these exact forms are replaced.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..errors import PipelineError
from ..model import LiquidLeft, Note
from ..settings.config import PERMALINK_PLACEHOLDER, Settings, permalink_template, placeholder_name
from ..text.links import site_root
from .post_file import read_post

POST_URL = re.compile(r"\{%-?\s*post_url\s+([A-Za-z0-9_./-]+)\s*-?%\}")
MD_LINK_TO_POST_URL = re.compile(r"\[([^\]\n]*)\]\(\s*(\{%-?\s*post_url\s+[A-Za-z0-9_./-]+\s*-?%\})\s*\)")
BASEURL_BEFORE_POST_URL = re.compile(r"\{\{-?\s*site\.baseurl\s*-?\}\}(?=\{%-?\s*post_url\s)")
ANY_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
# Jekyll's `{% raw %}…{% endraw %}`: the text between is output as written, the tags are not.
RAW_BLOCK = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.S)
POST_NAME = re.compile(r"^(?:.*/)?(\d{4})-(\d{2})-(\d{2})-(.+?)(?:\.(?:md|markdown|html))?$")
LINKED_SUFFIXES = (".md", ".markdown", ".html")
# Jekyll's Utils.slugify: `pretty` mode (cased) for :title, `default` mode for :slug and :name.
_SLUG_PRETTY = re.compile(r"[^0-9A-Za-z._~!$&'()+,;=@]+")
_SLUG_DEFAULT = re.compile(r"[^0-9A-Za-z]+")
# Jekyll's URL.escape_path: everything but unreserved, sub-delims, ":", "@" and "/" is %-encoded.
_PATH_SAFE = "!$&'()*+,;=:@/~"


def _slugify(text: str, pattern: re.Pattern[str], cased: bool) -> str:
    slug = re.sub(r"^-|-$", "", pattern.sub("-", text))
    return slug if cased else slug.lower()


def _escape_path(value: str) -> str:
    return quote(unicodedata.normalize("NFC", unquote(value)), safe=_PATH_SAFE)


def post_url(name: str, settings: Settings, categories: Iterable[str] = ()) -> str | None:
    """The public URL of another post by its file name, when `site_url` is configured.

    Built as Jekyll builds it: the `permalink` pattern (or named style) with the date and title
    of the file name and the linked post's `categories`, each value %-escaped, `//` collapsed.
    """
    match = POST_NAME.match(name)
    if not settings.site_url or not match:
        return None
    year, month, day, title = match.groups()
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    slug = title.rstrip(".")  # Jekyll: "slugs shouldn't end with a period"
    basename = f"{year}-{month}-{day}-{title}"
    values = {
        "year": year,
        "month": month,
        "day": day,
        "i_month": str(date.month),
        "i_day": str(date.day),
        "short_year": year[-2:],
        "y_day": f"{date.timetuple().tm_yday:03d}",
        "title": _slugify(slug, _SLUG_PRETTY, cased=True),
        "slug": _slugify(slug, _SLUG_DEFAULT, cased=False),
        "name": _slugify(basename, _SLUG_DEFAULT, cased=False),
        # Lower-cased, each once, joined with "/": an empty list leaves only a "//", collapsed below.
        "categories": "/".join(dict.fromkeys(c.lower() for c in categories)),
        "output_ext": ".html",
    }

    def fill(token: re.Match[str]) -> str:
        key = placeholder_name(token.group(1))
        if key is None:  # load_settings refuses these; Settings built in code may still have one
            return token.group(0)
        return _escape_path(values[key]) + token.group(1)[len(key) :]

    path = re.sub(r"/{2,}", "/", PERMALINK_PLACEHOLDER.sub(fill, permalink_template(settings.permalink)))
    path = re.sub(r"/{2,}", "/", ("/" + path).replace("..", "/").replace("./", ""))  # URL#sanitize_url
    return site_root(settings.site_url, settings.baseurl) + path.lstrip("/")


def _posts_tree(folder: Path) -> Path | None:
    """The `_posts` folder of the Jekyll site `folder` belongs to, if it is one."""
    absolute = folder.absolute()
    for candidate in (absolute, *absolute.parents):
        if candidate.name == "_posts":
            return candidate
    for site in (absolute.parent, absolute) if absolute.name == "_drafts" else (absolute,):
        if (site / "_posts").is_dir():
            return site / "_posts"
    return None


def find_post(name: str, post_path: Path) -> Path | None:
    """The post file `{% post_url name %}` names, beside `post_path` or in its site's `_posts/` tree.

    `name` is a file name without its extension, optionally under sub-folders
    (`2023-01-09-episode-one`, `2023/2023-01-09-episode-one`), as Jekyll's tag takes it.
    """
    parts = [p for p in name.strip("/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    for suffix in LINKED_SUFFIXES:
        if parts[-1].endswith(suffix):  # tolerated: `{% post_url 2023-01-09-x.md %}`
            parts[-1] = parts[-1][: -len(suffix)]
            break
    folder = post_path.parent
    tree = _posts_tree(folder)
    roots = [folder] if tree is None or tree == folder.absolute() else [folder, tree]
    for root in roots:
        for suffix in LINKED_SUFFIXES:
            candidate = root.joinpath(*parts[:-1], parts[-1] + suffix)
            try:
                if candidate.is_file():
                    return candidate
            except OSError:  # a name too long for the file system is no post
                return None
    if tree is None:
        return None
    # Anywhere in the `_posts` tree (Jekyll reads its sub-folders too): the shallowest, then by name.
    wanted = {parts[-1] + suffix for suffix in LINKED_SUFFIXES}
    found: list[Path] = []
    for directory, subdirs, files in os.walk(tree):
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        here = Path(directory)
        if len(parts) > 1 and here.parts[-(len(parts) - 1) :] != tuple(parts[:-1]):
            continue
        found.extend(here / f for f in files if f in wanted and (here / f).is_file())
    if not found:
        return None
    return min(found, key=lambda p: (len(p.parts), LINKED_SUFFIXES.index(p.suffix), str(p)))


def resolve_liquid(
    body: str, settings: Settings, page: Mapping[str, Any], post_path: Path
) -> tuple[str, list[Note], list[Path], LiquidLeft]:
    """Replace resolvable Liquid; unresolved `post_url` links lose their target, other Liquid
    stays as written (a URL with any unresolvable Liquid stays whole), each with a warning.

    Also returns the post files whose front matter the body's `{% post_url %}` links were
    built from (found beside `post_path` or in its site's `_posts/` tree): its outputs depend
    on them; and what Liquid is left in the body (`LiquidLeft`): a rewritten `post.md` must
    protect the Liquid-looking text the body shows as text, and leave Jekyll's alone.
    """
    notes: list[Note] = []
    depends_on: dict[Path, None] = {}

    def resolve_post(name: str) -> tuple[str | None, str]:
        """The linked post's URL, or None and why not."""
        if not settings.site_url:
            return None, "set site_url to resolve it"
        linked = find_post(name, post_path) if POST_NAME.match(name) else None
        if linked is None:
            return None, f"post_url: no post named {name} beside this one"
        depends_on[linked] = None
        try:
            categories = read_post(linked).front_matter.categories
        except PipelineError as exc:  # the linked post's own problem, reported when it is built
            where = linked.name + (f":{exc.line}" if exc.line else "")
            where += f": {exc.field}" if exc.field else ""
            return None, f"post_url: cannot read {where}: {exc.message}"
        url = post_url(linked.name, settings, categories)
        return url, "" if url else f"post_url: {name} does not name a post by a real date"

    def link(match: re.Match[str]) -> str:
        inner = POST_URL.match(match.group(2))
        url, why = resolve_post(inner.group(1)) if inner else (None, "set site_url to resolve it")
        if url is None:
            notes.append(Note("warning", f"unresolved {match.group(2)!r}: link kept as its text ({why})"))
            return match.group(1)
        return f"[{match.group(1)}]({url})"

    def bare_post_url(match: re.Match[str]) -> str:
        url, why = resolve_post(match.group(1))
        if url is None:
            notes.append(Note("warning", f"unresolved {match.group(0)!r} ({why})"))
            return ""
        return url

    lower_page = {k.lower(): v for k, v in page.items()}

    def page_value(name: str, written: str) -> tuple[str | None, str]:
        found = page.get(name, lower_page.get(name.lower()))
        if not isinstance(found, str | int | float) or isinstance(found, bool):
            return None, f"the front matter has no {name!r} text"
        if name not in page:
            used = f"used {name.lower()!r} ignoring case"
            notes.append(Note("warning", f"{written!r}: no key {name!r}; {used}"))
        return str(found), ""

    def evaluate(written: str) -> tuple[str | None, str]:
        """The value of one `{{ … }}`, or None and what would resolve it."""
        expression = EXPRESSION.fullmatch(written)
        if expression is None:
            return None, f"episode resolves only {KNOWN}"
        value: str | None
        if expression["name"] is None:
            value, why = expression["string"][1:-1], ""
        elif expression["scope"] == "page":
            value, why = page_value(expression["name"], written)
        else:
            value, why = site_value(expression["name"], settings)
        for name in FILTER.findall(expression["filters"] or ""):
            if value is None:
                break
            value, why = url_filter(name, value, settings)
        return value, why

    kept: list[str] = []  # Liquid left as written, for Jekyll to run

    def resolve(text: str) -> str:
        # Jekyll's idiom `{{ site.baseurl }}{% post_url x %}`: post_url here is already the whole URL.
        text = BASEURL_BEFORE_POST_URL.sub("", text)
        text = MD_LINK_TO_POST_URL.sub(link, text)
        text = POST_URL.sub(bare_post_url, text)
        return _resolve_outputs(text, evaluate, notes, kept)

    # Outside `{% raw %}` blocks the Liquid is resolved; inside, the text stays as written.
    pieces = RAW_BLOCK.split(body)
    body = "".join(piece if index % 2 else resolve(piece) for index, piece in enumerate(pieces))
    left = LiquidLeft(tuple(dict.fromkeys(kept)))
    return body, notes, list(depends_on), replace(left, shows_text=bool(left.openers_shown(body)))


# `{{ site.x }}`, `{{ page.x }}` or a quoted string, then `relative_url` / `absolute_url` filters.
EXPRESSION = re.compile(
    r"\{\{-?\s*(?:(?P<string>\"[^\"]*\"|'[^']*')|(?P<scope>site|page)\.(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
    r"(?P<filters>(?:\s*\|\s*(?:relative_url|absolute_url))*)\s*-?\}\}"
)
FILTER = re.compile(r"relative_url|absolute_url")
KNOWN = "site.url, site.baseurl, site.title, page.* and the relative_url and absolute_url filters"
# What stands between two Liquid expressions of one URL (`{{ site.url }}{{ site.baseurl }}/x`).
_SAME_URL = re.compile(r"[^\s\"'<>()\[\]]*")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Addressable's normalize, as Jekyll's filters apply it: what a URL may hold, the rest %-encoded.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def site_value(name: str, settings: Settings) -> tuple[str | None, str]:
    """`{{ site.<name> }}` from the settings (`_config.yml`'s `url`, `baseurl`, `title`)."""
    if name == "baseurl":
        return settings.baseurl, ""  # an empty baseurl is a value: the site is at the host's root
    if name == "url":
        return settings.site_url or None, "set site_url (url in _config.yml) to resolve it"
    if name == "title":
        return settings.show_name or None, "set show_name (title in _config.yml) to resolve it"
    return None, f"no setting gives site.{name}: episode resolves site.url, site.baseurl and site.title"


def relative_url(value: str, settings: Settings) -> str:
    """Jekyll's `relative_url`: an absolute URL as it is, else the baseurl before the path."""
    if _HAS_SCHEME.match(value):
        return value
    parts = [settings.baseurl.removesuffix("/"), value]
    return quote("".join(p if not p or p.startswith("/") else "/" + p for p in parts), safe=_URL_SAFE)


def url_filter(name: str, value: str, settings: Settings) -> tuple[str | None, str]:
    """`value | relative_url` or `value | absolute_url`, as Jekyll's URL filters give it."""
    if name == "relative_url" or _HAS_SCHEME.match(value):
        return relative_url(value, settings), ""
    if not settings.site_url:
        return None, "set site_url (url in _config.yml) to resolve it"
    return settings.site_url.rstrip("/") + relative_url(value, settings), ""


def _resolve_outputs(
    body: str, evaluate: Callable[[str], tuple[str | None, str]], notes: list[Note], kept: list[str]
) -> str:
    """Every `{{ … }}` and `{% … %}` left in `body`: a URL whose Liquid all resolves gets the
    values; one with any Liquid that does not is kept whole as written (added to `kept`), a
    warning for each."""
    matches = list(ANY_LIQUID.finditer(body))
    runs: list[list[re.Match[str]]] = []
    for match in matches:
        if runs and _SAME_URL.fullmatch(body, runs[-1][-1].end(), match.start()):
            runs[-1].append(match)
        else:
            runs.append([match])
    out: list[str] = []
    done = 0
    for run in runs:
        values: list[str | None] = []
        for match in run:
            written = match.group()
            if written.startswith("{%"):
                notes.append(Note("warning", f"Liquid/template syntax {written[:60]!r} kept as written"))
                values.append(None)
                continue
            value, why = evaluate(written)
            if value is None:
                notes.append(Note("warning", f"unresolved {written[:200]!r} kept as written ({why})"))
            values.append(value)
        if None in values:
            kept.extend(match.group() for match in run)
            continue
        for match, value in zip(run, values, strict=True):
            out.append(body[done : match.start()] + str(value))
            done = match.end()
    out.append(body[done:])
    return "".join(out)
