"""The only module that runs pandoc: Markdown with embedded feed HTML to pandoc's JSON AST."""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConversionError

LUA_FILTER = Path(__file__).resolve().parent / "lua" / "html_blocks.lua"
# commonmark_x is linear-time (the `markdown` reader is not, and eats `---` blocks); turn off
# the extensions that would change the writer's words: smart quotes, :emoji:, $math$, ~sub~.
READER = (
    "commonmark_x-smart-emoji-tex_math_dollars-yaml_metadata_block-subscript-superscript"
    "-definition_lists-alerts-fenced_divs-raw_attribute"
)
TIMEOUT_SECONDS = 30
MEMORY_LIMIT = "512M"


@lru_cache(maxsize=1)
def pandoc_path() -> str:
    """The pandoc binary shipped by pypandoc-binary."""
    import pypandoc

    return str(pypandoc.get_pandoc_path())


@lru_cache(maxsize=1)
def pandoc_version() -> str:
    """pandoc's version string (outputs depend on it)."""
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.split("\n", 1)[0].split()[-1]


def body_to_ast(body: str, path: Path | str) -> dict[str, Any]:
    """pandoc's JSON AST of a post body; HTML blocks arrive parsed, in Divs of class from-html."""
    command = [
        pandoc_path(),
        "+RTS",
        f"-M{MEMORY_LIMIT}",
        "-RTS",
        "--sandbox",
        "--from",
        READER,
        "--to",
        "json",
        "--lua-filter",
        str(LUA_FILTER),
    ]
    try:
        done = subprocess.run(
            command,
            input=body.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ConversionError(f"pandoc took over {TIMEOUT_SECONDS} s on this body", path=path) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        message = detail[-1] if detail else f"exit code {done.returncode}"
        if "Heap exhausted" in " ".join(detail):
            message = f"pandoc ran out of its {MEMORY_LIMIT} memory limit"
        raise ConversionError(f"pandoc failed: {message}", path=path)
    try:
        ast: dict[str, Any] = json.loads(done.stdout)
    except RecursionError:
        raise ConversionError("the body is nested too deeply to convert", path=path) from None
    return ast
