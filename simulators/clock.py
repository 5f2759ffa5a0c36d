"""Clocks for the simulators: the time the simulated site lives in.

Everything in ``simulators/`` asks an injected :class:`Clock` for "now" (UTC unix
seconds, float) instead of calling ``time.time()``, so tests can freeze time or run
a day of load in a second. Line timing on the RTU pty is *not* simulated time: it
always uses the real monotonic clock, because the client measures it with one.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FakeClock", "SimClock"]


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now() -> float`` (UTC unix seconds)."""

    def now(self) -> float: ...


class SimClock:
    """Real time, optionally sped up, that can be jumped forward.

    ``now() = start + speed * (monotonic elapsed) + offset``. With the defaults it is
    the wall clock. ``advance(s)`` moves it ``s`` seconds ahead at once (the control
    socket's ``{"advance": s}``), so an out-of-process test can skip an hour without
    waiting for it. Never goes backwards: ``advance`` refuses negative steps.
    """

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self._speed = speed
        self._start = time.time() if start is None else float(start)
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            offset = self._offset
        return self._start + (time.monotonic() - self._mono0) * self._speed + offset

    def advance(self, seconds: float) -> float:
        """Jump ``seconds`` ahead; returns the new now()."""
        if seconds < 0:
            raise ValueError("the clock does not go backwards")
        with self._lock:
            self._offset += seconds
        return self.now()


class FakeClock:
    """A clock that only moves when told to (unit tests)."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self._t = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock does not go backwards")
        with self._lock:
            self._t += seconds
            return self._t

    def set(self, t: float) -> None:
        with self._lock:
            if t < self._t:
                raise ValueError("the clock does not go backwards")
            self._t = float(t)
