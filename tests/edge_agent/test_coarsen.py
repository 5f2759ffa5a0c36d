"""edge_agent.coarsen: the merge arithmetic (hand-computed) and group selection."""

from __future__ import annotations

import pytest

from edge_agent.coarsen import bucket_start, groups, merge
from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, Record

T0 = 1_767_225_600  # 2026-01-01T00:00Z, on the 15-minute grid


def test_bucket_start_is_the_utc_grid() -> None:
    assert bucket_start(T0, 900) == T0
    assert bucket_start(T0 + 899, 900) == T0
    assert bucket_start(T0 + 900, 900) == T0 + 900
    assert bucket_start(T0 + 121.5, 120) == T0 + 120


def test_merge_arithmetic() -> None:
    r1 = Record(
        10,
        T0 + 300,
        60,
        CLOCK_SYNCED,
        60,
        60,
        1,
        {"u_l1_v": (230.0, 228.0, 233.0), "p_total_w": (1000.0, 500.0, 1500.0)},
        {"e_imp_wh": 1000, "e_exp_wh": 5},
    )
    r2 = Record(
        11,
        T0 + 360,
        60,
        CLOCK_ESTIMATED,
        30,
        60,
        1,
        {"u_l1_v": (236.0, 220.0, 240.0), "p_total_w": (4000.0, 3000.0, 9000.0)},
        {"e_imp_wh": 1010},
    )
    r3 = Record(
        12,
        T0 + 420,
        60,
        CLOCK_SYNCED,
        30,
        60,
        1,
        {"u_l1_v": (232.0, 229.0, 235.0)},
        {"e_imp_wh": 1020},
    )
    merged = merge([r1, r2, r3], 900)
    assert merged.seq == 10  # the first seq covered
    assert merged.ts == T0  # start of the 15-minute cell, not of the first minute
    assert merged.period_s == 900
    assert merged.clock == CLOCK_ESTIMATED  # the worst
    assert (merged.samples, merged.expected, merged.span) == (120, 180, 3)
    # u: (230*60 + 236*30 + 232*30) / 120 = 27840 / 120 = 232
    assert merged.stats["u_l1_v"] == (232.0, 220.0, 240.0)
    # p is missing from r3, weighted over r1 and r2 only: (60000 + 120000) / 90 = 2000
    assert merged.stats["p_total_w"] == (2000.0, 500.0, 9000.0)
    # counters: the end of the last record that has the channel
    assert merged.counters == {"e_imp_wh": 1020, "e_exp_wh": 5}
    merged.check()


def test_merging_coarse_records_sums_their_spans() -> None:
    a = Record(1, T0, 900, CLOCK_SYNCED, 900, 900, 15, {"f_hz": (50.0, 49.0, 51.0)}, {})
    b = Record(16, T0 + 900, 900, CLOCK_SYNCED, 300, 900, 15, {"f_hz": (50.4, 49.5, 50.5)}, {})
    merged = merge([a, b], 3600)
    assert (merged.seq, merged.ts, merged.span, merged.samples, merged.expected) == (
        1,
        T0,
        30,
        1200,
        1800,
    )
    assert merged.stats["f_hz"][0] == pytest.approx((50.0 * 900 + 50.4 * 300) / 1200)


def test_merge_needs_records() -> None:
    with pytest.raises(ValueError, match="nothing to merge"):
        merge([], 900)


def test_groups_are_consecutive_seqs_in_one_closed_cell() -> None:
    rows = [
        (1, T0),
        (2, T0 + 60),  # cell 0
        (3, T0 + 900),
        (4, T0 + 960),  # cell 1 ...
        (6, T0 + 1020),  # ... cut by a gap (5 was delivered)
        (7, T0 + 1800),
        (8, T0 + 1860),  # the open cell: left alone
    ]
    found = list(groups(rows, 900, exclude=(), before=T0 + 1800))
    assert found == [(T0, [1, 2]), (T0 + 900, [3, 4]), (T0 + 900, [6])]
    found = list(groups(rows, 900, exclude={2}, before=T0 + 1800))
    assert found == [(T0 + 900, [3, 4]), (T0 + 900, [6])]
    assert list(groups(rows, 900, exclude=(), before=T0)) == []
