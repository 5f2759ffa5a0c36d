"""Power cut at every byte of a store scenario, then recovery (firmware/store.py on MicroPython).

One scenario -- appends that fill segments, acks, a segment erased ahead of need,
more appends until the store is full and coarsens its oldest minutes -- is run
once uncut to learn its length in units of flash work (one per programmed byte,
two per erase: tests/firmware/shims/esp32.py), then once per unit with the power
cut there. After each cut a new Store recovers the partition and the checks run:

* every record whose append returned is there, unchanged (as itself, or inside a
  coarse record that equals firmware.coarsen.merge of exactly those minutes);
* the record being appended at the cut is there whole or not at all;
* no record whose ack returned comes back (those of an ack call cut short may);
* pending is strictly increasing in seq, coverage never overlaps, depth agrees;
* the next append gets a seq above every seq ever handed out;
* the store goes on working: everything acked, appended again, recovered again.
"""

from __future__ import annotations

import pytest

from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

SCENARIO = r"""
import esp32
from esp32 import Partition, PowerCut
import firmware.store
from firmware.store import Store
from firmware import coarsen
firmware.store.CACHE = CACHE_SIZE  # 0: entry indexes read back from flash at every use
from protocol.records import Record, PERIOD_COARSE_S

T0 = 1767225600  # a 15-minute boundary

def rec(i):
    return Record(0, T0 + 60 * i, 60, 0, 60 - (i % 3), 60, 1,
                  {"u_l1_v": (230.0 + (i % 7) * 0.1, 229.1, 231.4 + i * 0.1),
                   "p_total_w": (1000.0 + 37 * i, 950.0 + i, 1100.0 + 40 * i)},
                  {"e_imp_wh": 5000000 + 17 * i})

class Log:
    def __init__(self):
        self.appended = {}  # seq -> i (append returned)
        self.acked = set()  # ack returned
        self.trying = None  # (seq, i) being appended
        self.acking = ()  # seqs of the ack call in progress: each may or may not be acked
        self.max_seq = 0

def append(s, log, i):
    log.trying = (s.next_seq, i)
    seq = s.append(rec(i))
    log.appended[seq] = i
    log.max_seq = max(log.max_seq, seq)
    log.trying = None

def ack(s, log, seqs):
    log.acking = seqs
    s.ack(seqs)
    for q in seqs:
        log.acked.add(q)
    log.acking = ()

def scenario(s, log):
    i = 0
    for _ in range(14):
        append(s, log, i); i += 1
    first = [r.seq for r in s.pending(5)]
    ack(s, log, first)
    for _ in range(6):
        append(s, log, i); i += 1
    ack(s, log, [r.seq for r in s.pending(6)])
    s.step()  # the first segment is all acked: erased ahead of need
    inflight = [r.seq for r in s.pending(3)]
    for _ in range(56):
        append(s, log, i); i += 1
    ack(s, log, inflight)
    for _ in range(4):
        append(s, log, i); i += 1

def check(part, log):
    s = Store(part)
    got = s.pending(100000)
    s.pending(0)  # nothing in flight any more (the uplink's next call would say so)
    prev_end = 0
    spans = 0
    for r in got:
        assert r.seq >= prev_end, ("overlap or order", r.seq, prev_end)
        prev_end = r.seq + r.span
        spans += r.span
        covered = list(range(r.seq, r.seq + r.span))
        for q in covered:
            assert q not in log.acked, ("acked record came back", q)
        if r.span == 1 and r.period_s == 60:
            if r.seq in log.appended:
                want = rec(log.appended[r.seq])
            else:
                assert log.trying is not None and log.trying[0] == r.seq, ("unknown seq", r.seq)
                want = rec(log.trying[1])
            want.seq = r.seq
            assert r == want, ("changed", r, want)
        else:
            parts = []
            for q in covered:
                k = log.appended.get(q)
                if k is None and log.trying is not None and log.trying[0] == q:
                    k = log.trying[1]
                assert k is not None, ("coarse covers unknown seq", q)
                p = rec(k)
                p.seq = q
                parts.append(p)
            assert r == coarsen.merge(parts, PERIOD_COARSE_S), ("bad coarse", r)
    assert s.depth() == spans, ("depth", s.depth(), spans)
    held = set()
    for r in got:
        for q in range(r.seq, r.seq + r.span):
            held.add(q)
    for q in log.appended:
        if q not in log.acked and q not in log.acking:
            assert q in held, ("lost", q)
    assert s.dropped == 0
    # never reused: above every seq handed out before the cut
    nxt = s.append(rec(999))
    assert nxt > log.max_seq and nxt >= prev_end, ("seq reused", nxt, log.max_seq)
    s.ack([r.seq for r in got] + [nxt])
    assert s.depth() == 0
    s.append(rec(1000))
    s2 = Store(part)
    again = s2.pending(10)
    assert len(again) == 1 and again[0].seq > nxt, again
    return s.stats["torn"]

BLOCKS, BS = 6, 512

# Uncut: the scenario's length, and that it does what it is meant to.
part = Partition.ram(BLOCKS, BS)
Partition.disarm()
Partition.reset_count()
log = Log()
s = Store(part)
scenario(s, log)
total = Partition.spent
print("=total", total)
print("=coarsened", s.stats["coarsened"])
print("=dropped", s.stats["dropped"])
print("=erases", sum(part.erases))
check(part, log)

cuts = 0
torn = 0
for n in range(FROM, min(total, UPTO) + 1):
    part = Partition.ram(BLOCKS, BS)
    log = Log()
    s = Store(part)
    Partition.cut_after(n)
    try:
        scenario(s, log)
    except PowerCut:
        cuts += 1
    Partition.disarm()
    try:
        torn += check(part, log)
    except Exception as e:
        print("=fail", n, repr(e))
        raise
print("=cuts", cuts)
print("=torn", torn)
print("=checked", min(total, UPTO) + 1 - FROM)
"""


def _run(first: int, last: int, cache: int = 4) -> dict[str, str]:
    script = SCENARIO.replace("FROM", str(first)).replace("UPTO", str(last))
    script = script.replace("CACHE_SIZE", str(cache))
    return results(run_firmware(script, heap=4 * 1024 * 1024, timeout=1800))


def test_scenario_does_what_it_should_uncut() -> None:
    out = _run(1, 0)
    assert int(out["coarsened"]) > 0  # the store filled and merged minutes
    assert int(out["dropped"]) == 0
    assert int(out["erases"]) >= 2  # step() and the reclaimed segment


@pytest.mark.parametrize("part", range(4))
def test_power_cut_at_every_unit(part: int) -> None:
    total = int(_run(1, 0)["total"])
    chunk = total // 4 + 1
    first = part * chunk
    last = min(total, first + chunk - 1)
    # Half the cuts with no entry index kept in RAM (all read back from flash).
    out = _run(first, last, cache=part % 2 * 4)
    assert int(out["checked"]) == last - first + 1
    # Every unit before the end is a real cut inside the scenario.
    assert int(out["cuts"]) == min(last, total - 1) - first + 1
    if part == 0:
        assert int(out["torn"]) > 0  # some cuts tore an entry: recovery saw them
