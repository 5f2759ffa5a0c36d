"""UTC for the records, and how far it can be trusted (docs/protocol.md, "Clock quality").

The rules are edge_agent/clock.py's, ported to a module without an OS clock:

* ``CLOCK_SYNCED``: real time, fresh: an NTP answer (the modem's ``AT+CNTP``,
  or ``ntptime`` on a socket uplink) or the cloud's ``time`` command, less than
  ``fresh_s`` ago (6 h: a 50 ppm crystal drifts about a second in that time,
  the order of the anchor's own error over LTE).
* ``CLOCK_ESTIMATED``: real time earlier since boot, carried forward by the
  tick counter (the last sync is older than ``fresh_s``); and the modem's
  ``AT+CCLK?`` clock set from the network (NITZ, after ``AT+CTZU=1``). That one
  is real time but never better than ESTIMATED: operators send NITZ only at
  attach (some never), with whole seconds at best, and between two NITZ the
  modem's RTC free-runs on its own crystal; nothing tells us how old the
  network's setting is, and a modem that never got NITZ shows its own default
  date plus uptime in the same format (see :func:`plausible`).
* ``CLOCK_UNANCHORED``: no real time since boot: ``now()`` is a guess from
  ``machine.RTC`` (right after a soft reset, or from a battery; 2000-01-01 after
  a power-on), counted forward from boot.

Sources rank NTP > cloud > modem, as in the agent (NTP beats a time carried
over MQTT and LTE): a cloud anchor is ignored while an NTP sync is fresh, a
modem time while the clock is SYNCED.

The time is an anchor (``ticks_ms`` at the anchor, UTC seconds then), never
``time.time()``: the RTC's epoch and start value differ between ports and
boards. ``ticks_diff`` is only valid within 2**29 ms (6.2 days), so the anchor
moves forward by whole seconds once a day of ticks has passed (any ``now()``
or ``quality()`` call does it; the main loop calls them every minute). Integers
only: MicroPython on the ESP32 has single-precision floats (a 128 s step at
today's UTC).

Re-anchoring: while unanchored, stamps are the RTC guess plus uptime; the first
real time ends that stretch with one step (real time - guess, for the same
instant) which :meth:`Clock.anchor` returns and :meth:`Clock.take_anchor_step`
hands out once: the store moves the records of this boot by it. At most one
step per boot, so a record's base is unambiguous. Every accepted anchor also
sets ``machine.RTC`` so a soft reset starts from a good guess (still
UNANCHORED: no real time since *that* start).
"""

import time

from micropython import const

try:
    from typing import Any
except ImportError:
    pass

from protocol.records import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED

SOURCE_NTP = "ntp"
SOURCE_CLOUD = "cloud"
SOURCE_MODEM = "modem"

FRESH_S = const(21600)  # 6 h, as edge_agent.clock.ANCHOR_FRESH_S
# No real clock reads earlier than this software's release, nor (as a 2-digit
# year from AT+CCLK) 2070 or later: outside it is a default date, not the time.
PLAUSIBLE_SINCE = 1767225600  # 2026-01-01 00:00 UTC
PLAUSIBLE_UNTIL = 3155760000  # 2070-01-01 00:00 UTC
_REBASE_MS = const(86400000)  # move the anchor once a day of ticks (< 2**29 ms)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def utc_from_civil(y: int, m: int, d: int, day_s: int = 0) -> int:
    """UTC seconds of a date plus ``day_s`` seconds into it (hh * 3600 + mm * 60 + ss)."""
    return days_from_civil(y, m, d) * 86400 + day_s


