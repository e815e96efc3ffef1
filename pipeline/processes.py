"""Other processes, as the build and sending see them: whether one is alive, and a child that
dies with its parent (pandoc and pool workers: a build killed with `kill -9` leaves neither)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def pid_alive(pid: int) -> bool:
    """True unless no process `pid` exists (a process of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:
        return True
    return True


def _load_prctl() -> Any:
    """libc's prctl, looked up before any fork (a child must not load libraries); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when `parent` exits (Linux; elsewhere nothing).

    Called in pool workers and, through `preexec_fn`, in pandoc: a build killed with
    `kill -9` leaves neither behind. If the parent is already gone, exit now.
    """
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
