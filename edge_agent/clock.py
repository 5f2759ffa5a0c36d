"""The agent's time source, and how far it can be trusted.

Every record carries the meter-side timestamp and a clock flag
(``protocol.codec.CLOCK_*``), so the cloud can tell a minute measured on an
NTP-synchronised module from one measured on a module that booted without
network and has no idea what day it is. The flags, as the protocol defines them:

* ``CLOCK_SYNCED``: real time, fresh: the kernel says its clock is synchronised
  (NTP, chrony, systemd-timesyncd...), or the cloud's ``time`` command anchored
  us less than ``anchor_fresh_s`` ago (6 h: about a second of crystal drift).
  The kernel's state is read with ``adjtimex(2)`` in read-only mode: it returns
  ``TIME_ERROR`` or sets ``STA_UNSYNC`` while unsynchronised.
* ``CLOCK_ESTIMATED``: we had real time earlier since start (the kernel lost
  its sync, or the anchor is older than that), carried forward by the clock.
* ``CLOCK_UNANCHORED``: no real time since start: neither synchronised nor
  anchored. A battery-backed RTC may well be right, but nothing confirms it.

A cloud anchor is held against ``time.monotonic()``, not as an offset to the
wall clock, so a later step of the kernel clock (an RTC read, a manual ``date``)
cannot silently shift it. As soon as the kernel reports synchronisation the
anchor is dropped: NTP is more accurate than a time carried over MQTT and LTE,
and keeping both would correct the same error twice.

Re-anchoring. While unanchored, :class:`SystemClock` stamps with the monotonic
clock plus the wall clock's offset at its first unanchored reading (one base for
every stamp, whatever the RTC does meanwhile). The first reading with real time
after that (an accepted anchor, the kernel's sync, a wall clock stepped to a
plausible time) fixes the step ``(real time - monotonic) - that offset``, which
:meth:`SystemClock.take_anchor_step` hands out once: the agent moves the records
stamped in the old base by it (``RecordQueue.reanchor``). At most one step per
clock: a record's base must be unambiguous.

Tests and simulations inject :class:`FakeClock` (moves only when told) or
:class:`AcceleratedClock` (real time, N times faster).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED

__all__ = [
    "ANCHOR_FRESH_S",
    "CLOCK_NAMES",
    "AcceleratedClock",
    "Clock",
    "FakeClock",
    "SystemClock",
    "kernel_clock_synced",
]

# How long a cloud anchor counts as synchronised: a 50 ppm crystal drifts about
# one second in that time, the order of the anchor's own error over LTE.
ANCHOR_FRESH_S = 6 * 3600.0

# Names used in the status message and logs.
CLOCK_NAMES = {
    CLOCK_SYNCED: "synced",
    CLOCK_ESTIMATED: "estimated",
    CLOCK_UNANCHORED: "unanchored",
}


@runtime_checkable
class Clock(Protocol):
    """What the agent needs from a clock. ``now()`` is UTC unix seconds."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    def quality(self) -> int: ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep ``seconds`` of this clock's time or until ``stop`` is set; True if set."""
        ...

    def take_anchor_step(self) -> float | None:
        """Seconds the clock's time moved when it learnt the real time after stamping
        unanchored (``now()`` after minus before, for the same instant); returned once,
        then None. None while nothing changed, and for a clock never unanchored."""
        ...


# --- kernel synchronisation state --------------------------------------------

# No real clock can read earlier than this software's release: a time before it
# means the RTC was never set or lost its power.
PLAUSIBLE_SINCE = 1_767_225_600.0  # 2026-01-01 00:00 UTC

_TIME_ERROR = 5  # adjtimex return value: clock not synchronised
_STA_UNSYNC = 0x0040  # timex.status bit: clock not synchronised


class _Timex(ctypes.Structure):
    # Only the leading fields of struct timex are named; the tail (which differs
    # between kernel versions and ABIs) is padding, larger than any real layout.
    # c_long follows the platform ABI of the libc ``adjtimex`` symbol.
    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),
    )


def _load_adjtimex() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.adjtimex
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.POINTER(_Timex),)
    fn.restype = ctypes.c_int
    return fn


_adjtimex = _load_adjtimex()


def kernel_clock_synced() -> bool | None:
    """True/False from the kernel's view of synchronisation; None if it cannot be read.

    ``modes = 0`` makes adjtimex read-only, so no privilege is needed.
    """
    if _adjtimex is None:
        return None
    tx = _Timex()
    ret = _adjtimex(ctypes.byref(tx))
    if ret < 0:
        return None
    return ret != _TIME_ERROR and not (tx.status & _STA_UNSYNC)


# --- clocks -------------------------------------------------------------------


