"""Publish one podcast episode everywhere: canonical post, newsletter, PDF, platform text.

The names below are loaded when first used, so importing one module of the package
(`pipeline.errors`) loads that module alone, not the build. The build itself is
`pipeline.builder.run.build` (`pipeline.builder.run` is its module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import PipelineError
    from .model import Episode
    from .normalize.stages import normalize_file
    from .results import BuildSummary
    from .settings.config import Settings, load_settings

__version__ = "0.1.0"

_PUBLIC = {
    "BuildSummary": "results",
    "Episode": "model",
    "PipelineError": "errors",
    "Settings": "settings.config",
    "load_settings": "settings.config",
    "normalize_file": "normalize.stages",
}
__all__ = ["BuildSummary", "Episode", "PipelineError", "Settings", "load_settings", "normalize_file"]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
