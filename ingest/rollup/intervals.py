"""Energy per fixed UTC-aligned interval (15 minutes by default).

Rules (docs/rollups.md has worked examples):

* Each valid counter difference ``(a, b]`` is apportioned to the intervals it
  overlaps in proportion to the overlap's duration (linear within the gap).
* Energy is in integer Wh, like the register. The shares of one difference are
  rounded by largest remainder (ties to the earlier interval), so they add up to
  the difference exactly: interval sums reconcile with the meter to the Wh. The
  rounding depends only on the difference itself, never on the query window, so
  recomputing a few intervals gives the same numbers as computing a whole day.
* ``completeness`` = seconds of the interval covered by valid differences /
  interval length. Time before the first reading, after the last, and across
  resets, spikes and gaps is not covered.
* Each event is attached to exactly one interval: the one whose ``(start, end]``
  holds the event's ``ts`` (the reading ending the difference), so counting
  events over intervals counts each once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ingest.rollup.counters import CounterEvent, CounterReading, Difference, differences

DEFAULT_INTERVAL_S = 900  # Bulgaria settles imbalances per quarter-hour (DOMAIN "Market time")


@dataclass(frozen=True)
class EnergyInterval:
    """Energy ``wh`` measured in ``[start, end)`` (unix seconds, UTC-aligned)."""

    start: int
    end: int
    wh: int
    completeness: float
    events: tuple[CounterEvent, ...] = ()


def _check_grid(start: int, end: int, interval_s: int) -> None:
    if interval_s <= 0:
        raise ValueError(f"interval_s must be positive, got {interval_s}")
    if start % interval_s or end % interval_s:
        raise ValueError(f"window {start}..{end} is not aligned to {interval_s} s intervals")
    if end < start:
        raise ValueError(f"window ends before it starts: {start}..{end}")


def apportion(diff_wh: int, a: int, b: int, interval_s: int) -> list[tuple[int, int, int]]:
    """Split ``diff_wh`` over ``(a, b]`` into ``(interval_start, seconds, wh)`` pieces.

    Shares are proportional to the seconds in each interval; rounding is by largest
    remainder with ties to the earlier piece, so the pieces sum to ``diff_wh``.
    """
    if b <= a:
        raise ValueError(f"empty span {a}..{b}")
    dt = b - a
    pieces: list[tuple[int, int]] = []  # (interval start, seconds)
    t = a
    while t < b:
        lo = t - t % interval_s
        hi = min(lo + interval_s, b)
        pieces.append((lo, hi - t))
        t = hi
    floors = [diff_wh * secs // dt for _, secs in pieces]
    left = diff_wh - sum(floors)
    # Largest remainder first; the stable sort keeps the earlier piece first on ties.
    order = sorted(range(len(pieces)), key=lambda i: -(diff_wh * pieces[i][1] % dt))
    for i in order[:left]:
        floors[i] += 1
    return [(lo, secs, wh) for (lo, secs), wh in zip(pieces, floors, strict=True)]


def event_interval_start(ts: int, interval_s: int) -> int:
    """Start of the interval whose ``(start, end]`` holds ``ts``.

    A reading ends its period, so one at exactly 12:15 belongs with 12:00-12:15.
    """
    return -((-ts) // interval_s) * interval_s - interval_s


def intervals_from_differences(
    diffs: Iterable[Difference], start: int, end: int, interval_s: int = DEFAULT_INTERVAL_S
) -> list[EnergyInterval]:
    """Every interval of ``[start, end)`` with the energy and events of ``diffs``."""
    _check_grid(start, end, interval_s)
    wh: dict[int, int] = dict.fromkeys(range(start, end, interval_s), 0)
    covered: dict[int, int] = dict.fromkeys(wh, 0)
    events: dict[int, list[CounterEvent]] = {k: [] for k in wh}
    for d in diffs:
        if d.end <= start or d.start >= end:
            continue  # neither its energy nor its event can land in the window
        for ev in d.events:
            k = event_interval_start(ev.ts, interval_s)
            if k in events:
                events[k].append(ev)
        if not d.valid or d.wh is None:
            continue
        for lo, secs, piece in apportion(d.wh, d.start, d.end, interval_s):
            if lo in wh:
                wh[lo] += piece
                covered[lo] += secs
    return [
        EnergyInterval(k, k + interval_s, wh[k], covered[k] / interval_s, tuple(events[k]))
        for k in wh
    ]


def energy_intervals(
    readings: Iterable[CounterReading],
    start: int,
    end: int,
    interval_s: int = DEFAULT_INTERVAL_S,
    *,
    max_wh_per_s: float,
    rollover_wh: int | None = None,
    max_gap_s: int | None = None,
    resolution_wh: int = 1,
) -> list[EnergyInterval]:
    """Energy per interval of ``[start, end)`` (aligned to ``interval_s``) from readings.

    Pass the readings inside the window plus the last one at or before ``start`` and
    the first at or after ``end``, so the boundary intervals are complete.

    ``max_wh_per_s``: the site's physical maximum power (W / 3600); larger increases
    are spikes. ``rollover_wh``: the register's modulus (``2**32`` for a 32-bit Wh
    register), or None if it never wraps. ``max_gap_s`` (default: one interval):
    readings further apart are a gap, whose energy is reported in a GAP event instead
    of being spread. ``resolution_wh``: the register step.
    """
    _check_grid(start, end, interval_s)
    diffs = differences(
        readings,
        max_wh_per_s=max_wh_per_s,
        rollover_wh=rollover_wh,
        max_gap_s=interval_s if max_gap_s is None else max_gap_s,
        resolution_wh=resolution_wh,
    )
    return intervals_from_differences(diffs, start, end, interval_s)


def affected_intervals(
    new_ts: int,
    previous: CounterReading | None,
    following: CounterReading | None,
    interval_s: int = DEFAULT_INTERVAL_S,
) -> range:
    """Starts of the intervals to recompute after a reading at ``new_ts`` arrives.

    ``previous`` / ``following`` are the stored readings just before and after
    ``new_ts`` (None if there are none). The new reading replaces the difference
    ``(previous, following]`` with two, so every interval that span overlaps may
    change (energy, completeness, or the interval an event is attached to); nothing
    else can, because each difference is apportioned on its own.
    """
    if interval_s <= 0:
        raise ValueError(f"interval_s must be positive, got {interval_s}")
    if previous is not None and previous.ts >= new_ts:
        raise ValueError(f"previous reading {previous!r} is not before {new_ts}")
    if following is not None and following.ts <= new_ts:
        raise ValueError(f"following reading {following!r} is not after {new_ts}")
    if previous is None and following is None:
        return range(0)  # a lone reading makes no difference
    a = new_ts if previous is None else previous.ts
    b = new_ts if following is None else following.ts
    # Intervals [s, s+I) overlapping (a, b]: s < b and s + I > a.
    first = a - a % interval_s
    last = event_interval_start(b, interval_s)
    return range(first, last + interval_s, interval_s)


def window_readings(
    readings: Sequence[CounterReading], start: int, end: int
) -> list[CounterReading]:
    """The readings ``energy_intervals`` needs for ``[start, end)`` from a sorted list:
    those inside, plus the nearest one at or before ``start`` and at or after ``end``."""
    before = [r for r in readings if r.ts <= start]
    after = [r for r in readings if r.ts >= end]
    inside = [r for r in readings if start < r.ts < end]
    return before[-1:] + inside + after[:1]
