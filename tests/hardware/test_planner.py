"""Request planning, request decoding and the bus-time budget."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.maps import load_map
from hardware.model import MeterMap, Point, SerialSettings
from hardware.planner import (
    BusBudgetError,
    Request,
    break_even_gap,
    bus_time_s,
    check_poll_period,
    decode_request,
    plan_requests,
)
from hardware.registers import encode_point


def test_a_full_sdm630_read_takes_at_most_two_requests() -> None:
    plan = plan_requests(load_map("sdm630"))
    assert len(plan) <= 2
    assert [(r.fc, r.address, r.count) for r in plan] == [(4, 0, 80), (4, 346, 12)]


@pytest.mark.parametrize("model", ["sdm630", "sdm120", "em340", "pm5100"])
def test_every_point_is_planned_once_within_the_limits(model: str) -> None:
    m = load_map(model)
    plan = plan_requests(m)
    planned = [p.channel for r in plan for p in r.points]
    assert sorted(planned) == sorted(m.channels)
    for r in plan:
        assert 1 <= r.count <= m.max_registers_per_request
        assert r.address % m.alignment == 0 and r.count % m.alignment == 0
        for p in r.points:
            assert r.address <= p.address and p.end <= r.end and p.fc == r.fc


def test_channel_subset_and_unknown_channel() -> None:
    m = load_map("sdm630")
    plan = plan_requests(m, ["e_imp_wh", "e_exp_wh", "e_imp_wh"])
    assert [(r.address, r.count, [p.channel for p in r.points]) for r in plan] == [
        (72, 4, ["e_imp_wh", "e_exp_wh"])
    ]
    with pytest.raises(KeyError, match="i_n_a"):
        plan_requests(m, ["i_n_a"])


def make_map(
    points: list[Point], *, max_regs: int = 125, max_gap: int = 0, align: int = 1
) -> MeterMap:
    return dataclasses.replace(
        load_map("pm5100"),
        points=tuple(points),
        max_registers_per_request=max_regs,
        max_gap_registers=max_gap,
        alignment=align,
        probe=None,
    )


CHANNELS = ["u_l1_v", "u_l2_v", "u_l3_v", "i_l1_a", "i_l2_a", "i_l3_a", "f_hz", "p_total_w"]


def u16(channel: str, address: int, fc: int = 3) -> Point:
    p = load_map("pm5100").point("u_l1_v")
    return dataclasses.replace(p, channel=channel, address=address, fc=fc, type="u16")


def test_gaps_are_filled_only_up_to_max_gap() -> None:
    points = [u16("u_l1_v", 0), u16("u_l2_v", 5), u16("u_l3_v", 11)]  # gaps of 4 and 5
    assert [(r.address, r.count) for r in plan_requests(make_map(points, max_gap=4))] == [
        (0, 6),
        (11, 1),
    ]
    assert [(r.address, r.count) for r in plan_requests(make_map(points, max_gap=5))] == [(0, 12)]
    assert len(plan_requests(make_map(points, max_gap=0))) == 3


def test_the_request_size_limit_splits_runs() -> None:
    points = [u16(ch, i) for i, ch in enumerate(CHANNELS)]  # 8 adjacent registers
    assert [(r.address, r.count) for r in plan_requests(make_map(points, max_regs=3))] == [
        (0, 3),
        (3, 3),
        (6, 2),
    ]


def test_function_codes_are_never_merged() -> None:
    points = [u16("u_l1_v", 0, fc=3), u16("u_l2_v", 1, fc=4)]
    plan = plan_requests(make_map(points, max_gap=10))
    assert [(r.fc, r.address, r.count) for r in plan] == [(3, 0, 1), (4, 1, 1)]


def test_alignment_widens_requests_to_even_boundaries() -> None:
    points = [u16("pf_l1", 3)]
    (r,) = plan_requests(make_map(points, align=2))
    assert (r.address, r.count) == (2, 2)


@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=len(CHANNELS), unique=True),
    st.integers(1, 40),
    st.integers(0, 20),
)
def test_greedy_plan_respects_limits_and_is_minimal(
    addresses: list[int], max_regs: int, max_gap: int
) -> None:
    points = [u16(ch, a) for ch, a in zip(CHANNELS, addresses, strict=False)]
    plan = plan_requests(make_map(points, max_regs=max_regs, max_gap=max_gap))
    for r in plan:
        assert r.count <= max_regs
        inside = sorted(p.address for p in r.points)
        assert all(b - a - 1 <= max_gap for a, b in itertools.pairwise(inside))
        assert r.address == inside[0] and r.end == inside[-1] + 1
    # minimal: a lower bound from the sorted addresses -- a break is forced wherever the
    # gap exceeds max_gap, and each forced segment needs ceil-ish splits by max_regs
    srt = sorted(addresses)
    forced = 1 + sum(1 for a, b in itertools.pairwise(srt) if b - a - 1 > max_gap)
    assert len(plan) >= forced
    if max_regs >= (srt[-1] - srt[0] + 1):
        assert len(plan) == forced


def test_decode_request_returns_values_by_channel() -> None:
    m = load_map("em340")
    (first, _second) = plan_requests(m)
    regs = [0] * first.count
    for ch, value in {"u_l1_v": 230.5, "p_l1_w": -1234.5, "pf_total": -0.987}.items():
        p = m.point(ch)
        regs[p.address - first.address : p.end - first.address] = encode_point(p, value)
    values = decode_request(first, regs)
    assert set(values) == {p.channel for p in first.points}
    assert values["u_l1_v"] == pytest.approx(230.5)
    assert values["p_l1_w"] == pytest.approx(-1234.5)
    assert values["pf_total"] == pytest.approx(-0.987)
    with pytest.raises(ValueError, match="got 3 registers"):
        decode_request(first, [0, 0, 0])


def test_decode_request_passes_nan_through() -> None:
    m = load_map("sdm630")
    r = Request(fc=4, address=0, count=2, points=(m.point("u_l1_v"),))
    assert math.isnan(decode_request(r, [0x7FC0, 0x0000])["u_l1_v"])


def test_serial_timing() -> None:
    s = SerialSettings(9600, "E", 8, 1)
    assert s.bits_per_char == 11
    assert s.char_time_s == pytest.approx(11 / 9600)
    assert s.frame_gap_s == pytest.approx(3.5 * 11 / 9600)
    assert SerialSettings(9600, "N", 8, 2).bits_per_char == 11
    assert SerialSettings(9600, "N", 8, 1).bits_per_char == 10
    assert SerialSettings(19200, "E", 8, 1).frame_gap_s == pytest.approx(3.5 * 11 / 19200)
    assert SerialSettings(38400, "E", 8, 1).frame_gap_s == 0.00175  # fixed above 19200
    assert str(s) == "9600 8E1"


def test_bus_time_matches_a_hand_calculation() -> None:
    # SDM630 full read at 9600 8N1: a character is 10 bits = 1/960 s.
    # Request 1 (80 registers): 8 + (5 + 160) = 173 characters; request 2 (12): 8 + 29 = 37.
    # Two t3.5 gaps per request: 4 x 3.5 = 14 characters. Turnaround 2 x 50 ms.
    # (173 + 37 + 14) / 960 s + 0.1 s = 224/960 + 0.1 = 0.33333... s
    m = load_map("sdm630")
    plan = plan_requests(m)
    assert bus_time_s(plan, m.serial, m.turnaround_s) == pytest.approx(224 / 960 + 0.1)
    assert bus_time_s([], m.serial, 0.05) == 0.0


def test_poll_period_check_passes_and_fails_with_a_clear_message() -> None:
    m = load_map("sdm630")
    plan = plan_requests(m)
    assert check_poll_period(m, plan, m.serial, 1.0) == pytest.approx(224 / 960 + 0.1)
    with pytest.raises(BusBudgetError) as info:
        check_poll_period(m, plan, m.serial, 0.4)  # 333 ms > 80 % of 400 ms
    msg = str(info.value)
    for fragment in ("sdm630", "bus time 333.3 ms", "9600 8N1", "2 requests", "80%", "400 ms"):
        assert fragment in msg, msg
    # a faster line fits the same period
    fast = SerialSettings(38400, "N", 8, 1)
    check_poll_period(m, plan, fast, 0.4)
    with pytest.raises(ValueError, match="must be positive"):
        check_poll_period(m, plan, m.serial, 0.0)


@pytest.mark.parametrize("model", ["sdm630", "sdm120", "em340", "pm5100"])
def test_map_gap_limits_stay_below_the_break_even(model: str) -> None:
    # reading padding beyond this costs more bus time than an extra request would
    m = load_map(model)
    assert m.max_gap_registers <= break_even_gap(m.serial, m.turnaround_s)


def test_break_even_gap_hand_calculation() -> None:
    # 9600 8N1, 50 ms: an extra request costs 13 chars + 7 chars of gaps + 50 ms
    # = 20/960 + 0.05 s = 0.0708 s; a padding register costs 2/960 s -> 34 registers
    assert break_even_gap(SerialSettings(9600, "N", 8, 1), 0.05) == 34
