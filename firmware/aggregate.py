"""Polls -> one-minute records (MicroPython port of edge_agent/aggregate.py).

Same semantics as the agent's :class:`MinuteAggregator`, so a module and a Linux
agent fed the same polls produce the same records (tests/firmware/test_aggregate.py
checks it on real MicroPython against the agent):

* instant channels: mean, min and max over the polls of the minute that carried
  the channel (running sums, nothing buffered);
* counter channels: the last value read in the minute;
* ``samples``/``expected``: polls that contributed / polls the minute should have;
* ``clock``: the worst clock quality seen during the minute;
* a minute without a contributing poll gives no record (a gap, never zeros);
* ``close_due``, ``flush`` and ``rebase`` as in the agent (see its docstring).

Records come out as ``protocol.records.Record`` with ``seq = 0`` (the store
assigns it). Timestamps are unix seconds: pass ints on the device, whose floats
are single precision (a float32 holds today's unix time only to 128 s).

Per channel the running state is a 4-item list [count, total, min, max] (no
object per channel), replaced, not cleared, when a minute ends.
"""

import math

from protocol.records import CLOCK_ESTIMATED, Record

try:
    from typing import Any, Callable
except ImportError:
    pass

PERIOD_S = 60


def _minute(ts: "Any") -> int:
    # floor to the grid: int // keeps an int timestamp exact; a float one is floored
    # as the agent does it (math.floor of the quotient), to the same minute
    if isinstance(ts, int):
        return ts // PERIOD_S * PERIOD_S
    return math.floor(ts / PERIOD_S) * PERIOD_S


class MinuteAggregator:
    """Accumulates polls of the current UTC minute; emits the minute when it ends.

    ``clock_quality_fn`` is called once per contributing poll (e.g. the clock's
    ``quality``); higher constants are worse.
    """

    def __init__(self, expected_per_minute: int, clock_quality_fn: "Callable[[], int]") -> None:
        if expected_per_minute < 1:
            raise ValueError("expected_per_minute must be >= 1, got %d" % expected_per_minute)
        self.expected_per_minute = expected_per_minute
        self._quality = clock_quality_fn
        self._minute = None  # type: Any
        self._samples = 0
        self._clock = 0
        self._stats = {}  # type: dict[str, list[Any]]
        self._counters = {}  # type: dict[str, int]

    @property
    def current_minute(self) -> "Any":
        """Start of the minute being accumulated, or None before the first poll."""
        return self._minute

    def add(self, ts: "Any", values: "Any", counters: "Any") -> "Any":
        """Feed one poll taken at ``ts``; returns the previous minute if this poll closed it.

        A poll with neither values nor counters does not count as a sample, but
        still closes the previous minute.
        """
        minute = _minute(ts)
        done = None
        if self._minute is not None and minute != self._minute:
            done = self._emit()
        if self._minute is None:
            self._minute = minute
        if not values and not counters:
            return done
        self._samples += 1
        self._clock = max(self._clock, self._quality())
        stats = self._stats
        for name, raw in values.items():
            value = float(raw)
            running = stats.get(name)
            if running is None:
                stats[name] = [1, value, value, value]
            else:
                running[0] += 1
                running[1] += value
                running[2] = min(running[2], value)
                running[3] = max(running[3], value)
        self._counters.update(counters)
        return done

    def add_reading(self, ts: "Any", reading: "Any") -> "Any":
        """``add`` for a :class:`firmware.meter.MeterReader` result (one dict, counters
        as ints, instants as floats): split by the value's type, as the reader made it."""
        values = {}
        counters = {}
        for name, value in reading.items():
            if isinstance(value, int):
                counters[name] = value
            else:
                values[name] = value
        return self.add(ts, values, counters)

    def close_due(self, now: "Any") -> "Any":
        """Emit the current minute if ``now`` is past its end (call it every loop)."""
        if self._minute is not None and now >= self._minute + PERIOD_S:
            return self._emit()
        return None

    def flush(self) -> "Any":
        """Emit the partial current minute (graceful shutdown), or None if it is empty."""
        return self._emit()

    def rebase(self, step_s: "Any", now: "Any") -> None:
        """The clock's time moved by ``step_s`` (re-anchoring); ``now`` is after the step.

        The minute in progress moves to the grid minute its start really fell in,
        flagged CLOCK_ESTIMATED at best, if that puts it nearer ``now``.
        """
        if self._minute is None:
            return
        moved = _minute(self._minute + step_s)
        if abs(now - moved) <= abs(now - self._minute):
            self._minute = moved
            self._clock = CLOCK_ESTIMATED

    def set_expected_per_minute(self, expected_per_minute: int) -> None:
        """Change the poll rate (a ``config`` command); applies from the current minute on."""
        if expected_per_minute < 1:
            raise ValueError("expected_per_minute must be >= 1, got %d" % expected_per_minute)
        self.expected_per_minute = expected_per_minute

    def _emit(self) -> "Any":
        minute, samples = self._minute, self._samples
        record = None
        if minute is not None and samples > 0:
            stats = {}
            for name, r in self._stats.items():
                stats[name] = (r[1] / r[0], r[2], r[3])
            record = Record(
                0,
                minute,
                PERIOD_S,
                self._clock,
                samples,
                self.expected_per_minute,
                1,
                stats,
                self._counters,
            )
        self._minute = None
        self._samples = 0
        self._clock = 0
        self._stats = {}
        self._counters = {}
        return record
