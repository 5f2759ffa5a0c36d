"""Wiring faults of an installation: what a miswired panel shows to the meter.

Each test compares a miswired meter with a correctly wired one on the same load
(same seed, same frozen clock), so the expected values follow from the physics of
the fault and not from numbers copied out of the implementation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hardware.maps import load_map
from hardware.model import MeterMap
from simulators.cli import main
from simulators.clock import FakeClock
from simulators.control import meter_handler
from simulators.load import COUNTER_CHANNELS, LoadModel
from simulators.meter import SimulatedMeter
from simulators.wiring import (
    MISSING_PHASE_RESIDUAL_V,
    WiredCounters,
    Wiring,
    parse_wiring,
)

SEED = 7  # a household without PV: every phase imports at every step


def _pair(
    sdm630: MeterMap, clock: FakeClock, wiring: Wiring
) -> tuple[SimulatedMeter, SimulatedMeter]:
    """A correctly wired meter and a miswired one, on the same load and clock."""
    right = SimulatedMeter(sdm630, LoadModel(SEED), clock)
    wrong = SimulatedMeter(sdm630, LoadModel(SEED), clock, wiring=wiring)
    return right, wrong


def _both(right: SimulatedMeter, wrong: SimulatedMeter) -> tuple[dict[str, float], ...]:
    return right.refresh(), wrong.refresh()


def test_a_reversed_ct_on_l2_shows_export_on_l2_only(sdm630, clock):
    right, wrong = _pair(sdm630, clock, parse_wiring("reversed_ct:2"))
    ok, shown = _both(right, wrong)
    assert shown["p_l1_w"] > 0 and shown["p_l3_w"] > 0
    assert shown["p_l2_w"] < 0
    assert shown["p_l2_w"] == pytest.approx(-ok["p_l2_w"], rel=1e-6)
    assert shown["pf_l2"] == pytest.approx(-ok["pf_l2"], rel=1e-6)
    assert shown["q_l2_var"] == pytest.approx(-ok["q_l2_var"], rel=1e-6)
    assert shown["i_l2_a"] == pytest.approx(ok["i_l2_a"], rel=1e-6)  # magnitude unchanged
    assert shown["u_l2_v"] == pytest.approx(ok["u_l2_v"], rel=1e-6)
    # the meter's total is the sum of what its inputs see
    phases = shown["p_l1_w"] + shown["p_l2_w"] + shown["p_l3_w"]
    assert shown["p_total_w"] == pytest.approx(phases, rel=1e-5)


def test_a_reversed_ct_moves_energy_to_the_export_register(sdm630, clock):
    right, wrong = _pair(sdm630, clock, parse_wiring("reversed_ct:2"))
    ok0, shown0 = _both(right, wrong)
    previous = shown0
    for _ in range(6):  # half an hour in 5-minute polls
        clock.advance(300)
        current = wrong.refresh()
        for name in COUNTER_CHANNELS:
            if name in current:
                assert current[name] >= previous[name], name  # monotonic per register
        previous = current
    ok = right.refresh()
    imported_l2 = ok["e_imp_l2_wh"] - ok0["e_imp_l2_wh"]
    assert imported_l2 > 50  # the site really draws power on L2
    # what L2 imports, the meter counts as export; its import register stands still
    assert previous["e_imp_l2_wh"] == shown0["e_imp_l2_wh"]
    assert previous["e_exp_l2_wh"] - shown0["e_exp_l2_wh"] == pytest.approx(imported_l2, abs=20)
    # L1 and L3 are counted as before
    for ph in (1, 3):
        name = f"e_imp_l{ph}_wh"
        assert previous[name] - shown0[name] == pytest.approx(ok[name] - ok0[name], abs=20)


def test_a_missing_phase_shows_no_voltage_no_current_no_power(sdm630, clock):
    right, wrong = _pair(sdm630, clock, parse_wiring("missing_phase:3"))
    ok, shown = _both(right, wrong)
    assert shown["u_l3_v"] < 10
    assert shown["u_l3_v"] == pytest.approx(MISSING_PHASE_RESIDUAL_V)
    assert shown["i_l3_a"] == 0
    assert shown["p_l3_w"] == 0
    assert shown["u_l1_v"] == pytest.approx(ok["u_l1_v"], rel=1e-6)
    assert shown["p_total_w"] == pytest.approx(ok["p_l1_w"] + ok["p_l2_w"], rel=1e-5)
    before = shown["e_imp_l3_wh"]
    clock.advance(3600)
    later = wrong.refresh()
    assert later["e_imp_l3_wh"] == before  # nothing measured on L3
    assert later["e_imp_l1_wh"] > shown["e_imp_l1_wh"]


def test_a_ct_ratio_of_two_doubles_current_power_and_energy_of_that_phase(sdm630, clock):
    right, wrong = _pair(sdm630, clock, parse_wiring("ct_ratio:1=2.0"))
    ok0, shown0 = _both(right, wrong)
    assert shown0["i_l1_a"] == pytest.approx(2 * ok0["i_l1_a"], rel=1e-6)
    assert shown0["p_l1_w"] == pytest.approx(2 * ok0["p_l1_w"], rel=1e-6)
    assert shown0["pf_l1"] == pytest.approx(ok0["pf_l1"], rel=1e-6)
    assert shown0["i_l2_a"] == pytest.approx(ok0["i_l2_a"], rel=1e-6)
    clock.advance(3600)
    ok, shown = _both(right, wrong)
    gained = shown["e_imp_l1_wh"] - shown0["e_imp_l1_wh"]
    assert gained == pytest.approx(2 * (ok["e_imp_l1_wh"] - ok0["e_imp_l1_wh"]), abs=20)


def test_correct_wiring_integrates_exactly_like_the_load_model():
    load = LoadModel(SEED, pv_kw=5.0)
    t0 = 1_782_036_000.0 - 0.4  # not on a step edge
    load.advance_to(t0)
    counters = WiredCounters(load, t0, load.counters_at(t0))
    for t in (t0 + 0.25, t0 + 17.9, t0 + 5000.3, t0 + 9000.0):
        counters.advance_to(t, Wiring())
        truth = load.counters_at(t)
        for name in COUNTER_CHANNELS:
            assert counters.counters()[name] == pytest.approx(truth[name], abs=1e-3), name


def test_rewiring_at_runtime_keeps_counters_monotonic(sdm630, clock):
    meter = SimulatedMeter(sdm630, LoadModel(SEED), clock)
    first = meter.refresh()
    clock.advance(600)
    meter.set_wiring(parse_wiring(["reversed_ct:1,2,3", "ct_ratio:3=0.5"]))
    clock.advance(600)
    reversed_ = meter.refresh()
    assert reversed_["p_total_w"] < 0
    meter.set_wiring(Wiring())
    clock.advance(600)
    last = meter.refresh()
    for name in COUNTER_CHANNELS:
        assert first[name] <= reversed_[name] <= last[name], name
    assert reversed_["e_exp_wh"] > first["e_exp_wh"]


def test_the_control_socket_sets_and_reports_the_wiring(meter):
    handle = meter_handler(meter)
    reply = handle({"wiring": ["missing_phase:3", "ct_ratio:1=2"]})
    assert reply == {"wiring": {"reversed_ct": [], "missing_phase": [3], "ct_ratio": {"1": 2.0}}}
    assert handle({"status": True})["wiring"]["missing_phase"] == [3]
    assert meter.refresh()["i_l3_a"] == 0
    handle({"wiring": []})
    assert meter.wiring.is_identity


def test_text_form_round_trips():
    wiring = parse_wiring(["reversed_ct:2", "missing_phase:L3", "ct_ratio:1=2.0"])
    assert wiring == Wiring(reversed_ct={2}, missing_phase={3}, ct_ratio={1: 2.0})
    assert parse_wiring(wiring.specs()) == wiring
    assert wiring.specs() == ["reversed_ct:2", "missing_phase:3", "ct_ratio:1=2"]
    assert hash(wiring) == hash(parse_wiring(wiring.specs()))
    assert parse_wiring("ct_ratio:2=1.0").is_identity  # a correct CT is no fault


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("crossed_wires:1", "unknown wiring fault"),
        ("reversed_ct", "needs a phase"),
        ("reversed_ct:4", "phase must be 1, 2 or 3"),
        ("missing_phase:x", "phase must be 1, 2 or 3"),
        ("ct_ratio:1", "PHASE=FACTOR"),
        ("ct_ratio:1=two", "bad ct_ratio factor"),
        ("ct_ratio:1=0", "> 0"),
        ("ct_ratio:1=nan", "> 0"),
    ],
)
def test_bad_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_wiring(spec)


@pytest.mark.parametrize("spec", ["reversed_ct:2", "missing_phase:3", "ct_ratio:3=2"])
def test_a_single_phase_meter_refuses_phases_2_and_3(spec, clock):
    sdm120 = load_map("sdm120")
    with pytest.raises(ValueError, match="1-phase meter"):
        parse_wiring(spec, phases=1)
    with pytest.raises(ValueError, match="1-phase meter"):
        SimulatedMeter(sdm120, LoadModel(SEED, phases=1), clock, wiring=Wiring(reversed_ct={2}))
    meter = SimulatedMeter(
        sdm120, LoadModel(SEED, phases=1), clock, wiring=parse_wiring("reversed_ct:1", phases=1)
    )
    assert meter.refresh()["p_total_w"] < 0  # the sdm120 maps its power to the total


def test_the_cli_reports_a_bad_wiring_spec(capsys):
    assert main(["meter", "--wiring", "ct_ratio:1"]) == 2
    assert "PHASE=FACTOR" in capsys.readouterr().err
    assert main(["meter", "--model", "sdm120", "--wiring", "missing_phase:3"]) == 2
    assert "1-phase meter" in capsys.readouterr().err


def test_the_cli_documents_the_wiring_faults(capsys):
    with pytest.raises(SystemExit):
        main(["meter", "--help"])
    out = capsys.readouterr().out
    for word in ("--wiring", "reversed_ct:2", "missing_phase:3", "ct_ratio:1=2.0", "baud"):
        assert word in out


def test_the_docs_wiring_examples_parse():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulators.md").read_text()
    section = doc.split("## Wiring faults of the installation", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"\| ([a-z_]+:[0-9,=.]+) \|\n", section)
    assert examples == ["reversed_ct:2", "missing_phase:3", "ct_ratio:1=2.0"]
    assert parse_wiring(examples) == Wiring(reversed_ct={2}, missing_phase={3}, ct_ratio={1: 2})
    for spec in re.findall(r"--wiring (\S+)", section):
        parse_wiring(spec)
