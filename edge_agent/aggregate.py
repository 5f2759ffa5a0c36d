"""Polls -> one-minute records.

The poller feeds every successful poll (values already validated against the
channel vocabulary) to :class:`MinuteAggregator`; when a poll falls into a new
UTC minute, the previous minute comes out as a :class:`protocol.codec.Record`
(``seq = 0`` until the queue assigns one):

* instant channels: mean, min and max over the polls of the minute that carried
  the channel (running sums, nothing buffered);
* counter channels: the last value read in the minute (energy is computed from
  counters in the cloud, never by integrating power here);
* ``samples``: polls that contributed, ``expected``: polls the minute should have
  had (``60 / poll_s``), so the record says how complete it is;
* ``clock``: the worst clock quality seen during the minute.

A minute without a single contributing poll produces no record: the gap shows
as missing data, never as zeros.

Decisions:

* ``flush()`` (graceful shutdown) emits the partial minute with its true sample
  count; a record with ``samples < expected`` is honest, dropping the data is not.
  A restart inside the same minute therefore yields two records with the same
  ``ts``; the later one covers the later polls.
* ``close_due(now)`` emits the current minute once its end has passed, so a
  minute is stored promptly even when the meter stops answering (no next poll
  would ever arrive to close it).
* A poll in any other minute than the current one closes the current minute,
  including a step *back* in time (the clock was re-anchored): minutes are never
  merged across a clock step.
* When the clock learns the real time after stamping without it (re-anchoring,
  ``edge_agent.clock``), the agent calls ``rebase(step, now)`` before the next poll:
  the minute in progress moves with the records already queued (same step, same
  grid rule), so it neither comes out at its old, wrong time nor collides with the
  minutes stamped after the step; later polls continue or close it as usual.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from protocol.codec import CLOCK_ESTIMATED, Record

__all__ = ["PERIOD_S", "MinuteAggregator"]

PERIOD_S = 60


class _Running:
    """Mean/min/max of one channel without keeping the samples."""

    __slots__ = ("count", "maximum", "minimum", "total")

    def __init__(self, value: float) -> None:
        self.count = 1
        self.total = value
        self.minimum = value
        self.maximum = value

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.minimum = min(self.minimum, value)
        self.maximum = max(self.maximum, value)

    def stats(self) -> tuple[float, float, float]:
        return (self.total / self.count, self.minimum, self.maximum)


class MinuteAggregator:
    """Accumulates polls of the current UTC minute; emits the minute when it ends.

    ``clock_quality_fn`` is called once per poll (e.g. ``clock.quality``).
    Not thread-safe: one poller thread owns it.
    """

    def __init__(self, expected_per_minute: int, clock_quality_fn: Callable[[], int]) -> None:
        if expected_per_minute < 1:
            raise ValueError(f"expected_per_minute must be >= 1, got {expected_per_minute}")
        self.expected_per_minute = expected_per_minute
        self._quality = clock_quality_fn
        self._minute: int | None = None  # start of the current minute, unix seconds
        self._samples = 0
        self._clock = 0
        self._stats: dict[str, _Running] = {}
        self._counters: dict[str, int] = {}

    @property
    def current_minute(self) -> int | None:
        """Start of the minute being accumulated, or None before the first poll."""
        return self._minute

    def add(
        self, ts: float, values: Mapping[str, float], counters: Mapping[str, int]
    ) -> Record | None:
        """Feed one poll taken at ``ts``; returns the previous minute if this poll closed it.

        A poll with neither values nor counters (everything failed validation) does
        not count as a sample, but still closes the previous minute.
        """
        minute = math.floor(ts / PERIOD_S) * PERIOD_S
        done = None
        if self._minute is not None and minute != self._minute:
            done = self._emit()
        if self._minute is None:
            self._minute = minute
        if not values and not counters:
            return done
        self._samples += 1
        self._clock = max(self._clock, self._quality())  # higher constant = worse
        for name, value in values.items():
            running = self._stats.get(name)
            if running is None:
                self._stats[name] = _Running(float(value))
            else:
                running.add(float(value))
        self._counters.update(counters)
        return done

    def close_due(self, now: float) -> Record | None:
        """Emit the current minute if ``now`` is past its end (call it every poll loop)."""
        if self._minute is not None and now >= self._minute + PERIOD_S:
            return self._emit()
        return None

    def flush(self) -> Record | None:
        """Emit the partial current minute (graceful shutdown), or None if it is empty."""
        return self._emit()

    def rebase(self, step_s: float, now: float) -> None:
        """The clock's time moved by ``step_s`` (re-anchoring); ``now`` is after the step.

        The minute in progress moves to the grid minute its start really fell in
        (``floor``, as ``RecordQueue.reanchor`` re-stamps), flagged ``CLOCK_ESTIMATED``
        at best, if it was begun before the step, i.e. if that puts it nearer ``now``.
        A minute begun after the step (a poll between the step and this call) stays.
        """
        if self._minute is None:
            return
        moved = math.floor((self._minute + step_s) / PERIOD_S) * PERIOD_S
        if abs(now - moved) <= abs(now - self._minute):
            self._minute = moved
            self._clock = CLOCK_ESTIMATED

    def set_expected_per_minute(self, expected_per_minute: int) -> None:
        """Change the poll rate (a ``config`` command); applies from the current minute on."""
        if expected_per_minute < 1:
            raise ValueError(f"expected_per_minute must be >= 1, got {expected_per_minute}")
        self.expected_per_minute = expected_per_minute

    def _emit(self) -> Record | None:
        minute, samples = self._minute, self._samples
        record = None
        if minute is not None and samples > 0:
            record = Record(
                0,
                minute,
                PERIOD_S,
                self._clock,
                samples,
                self.expected_per_minute,
                1,
                {name: r.stats() for name, r in self._stats.items()},
                dict(self._counters),
            )
        self._minute = None
        self._samples = 0
        self._clock = 0
        self._stats = {}
        self._counters = {}
        return record
