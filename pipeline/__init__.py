"""Publish one podcast episode everywhere: canonical post, newsletter, PDF, platform text."""

from __future__ import annotations

from .build import build
from .config import Settings, load_settings
from .errors import PipelineError
from .model import Episode
from .normalize import normalize_file
from .results import BuildSummary

__version__ = "0.1.0"

__all__ = [
    "BuildSummary",
    "Episode",
    "PipelineError",
    "Settings",
    "build",
    "load_settings",
    "normalize_file",
]
