"""Ctrl-C and SIGTERM: when they interrupt a build, and the short stretches they may not.

A build stopped by Ctrl-C or `kill` cleans up as it unwinds (pandoc stopped, scratch folders
removed). That clean-up must not itself be cut in half, nor may a scratch folder be made
without an owner or a pandoc process started without anyone holding it: `deferred()` holds
both signals over such a stretch and delivers one at its end.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt for a while (in the main thread), so a build stopped by
    `kill`, `timeout` or a CI runner cleans up and reports as one stopped with Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then act on the first one that came.

    Python runs signal handlers in the main thread only, so elsewhere (a finalizer on another
    thread) nothing can interrupt the block and nothing is changed. Nested blocks deliver at
    the outermost end.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in _SIGNALS}
    if any(handler is None for handler in previous.values()):  # a handler not set from Python
        yield
        return
    caught: list[signal.Signals] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signal.Signals(signum))

    for number in _SIGNALS:
        signal.signal(number, hold)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            _deliver(caught[0], previous[caught[0]])


def _deliver(number: signal.Signals, handler: object) -> None:
    if callable(handler):
        handler(number, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(number)  # the default action: the process ends as it would have
