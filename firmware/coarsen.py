"""Coarsening on the device: many 1-minute records -> one record per coarse period.

The MicroPython port of ``edge_agent.coarsen`` (same rules, same results): when
the flash store runs out of free segments its oldest raw minutes are merged into
15-minute records instead of being dropped. Energy counters keep their exact
end-of-period value, so no energy is lost, only the time resolution of the
instant channels.

* ``stats``: sample-weighted mean, min of the mins, max of the maxes;
* ``counters``: the value at the end of the last merged record that has it;
* ``samples``, ``expected``, ``span``: sums; ``seq``: the first merged seq;
* ``clock``: the worst flag; ``ts``: the start of the period on the UTC grid.

One difference in how, not what: the mean is computed in integer resolution
steps (``protocol.quant``), exactly, then turned back into a float. The edge
agent sums float64s; an ESP32 build has single-precision floats, whose sums of
900 samples of a few kW would be off by more than the wire's 1 W step. The two
agree except when the exact mean falls on half a step, where float rounding of
the edge agent may go either way (tests/firmware/test_store_coarsen.py).
"""

from protocol.quant import quantise, to_float
from protocol.records import Record

try:
    from typing import Container
except ImportError:
    pass


def bucket_start(ts: int, period_s: int) -> int:
    """Start of the ``period_s`` grid cell (UTC) that ``ts`` falls in."""
    return (int(ts) // period_s) * period_s


def _div_round(num: int, den: int) -> int:
    # num / den rounded half to even, like round() on the exact value.
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q & 1):
        q += 1
    return q


def merge(records: "list[Record]", period_s: int) -> Record:
    """One coarse record from ``records`` (in seq order, all in one grid cell)."""
    if not records:
        raise ValueError("nothing to merge")
    names = []
    for r in records:
        for name in r.stats:
            if name not in names:
                names.append(name)
    stats = {}
    for name in names:
        weight = 0
        total = 0
        plain = 0
        count = 0
        lo = None
        hi = None
        for r in records:
            triple = r.stats.get(name)
            if triple is None:
                continue
            mean = quantise(name, triple[0])
            total += mean * r.samples
            weight += r.samples
            plain += mean
            count += 1
            q = quantise(name, triple[1])
            if lo is None or q < lo:
                lo = q
            q = quantise(name, triple[2])
            if hi is None or q > hi:
                hi = q
        if lo is None or hi is None:
            continue  # not reached: ``name`` came from one of the records
        # defensive: records always have samples > 0; else the plain mean
        mean = _div_round(total, weight) if weight > 0 else _div_round(plain, count)
        stats[name] = (to_float(name, mean), to_float(name, lo), to_float(name, hi))
    counters = {}
    for r in records:  # later records overwrite: the value at the end wins
        counters.update(r.counters)
    first = records[0]
    clock = 0
    samples = 0
    expected = 0
    span = 0
    for r in records:
        clock = max(clock, r.clock)
        samples += r.samples
        expected += r.expected
        span += r.span
    return Record(
        first.seq,
        bucket_start(first.ts, period_s),
        period_s,
        clock,
        samples,
        expected,
        span,
        stats,
        counters,
    )


def groups(
    rows: "list[tuple[int, int]]", period_s: int, exclude: "Container[int]", before: int
) -> "list[tuple[int, list[int]]]":
    """Candidate groups ``(bucket, seqs)`` from raw ``(seq, ts)`` rows in seq order.

    As ``edge_agent.coarsen.groups``: a group is a run of consecutive seqs in one
    grid cell, none of them in ``exclude`` (in flight), in a cell that ends at or
    before ``before`` (the cell still being filled is left alone). A run holding
    an excluded record is not returned; a gap in the seqs cuts a run, because a
    coarse record claims ``span`` consecutive seqs and that claim must be true.
    """
    out = []  # type: list[tuple[int, list[int]]]
    run = []  # type: list[int]
    run_bucket = -1  # no cell yet (ts >= 0, so no cell starts below 0)
    broken = False
    for seq, ts in rows:
        bucket = bucket_start(ts, period_s)
        if bucket != run_bucket or (run and seq != run[-1] + 1):
            if run and not broken and run_bucket + period_s <= before:
                out.append((run_bucket, run))
            run = []
            run_bucket = bucket
            broken = False
        run.append(seq)
        if seq in exclude:
            broken = True
    if run and not broken and run_bucket + period_s <= before:
        out.append((run_bucket, run))
    return out
