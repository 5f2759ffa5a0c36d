"""The predictors: integer arithmetic, the meter's own physics, sign conventions,
register tracking, and that a value equal to its prediction costs (almost) nothing."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import predict
from protocol.codec import Batch, Record, decode_batch, encode_batch
from protocol.quant import MAX_STEPS, SCALE
from tests.protocol.realistic import realistic_records


@given(st.integers(min_value=0, max_value=1 << 140))
def test_isqrt_and_root(n: int) -> None:
    assert predict.isqrt(n) == math.isqrt(n)
    r = predict.root(n)
    assert abs(r * r - n) <= min(abs((r - 1) ** 2 - n), abs((r + 1) ** 2 - n))


def test_div_rounds_half_up() -> None:
    assert [predict.div(a, 4) for a in (-6, -5, -2, 1, 2, 6)] == [-1, -1, 0, 0, 1, 2]


def test_sources_are_decoded_first() -> None:
    for table in (predict.MEAN_RULES, predict.SPREAD_RULES, predict.ENERGY_RULES):
        for name, rules in table.items():
            for _, sources in rules:
                for source in sources:
                    assert predict.RANK[source] < predict.RANK[name], (source, name)
    for name, sibling in predict.SIBLING.items():
        assert predict.RANK[sibling] < predict.RANK[name]


def row(**means: int) -> dict[str, tuple[int, int, int]]:
    return {name: (m, m, m) for name, m in means.items()}


def test_the_meters_arithmetic() -> None:
    r = row(p_l1_w=3000, q_l1_var=4000, u_l1_v=2300, u_l2_v=2300)
    assert predict.mean("s_l1_va", None, r) == 5000  # S = hypot(P, Q)
    r["s_l1_va"] = (5000, 5000, 5000)
    assert predict.mean("pf_l1", None, r) == 600  # pf = P / S: 0.600
    assert predict.mean("i_l1_a", None, r) == 2174  # I = S / U: 21.74 A
    assert predict.mean("u_l12_v", None, r) == 3984  # 230 V phases: 398.4 V between them
    r.update(row(p_l2_w=-1000, p_l3_w=250))
    assert predict.mean("p_total_w", None, r) == 2250
    r.update(row(p_total_w=-3000, q_total_var=4000))
    assert predict.mean("s_total_va", None, r) == 5000  # no phases' VA: hypot of the totals


def test_spreads() -> None:
    # S's extremes follow from the extremes of |P| and |Q| (P crosses zero: |P| min 0)
    r = {"p_l1_w": (100, -300, 400), "q_l1_var": (300, 200, 400)}
    s = predict.mean("s_l1_va", None, r)
    assert s == 316
    assert predict.spread("s_l1_va", s, None, r) == (s - 200, 566 - s)
    # a total's spread: the root of the sum of the squares of the phases'
    r = {"p_l1_w": (0, -30, 40), "p_l2_w": (0, -40, 30), "p_l3_w": (0, 0, 0)}
    assert predict.spread("p_total_w", 0, None, r) == (50, 50)


def test_pf_and_current_signs_follow_the_meters_convention() -> None:
    exporting = row(p_l1_w=-4000, s_l1_va=4500, u_l1_v=2300)
    # first record of the batch: the sign of P (IEC: pf and a signed current)
    assert predict.mean("pf_l1", None, exporting) == -889
    assert predict.mean("i_l1_a", None, exporting) == -1957
    # a meter that showed an unsigned pf / current last minute while exporting
    unsigned = row(p_l1_w=-4500, pf_l1=900, i_l1_a=1900)
    assert predict.mean("pf_l1", unsigned, exporting) == 889
    assert predict.mean("i_l1_a", unsigned, exporting) == 1957
    signed = row(p_l1_w=-4500, pf_l1=-900, i_l1_a=-1900)
    assert predict.mean("pf_l1", signed, exporting) == -889
    # the spread of a negative current mirrors its source's
    exporting["s_l1_va"] = (4500, 4000, 5200)
    assert predict.spread("i_l1_a", -1957, signed, exporting) == (304, 217)


def test_predictions_stay_in_range() -> None:
    huge = row(p_l1_w=(1 << 62), s_l1_va=1)
    assert predict.mean("pf_l1", None, huge) == MAX_STEPS


def test_register_tracks_the_energy_between_its_steps() -> None:
    """A register in 10 Wh steps, predicted from the mean power: after the first
    minutes the tracker knows where between two steps the energy is."""
    rng = random.Random(4)
    energy = 5_000_123.4
    reg = predict.Register("e_imp_wh", 10)
    misses = []
    for k in range(120):
        p = rng.randint(200, 6000)
        energy += p / 60.0
        value = int(energy // 10) * 10
        guess = reg.predict({"p_total_w": (p, p, p)}, 60 * k)
        if k:
            misses.append((value - guess) // 10)
        reg.update(value, 60 * k)
    # a miss: the energy was within the tracker's uncertainty of a step boundary
    assert sum(1 for m in misses if m) <= 5
    assert set(misses) <= {-1, 0, 1}


def size(records: list[Record]) -> int:
    data = encode_batch(Batch("me-1", records), compress=False)
    assert decode_batch(data).records == records
    return len(data)


def with_predicted(records: list[Record], name: str) -> list[Record]:
    """``records`` plus channel ``name`` set exactly to its prediction."""
    prev = None  # type: dict[str, tuple[int, int, int]] | None
    for r in records:
        q = r.wire_stats()
        m = predict.mean(name, prev, q)
        lo, hi = predict.spread(name, m, prev, q)
        s = SCALE[name]
        r.stats[name] = (m / s, (m - lo) / s, (m + hi) / s)
        q[name] = (m, m - lo, m + hi)
        prev = q
    return records


@pytest.mark.parametrize(
    "name",
    ["s_l1_va", "q_total_var", "s_total_va", "pf_total", "i_l2_a", "pf_l3", "u_l12_v"],
)
def test_a_value_the_meter_derives_exactly_costs_under_a_byte(name: str) -> None:
    records = realistic_records(30, seed=11)
    for r in records:
        r.stats = {k: v for k, v in r.stats.items() if k not in (name, "u_l12_v")}
        r.counters = {}
    without = size(records)
    assert size(with_predicted(records, name)) - without <= 1


def test_a_phase_that_follows_another_costs_little() -> None:
    """Three-phase PV: the phases swing together, and the batch says 'follow'."""
    records = realistic_records(30, seed=2)
    for r in records:
        m, lo, hi = r.stats["p_l1_w"]
        r.stats = {"p_l1_w": (m, lo, hi), "p_l2_w": (m + 120.0, lo + 120.0, hi + 120.0)}
        r.counters = {}
    both = size(records)
    p2 = [r.stats.pop("p_l2_w") for r in records]
    p1_alone = size(records)
    for r, triple in zip(records, p2, strict=True):
        r.stats = {"p_l2_w": triple}
    p2_alone = size(records)
    for r in records:
        r.stats = {}
    nothing = size(records)
    # following p_l1, p_l2's 29 deltas cost a 2-bit zero column instead of ~25 bytes
    assert (both - p1_alone) + 20 <= p2_alone - nothing
