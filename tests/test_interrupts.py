"""Ctrl-C and SIGTERM held over the stretches a build may not be cut in, then delivered."""

from __future__ import annotations

import signal

import pytest

from pipeline.interrupts import deferred, terminate_as_interrupt


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_inside_a_deferred_block_arrives_at_its_end() -> None:
    finished = []

    def block() -> None:
        with deferred():
            signal.raise_signal(signal.SIGINT)
            finished.append("block")
        finished.append("after")

    with pytest.raises(KeyboardInterrupt):
        block()
    assert finished == ["block"]


def test_sigterm_inside_a_deferred_block_is_the_build_s_interrupt_at_its_end() -> None:
    finished = []

    def block() -> None:
        with terminate_as_interrupt(), deferred():
            with deferred():  # nested: delivered once, at the outermost end
                signal.raise_signal(signal.SIGTERM)
                finished.append("inner")
            finished.append("outer")

    with pytest.raises(KeyboardInterrupt):
        block()
    assert finished == ["inner", "outer"]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.usefixtures("ctrl_c")
def test_a_deferred_block_without_signals_changes_nothing() -> None:
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with deferred():
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
