"""Developer tools of the checkout, run by `invoke bench` and `invoke fuzz` (see `tasks.py`).

Not part of the installed package: the wheel carries `pipeline` only. They read the repository
(`samples/`, `tests/fixtures/`) by paths relative to it.
"""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
"""The checkout's root folder: the one holding `devtools/`, `samples/` and `tests/`."""
