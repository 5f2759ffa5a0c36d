"""Coarsening: many 1-minute records -> one record per coarse period (pure functions).

When the durable queue outgrows its disk budget, its oldest raw minutes are
merged into coarse records (15 minutes by default) instead of being dropped: the
energy counters keep their exact end-of-period value, so no energy is ever lost,
only the time resolution of the instant channels. The merge:

* ``stats``: sample-weighted mean, min of the mins, max of the maxes;
* ``counters``: the value at the end of the last merged record (per channel: the
  last record that has it);
* ``samples``, ``expected``, ``span``: sums. ``span`` is how many 1-minute records
  (seqs) the coarse record covers, so ``span * 60 / period_s`` is also the share
  of the period that had any data at all;
* ``seq``: the first merged seq; ``clock``: the worst flag;
* ``ts``: the start of the period on the UTC grid, ``period_s``: the coarse period.

Which records may be merged is decided by :func:`groups`; the queue adds the
checks that need the database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence

from protocol.codec import Record

__all__ = ["bucket_start", "groups", "merge"]


def bucket_start(ts: float, period_s: int) -> int:
    """Start of the ``period_s`` grid cell (UTC) that ``ts`` falls in."""
    return int(ts // period_s) * period_s


def merge(records: Sequence[Record], period_s: int) -> Record:
    """One coarse record from ``records`` (in seq order, all in one grid cell)."""
    if not records:
        raise ValueError("nothing to merge")
    stats: dict[str, tuple[float, float, float]] = {}
    names = dict.fromkeys(name for r in records for name in r.stats)
    for name in names:
        having = [r for r in records if name in r.stats]
        weight = sum(r.samples for r in having)
        if weight > 0:
            mean = sum(r.stats[name][0] * r.samples for r in having) / weight
        else:  # defensive: records always have samples > 0
            mean = sum(r.stats[name][0] for r in having) / len(having)
        stats[name] = (
            mean,
            min(r.stats[name][1] for r in having),
            max(r.stats[name][2] for r in having),
        )
    counters: dict[str, int] = {}
    for r in records:  # later records overwrite: the value at the end wins
        counters.update(r.counters)
    first = records[0]
    return Record(
        first.seq,
        bucket_start(first.ts, period_s),
        period_s,
        max(r.clock for r in records),
        sum(r.samples for r in records),
        sum(r.expected for r in records),
        sum(r.span for r in records),
        stats,
        counters,
    )


def groups(
    rows: Iterable[tuple[int, float]],
    period_s: int,
    *,
    exclude: Collection[int],
    before: float,
) -> Iterator[tuple[int, list[int]]]:
    """Candidate groups ``(bucket, seqs)`` from raw ``(seq, ts)`` rows, oldest seq first.

    A group is a run of rows with consecutive seqs in one grid cell, none of them
    in ``exclude`` (in flight), in a cell that ends at or before ``before`` (the
    cell still being filled is left alone, or its later minutes could not join
    it). A run containing an excluded record is not yielded. A gap in the seqs
    (a middle record already delivered) cuts the run: a coarse record claims
    ``span`` consecutive seqs, and that claim must be true. The two parts then
    share a cell; the queue rejects such cells (one coarse record per cell, or
    their equal timestamps would overwrite each other in the cloud).
    """
    run: list[int] = []
    run_bucket: int | None = None
    broken = False

    def finish() -> Iterator[tuple[int, list[int]]]:
        if run and run_bucket is not None and not broken and run_bucket + period_s <= before:
            yield run_bucket, list(run)

    for seq, ts in rows:
        bucket = bucket_start(ts, period_s)
        if bucket != run_bucket or (run and seq != run[-1] + 1):
            yield from finish()
            run, run_bucket, broken = [], bucket, False
        run.append(seq)
        if seq in exclude:
            broken = True
    yield from finish()
