"""firmware.aggregate on real MicroPython against edge_agent.aggregate on CPython.

One script of operations (polls with their clock quality, close_due, rebase,
set_expected_per_minute, flush) runs through both aggregators; the records must be
equal (protocol.records.Record ==) and their encoded batch byte for byte the same.
Floats cross to MicroPython as the hex of their IEEE double, so both sides add
exactly the same numbers.
"""

from __future__ import annotations

import random
import struct
from typing import Any

import pytest

from edge_agent.aggregate import MinuteAggregator
from protocol.codec import Batch, Record, decode_batch, encode_batch
from tests.firmware.harness import results, run_firmware

pytestmark = pytest.mark.micropython

T0 = 1_782_036_000  # a minute boundary
Op = tuple[Any, ...]

SCRIPT = """
import struct
from firmware.aggregate import MinuteAggregator
from protocol.codec import Batch, encode_batch

quality = [0]
agg = MinuteAggregator(6, lambda: quality[0])
records = []

def f(h):
    return struct.unpack(">d", bytes.fromhex(h))[0]

def keep(r):
    if r is not None:
        records.append(r)

for op in OPS:
    name = op[0]
    if name == "add":
        _, ts, values, counters, q = op
        quality[0] = q
        ts = f(ts) if isinstance(ts, str) else ts
        keep(agg.add(ts, {k: f(v) for k, v in values.items()}, counters))
    elif name == "reading":
        _, ts, reading, q = op
        quality[0] = q
        keep(agg.add_reading(ts, {k: f(v) if isinstance(v, str) else v
                                  for k, v in reading.items()}))
    elif name == "close_due":
        keep(agg.close_due(op[1]))
    elif name == "rebase":
        agg.rebase(op[1], op[2])
    elif name == "expected":
        agg.set_expected_per_minute(op[1])
    elif name == "flush":
        keep(agg.flush())
print("=count", len(records))
print("=batch", encode_batch(Batch("fw-test", records)).hex())
"""


def _hex(value: float) -> str:
    return struct.pack(">d", value).hex()


def scenario(seed: int, int_ts: bool) -> list[Op]:
    """Polls every ~10 s over several minutes, with gaps, empty polls, a clock step back,
    a re-anchoring, a poll-rate change and values of every sign and size."""
    rng = random.Random(seed)
    ops: list[Op] = []
    energy = 123_456_789
    t: float = T0 + 3.25
    for i in range(40):
        t += rng.choice((9.5, 10.0, 10.25, 30.0)) if i != 17 else 200.0  # a gap of minutes
        if i == 25:
            t -= 75.0  # the clock stepped back: never merged into the later minute
        values = {
            "u_l1_v": _hex(rng.uniform(225.0, 240.0)),
            "p_total_w": _hex(rng.uniform(-5000.0, 8000.0)),
            "pf_total": _hex(rng.uniform(-1.0, 1.0)),
        }
        if i % 3:
            values["i_l1_a"] = _hex(rng.uniform(0.0, 63.0))
        energy += rng.randrange(0, 900)
        counters = {"e_imp_wh": energy}
        if i % 5 == 0:
            counters["e_exp_wh"] = i * 7
        quality = rng.choice((0, 0, 0, 1, 2))
        ts: Any = int(t) if int_ts else _hex(t)
        if i in (8, 30):  # everything failed validation: closes, does not count
            ops.append(("add", ts, {}, {}, quality))
        else:
            ops.append(("add", ts, values, counters, quality))
        if i == 12:
            ops.append(("close_due", int(t) + 61))
        if i == 20:
            ops.append(("expected", 12))
        if i == 33:  # re-anchored 1 h ahead before the next poll: the minute moves
            ops.append(("rebase", 3600, int(t) + 3600))
            t += 3600.0
        if i == 36:  # a poll already came after the step: the minute stays
            ops.append(("rebase", -7200, int(t)))
    ops.append(("reading", int(t) + 1, {"u_l2_v": _hex(231.5), "e_imp_wh": energy + 5}, 1))
    ops.append(("flush",))
    ops.append(("flush",))  # nothing left: no record
    return ops


def run_agent(ops: list[Op]) -> list[Record]:
    quality = [0]
    agg = MinuteAggregator(6, lambda: quality[0])
    out: list[Record] = []

    def f(h: str) -> float:
        return float(struct.unpack(">d", bytes.fromhex(h))[0])

    def keep(r: Record | None) -> None:
        if r is not None:
            out.append(r)

    for op in ops:
        name = op[0]
        if name == "add":
            _, ts, values, counters, q = op
            quality[0] = q
            keep(
                agg.add(
                    f(ts) if isinstance(ts, str) else ts,
                    {k: f(v) for k, v in values.items()},
                    counters,
                )
            )
        elif name == "reading":
            _, ts, reading, q = op
            quality[0] = q
            keep(agg.add(ts, {"u_l2_v": f(reading["u_l2_v"])}, {"e_imp_wh": reading["e_imp_wh"]}))
        elif name == "close_due":
            keep(agg.close_due(op[1]))
        elif name == "rebase":
            agg.rebase(op[1], op[2])
        elif name == "expected":
            agg.set_expected_per_minute(op[1])
        elif name == "flush":
            keep(agg.flush())
    return out


@pytest.mark.parametrize("int_ts", [False, True], ids=["float_ts", "int_ts"])
def test_the_same_polls_give_the_same_records_as_the_agent(int_ts: bool) -> None:
    ops = scenario(8, int_ts)
    expected = run_agent(ops)
    out = results(run_firmware(f"OPS = {ops!r}\n" + SCRIPT))
    assert int(out["count"]) == len(expected)
    assert len(expected) > 8  # the scenario really spans many minutes
    data = bytes.fromhex(out["batch"])
    assert decode_batch(data) == Batch("fw-test", expected)
    assert data == encode_batch(Batch("fw-test", expected))
    # what the scenario exercises, so a weaker one cannot pass unnoticed
    assert {r.clock for r in expected} >= {1, 2}
    assert {r.expected for r in expected} == {6, 12}
    assert any(r.samples < r.expected for r in expected)
    assert any("i_l1_a" in r.stats for r in expected)
