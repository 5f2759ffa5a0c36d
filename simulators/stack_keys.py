"""Single-key commands for the stack's console view (``l``, ``s``, ``q``).

The terminal goes into cbreak mode (keys arrive one at a time, unechoed; Ctrl-C
still sends SIGINT) while the view runs, and is restored on exit whatever happens.
A daemon thread reads stdin with a short select() timeout so that it can notice
:meth:`KeyReader.stop` and never holds the process open.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable
from types import TracebackType
from typing import Any

__all__ = ["KeyReader", "keys_available"]


def keys_available() -> bool:
    """stdin is a terminal we can put in cbreak mode."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


class KeyReader:
    """Calls ``on_key(char)`` for each key pressed, from a background thread."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self._on_key = on_key
        self._fd = sys.stdin.fileno()
        self._saved: list[Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-keys", daemon=True)

    def __enter__(self) -> KeyReader:
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(1.0)
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.2)
                if not ready:
                    continue
                data = os.read(self._fd, 32)
            except OSError:
                return
            if not data:
                return  # stdin closed
            for char in data.decode(errors="ignore"):
                self._on_key(char)
