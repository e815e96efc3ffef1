"""A command run on a pseudo-terminal, as a user at a keyboard runs it: it sees a terminal on
stdin and stdout (so it may ask `[y/N]`), and the test reads what it prints and types answers."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class PseudoTerminal:
    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self._leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env={**os.environ, **env},
            stdin=follower,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        self.output = b""

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def _read(self, timeout: float) -> bool:
        """Add what the command printed next to `output`; False once the terminal has closed."""
        ready, _, _ = select.select([self._leader], [], [], timeout)
        assert ready, self.text
        try:
            chunk = os.read(self._leader, 4096)
        except OSError:  # the terminal closed: the process is done
            return False
        self.output += chunk
        return bool(chunk)

    def read_until(self, marker: bytes, timeout: float = 60) -> None:
        while marker not in self.output:
            assert self._read(timeout), self.text

    def type(self, keys: bytes) -> None:
        os.write(self._leader, keys)

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Read to the end; the exit code and everything printed."""
        try:
            while self._read(timeout):
                pass
        finally:
            os.close(self._leader)
        return self.process.wait(timeout=timeout), self.text
