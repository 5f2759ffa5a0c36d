"""SimulatedMeter: the register image decodes to what the load model says."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hardware.maps import available_models, load_map
from hardware.planner import decode_request, plan_requests
from hardware.registers import decode_point
from simulators.clock import FakeClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter, meter_phases, register_spans

from .conftest import T0


def _decode_all(meter: SimulatedMeter) -> dict[str, float]:
    return {
        p.channel: decode_point(p, meter.registers(p.fc, p.address, p.words))
        for p in meter.map.points
    }


def test_image_decodes_to_the_load_values(meter, clock):
    meter.begin_request()
    decoded = _decode_all(meter)
    truth = meter.load.values()
    for p in meter.map.points:
        assert decoded[p.channel] == meter.readings()[p.channel]
        if p.kind == "counter":
            # truncated to the meter's 10 Wh, then stored as float32 kWh (half a step off)
            half_step = float(np.spacing(np.float32(truth[p.channel] / 1000.0))) * 500.0
            assert truth[p.channel] - 10 - half_step <= decoded[p.channel]
            assert decoded[p.channel] <= truth[p.channel] + half_step
        else:
            assert decoded[p.channel] == pytest.approx(truth[p.channel], rel=1e-6, abs=1e-6)


def test_image_follows_the_clock(meter, clock):
    meter.begin_request()
    before = _decode_all(meter)
    clock.advance(3600)
    meter.begin_request()
    after = _decode_all(meter)
    assert after["e_exp_wh"] > before["e_exp_wh"]  # midday with PV: exporting
    assert after["u_l1_v"] != before["u_l1_v"]


def test_counter_reset_restarts_near_zero_while_the_site_goes_on(meter, clock):
    meter.begin_request()
    before = meter.readings()["e_imp_wh"]
    assert before > 100_000
    meter.faults.counter_reset()
    meter.begin_request()
    assert meter.readings()["e_exp_wh"] == 0.0
    clock.advance(600)
    meter.begin_request()
    after = meter.readings()
    assert 0 < after["e_exp_wh"] < 2000  # ten minutes of midday export
    assert meter.load.values()["e_imp_wh"] >= before  # the load model's truth is untouched


def test_implausible_value_is_shown_and_then_gone(meter):
    meter.faults.implausible("u_l2_v", 1e9, count=1)
    meter.faults.implausible("f_hz", math.nan, count=1)
    meter.begin_request()
    decoded = _decode_all(meter)
    assert decoded["u_l2_v"] == pytest.approx(1e9)
    assert math.isnan(decoded["f_hz"])
    meter.begin_request()
    assert 220 < _decode_all(meter)["u_l2_v"] < 240


def test_spans_cover_every_point_with_alignment(sdm630):
    spans = register_spans(sdm630)
    assert spans == {4: [(0, 80), (346, 12)]}


def _integer_map(sdm630, counter_type: str, scale: float):
    """The SDM630 map with its energy import counter as an integer register."""
    points = tuple(
        dataclasses.replace(p, type=counter_type, scale=scale) if p.channel == "e_imp_wh" else p
        for p in sdm630.points
    )
    return dataclasses.replace(sdm630, points=points)


def test_integer_counter_is_truncated_to_its_raw_step(sdm630):
    meter = SimulatedMeter(_integer_map(sdm630, "u32", 100.0), LoadModel(7), FakeClock(T0))
    meter.begin_request()
    shown = meter.readings()["e_imp_wh"]
    truth = meter.load.values()["e_imp_wh"]
    assert shown % 100.0 == 0 and truth - 100 < shown <= truth
    p = meter.map.point("e_imp_wh")
    assert decode_point(p, meter.registers(4, p.address, 2)) == shown


def test_integer_counter_rolls_over_at_its_width(sdm630):
    # a 16-bit Wh register holds 65535 Wh: the site's meter with ~10 MWh has wrapped
    meter = SimulatedMeter(
        _integer_map(sdm630, "u16", 1.0), LoadModel(7, initial_wh=1_000_000), FakeClock(T0)
    )
    meter.begin_request()
    p = meter.map.point("e_imp_wh")
    raw = decode_point(p, meter.registers(4, p.address, 1))
    assert raw == math.floor(meter.load.values()["e_imp_wh"]) % 65536


def test_slave_id_is_checked(sdm630):
    with pytest.raises(ValueError, match=r"1\.\.247"):
        SimulatedMeter(sdm630, LoadModel(1), FakeClock(T0), slave_id=0)


@pytest.mark.parametrize("model", available_models())
def test_every_packaged_model_is_served(model):
    meter_map = load_map(model)
    load = LoadModel(3, pv_kw=5, phases=meter_phases(meter_map))
    meter = SimulatedMeter(meter_map, load, FakeClock(T0))
    meter.begin_request()
    truth = meter.load.values()
    spans = meter.spans
    for req in plan_requests(meter_map):
        # every request the agent's planner makes falls inside what the meter answers
        assert any(s <= req.address and req.end <= s + n for s, n in spans[req.fc])
        regs = meter.registers(req.fc, req.address, req.count)
        for channel, value in decode_request(req, regs).items():
            assert value == meter.readings()[channel]
            if meter_map.point(channel).kind == "instant":
                tolerance = max(abs(meter_map.point(channel).scale), 1e-6 * abs(truth[channel]))
                assert value == pytest.approx(truth[channel], abs=tolerance), channel
