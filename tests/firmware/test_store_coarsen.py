"""Coarsening when the flash store is full, checked against the edge agent's coarsen.

A small partition takes ten hours of realistic SDM630 minutes with nothing acked
(the link is down): the store must merge its oldest minutes into 15-minute
records instead of dropping anything, every seq must stay accounted for exactly
once, and every coarse record must be what ``edge_agent.coarsen.merge`` makes of
the same minutes (as stored: the wire's resolution). The two compute the mean
differently (integer steps vs float64: firmware/coarsen.py), so an exact
half-step tie may round either way; nothing else may differ.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from edge_agent import coarsen as edge_coarsen
from firmware import coarsen as fw_coarsen
from firmware import record_codec
from protocol.codec import Record
from protocol.quant import quantise
from tests.firmware.harness import results, run_firmware
from tests.firmware.store_scripts import RECORDS_PY, parse_record, records_json
from tests.protocol.realistic import realistic_records

pytestmark = pytest.mark.micropython

MINUTES = 600


def as_stored(record: Record, seq: int) -> Record:
    """``record`` as the store gives it back: values at the wire's resolution."""
    return record_codec.decode(bytes(record_codec.encode(record)), seq, record.ts)


def same_or_tie(got: Record, want: Record, parts: list[Record]) -> None:
    """``got == want`` on the wire, except a mean on an exact half-step tie (1 step)."""
    assert (got.seq, got.ts, got.period_s, got.clock) == (want.seq, want.ts, 900, want.clock)
    assert (got.samples, got.expected, got.span) == (want.samples, want.expected, want.span)
    assert got.counters == want.counters
    assert got.stats.keys() == want.stats.keys()
    for name, (mean, lo, hi) in got.stats.items():
        w_mean, w_lo, w_hi = want.stats[name]
        assert quantise(name, lo) == quantise(name, w_lo)
        assert quantise(name, hi) == quantise(name, w_hi)
        q, wq = quantise(name, mean), quantise(name, w_mean)
        if q != wq:
            exact = sum(
                (Fraction(quantise(name, p.stats[name][0])) * p.samples for p in parts),
                Fraction(0),
            ) / sum(p.samples for p in parts)
            assert abs(q - wq) == 1 and exact.denominator == 2, (name, q, wq, exact)


@pytest.mark.parametrize("cache", [0, 4])
def test_full_store_coarsens_like_the_edge_agent(cache: int) -> None:
    # cache 0: every entry index is read back from flash each time it is needed
    records = realistic_records(MINUTES, start_seq=1)
    out = run_firmware(
        RECORDS_PY
        + f"""
import esp32
import firmware.store
from firmware.store import Store
firmware.store.CACHE = {cache}
part = esp32.Partition.ram(12, 4096)
s = Store(part)
for row in {records_json(records)}:
    s.append(from_json(row))
print("=stats", s.stats["coarsened"], s.stats["dropped"], s.stats["segments_free"])
print("=depth", s.depth())
for r in s.pending(100000):
    print("@rec", to_json(r))
s2 = Store(part)
print("=after", s2.depth(), len(s2.pending(100000)), s2.next_seq)
""",
        heap=4 * 1024 * 1024,
        timeout=300,
    )
    res = results(out)
    coarsened, dropped, free = (int(x) for x in res["stats"].split())
    assert coarsened > 0
    assert dropped == 0  # coarsening made room: nothing lost
    assert free >= 1  # the reserve is kept
    assert int(res["depth"]) == MINUTES  # 1-minute equivalents: sum of spans
    got = [parse_record(line[5:]) for line in out.splitlines() if line.startswith("@rec ")]
    assert res["after"] == f"{MINUTES} {len(got)} {MINUTES + 1}"  # same after a restart
    stored = [as_stored(r, i + 1) for i, r in enumerate(records)]

    # Every seq exactly once, in order.
    expect = 1
    for r in got:
        assert r.seq == expect
        expect += r.span
    assert expect == MINUTES + 1
    assert sum(r.span for r in got) == MINUTES

    coarse = [r for r in got if r.span > 1]
    assert len(coarse) >= 10
    assert len(got) < MINUTES // 2  # most of the ten hours is coarse now
    buckets = [r.ts for r in got if r.period_s == 900]
    assert len(buckets) == len(set(buckets))  # one coarse record per 15-minute cell
    for r in got:
        parts = stored[r.seq - 1 : r.seq - 1 + r.span]
        if r.span == 1:
            assert r == parts[0]
            continue
        assert r.ts % 900 == 0
        assert all(p.ts // 900 == r.ts // 900 for p in parts)
        # The edge agent's merge of the same minutes; and ours on CPython, exactly.
        same_or_tie(r, edge_coarsen.merge(parts, 900), parts)
        assert r == fw_coarsen.merge(parts, 900)
        # The energy registers keep their value at the end of the period.
        assert r.counters == parts[-1].counters
    # The newest minutes are still raw, with the last counters.
    assert got[-1].span == 1
    assert got[-1].counters == records[-1].counters


def test_firmware_merge_matches_edge_agent_on_cpython() -> None:
    # Many cells, partial ones and missing samples included: the pure functions.
    records = realistic_records(900, start_seq=1)
    stored = [as_stored(r, i + 1) for i, r in enumerate(records)]
    for size in (2, 7, 15):
        for start in range(0, 900 - size, 45):
            parts = stored[start : start + size]
            if parts[0].ts // 900 != parts[-1].ts // 900:
                continue
            same_or_tie(fw_coarsen.merge(parts, 900), edge_coarsen.merge(parts, 900), parts)
    rows = [(r.seq, r.ts) for r in stored[:100]]
    exclude = {20, 51}
    mine = fw_coarsen.groups(rows, 900, exclude, stored[99].ts)
    theirs = list(edge_coarsen.groups(rows, 900, exclude=exclude, before=stored[99].ts))
    assert mine == theirs
