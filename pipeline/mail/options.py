"""The `[email]` settings table, checked: light, for the settings loader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..settings.schema import option, table_options

if TYPE_CHECKING:
    from ..settings.config import Settings

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class EmailOptions:
    """The `[tool.pipeline.email]` table, checked (`pipeline.settings.schema` reads it)."""

    timeout: float = option(DEFAULT_TIMEOUT, positive=True)
    """Seconds the SMTP server has to answer."""


def email_options(settings: Settings) -> EmailOptions:
    """The `[tool.pipeline.email]` options: those checked at load, else checked now."""
    return table_options(settings, "email", EmailOptions)
