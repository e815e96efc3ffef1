"""What each output of a post depends on besides the post's own bytes, as hashes.

Two layers. The shared fingerprint covers what every output goes through: the code that reads,
converts and normalizes (every module but the format modules and `NOT_OUTPUT_CODE`, the Lua
filters), the settings
that are not a format's table, template files no format claims, and the renderers' versions.
Each format then adds its own: its module's code, its templates (bundled, and a site's overrides
of the same names) and its settings tables, as `formats.FORMATS` declares them. So restyling the
newsletter changes the newsletter's fingerprint only, and the build re-renders newsletters alone.

A post's digest per format is `sha256(shared, post bytes, format)`; the manifest keeps it with
the files that format wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..formats import FORMATS, Format
from ..settings.config import TEMPLATES_DIR, Settings

PACKAGE_DIR = Path(__file__).resolve().parents[1]
RENDERERS = ("pypandoc-binary", "weasyprint", "pydyf", "fonttools", "jinja2", "css-inline", "nh3", "segno")
PREVIEW_TEMPLATES = "serve"  # the preview server's own pages: no output depends on them
# The modules and folders around the build that no output is made with: the
# command line, the check, the preview, `normalize --write`, importing, sending and publishing. Editing one
# rebuilds nothing. Every other module is hashed, a new one too; `tests/test_incremental.py`
# checks that none of these is imported by the code that reads, normalizes and renders a post.
NOT_OUTPUT_CODE = frozenset(
    {
        "builder/watch.py", "cli", "importer/fetch.py", "importer/feeds.py", "importer/matching.py",
        "importer/posts.py", "importer/run.py", "importer/state.py", "mail/journal.py", "mail/outgoing.py",
        "mail/readers.py", "mail/sending.py", "preview", "reports.py", "settings/site.py", "youtube",
    }
)  # fmt: skip
# Settings that belong to one format's fingerprint (its tables) or to none (where they came from,
# and `options`: the tables again, as checked).
_NOT_SHARED = ("formats", "template_overrides", "source", "sources", "options")


def _files(folder: Path, skip: Iterable[Path] = ()) -> dict[str, bytes]:
    """`{path from folder: bytes}` of every plain file under `folder` (no caches, none of `skip`).

    One walk that never enters a skipped folder, names compared as text: a no-op build of a
    large archive pays for this walk every time."""
    found: dict[str, bytes] = {}
    if not folder.is_dir():
        return found
    root = folder.resolve()
    skipped: set[str] = set()
    for path in skip:
        resolved = path.resolve()
        if resolved.is_relative_to(root):
            skipped.add(resolved.relative_to(root).as_posix())
    for place, folders, names in os.walk(root):
        here = Path(place).relative_to(root).as_posix()
        prefix = "" if here == "." else here + "/"
        folders[:] = [f for f in folders if f != "__pycache__" and prefix + f not in skipped]
        for name in names:
            path = Path(place, name)
            if prefix + name not in skipped and path.is_file():
                found[prefix + name] = path.read_bytes()
    return dict(sorted(found.items()))


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _hash_files(files: Mapping[str, bytes]) -> str:
    return _digest(*(x for name in sorted(files) for x in (name, files[name])))


def _claims(fmt: Format, name: str) -> bool:
    return any(name == t or name.startswith(t + "/") for t in fmt.templates)


def _module_files(fmt: Format) -> list[Path]:
    """The format's own modules (its renderer and the helpers only it uses)."""
    return [
        PACKAGE_DIR.joinpath("formats", *name.split(".")).with_suffix(".py")
        for name in (fmt.module, *fmt.helpers)
    ]


@lru_cache(maxsize=1)
def _renderer_versions() -> str:
    versions = []
    for package in RENDERERS:
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    return ";".join(versions)


@dataclass(frozen=True)
class Fingerprints:
    """The shared fingerprint and one per format, for one build's settings."""

    shared: str
    formats: Mapping[str, str]

    def base(self, data: bytes) -> str:
        """The digest of a post's bytes under the shared fingerprint: what its normalized
        Episode depends on."""
        return _digest(self.shared, data)

    def digests(self, base: str, names: Sequence[str]) -> dict[str, str]:
        """`{format: digest}` for the formats `names`, from a post's `base` digest."""
        return {name: _digest(base, self.formats[name]) for name in names}


def fingerprints(settings: Settings) -> Fingerprints:
    """Hash the code, templates, settings and renderers every output depends on."""
    templates = {
        name: data
        for name, data in _files(TEMPLATES_DIR).items()
        if name.split("/", 1)[0] != PREVIEW_TEMPLATES
    }
    overrides = _files(Path(settings.template_overrides)) if settings.template_overrides else {}
    claimed = list(FORMATS.values())
    module_files = [path for f in claimed for path in _module_files(f)]
    skipped = [*module_files, TEMPLATES_DIR, *(PACKAGE_DIR / name for name in NOT_OUTPUT_CODE)]
    code = _files(PACKAGE_DIR, skip=skipped)
    core = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name not in _NOT_SHARED}
    shared = _digest(
        _hash_files(code),
        _hash_files({n: d for n, d in templates.items() if not any(_claims(f, n) for f in claimed)}),
        _hash_files({n: d for n, d in overrides.items() if not any(_claims(f, n) for f in claimed)}),
        json.dumps(core, sort_keys=True, default=list),
        _renderer_versions(),
    )
    per_format: dict[str, str] = {}
    for fmt in claimed:
        tables = {t: dict(settings.table(t)) for t in fmt.tables}
        per_format[fmt.name] = _digest(
            fmt.name,
            *(module.read_bytes() if module.is_file() else b"" for module in _module_files(fmt)),
            _hash_files({n: d for n, d in templates.items() if _claims(fmt, n)}),
            _hash_files({n: d for n, d in overrides.items() if _claims(fmt, n)}),
            json.dumps(tables, sort_keys=True, default=list),
        )
    return Fingerprints(shared, per_format)
