"""Progress on the terminal for long builds: what is being done, how far, time so far.

Shown only when standard error is a terminal, on one line that rewrites itself; in CI logs,
pipes and tests it prints nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self._shown = False

    def step(self, message: str) -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        self.stream.write(f"\r\x1b[K{message}（已用 {elapsed:.1f} 秒）")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False


QUIET = Progress(enabled=False)