class SystemClock:
    """The real clock of a Linux module, with an optional anchor set by the cloud.

    ``synced_fn`` is injectable for tests; by default the kernel is asked.
    """

    def __init__(
        self,
        synced_fn: Callable[[], bool | None] = kernel_clock_synced,
        anchor_fresh_s: float = ANCHOR_FRESH_S,
        plausible_since: float = PLAUSIBLE_SINCE,
    ) -> None:
        self._synced_fn = synced_fn
        self.plausible_since = plausible_since
        self.anchor_fresh_s = anchor_fresh_s
        self._lock = threading.Lock()
        self._anchor: tuple[float, float] | None = None  # (utc, monotonic) when told
        self._had_real_time = False
        # wall - monotonic at the first unanchored reading: the base of unanchored stamps
        self._base: float | None = None
        self._step: float | None = None  # not taken yet
        self._stepped = False  # a step was found (at most one per clock)

    def _read(self) -> tuple[float, int, bool]:
        """(now, quality, kernel synced), read together; notes the end of an unanchored
        stretch (the module docstring's re-anchoring)."""
        synced = bool(self._synced_fn())
        wall, mono = time.time(), time.monotonic()
        with self._lock:
            if synced:
                self._anchor = None  # NTP wins; see the module docstring
                self._had_real_time = True
                now, quality = wall, CLOCK_SYNCED
            elif self._anchor is not None:
                utc, at = self._anchor
                now = utc + (mono - at)
                fresh = mono - at <= self.anchor_fresh_s
                quality = CLOCK_SYNCED if fresh else CLOCK_ESTIMATED
            elif self._had_real_time or wall >= self.plausible_since:
                # A Linux module keeps system time in a battery-backed RTC: a plausible
                # time is an estimate, unverified until NTP or the cloud confirms it.
                now, quality = wall, CLOCK_ESTIMATED
            else:
                # Before the floor the RTC lost its time (flat battery: 1970 or 2000)
                if self._base is None:
                    self._base = wall - mono
                return mono + self._base, CLOCK_UNANCHORED, False
            if self._base is not None and not self._stepped:
                self._step = (now - mono) - self._base
                self._stepped = True
            self._base = None
        return now, quality, synced

    def now(self) -> float:
        return self._read()[0]

    def monotonic(self) -> float:
        return time.monotonic()

    def quality(self) -> int:
        return self._read()[1]

    def anchor(self, utc: float) -> float | None:
        """Re-anchor to ``utc`` (the cloud's ``time`` command); returns the step applied.

        Ignored (returns None) while the kernel is synchronised: NTP is the better
        source. The caller should reject commands that waited in a broker queue
        (MQTT v5 message expiry), since their ``utc`` is as old as the wait.
        """
        before, _, synced = self._read()
        if synced:
            return None
        with self._lock:
            self._anchor = (float(utc), time.monotonic())
            self._had_real_time = True
        self._read()  # ends an unanchored stretch, if this is one
        return float(utc) - before

    def take_anchor_step(self) -> float | None:
        self._read()  # a kernel sync or a wall clock step since the last reading counts now
        with self._lock:
            step, self._step = self._step, None
        return step

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to. ``wait`` advances it (no real sleep)."""

    def __init__(
        self, start: float = 1_767_225_600.0, quality: int = CLOCK_SYNCED
    ) -> None:  # 2026-01-01T00:00Z
        self._now = float(start)
        self._mono = 1000.0
        self._quality = quality
        self._step: float | None = None
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def quality(self) -> int:
        with self._lock:
            return self._quality

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (both the wall clock and the monotonic clock)."""
        if seconds < 0:
            raise ValueError("time does not run backwards; use set_wall() to step it")
        with self._lock:
            self._now += seconds
            self._mono += seconds

    def set_wall(self, utc: float) -> None:
        """Step the wall clock only (what NTP or an anchor does); monotonic is untouched."""
        with self._lock:
            self._now = float(utc)

    def set_quality(self, quality: int) -> None:
        with self._lock:
            self._quality = quality

    def anchor(self, utc: float) -> float:
        """What the cloud's ``time`` command does: the wall clock steps to ``utc`` and the
        clock says synced; returns the step. Ending UNANCHORED this way hands the step
        out once through :meth:`take_anchor_step`, as :class:`SystemClock` does."""
        with self._lock:
            step = float(utc) - self._now
            if self._quality == CLOCK_UNANCHORED:
                self._step = step
            self._now = float(utc)
            self._quality = CLOCK_SYNCED
        return step

    def take_anchor_step(self) -> float | None:
        with self._lock:
            step, self._step = self._step, None
        return step

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        if stop.is_set():
            return True
        self.advance(max(0.0, seconds))
        return stop.is_set()


class AcceleratedClock:
    """Real time running ``factor`` times faster from ``start`` (simulations, demos).

    Both ``now()`` and ``monotonic()`` are accelerated, and ``wait`` sleeps the
    correspondingly shorter real time, so an agent polling every second polls
    ``factor`` times per real second and a day passes in 86400/``factor`` s.
    """

    def __init__(
        self, factor: float, start: float | None = None, quality: int = CLOCK_SYNCED
    ) -> None:
        if factor <= 0:
            raise ValueError(f"acceleration factor must be > 0, got {factor}")
        self.factor = float(factor)
        self._start = time.time() if start is None else float(start)
        self._real0 = time.monotonic()
        self._quality = quality

    def _elapsed(self) -> float:
        return (time.monotonic() - self._real0) * self.factor

    def now(self) -> float:
        return self._start + self._elapsed()

    def monotonic(self) -> float:
        return self._real0 + self._elapsed()

    def quality(self) -> int:
        return self._quality

    def take_anchor_step(self) -> float | None:
        return None  # its time never steps

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds) / self.factor)
