"""The rules of ``check`` on synthetic readings, each at and around its limits."""

from __future__ import annotations

from typing import Any

import pytest

from edge_agent.install.judge import (
    CtRatio,
    Declared,
    Item,
    Window,
    judge,
    overall,
    parse_ct_ratio,
)

THREE_PHASE = frozenset(
    {
        "u_l1_v", "u_l2_v", "u_l3_v", "i_l1_a", "i_l2_a", "i_l3_a", "p_l1_w", "p_l2_w",
        "p_l3_w", "p_total_w", "f_hz", "e_imp_wh", "e_exp_wh",
    }
)  # fmt: skip
SINGLE_PHASE = frozenset({"u_l1_v", "i_l1_a", "p_total_w", "f_hz", "e_imp_wh", "e_exp_wh"})


def healthy(**changes: float) -> dict[str, float]:
    sample = {
        "u_l1_v": 230.0, "u_l2_v": 231.0, "u_l3_v": 229.0,
        "i_l1_a": 5.0, "i_l2_a": 4.0, "i_l3_a": 6.0,
        "p_l1_w": 1100.0, "p_l2_w": 900.0, "p_l3_w": 1300.0, "p_total_w": 3300.0,
        "f_hz": 50.0,
    }  # fmt: skip
    sample.update(changes)
    return sample


def window(
    *samples: dict[str, float],
    imp: tuple[float, float] = (1000.0, 1020.0),
    exp: tuple[float, float] = (0.0, 0.0),
    seconds: float = 20.0,
    resolution: float = 10.0,
    channels: frozenset[str] = THREE_PHASE,
) -> Window:
    return Window(
        samples=list(samples) or [healthy()],
        counters_first={"e_imp_wh": imp[0], "e_exp_wh": exp[0]},
        counters_last={"e_imp_wh": imp[1], "e_exp_wh": exp[1]},
        counter_resolution_wh={"e_imp_wh": resolution, "e_exp_wh": resolution},
        seconds=seconds,
        channels=channels,
    )


def item(items: list[Item], item_id: str) -> Item:
    return next(i for i in items if i.id == item_id)


def run(w: Window, **declared: Any) -> list[Item]:
    return judge(w, Declared(**declared))


def test_a_healthy_site_passes_everything_it_can_judge() -> None:
    items = run(window(), breaker_a=40)
    assert overall(items) == "pass"
    assert [i.id for i in items] == [
        "voltage_l1", "voltage_l2", "voltage_l3", "phase_sequence", "ct_direction",
        "ct_ratio", "current_balance", "frequency", "counters", "signal",
    ]  # fmt: skip
    assert item(items, "phase_sequence").status == "skipped"  # never invented
    assert item(items, "signal").status == "skipped"


# ---------------------------------------------------------------- voltage (EN 50160)


@pytest.mark.parametrize(
    ("volts", "status"),
    [
        (230.0, "pass"),
        (246.1, "pass"),  # +7 %: still inside the warning band
        (246.2, "warn"),
        (253.0, "warn"),  # +10 % exactly: EN 50160 allows it
        (253.1, "fail"),
        (213.9, "pass"),  # -7 %
        (213.8, "warn"),
        (207.0, "warn"),  # -10 % exactly
        (206.9, "fail"),
        (50.0, "fail"),  # low, but a phase is there: out of range, not missing
        (49.9, "fail"),  # missing
    ],
)
def test_voltage_bands(volts: float, status: str) -> None:
    it = item(run(window(healthy(u_l2_v=volts))), "voltage_l2")
    assert it.status == status
    assert it.values["u_v"] == pytest.approx(volts, abs=0.05)


def test_missing_phase_names_the_phase_and_the_fuse() -> None:
    it = item(run(window(healthy(u_l3_v=3.0))), "voltage_l3")
    assert it.status == "fail"
    assert "L3" in it.message_en and "missing" in it.message_en
    assert it.advice_en == "Check the fuse / voltage tap of L3."
    assert "L3" in it.advice_bg


def test_the_median_ignores_one_odd_sample() -> None:
    w = window(healthy(), healthy(u_l1_v=260.0), healthy())
    assert item(run(w), "voltage_l1").status == "pass"


def test_single_phase_meter_has_one_voltage_and_no_sequence() -> None:
    sample = {"u_l1_v": 231.0, "i_l1_a": 3.0, "p_total_w": 700.0, "f_hz": 50.0}
    items = run(window(sample, channels=SINGLE_PHASE))
    assert [i.id for i in items if i.id.startswith("voltage")] == ["voltage_l1"]
    assert item(items, "phase_sequence").status == "skipped"
    assert "single-phase" in item(items, "phase_sequence").message_en
    assert overall(items) == "pass"


# ---------------------------------------------------------------- phase sequence

ANGLES = THREE_PHASE | {"angle_l1_deg", "angle_l2_deg", "angle_l3_deg"}


