"""The load model: deterministic, physically consistent, counters = exact integral."""

from __future__ import annotations

import math

import numpy as np
import pytest

from protocol import channels
from simulators.load import COUNTER_CHANNELS, LoadModel

T0 = 1_782_000_000.0  # 2026-06-21 00:00 UTC (Sunday); 03:00 local time in Sofia
DAY = 86400.0


def test_values_cover_the_whole_vocabulary():
    model = LoadModel(1)
    model.advance_to(T0)
    assert set(model.values()) == set(channels.NAMES)


def test_same_seed_and_times_give_same_values_whatever_the_step_pattern():
    fine, coarse = LoadModel(42, pv_kw=5), LoadModel(42, pv_kw=5)
    fine.advance_to(T0)
    coarse.advance_to(T0)
    rng = np.random.default_rng(0)
    t = T0
    checkpoints = []
    for _ in range(40):
        t += float(rng.uniform(0.3, 400.0))
        checkpoints.append(t)
    # one model walks in 1-second steps through every checkpoint, the other jumps
    t_fine = T0
    for cp in checkpoints:
        while t_fine + 1.0 < cp:
            t_fine += 1.0
            fine.advance_to(t_fine)
        fine.advance_to(cp)
        coarse.advance_to(cp)
        assert fine.values() == coarse.values()


def test_different_seeds_differ():
    a, b = LoadModel(1), LoadModel(2)
    a.advance_to(T0)
    b.advance_to(T0)
    assert a.values()["p_l1_w"] != b.values()["p_l1_w"]


def test_counters_are_the_exact_integral_of_the_stepped_power():
    model = LoadModel(3, pv_kw=8, start=T0 + 0.4)
    start = model.counters_at(T0 + 0.4)
    expected = dict.fromkeys(COUNTER_CHANNELS, 0.0)
    t = T0 + 0.4
    end = T0 + 10 * 3600 + 0.7  # through sunrise: import and export both move
    while t < end:
        step_end = min(math.floor(t) + 1.0, end)
        v = model.instant_at(t)
        dt_h = (step_end - t) / 3600.0
        p_t, q_t = v["p_total_w"], v["q_total_var"]
        expected["e_imp_wh"] += max(p_t, 0.0) * dt_h
        expected["e_exp_wh"] += max(-p_t, 0.0) * dt_h
        expected["er_imp_varh"] += max(q_t, 0.0) * dt_h
        expected["er_exp_varh"] += max(-q_t, 0.0) * dt_h
        for n in (1, 2, 3):
            p = v[f"p_l{n}_w"]
            expected[f"e_imp_l{n}_wh"] += max(p, 0.0) * dt_h
            expected[f"e_exp_l{n}_wh"] += max(-p, 0.0) * dt_h
        t = step_end
    model.advance_to(end)
    got = model.values()
    for name in COUNTER_CHANNELS:
        assert got[name] - start[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-6)
    assert expected["e_exp_wh"] > 0 and expected["e_imp_wh"] > 0


def test_energy_between_matches_counter_differences_and_is_pure():
    model = LoadModel(5, profile="business", pv_kw=20)
    t1, t2 = T0 + 3 * DAY + 1234.5, T0 + 3 * DAY + 7 * 3600 + 0.25
    model.advance_to(t1)
    c1 = model.values()
    model.advance_to(t2)
    c2 = model.values()
    # a fresh model that was never stepped gives the same answer
    energy = LoadModel(5, profile="business", pv_kw=20).energy_between(t1, t2)
    for name in COUNTER_CHANNELS:
        assert energy[name] == pytest.approx(c2[name] - c1[name], rel=1e-12, abs=1e-6)


def test_counters_never_decrease():
    model = LoadModel(9, pv_kw=10)
    rng = np.random.default_rng(1)
    t = T0
    model.advance_to(t)
    last = model.values()
    for _ in range(300):
        t += float(rng.exponential(300.0))
        model.advance_to(t)
        now = model.values()
        for name in COUNTER_CHANNELS:
            assert now[name] >= last[name], name
        last = now


def test_time_only_moves_forward():
    model = LoadModel(1)
    model.advance_to(T0 + 10)
    with pytest.raises(ValueError, match="forward"):
        model.advance_to(T0)


@pytest.mark.parametrize("profile", ["household", "business"])
def test_phases_are_consistent(profile):
    model = LoadModel(11, profile=profile, pv_kw=4)
    for k in range(0, 48):
        v = model.instant_at(T0 + k * 1800 + 17)
        for n in (1, 2, 3):
            p, q, s = v[f"p_l{n}_w"], v[f"q_l{n}_var"], v[f"s_l{n}_va"]
            u, i, pf = v[f"u_l{n}_v"], v[f"i_l{n}_a"], v[f"pf_l{n}"]
            assert s == pytest.approx(math.hypot(p, q))
            assert pf == pytest.approx(p / s)
            assert i == pytest.approx(p / (u * pf))  # i = p / (u * pf)
            assert -1.0 <= pf <= 1.0
            assert 230 * 0.98 <= u <= 230 * 1.02
        assert v["p_total_w"] == pytest.approx(v["p_l1_w"] + v["p_l2_w"] + v["p_l3_w"])
        assert v["q_total_var"] == pytest.approx(v["q_l1_var"] + v["q_l2_var"] + v["q_l3_var"])
        assert v["pf_total"] == pytest.approx(v["p_total_w"] / v["s_total_va"])
        assert abs(v["f_hz"] - 50.0) <= 0.05
        assert 230 * 0.98 * math.sqrt(3) <= v["u_l12_v"] <= 230 * 1.02 * math.sqrt(3)
        for name, value in v.items():
            assert channels.get(name).plausible(value), name


