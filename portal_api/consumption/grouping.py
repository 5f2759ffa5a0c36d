"""Sum stored energy rows into the intervals of a query, listing every interval.

The rows come from ingest's rollups (15-minute rows, and local hour/day/month
buckets of the zone ingest rolls up in). A query's intervals are either those
very rows (same unit, same zone) or unions of them: Sofia days make ISO weeks,
quarter-hours or UTC-aligned hours make the days of any other zone. A row must
lie inside one interval; one that straddles a bound is a bug in the choice of
source rows and raises, never split by guesswork.

* energy is the sum of the rows' Wh (exact integers);
* completeness is weighted by duration over the WHOLE interval: a missing row
  counts as 0, as ``ingest.rollup.local_buckets`` does it;
* an interval without rows, or whose rows cover nothing and hold no energy,
  is a gap: energy None (shown as null, never as 0).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import fsum

from ingest.store import EnergyRow


@dataclass(frozen=True)
class Summed:
    """Energy of one query interval ``[start, end)`` (UTC unix seconds)."""

    start: int
    end: int
    import_wh: int | None
    export_wh: int | None
    completeness: float


def sum_rows(rows: Iterable[EnergyRow], bounds: Sequence[tuple[int, int]]) -> list[Summed]:
    """One ``Summed`` per interval of ``bounds`` (sorted, disjoint); rows outside are ignored."""
    starts = [start for start, _ in bounds]
    imports = [0] * len(bounds)
    exports = [0] * len(bounds)
    covered: list[list[float]] = [[] for _ in bounds]
    for row in rows:
        i = bisect_right(starts, row.start) - 1
        if i < 0 or row.start >= bounds[i][1]:
            continue
        if row.end > bounds[i][1]:
            raise ValueError(f"row {row.start}..{row.end} straddles interval {bounds[i]}")
        imports[i] += row.import_wh
        exports[i] += row.export_wh
        covered[i].append(row.completeness * (row.end - row.start))
    out = []
    for i, (start, end) in enumerate(bounds):
        seconds = fsum(covered[i])
        gap = not covered[i] or (seconds == 0 and imports[i] == 0 and exports[i] == 0)
        out.append(
            Summed(
                start=start,
                end=end,
                import_wh=None if gap else imports[i],
                export_wh=None if gap else exports[i],
                completeness=min(1.0, seconds / (end - start)),
            )
        )
    return out


__all__ = ["Summed", "sum_rows"]
