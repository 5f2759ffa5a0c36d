"""A deterministic 3-phase site load: what the simulated meter measures.

Time is cut into fixed steps (``step_s``, 1 s by default) aligned to the unix epoch.
Within a step every quantity is constant (voltage, current, power, frequency...),
and the energy counters are the exact integral of that piecewise-constant power:
each step adds ``p * step_s`` to the import or the export counter of its phase, and
``sum(p) * step_s`` to the total import or export (a meter's totals are *net* across
phases, so with PV on one phase and load on another the totals are not the sum of
the per-phase counters). Power is held in integer milliwatts and the sums in Python
integers, so the integral is exact and independent of how the time was stepped.

Determinism: each hour of steps (a "block", aligned to UTC hours) is generated from
its own seeded numpy Generator, ``default_rng([seed, block, stream])``. A value at
time ``t`` therefore depends only on ``(seed, parameters, t)`` - never on the order
or the size of ``advance_to`` calls - and the model can answer questions about any
past interval (:meth:`LoadModel.energy_between`) without having been stepped there.

What the numbers look like: see :mod:`simulators.load_profiles` for the daily and
weekly shapes; on top come per-minute fluctuations, per-step noise, appliances
switching on and off on single phases (kettle, oven, compressors, with their own
power factors), a fixed per-site phase imbalance, voltage ~230 V within +/-2 % that
sags with load and rises with PV export, frequency 50 Hz within +/-0.05 Hz, and an
optional PV inverter (clear-sky bell around solar noon, symmetric over 3 phases,
power factor 1) that pushes the net power negative at midday.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from simulators.load_profiles import PROFILES, Profile, pv_fraction

__all__ = ["COUNTER_CHANNELS", "LoadModel", "derive_instant"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BLOCK_S = 3600  # one Generator per UTC hour: DST switches fall on block edges
NOMINAL_V = 230.0
NOMINAL_HZ = 50.0
V_BAND = 0.02
HZ_BAND = 0.05
_MWH_PER_WH = 3_600_000.0  # mW*s per Wh

# Order of the rows of a block's per-step counter increments.
COUNTER_CHANNELS = (
    "e_imp_l1_wh",
    "e_imp_l2_wh",
    "e_imp_l3_wh",
    "e_exp_l1_wh",
    "e_exp_l2_wh",
    "e_exp_l3_wh",
    "e_imp_wh",
    "e_exp_wh",
    "er_imp_varh",
    "er_exp_varh",
)
_STREAM_NOISE = 0
_STREAM_EVENTS = 1


def _derive(p_mw: IntArray, q_mvar: IntArray, u_v: FloatArray) -> dict[str, FloatArray]:
    """Every instant channel from per-phase P, Q (integer mW/mvar) and U, shape (3, n)."""
    return derive_instant(p_mw / 1000.0, q_mvar / 1000.0, u_v)


def derive_instant(p: FloatArray, q: FloatArray, u_v: FloatArray) -> dict[str, FloatArray]:
    """Every instant channel (except ``f_hz``) from per-phase P (W), Q (var) and U (V).

    Arrays of shape (3, n). Also what :mod:`simulators.wiring` uses to recompute the
    channels a wrongly wired meter shows, so currents, PF, totals and the neutral
    current follow the same formulas as the load's own.
    """
    s = np.hypot(p, q)
    # pf = p/s, so it carries the sign of active power (negative when exporting)
    pf = np.divide(p, s, out=np.ones_like(p), where=s > 0)
    i_a = s / u_v
    out: dict[str, FloatArray] = {}
    for ph in range(3):
        n = ph + 1
        out[f"u_l{n}_v"] = u_v[ph]
        out[f"i_l{n}_a"] = i_a[ph]
        out[f"p_l{n}_w"] = p[ph]
        out[f"q_l{n}_var"] = q[ph]
        out[f"s_l{n}_va"] = s[ph]
        out[f"pf_l{n}"] = pf[ph]
    for a, b, name in ((0, 1, "u_l12_v"), (1, 2, "u_l23_v"), (2, 0, "u_l31_v")):
        # phasors 120 degrees apart: |Ua - Ub|^2 = Ua^2 + Ub^2 + Ua*Ub
        out[name] = np.sqrt(u_v[a] ** 2 + u_v[b] ** 2 + u_v[a] * u_v[b])
    # neutral current: vector sum of the phase currents, each lagging its voltage
    shift = np.array([0.0, -2.0 * math.pi / 3.0, 2.0 * math.pi / 3.0])[:, None]
    angle = shift - np.arctan2(q, p)
    out["i_n_a"] = np.abs(np.sum(i_a * np.exp(1j * angle), axis=0))
    p_t, q_t, s_t = p.sum(axis=0), q.sum(axis=0), s.sum(axis=0)
    out["p_total_w"] = p_t
    out["q_total_var"] = q_t
    # total VA is the arithmetic sum of the phases' VA (as SDM-type meters report)
    out["s_total_va"] = s_t
    out["pf_total"] = np.divide(p_t, s_t, out=np.ones_like(p_t), where=s_t > 0)
    return out


@dataclass(frozen=True)
class _Block:
    """One hour of steps: instant values and exact per-step counter increments."""

    p_mw: IntArray  # (3, n) active power per phase, integer mW, signed (export < 0)
    q_mvar: IntArray  # (3, n) reactive power per phase, integer mvar
    u_v: FloatArray  # (3, n) phase-to-neutral voltage
    f_hz: FloatArray  # (n,)
    prefix: IntArray  # (10, n + 1) running sums of the increments, COUNTER_CHANNELS order


@dataclass(frozen=True)
class _Site:
    """What makes one site unlike another with the same profile (drawn from the seed)."""

    weights: FloatArray  # share of the load on each phase
    pv_share: FloatArray  # share of the PV inverter's output on each phase
    pf: FloatArray  # typical power factor of each phase's base load
    u_offset: FloatArray  # each phase's voltage offset from nominal (relative)
    initial_wh: dict[str, float]


class LoadModel:
    """Deterministic 3-phase site load with exact energy counters.

    ``LoadModel(seed, profile="household"|"business", pv_kw=0.0)``; then
    ``advance_to(t)`` (UTC unix seconds, never backwards) and ``values()`` for every
    channel of ``protocol/channels.py``: instant channels of the step containing
    ``t``, counters (float Wh / varh, not truncated) integrated up to ``t`` exactly.

    ``start`` is when the counters start from their initial values (default: the
    first ``advance_to``); ``scale`` multiplies the profile's power; ``phases=1``
    puts the whole site (load and PV) on L1, for single-phase meters; ``initial_wh``
    is the import counter at ``start`` (default: drawn from the seed, a meter with
    some history).
    """

    def __init__(
        self,
        seed: int,
        profile: str = "household",
        pv_kw: float = 0.0,
        *,
        start: float | None = None,
        step_s: float = 1.0,
        scale: float = 1.0,
        phases: int = 3,
        initial_wh: float | None = None,
        tz: str = "Europe/Sofia",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
        if seed < 0:
            raise ValueError("seed must be >= 0")
        if pv_kw < 0 or scale <= 0:
            raise ValueError("pv_kw must be >= 0 and scale > 0")
        if phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, got {phases}")
        steps = BLOCK_S / step_s
        if step_s <= 0 or abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"step_s must divide {BLOCK_S} s, got {step_s}")
        self.seed = seed
        self.profile: Profile = PROFILES[profile]
        self.pv_kw = float(pv_kw)
        self.step_s = float(step_s)
        self.scale = float(scale)
        self.phases = phases
        self._n = round(steps)
        self._tz = ZoneInfo(tz)
        self._site = self._draw_site(initial_wh)
        self._blocks: OrderedDict[int, _Block] = OrderedDict()
        self._start: float | None = None if start is None else float(start)
        self._t: float | None = self._start
        # cache of the exact integer sums from the start step up to step _acc_k
        self._acc_k: int | None = None
        self._acc: list[int] = [0] * len(COUNTER_CHANNELS)

    # ------------------------------------------------------------------ time
    @property
    def t(self) -> float:
        """The simulated time the model stands at (last ``advance_to``)."""
        if self._t is None:
            raise RuntimeError("call advance_to(t) first")
        return self._t

    @property
    def start(self) -> float:
        if self._start is None:
            raise RuntimeError("call advance_to(t) first")
        return self._start

    def advance_to(self, t: float) -> None:
        """Move simulated time to ``t``; integrates every step in between exactly."""
        t = float(t)
        if self._start is None:
            self._start = t
        if self._t is not None and t < self._t:
            raise ValueError(f"time goes forward only: at {self._t}, asked {t}")
        if t < self._start:
            raise ValueError("t is before the model's start")
        self._t = t

    # ---------------------------------------------------------------- values
    def values(self) -> dict[str, float]:
        """Every channel at the current time: instants, then counters."""
        out = self.instant_at(self.t)
        out.update(self.counters_at(self.t))
        return out

    def instant_at(self, t: float) -> dict[str, float]:
        """Instant channels during the step containing ``t`` (pure: any ``t``)."""
        block, i = self._locate(t)
        series = _derive(
            block.p_mw[:, i : i + 1], block.q_mvar[:, i : i + 1], block.u_v[:, i : i + 1]
        )
        out = {name: float(values[0]) for name, values in series.items()}
        out["f_hz"] = float(block.f_hz[i])
        return out

    def instant_series(self, t: float, steps: int) -> dict[str, FloatArray]:
        """Instant channels of ``steps`` consecutive steps from the one containing ``t``.

        The vectorised form of :meth:`instant_at` (same values), for building long
        stretches of records quickly: a month of 1-second samples in a second.
        """
        k0 = self._step(t)
        parts: list[dict[str, FloatArray]] = []
        k = k0
        while k < k0 + steps:
            b, lo = divmod(k, self._n)
            hi = min(self._n, lo + (k0 + steps - k))
            block = self._block(b)
            part = _derive(block.p_mw[:, lo:hi], block.q_mvar[:, lo:hi], block.u_v[:, lo:hi])
            part["f_hz"] = block.f_hz[lo:hi]
            parts.append(part)
            k += hi - lo
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def power_series(self, t: float, steps: int) -> tuple[FloatArray, FloatArray]:
        """Per-phase active (W) and reactive (var) power of ``steps`` consecutive steps
        from the one containing ``t``, each of shape (3, steps): the raw signal a
        differently wired meter integrates into its own counters (simulators.wiring)."""
        k0 = self._step(t)
        p_parts: list[FloatArray] = []
        q_parts: list[FloatArray] = []
        k = k0
        while k < k0 + steps:
            b, lo = divmod(k, self._n)
            hi = min(self._n, lo + (k0 + steps - k))
            block = self._block(b)
            p_parts.append(block.p_mw[:, lo:hi] / 1000.0)
            q_parts.append(block.q_mvar[:, lo:hi] / 1000.0)
            k += hi - lo
        return np.concatenate(p_parts, axis=1), np.concatenate(q_parts, axis=1)

    def counters_at(self, t: float) -> dict[str, float]:
        """Energy counters at ``t`` (Wh / varh, exact, not truncated)."""
        sums = self._integral(self.start, t)
        return {
            name: self._site.initial_wh[name] + sums[j] for j, name in enumerate(COUNTER_CHANNELS)
        }

    def energy_between(self, t1: float, t2: float) -> dict[str, float]:
        """Exact energy (Wh / varh) each counter gains between ``t1`` and ``t2``.

        The reference the tests and the cloud's end-to-end test compare against.
        Pure: works for any ``t1 <= t2`` whether or not the model was stepped there.
        """
        if t2 < t1:
            raise ValueError("t2 must be >= t1")
        sums = self._integral(t1, t2)
        return dict(zip(COUNTER_CHANNELS, sums, strict=True))

    # ----------------------------------------------------------- integration
    def _integral(self, t1: float, t2: float) -> list[float]:
        """Integral of the increments from ``t1`` to ``t2`` (Wh), exact up to float."""
        k1, k2 = self._step(t1), self._step(t2)
        whole = self._sum_steps(k1, k2)
        c1 = self._increments(k1)
        c2 = self._increments(k2)
        # the whole steps k1..k2-1, minus the part of k1 before t1, plus k2 up to t2
        part1 = t1 - k1 * self.step_s
        part2 = t2 - k2 * self.step_s
        return [
            (whole[j] * self.step_s - c1[j] * part1 + c2[j] * part2) / _MWH_PER_WH
            for j in range(len(COUNTER_CHANNELS))
        ]

    def _sum_steps(self, k_from: int, k_to: int) -> list[int]:
        """Exact integer sums of the increments of steps ``k_from .. k_to - 1``."""
        start_k = None if self._start is None else self._step(self._start)
        if k_from == start_k and self._acc_k is not None and k_to >= self._acc_k:
            # extend the running cache instead of summing from the start again
            self._acc = self._add_steps(self._acc, self._acc_k, k_to)
            self._acc_k = k_to
            return list(self._acc)
        sums = self._add_steps([0] * len(COUNTER_CHANNELS), k_from, k_to)
        if k_from == start_k and (self._acc_k is None or k_to > self._acc_k):
            self._acc, self._acc_k = list(sums), k_to
        return sums

    def _add_steps(self, acc: list[int], k_from: int, k_to: int) -> list[int]:
        out = list(acc)
        k = k_from
        while k < k_to:
            b, lo = divmod(k, self._n)
            hi = min(self._n, lo + (k_to - k))
            prefix = self._block(b).prefix
            for j in range(len(out)):
                out[j] += int(prefix[j, hi]) - int(prefix[j, lo])
            k += hi - lo
        return out

    def _increments(self, k: int) -> list[int]:
        block = self._block(k // self._n)
        i = k % self._n
        return [
            int(block.prefix[j, i + 1]) - int(block.prefix[j, i])
            for j in range(len(COUNTER_CHANNELS))
        ]

    def _step(self, t: float) -> int:
        return math.floor(t / self.step_s)

    def _locate(self, t: float) -> tuple[_Block, int]:
        b, i = divmod(self._step(t), self._n)
        return self._block(b), i

    # ------------------------------------------------------------- generation
    def _draw_site(self, initial_wh: float | None) -> _Site:
        rng = np.random.default_rng([self.seed, 7, 7, 7])
        weights = np.clip(1.0 + rng.normal(0.0, 0.12, 3), 0.7, 1.3)
        weights = weights / weights.sum()
        pv_share = np.full(3, 1.0 / 3.0)
        if self.phases == 1:
            weights = pv_share = np.array([1.0, 0.0, 0.0])  # everything on L1
        pf = rng.uniform(0.88, 0.97, 3)
        u_offset = rng.normal(0.0, 0.003, 3)
        imp = float(rng.uniform(2e5, 3e7)) if initial_wh is None else float(initial_wh)
        exp = float(rng.uniform(0.05, 0.3)) * imp if self.pv_kw > 0 else 0.0
        initial = {
            "e_imp_wh": imp,
            "e_exp_wh": exp,
            "er_imp_varh": 0.3 * imp,
            "er_exp_varh": 0.01 * imp,
        }
        for ph in range(3):
            # per-phase counters are not net across phases, so they add up to more
            initial[f"e_imp_l{ph + 1}_wh"] = imp * float(weights[ph]) * 1.05
            initial[f"e_exp_l{ph + 1}_wh"] = exp * float(pv_share[ph])
        initial = {k: float(round(v)) for k, v in initial.items()}
        return _Site(
            weights=weights, pf=pf, u_offset=u_offset, pv_share=pv_share, initial_wh=initial
        )

    def _block(self, b: int) -> _Block:
        block = self._blocks.get(b)
        if block is None:
            block = self._make_block(b)
            self._blocks[b] = block
            if len(self._blocks) > 8:
                self._blocks.popitem(last=False)
        else:
            self._blocks.move_to_end(b)
        return block

    def _calendar(self, t0: float) -> tuple[float, float]:
        """UTC offset (s) and local day of year at a block's start."""
        local = datetime.fromtimestamp(t0, UTC).astimezone(self._tz)
        offset = local.utcoffset()
        return (offset.total_seconds() if offset else 0.0), float(local.timetuple().tm_yday)

    def _expected_kw(self, t: FloatArray, offset: float, doy: float) -> FloatArray:
        local = t + offset
        hour = (local % 86400.0) / 3600.0
        weekday = ((np.floor(local / 86400.0).astype(np.int64) + 3) % 7).astype(np.int64)
        return self.profile.shape_kw(hour, weekday, np.full_like(hour, doy)) * self.scale

    def _make_block(self, b: int) -> _Block:
        n, step = self._n, self.step_s
        t0 = float(b * BLOCK_S)
        t = t0 + np.arange(n, dtype=np.float64) * step
        offset, doy = self._calendar(t0)
        rng = np.random.default_rng([self.seed, b, _STREAM_NOISE])
        minute = (np.arange(n) * step // 60).astype(np.int64)
        load_knots = rng.normal(0.0, 0.08, 60)
        white = rng.normal(0.0, 0.03, (3, n))
        u_knots = rng.normal(0.0, 0.0015, (3, 60))
        u_white = rng.normal(0.0, 0.0004, (3, n))
        f_knots = rng.normal(0.0, 0.012, 60)
        f_white = rng.normal(0.0, 0.003, n)
        pf_knots = rng.normal(0.0, 0.01, (3, 60))
        pv_white = rng.normal(0.0, 0.01, n)

        # base load: expected shape x per-minute level (mean 1) x per-step noise
        level = np.exp(load_knots[minute] - 0.5 * 0.08**2)
        base_w = self._expected_kw(t + step / 2.0, offset, doy) * 1000.0 * level
        p_load = np.clip(base_w[None, :] * self._site.weights[:, None] * (1.0 + white), 0, None)
        pf_base = np.clip(self._site.pf[:, None] + pf_knots[:, minute], 0.7, 0.995)
        q_load = p_load * np.tan(np.arccos(pf_base))
        ev_p, ev_q = self._events(b)
        p_load = p_load + ev_p
        q_load = q_load + ev_q

        pv_w = np.zeros(n)
        if self.pv_kw > 0:
            pv_w = self.pv_kw * 1000.0 * pv_fraction(t + step / 2.0, doy)
            pv_w = np.clip(pv_w * (1.0 + pv_white), 0.0, None)
        pv_share = self._site.pv_share[:, None]
        p_net = p_load - pv_w[None, :] * pv_share

        hour = ((t + offset) % 86400.0) / 3600.0
        u_rel = (
            self._site.u_offset[:, None]
            + 0.003 * np.cos(2.0 * np.pi * (hour - 4.0) / 24.0)[None, :]  # higher at night
            + u_knots[:, minute]
            + u_white
            - 0.002 * p_load / 1000.0  # sags ~0.2 % per kW on the phase
            + 0.003 * pv_w[None, :] * pv_share / 1000.0  # rises with export
        )
        u_v = NOMINAL_V * (1.0 + np.clip(u_rel, -V_BAND * 0.99, V_BAND * 0.99))
        f_hz = NOMINAL_HZ + np.clip(f_knots[minute] + f_white, -HZ_BAND * 0.99, HZ_BAND * 0.99)

        p_mw = np.rint(p_net * 1000.0).astype(np.int64)
        q_mvar = np.rint(q_load * 1000.0).astype(np.int64)
        p_tot = p_mw.sum(axis=0)
        q_tot = q_mvar.sum(axis=0)
        inc = np.vstack(
            [
                np.clip(p_mw, 0, None),
                np.clip(-p_mw, 0, None),
                np.clip(p_tot, 0, None)[None, :],
                np.clip(-p_tot, 0, None)[None, :],
                np.clip(q_tot, 0, None)[None, :],
                np.clip(-q_tot, 0, None)[None, :],
            ]
        )
        prefix = np.zeros((len(COUNTER_CHANNELS), n + 1), dtype=np.int64)
        np.cumsum(inc, axis=1, out=prefix[:, 1:])
        return _Block(p_mw=p_mw, q_mvar=q_mvar, u_v=u_v, f_hz=f_hz, prefix=prefix)

    def _events(self, b: int) -> tuple[FloatArray, FloatArray]:
        """Appliances switching on in this block or still running from the last one."""
        n, step = self._n, self.step_s
        p = np.zeros((3, n))
        q = np.zeros((3, n))
        k0 = b * n
        for src in (b - 1, b):
            for start, dur, phase, watts, pf in self._draw_events(src):
                first = math.floor(start / step) - k0
                last = math.floor((start + dur) / step) - k0
                lo, hi = max(first, 0), min(last, n)
                if lo < hi:
                    p[phase, lo:hi] += watts
                    q[phase, lo:hi] += watts * math.tan(math.acos(pf))
        return p, q

    def _draw_events(self, b: int) -> list[tuple[float, float, int, float, float]]:
        prof = self.profile
        t0 = float(b * BLOCK_S)
        offset, doy = self._calendar(t0)
        expected = float(self._expected_kw(np.array([t0 + BLOCK_S / 2.0]), offset, doy)[0])
        rng = np.random.default_rng([self.seed, b, _STREAM_EVENTS])
        count = int(rng.poisson(prof.events_per_kw_hour * expected))
        starts = rng.uniform(0.0, BLOCK_S, count)
        durs = rng.uniform(*prof.event_s, count)
        phases = rng.integers(0, 3, count) if self.phases == 3 else np.zeros(count, np.int64)
        watts = rng.uniform(*prof.event_kw, count) * 1000.0 * self.scale
        pfs = rng.choice(np.array(prof.event_pf), count)
        return [
            (t0 + float(starts[j]), float(durs[j]), int(phases[j]), float(watts[j]), float(pfs[j]))
            for j in range(count)
        ]