def test_phases_are_imbalanced():
    model = LoadModel(4)
    day = [model.instant_at(T0 + k * 60) for k in range(0, 1440, 7)]
    means = [np.mean([v[f"p_l{n}_w"] for v in day]) for n in (1, 2, 3)]
    assert max(means) / min(means) > 1.05


def _mean_kw(model: LoadModel, start: float, hours: range) -> float:
    samples = [model.instant_at(start + h * 3600 + m * 60) for h in hours for m in range(0, 60, 5)]
    return float(np.mean([v["p_total_w"] for v in samples])) / 1000.0


def test_household_evening_peak_and_quiet_night():
    model = LoadModel(2, profile="household")
    monday = T0 + DAY - 3 * 3600  # Monday 00:00 local (UTC+3 in summer)
    evening, night = [], []
    for day in range(7):
        evening.append(_mean_kw(model, monday + day * DAY, range(18, 22)))
        night.append(_mean_kw(model, monday + day * DAY, range(2, 5)))
    assert np.mean(evening) > 2.5 * np.mean(night)


def test_business_works_on_weekdays():
    model = LoadModel(2, profile="business")
    monday = T0 + DAY - 3 * 3600
    weekday = np.mean([_mean_kw(model, monday + d * DAY, range(9, 17)) for d in range(5)])
    sunday = _mean_kw(model, monday + 6 * DAY, range(9, 17))
    night = _mean_kw(model, monday + DAY, range(1, 5))
    assert weekday > 3 * sunday
    assert weekday > 3 * night


def test_pv_exports_at_midday_and_not_at_night():
    with_pv, without = LoadModel(6, pv_kw=8.0), LoadModel(6)
    noon = T0 + 10 * 3600  # 13:00 local, solar noon is about 10:10 UTC
    assert with_pv.instant_at(noon)["p_total_w"] < -3000
    assert without.instant_at(noon)["p_total_w"] > 0
    midnight = T0 + 21 * 3600  # 00:00 local
    assert with_pv.instant_at(midnight)["p_total_w"] == without.instant_at(midnight)["p_total_w"]
    energy = with_pv.energy_between(noon - 3600, noon + 3600)
    assert energy["e_exp_wh"] > 5000
    assert all(energy[f"e_exp_l{n}_wh"] > 1000 for n in (1, 2, 3))
    assert with_pv.instant_at(noon)["pf_total"] < 0  # pf carries the sign of p


def test_net_metering_totals_are_net_across_phases():
    # per-phase export can exceed total export when another phase imports meanwhile
    model = LoadModel(8, pv_kw=3.0)
    e = model.energy_between(T0, T0 + DAY)
    per_phase_exp = sum(e[f"e_exp_l{n}_wh"] for n in (1, 2, 3))
    per_phase_imp = sum(e[f"e_imp_l{n}_wh"] for n in (1, 2, 3))
    assert e["e_exp_wh"] <= per_phase_exp + 1e-6
    assert e["e_imp_wh"] <= per_phase_imp + 1e-6
    # net energy is the same either way
    assert e["e_imp_wh"] - e["e_exp_wh"] == pytest.approx(per_phase_imp - per_phase_exp)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="profile"):
        LoadModel(1, profile="factory")
    with pytest.raises(ValueError, match="step_s"):
        LoadModel(1, step_s=7.0)
    with pytest.raises(ValueError):
        LoadModel(-1)


def test_single_phase_site_is_all_on_l1():
    model = LoadModel(6, pv_kw=3.0, phases=1)
    for t in (T0 + 10 * 3600, T0 + 18 * 3600):
        v = model.instant_at(t)
        assert v["p_l2_w"] == v["p_l3_w"] == 0.0 and v["i_l2_a"] == 0.0
        assert v["p_total_w"] == v["p_l1_w"] and v["s_total_va"] == v["s_l1_va"]
        assert v["i_l1_a"] == pytest.approx(v["s_l1_va"] / v["u_l1_v"])
    e = model.energy_between(T0, T0 + DAY)
    assert e["e_exp_wh"] == pytest.approx(e["e_exp_l1_wh"]) and e["e_exp_l2_wh"] == 0.0


def test_instant_series_equals_instant_at_across_an_hour_boundary():
    model = LoadModel(11, pv_kw=4.0)
    t = T0 + 3600 * 12 - 30  # 30 steps before a block boundary, 30 after
    series = model.instant_series(t, 60)
    for k in (0, 29, 30, 59):
        point = model.instant_at(t + k)
        for name, value in point.items():
            assert series[name][k] == pytest.approx(value, rel=1e-12, abs=1e-12), name