def civil_from_utc(t: int) -> "tuple[int, int, int, int, int, int, int]":
    """(year, month, day, hour, minute, second, weekday Monday=0) of UTC seconds."""
    z = t // 86400
    secs = t - z * 86400
    weekday = (z + 3) % 7  # 1970-01-01 was a Thursday
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return (y, m, d, secs // 3600, secs % 3600 // 60, secs % 60, weekday)


def plausible(utc: int) -> bool:
    return PLAUSIBLE_SINCE <= utc < PLAUSIBLE_UNTIL


def _default_rtc() -> "Any":
    try:
        import machine  # noqa: PLC0415 - absent on CPython; the tests pass their own

        return machine.RTC()
    except (ImportError, AttributeError):
        return None


class Clock:
    """``now()`` (UTC s), ``quality()`` (CLOCK_*), ``anchor(utc, source)``."""

    def __init__(self, fresh_s: int = FRESH_S, rtc: "Any" = None) -> None:
        self.fresh_s = fresh_s
        self._rtc = rtc if rtc is not None else _default_rtc()
        self._at = time.ticks_ms()  # ticks at the anchor
        self._utc = self._rtc_guess()  # UTC seconds at the anchor
        self._ms = 0  # and the milliseconds past that second
        self.source: "str | None" = None  # source of the current anchor; None = unanchored
        self._sync_utc: "int | None" = None  # UTC when NTP/cloud last anchored us
        self._ntp_utc: "int | None" = None  # UTC when NTP last anchored us
        self._step: "int | None" = None  # re-anchoring step not taken yet
        self._stepped = False  # a step was found (at most one per boot)
        self.anchored_ms: "int | None" = None  # ticks of the last accepted anchor

    def _rtc_guess(self) -> int:
        if self._rtc is None:
            return 0
        try:
            dt = self._rtc.datetime()  # (y, m, d, weekday, hh, mm, ss, subsec)
            return utc_from_civil(dt[0], dt[1], dt[2], dt[4] * 3600 + dt[5] * 60 + dt[6])
        except (OSError, ValueError, IndexError, TypeError):
            return 0

    def _now_at(self, ticks: int) -> int:
        elapsed = time.ticks_diff(ticks, self._at) + self._ms
        if elapsed >= _REBASE_MS:
            whole = elapsed // 1000
            self._utc += whole
            self._at = ticks
            self._ms = elapsed - whole * 1000
            elapsed = self._ms
        return self._utc + elapsed // 1000

    def now(self, ticks: "int | None" = None) -> int:
        """UTC seconds (a guess while unanchored)."""
        return self._now_at(time.ticks_ms() if ticks is None else ticks)

    def _fresh(self, mark: "int | None", now: int) -> bool:
        return mark is not None and now - mark <= self.fresh_s

    def quality(self, ticks: "int | None" = None) -> int:
        now = self.now(ticks)
        if self.source is None:
            return CLOCK_UNANCHORED
        if self._fresh(self._sync_utc, now):
            return CLOCK_SYNCED
        return CLOCK_ESTIMATED

    def anchor(self, utc: int, source: str, ticks: "int | None" = None) -> "int | None":
        """Set the time to ``utc`` (whole UTC seconds) learnt from ``source``.

        Returns None when refused (implausible, or a worse source than a fresh
        one we hold); else the re-anchoring step in seconds when this anchor ends
        the unanchored stretch (also kept for :meth:`take_anchor_step`), else 0.
        """
        if ticks is None:
            ticks = time.ticks_ms()
        utc = int(utc)
        if not plausible(utc):
            return None
        before = self._now_at(ticks)
        if source == SOURCE_MODEM and self._fresh(self._sync_utc, before):
            return None
        if source == SOURCE_CLOUD and self._fresh(self._ntp_utc, before):
            return None  # NTP is the better source: do not correct the same error twice
        step = 0
        if self.source is None and not self._stepped:
            step = utc - before
            self._step = step
            self._stepped = True
        self._at = ticks
        self._utc = utc
        self._ms = 0
        self.source = source
        self.anchored_ms = ticks
        if source == SOURCE_NTP:
            self._ntp_utc = utc
        if source in (SOURCE_NTP, SOURCE_CLOUD):
            self._sync_utc = utc
        self._set_rtc(utc)
        return step

    def take_anchor_step(self) -> "int | None":
        """The re-anchoring step (seconds) once, then None; None if none happened."""
        step, self._step = self._step, None
        return step

    def _set_rtc(self, utc: int) -> None:
        if self._rtc is None:
            return
        y, m, d, hh, mm, ss, wd = civil_from_utc(utc)
        try:
            self._rtc.datetime((y, m, d, wd, hh, mm, ss, 0))
        except (OSError, ValueError, TypeError):
            pass  # a board without a settable RTC keeps working from the anchor
