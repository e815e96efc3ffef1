"""Jekyll Liquid in post bodies: resolve what the settings allow, report the rest.

Post text is never rendered as a template: only these exact forms are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .config import Settings
from .links import site_root
from .model import Note

POST_URL = re.compile(r"\{%-?\s*post_url\s+([A-Za-z0-9_./-]+)\s*-?%\}")
MD_LINK_TO_POST_URL = re.compile(r"\[([^\]\n]*)\]\(\s*(\{%-?\s*post_url\s+[A-Za-z0-9_./-]+\s*-?%\})\s*\)")
VARIABLE = re.compile(r"\{\{-?\s*(site|page)\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
ANY_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)
POST_NAME = re.compile(r"^(?:.*/)?(\d{4})-(\d{2})-(\d{2})-(.+?)(?:\.(?:md|markdown|html))?$")


def post_url(name: str, settings: Settings) -> str | None:
    """The public URL of another post by its file name, when `site_url` is configured."""
    match = POST_NAME.match(name)
    if not settings.site_url or not match:
        return None
    year, month, day, title = match.groups()
    path = (
        settings.permalink.replace(":year", year)
        .replace(":month", month)
        .replace(":day", day)
        .replace(":title", title)
        .replace(":categories", "")
        .replace("//", "/")
    )
    return site_root(settings.site_url, settings.baseurl) + path.lstrip("/")


def resolve_liquid(body: str, settings: Settings, page: Mapping[str, Any]) -> tuple[str, list[Note]]:
    """Replace resolvable Liquid; unresolved links lose their target, other tags stay as text."""
    notes: list[Note] = []

    def link(match: re.Match[str]) -> str:
        inner = POST_URL.match(match.group(2))
        url = post_url(inner.group(1), settings) if inner else None
        if url is None:
            notes.append(
                Note(
                    "warning",
                    f"unresolved {match.group(2)!r}: link kept as its text (set site_url to resolve it)",
                )
            )
            return match.group(1)
        return f"[{match.group(1)}]({url})"

    def bare_post_url(match: re.Match[str]) -> str:
        url = post_url(match.group(1), settings)
        if url is None:
            notes.append(Note("warning", f"unresolved {match.group(0)!r} (set site_url to resolve it)"))
            return ""
        return url

    lower_page = {k.lower(): v for k, v in page.items()}

    def variable(match: re.Match[str]) -> str:
        scope, name = match.groups()
        if scope == "site":
            value = {
                "url": settings.site_url,
                "baseurl": settings.baseurl,
                "title": settings.show_name,
            }.get(name)
            if value is not None and (value or name == "baseurl"):
                return value
        else:
            found = page.get(name, lower_page.get(name.lower()))
            if isinstance(found, str | int | float) and not isinstance(found, bool):
                if name not in page:
                    notes.append(
                        Note(
                            "warning",
                            f"{match.group(0)!r}: no key {name!r}; used {name.lower()!r} ignoring case",
                        )
                    )
                return str(found)
        notes.append(Note("warning", f"unresolved {match.group(0)!r} kept as text"))
        return match.group(0)

    body = MD_LINK_TO_POST_URL.sub(link, body)
    body = POST_URL.sub(bare_post_url, body)
    body = VARIABLE.sub(variable, body)
    for leftover in ANY_LIQUID.findall(body):
        if not VARIABLE.fullmatch(leftover):
            notes.append(Note("warning", f"Liquid/template syntax {leftover[:60]!r} kept as text"))
    return body, notes
