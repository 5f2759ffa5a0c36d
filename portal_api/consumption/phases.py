"""Per-phase series from meter records: power, voltage, current and power factor.

Pure: records in, ``PhaseInterval`` models out. Per interval and channel:

* mean weighted by the polls behind each record (``samples``), or by duration
  when none of the interval's records says how many polls it had (as
  ``ingest.store.aggregate`` weighs its chart points);
* min of the records' mins, max of their maxes (power only, in the answer);
* a record counts for its whole period: a 15-minute record the device coarsened
  lands in the quarter-hour, hour or day that holds it, and in 1-minute
  intervals it is spread over its 15 minutes (each gets its means and 1/15 of
  its polls), so the series has no hole where the device coarsened;
* completeness = polls received / polls expected over the WHOLE interval. The
  expected rate comes from the records present (their ``expected`` per second);
  a missing record therefore lowers completeness, as a gap in energy does.

Every interval of the query is listed; one without records has nulls and 0.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from portal_api.consumption.schemas import PhaseInterval, PhaseValues, TotalValues
from protocol.records import Record

PHASES = ("l1", "l2", "l3")
# Channel names of protocol.channels per answer field.
PHASE_CHANNELS = {
    "p_w": "p_{}_w",
    "u_v": "u_{}_v",
    "i_a": "i_{}_a",
    "pf": "pf_{}",
}
TOTAL_CHANNELS = {"p_w": "p_total_w", "pf": "pf_total"}
# Decimals of the answer: a little finer than each channel's wire resolution.
DECIMALS = {"p_w": 1, "u_v": 2, "i_a": 3, "pf": 3}


def channels() -> list[str]:
    """Every channel the series reads (a selection for ``store.records``)."""
    names = [pattern.format(ph) for ph in PHASES for pattern in PHASE_CHANNELS.values()]
    return [*names, *TOTAL_CHANNELS.values()]


@dataclass
class _Stat:
    """Running weighted mean, min and max of one channel in one interval."""

    by_samples: float = 0.0
    samples: float = 0.0
    by_seconds: float = 0.0
    seconds: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, mean: float, low: float, high: float, samples: float, seconds: float) -> None:
        self.by_samples += mean * samples
        self.samples += samples
        self.by_seconds += mean * seconds
        self.seconds += seconds
        self.low = min(self.low, low)
        self.high = max(self.high, high)

    def mean(self) -> float:
        if self.samples > 0:
            return self.by_samples / self.samples
        return self.by_seconds / self.seconds


@dataclass
class _Interval:
    """What the records of one interval add up to so far."""

    samples: float = 0.0
    expected: float = 0.0
    seconds: float = 0.0
    stats: dict[str, _Stat] = field(default_factory=dict)


def _pieces(
    record: Record, starts: Sequence[int], bounds: Sequence[tuple[int, int]]
) -> Iterator[tuple[int, float]]:
    """(interval index, fraction of the record) for each interval the record overlaps."""
    lo, hi = record.ts, record.ts + record.period_s
    i = max(bisect_right(starts, lo) - 1, 0)
    while i < len(bounds) and bounds[i][0] < hi:
        start, end = bounds[i]
        overlap = min(hi, end) - max(lo, start)
        if overlap > 0:
            yield i, overlap / record.period_s
        i += 1


def aggregate(
    records: Iterable[Record], bounds: Sequence[tuple[int, int]], tz: ZoneInfo
) -> list[PhaseInterval]:
    """One ``PhaseInterval`` per interval of ``bounds`` (sorted, disjoint, UTC seconds)."""
    starts = [start for start, _ in bounds]
    acc = [_Interval() for _ in bounds]
    for record in records:
        for i, share in _pieces(record, starts, bounds):
            into = acc[i]
            seconds = record.period_s * share
            into.samples += record.samples * share
            into.expected += record.expected * share
            into.seconds += seconds
            for name, (mean, low, high) in record.stats.items():
                stat = into.stats.setdefault(name, _Stat())
                stat.add(mean, low, high, record.samples * share, seconds)
    return [_interval(start, end, a, tz) for (start, end), a in zip(bounds, acc, strict=True)]


def _completeness(a: _Interval, length: int) -> float:
    if a.seconds <= 0:
        return 0.0
    if a.expected <= 0:
        return min(1.0, a.seconds / length)  # records without poll counts: by duration
    expected_here = a.expected / a.seconds * length
    return min(1.0, a.samples / expected_here)


def _triple(found: _Stat | tuple[float, float, float]) -> tuple[float, float, float]:
    if isinstance(found, _Stat):
        return found.mean(), found.low, found.high
    return found


Stats = Mapping[str, _Stat | tuple[float, float, float]]
"""Running stats of an interval, or a record's own (mean, min, max) triples."""


def _values(stats: Stats, names: Mapping[str, str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, channel in names.items():
        found = stats.get(channel)
        if found is None:
            out[key] = None
            if key == "p_w":
                out["p_w_min"] = out["p_w_max"] = None
            continue
        mean, low, high = _triple(found)
        out[key] = round(mean, DECIMALS[key])
        if key == "p_w":
            out["p_w_min"] = round(low, DECIMALS[key])
            out["p_w_max"] = round(high, DECIMALS[key])
    return out


def phase_model(stats: Stats, phase: str) -> PhaseValues:
    """``PhaseValues`` of ``phase``."""
    return PhaseValues(**_values(stats, {k: p.format(phase) for k, p in PHASE_CHANNELS.items()}))


def total_model(stats: Stats) -> TotalValues:
    """``TotalValues`` of the three phases together."""
    return TotalValues(**_values(stats, TOTAL_CHANNELS))


def _interval(start: int, end: int, a: _Interval, tz: ZoneInfo) -> PhaseInterval:
    return PhaseInterval(
        interval_start=datetime.fromtimestamp(start, tz),
        interval_end=datetime.fromtimestamp(end, tz),
        completeness=round(_completeness(a, end - start), 4),
        l1=phase_model(a.stats, "l1"),
        l2=phase_model(a.stats, "l2"),
        l3=phase_model(a.stats, "l3"),
        total=total_model(a.stats),
    )


__all__ = ["PHASES", "aggregate", "channels", "phase_model", "total_model"]
