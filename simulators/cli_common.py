"""Helpers the ``myenergy-sim`` subcommands share."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from simulators.control import split_address

__all__ = ["host_port", "sigterm_as_interrupt", "wait_for_stop"]


def host_port(text: str, option: str) -> tuple[str, int]:
    """``"127.0.0.1:5020"`` -> ``("127.0.0.1", 5020)``; loopback only."""
    where = split_address(text)
    if isinstance(where, str):
        raise ValueError(f"{option} takes HOST:PORT, got {text!r}")
    return where


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while inside, so ``finally`` blocks close servers.

    Installed before anything is started: a supervisor (or a test) may send SIGTERM
    as soon as it has read the "ready" line.
    """

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_stop(tick_s: float | None = None, on_tick: Callable[[], None] | None = None) -> None:
    """Block until Ctrl-C (or SIGTERM, see above); call ``on_tick()`` every ``tick_s``."""
    idle = threading.Event()  # never set: its wait() is an interruptible sleep
    try:
        while not idle.wait(tick_s):
            if on_tick is not None:
                on_tick()
    except KeyboardInterrupt:
        pass
