"""Local calendar buckets (hour, day, month) built from fixed UTC intervals.

Days, months and billing periods are Europe/Sofia local time (ARCHITECTURE
"Data path decisions"); storage is UTC. A bucket is keyed by the UTC instant of
its local start and carries its end, because a local day lasts 23, 24 or 25 hours:

* 2026-03-29 (spring forward, 03:00 EET -> 04:00 EEST): 23 h = 92 quarter-hours;
* 2026-10-25 (fall back, 04:00 EEST -> 03:00 EET): 25 h = 100 quarter-hours, and
  local 03:00-04:00 happens twice: two distinct hour buckets (UTC 00:00 and 01:00).

Bucket arithmetic is done on aware local datetimes, whose ``fold`` tells the two
03:00s apart; converting back with ``timestamp()`` gives the UTC start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from math import fsum
from typing import Literal
from zoneinfo import ZoneInfo

from ingest.rollup.counters import CounterEvent
from ingest.rollup.intervals import EnergyInterval

BucketUnit = Literal["hour", "day", "month"]
BUCKET_UNITS: tuple[BucketUnit, ...] = ("hour", "day", "month")
DEFAULT_TZ = "Europe/Sofia"


@dataclass(frozen=True)
class EnergyBucket:
    """Energy ``wh`` in the local ``unit`` bucket ``[start, end)`` (UTC unix seconds).

    ``completeness`` is weighted by duration over the whole bucket: an interval that
    was not passed in counts as not covered. ``intervals`` is how many were passed.
    """

    unit: BucketUnit
    start: int
    end: int
    wh: int
    completeness: float
    intervals: int
    events: tuple[CounterEvent, ...] = ()


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def bucket_bounds(ts: int, unit: BucketUnit, tz: str | tzinfo = DEFAULT_TZ) -> tuple[int, int]:
    """UTC ``[start, end)`` of the local ``unit`` bucket that holds instant ``ts``.

    Assumes local bucket starts exist, which holds for zones that change offset at
    night away from midnight (all of Europe; Sofia changes at 03:00/04:00 local).
    """
    zone = _zone(tz)
    local = datetime.fromtimestamp(ts, UTC).astimezone(zone)
    if unit == "hour":
        # replace() keeps fold, so the repeated 03:00 hour in autumn stays distinct.
        first = local.replace(minute=0, second=0, microsecond=0)
        start = int(first.timestamp())
        return start, start + 3600
    if unit == "day":
        day = datetime(local.year, local.month, local.day, tzinfo=zone)
        nxt = day + timedelta(days=1)  # wall-clock arithmetic: same time next day
        return int(day.timestamp()), int(nxt.timestamp())
    if unit == "month":
        month = datetime(local.year, local.month, 1, tzinfo=zone)
        year, mon = divmod(local.month, 12)  # local.month 12 -> next January
        nxt = datetime(local.year + year, mon + 1, 1, tzinfo=zone)
        return int(month.timestamp()), int(nxt.timestamp())
    raise ValueError(f"bucket unit must be one of {BUCKET_UNITS}, got {unit!r}")


def local_buckets(
    intervals: Iterable[EnergyInterval], unit: BucketUnit, tz: str | tzinfo = DEFAULT_TZ
) -> list[EnergyBucket]:
    """Sum intervals into local ``unit`` buckets, sorted by start.

    Every interval must lie inside one bucket (true for 15-minute intervals in any
    whole-hour-offset zone); one that straddles a bucket boundary raises rather
    than be split by guesswork.
    """
    zone = _zone(tz)
    groups: dict[tuple[int, int], list[EnergyInterval]] = {}
    for iv in intervals:
        bounds = bucket_bounds(iv.start, unit, zone)
        if iv.end > bounds[1]:
            raise ValueError(f"interval {iv.start}..{iv.end} straddles {unit} bucket {bounds}")
        groups.setdefault(bounds, []).append(iv)
    buckets = []
    for (start, end), ivs in sorted(groups.items()):
        starts = [iv.start for iv in ivs]
        if len(set(starts)) != len(starts):
            raise ValueError(f"duplicate intervals in {unit} bucket starting {start}")
        covered = fsum(iv.completeness * (iv.end - iv.start) for iv in ivs)
        buckets.append(
            EnergyBucket(
                unit=unit,
                start=start,
                end=end,
                wh=sum(iv.wh for iv in ivs),
                completeness=min(1.0, covered / (end - start)),
                intervals=len(ivs),
                events=tuple(ev for iv in sorted(ivs, key=lambda i: i.start) for ev in iv.events),
            )
        )
    return buckets
