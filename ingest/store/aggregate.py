"""Aggregation helpers over stored records, the same for every store.

Charts want fewer points than one per minute. Downsampling is done here, in
Python over `TimeSeriesStore.records`, not with InfluxQL ``GROUP BY time()``:
the result is then identical on SQLite and on every InfluxDB version, weighted
by samples (which InfluxQL's ``mean()`` cannot do), and a coarsened 15-minute
record counts for its whole period. Buckets are UTC-aligned multiples of
``every_s``; local-calendar buckets are energy rows (ingest/rollup), not this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ingest.store.base import TimeSeriesStore
from ingest.store.rows import Instant, epoch
from protocol import channels as vocabulary
from protocol.records import Record


@dataclass(frozen=True)
class StatPoint:
    """One chart point of an instant channel over [start, start + every_s)."""

    start: int
    mean: float
    min: float
    max: float
    samples: int  # polls behind the mean (0 when the records carried none)
    records: int  # records that contributed


def downsample(records: Iterable[Record], channel: str, every_s: int) -> list[StatPoint]:
    """Bucket ``channel``'s stats into UTC-aligned buckets of ``every_s`` seconds.

    mean: weighted by each record's ``samples`` (by ``period_s`` when a bucket's
    records carry no sample counts); min of mins, max of maxes. A record falls
    in the bucket of its start; buckets without data are absent.
    """
    if vocabulary.get(channel).kind != vocabulary.INSTANT:
        raise ValueError(f"{channel} is a counter: downsample instant channels")
    if every_s <= 0:
        raise ValueError(f"every_s must be positive, got {every_s}")
    groups: dict[int, list[Record]] = {}
    for record in records:
        if channel in record.stats:
            groups.setdefault(record.ts - record.ts % every_s, []).append(record)
    return [_point(start, group, channel) for start, group in sorted(groups.items())]


def _point(start: int, group: Sequence[Record], channel: str) -> StatPoint:
    samples = sum(r.samples for r in group)
    weights = [r.samples for r in group] if samples else [r.period_s for r in group]
    total = sum(weights)
    mean = sum(w * r.stats[channel][0] for w, r in zip(weights, group, strict=True)) / total
    return StatPoint(
        start=start,
        mean=mean,
        min=min(r.stats[channel][1] for r in group),
        max=max(r.stats[channel][2] for r in group),
        samples=samples,
        records=len(group),
    )


def chart(
    store: TimeSeriesStore,
    device_id: str,
    channel: str,
    start: Instant,
    end: Instant,
    *,
    every_s: int,
) -> list[StatPoint]:
    """`downsample` of one channel of one device over [start, end)."""
    t0, t1 = epoch(start), epoch(end)
    return downsample(store.records(device_id, t0, t1, channels=[channel]), channel, every_s)