def test_phase_sequence_is_judged_only_when_the_meter_has_angles() -> None:
    good = healthy(angle_l1_deg=0.0, angle_l2_deg=-120.0, angle_l3_deg=120.0)
    assert item(run(window(good, channels=ANGLES)), "phase_sequence").status == "pass"
    swapped = healthy(angle_l1_deg=0.0, angle_l2_deg=120.0, angle_l3_deg=-120.0)
    it = item(run(window(swapped, channels=ANGLES)), "phase_sequence")
    assert it.status == "fail" and "L2 and L3" in it.advice_en
    assert item(run(window(healthy(), channels=ANGLES)), "phase_sequence").status == "skipped"


# ---------------------------------------------------------------- reversed CT


def test_one_phase_exporting_without_pv_is_a_reversed_ct() -> None:
    items = run(window(healthy(p_l2_w=-900.0)))
    it = item(items, "ct_direction")
    assert it.status == "fail"
    assert it.message_en.startswith("L2:")
    assert "Turn the CT of L2 (arrow towards the load)" in it.advice_en
    assert overall(items) == "fail"


def test_export_threshold_edge() -> None:
    assert item(run(window(healthy(p_l2_w=-50.0))), "ct_direction").status == "pass"
    assert item(run(window(healthy(p_l2_w=-50.1))), "ct_direction").status == "fail"


def test_with_pv_all_phases_exporting_is_normal_one_is_suspect() -> None:
    all_export = healthy(p_l1_w=-2000.0, p_l2_w=-1900.0, p_l3_w=-1800.0, p_total_w=-5700.0)
    assert item(run(window(all_export), pv=True), "ct_direction").status == "pass"
    assert item(run(window(all_export)), "ct_direction").status == "fail"  # no PV declared
    one = item(run(window(healthy(p_l1_w=-600.0)), pv=True), "ct_direction")
    assert one.status == "warn" and "L1" in one.message_en


def test_single_phase_exporting_without_pv_fails() -> None:
    sample = {"u_l1_v": 231.0, "i_l1_a": 3.0, "p_total_w": -700.0, "f_hz": 50.0}
    it = item(run(window(sample, channels=SINGLE_PHASE)), "ct_direction")
    assert it.status == "fail" and "L1" in it.message_en


# ---------------------------------------------------------------- CT ratio and breaker


def test_ct_ratio_is_skipped_without_a_breaker() -> None:
    assert item(run(window()), "ct_ratio").status == "skipped"


def test_current_above_the_breaker_is_impossible() -> None:
    assert item(run(window(healthy(i_l1_a=44.0)), breaker_a=40), "ct_ratio").status == "pass"
    it = item(run(window(healthy(i_l1_a=44.1)), breaker_a=40), "ct_ratio")
    assert it.status == "fail"
    assert "L1" in it.message_en and "CT ratio is set higher than the CT mounted" in it.message_en


def test_a_single_sample_above_the_breaker_is_enough() -> None:
    w = window(healthy(), healthy(i_l2_a=60.0), healthy())
    assert item(run(w, breaker_a=40), "ct_ratio").status == "fail"


def test_a_ct_far_above_the_breaker_warns() -> None:
    ratio = parse_ct_ratio("400/5")
    it = item(run(window(), breaker_a=40, ct_ratio=ratio), "ct_ratio")
    assert it.status == "warn" and "poor resolution" in it.message_en
    ok = item(run(window(), breaker_a=40, ct_ratio=CtRatio(120, 5)), "ct_ratio")  # 3x: edge
    assert ok.status == "pass"


def test_parse_ct_ratio() -> None:
    assert parse_ct_ratio("100/5") == CtRatio(100.0, 5.0)
    assert parse_ct_ratio("150") == CtRatio(150.0, 5.0)
    assert str(parse_ct_ratio("250/1")) == "250/1"
    for bad in ("x", "0/5", "100/0", "-5/5", "a/b"):
        with pytest.raises(ValueError):
            parse_ct_ratio(bad)


def test_very_unbalanced_currents_are_a_note_not_a_failure() -> None:
    it = item(run(window(healthy(i_l1_a=30.0, i_l2_a=2.0, i_l3_a=3.0))), "current_balance")
    assert it.status == "pass" and it.message_en.startswith("Note") and "L1" in it.message_en
    small = item(run(window(healthy(i_l1_a=4.0, i_l2_a=0.2, i_l3_a=0.3))), "current_balance")
    assert not small.message_en.startswith("Note")  # below 5 A: nothing to say


# ---------------------------------------------------------------- frequency (EN 50160)


@pytest.mark.parametrize(
    ("hz", "status"),
    [(50.0, "pass"), (49.5, "pass"), (50.5, "pass"), (49.49, "fail"), (50.51, "fail")],
)
def test_frequency_band(hz: float, status: str) -> None:
    assert item(run(window(healthy(f_hz=hz))), "frequency").status == status


# ---------------------------------------------------------------- counters


def test_counters_advancing_pass_and_falling_fail() -> None:
    assert item(run(window(imp=(1000.0, 1010.0))), "counters").status == "pass"
    assert item(run(window(imp=(1000.0, 1000.0), exp=(5.0, 15.0))), "counters").status == "pass"
    falling = item(run(window(imp=(1000.0, 990.0))), "counters")
    assert falling.status == "fail" and "decreases" in falling.message_en


def test_counters_standing_still_under_load_fail() -> None:
    # 3300 W for 60 s is 55 Wh: a 10 Wh counter must have moved
    it = item(run(window(imp=(1000.0, 1000.0), seconds=60.0)), "counters")
    assert it.status == "fail"


def test_counters_are_not_judged_when_they_could_not_move() -> None:
    # 3300 W for 20 s is 18.3 Wh: less than two 10 Wh steps, and the hint says how long
    it = item(run(window(imp=(1000.0, 1000.0), seconds=20.0)), "counters")
    assert it.status == "skipped" and "--seconds 22" in it.advice_en
    low = healthy(p_total_w=100.0)
    assert item(run(window(low, imp=(5.0, 5.0), seconds=600)), "counters").status == "skipped"
    just_above = healthy(p_total_w=101.0)
    it = item(run(window(just_above, imp=(5.0, 5.0), seconds=3600)), "counters")
    assert it.status == "fail"


# ---------------------------------------------------------------- signal (1.5)


@pytest.mark.parametrize(
    ("dbm", "status"),
    [(-70.0, "pass"), (-95.0, "pass"), (-95.5, "warn"), (-105.0, "warn"), (-105.1, "fail")],
)
def test_signal_bands(dbm: float, status: str) -> None:
    it = item(run(window(), signal_source=True, signal_dbm=dbm), "signal")
    assert it.status == status
    assert (it.reason == "no_mobile_coverage") == (status == "fail")


def test_no_signal_at_all_is_no_coverage_under_1_5() -> None:
    it = item(run(window(), signal_source=True, signal_dbm=None), "signal")
    assert it.status == "fail" and it.reason == "no_mobile_coverage"
    assert "1.5 (Appendix 3)" in it.message_en and "1.5" in it.message_bg
    assert item(run(window()), "signal").status == "skipped"  # no modem given


def test_overall_is_the_worst_item_and_skipped_counts_for_nothing() -> None:
    def it(status: Any) -> Item:
        return Item("x", status, "", "")

    assert overall([it("skipped"), it("skipped")]) == "pass"
    assert overall([it("pass"), it("warn"), it("skipped")]) == "warn"
    assert overall([it("warn"), it("fail"), it("pass")]) == "fail"


# ------------------------------------------- phase sequence from the meter's register


def sequence_window(read: tuple[int, str | None] | None, *samples: dict[str, float]) -> Window:
    """A three-phase window from a meter whose map has the phase-sequence register;
    ``read`` is what it held (None: the register did not answer)."""
    w = window(*samples)
    return Window(
        samples=w.samples,
        counters_first=w.counters_first,
        counters_last=w.counters_last,
        counter_resolution_wh=w.counter_resolution_wh,
        seconds=w.seconds,
        channels=w.channels,
        diagnostic_names=frozenset({"phase_sequence"}),
        diagnostics={} if read is None else {"phase_sequence": read},
    )


def test_phase_sequence_register_l1_l2_l3_passes() -> None:
    it = item(run(sequence_window((0, "L1-L2-L3"))), "phase_sequence")
    assert it.status == "pass"
    assert it.values == {"sequence": "L1-L2-L3", "register": 0}


def test_phase_sequence_register_l1_l3_l2_fails_with_what_to_do() -> None:
    items = run(sequence_window((-1, "L1-L3-L2")), breaker_a=40)
    it = item(items, "phase_sequence")
    assert it.status == "fail"
    assert "L2 and L3 are swapped at the voltage taps (sequence L1-L3-L2)" in it.message_en
    assert "L1-L3-L2" in it.message_bg and "разменени" in it.message_bg
    assert "swap two phases" in it.advice_en.lower() and "current transformers" in it.advice_en
    assert "Разменете" in it.advice_bg
    assert it.values == {"sequence": "L1-L3-L2", "register": -1}
    assert overall(items) == "fail"


def test_phase_sequence_register_is_not_judged_without_an_answer_or_a_known_value() -> None:
    silent = item(run(sequence_window(None)), "phase_sequence")
    assert silent.status == "skipped" and "did not answer" in silent.message_en
    odd = item(run(sequence_window((7, None))), "phase_sequence")
    assert odd.status == "skipped" and "7" in odd.message_en
    assert "rotation tester" in odd.advice_en


def test_phase_sequence_is_not_judged_with_a_phase_missing() -> None:
    # no rotation to measure with L3 dead: the register says nothing then
    it = item(run(sequence_window((0, "L1-L2-L3"), healthy(u_l3_v=3.0))), "phase_sequence")
    assert it.status == "skipped" and "L3" in it.message_en


def test_phase_sequence_without_the_register_is_skipped_with_the_reason() -> None:
    it = item(run(window()), "phase_sequence")
    assert it.status == "skipped"
    assert "no phase sequence" in it.message_en
    assert "rotation tester" in it.advice_en
