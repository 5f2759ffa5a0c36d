"""Wiring faults of an installation: how a wrongly wired panel looks to the meter.

The load model (:mod:`simulators.load`) is what really flows in the cables; a
:class:`Wiring` is what stands between those cables and the meter's inputs. The
simulated meter applies it between the load and its register image, so a client
reads exactly what a technician's laptop would read at such a panel:

====================  =======================================================================
fault                 what the meter shows on that phase
====================  =======================================================================
``reversed_ct``       the current transformer is mounted backwards: the current direction
                      flips, so active and reactive power and PF change sign; what the site
                      imports there is counted in that phase's *export* register
``missing_phase``     no voltage (blown fuse, loose voltage tap): a few volts picked up from
                      the neighbouring conductors (:data:`MISSING_PHASE_RESIDUAL_V`), no
                      current, no power; its counters stand still
``ct_ratio``          the ratio configured in the meter differs from the CT mounted: factor
                      ``configured / real`` (2.0: set to 200/5, a 100/5 CT mounted) on the
                      current, power and counters of that phase; voltage and PF unchanged
``phase_sequence``    (``phase_sequence:reversed``, the whole meter) L2 and L3 reach the
                      meter's voltage terminals swapped, their CTs moved with them: the
                      sequence is L1-L3-L2. Every measured value stays right (each CT still
                      sits with its own voltage); only a map's ``phase_sequence`` diagnostic
                      register shows it (the EM340: -1 instead of 0)
====================  =======================================================================

Totals are what the meter computes from its (wrong) phase inputs: ``p_total_w`` is
the sum of the shown phase powers, and the total import/export counters integrate
the *net* of the shown phases, as :mod:`simulators.load` does for the true load. A
reversed CT therefore moves energy between registers; no counter ever decreases
(:class:`WiredCounters` only adds non-negative increments).

Text form for the CLI (``myenergy-sim meter --wiring SPEC``, repeatable), and the
``{"wiring": [...]}`` command of the control socket:

    reversed_ct:2        reversed_ct:1,3      missing_phase:3      ct_ratio:1=2.0
    phase_sequence:reversed
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from simulators.load import COUNTER_CHANNELS, FloatArray, LoadModel, derive_instant

__all__ = [
    "MISSING_PHASE_RESIDUAL_V",
    "SEQUENCE_NORMAL",
    "SEQUENCE_REVERSED",
    "WIRING_KINDS",
    "WiredCounters",
    "Wiring",
    "parse_wiring",
    "wire_instant",
]

WIRING_KINDS = ("reversed_ct", "missing_phase", "ct_ratio", "phase_sequence")
# the sequences a meter reports, as in hardware.model.DIAGNOSTICS["phase_sequence"]
SEQUENCE_NORMAL, SEQUENCE_REVERSED = "L1-L2-L3", "L1-L3-L2"
_SEQUENCE_WORDS = {
    "reversed": True,
    SEQUENCE_REVERSED.lower(): True,
    "normal": False,
    SEQUENCE_NORMAL.lower(): False,
}
# A voltage input with no phase on it floats: meters typically show a few volts
# coupled in from the neighbouring live conductors, not a clean zero.
MISSING_PHASE_RESIDUAL_V = 3.0
_PHASES = (1, 2, 3)
_CHUNK_STEPS = 3600  # integrate long gaps an hour at a time: bounded memory


@dataclass(frozen=True)
class Wiring:
    """The wiring faults of one meter's installation; ``Wiring()`` is a correct panel.

    ``Wiring(reversed_ct={2}, missing_phase={3}, ct_ratio={1: 2.0})``: any iterables
    and mappings are accepted and stored immutably. ``sequence_reversed``: L2 and L3
    swapped at the meter together with their CTs (phase sequence L1-L3-L2).
    """

    # any set is accepted; __post_init__ stores a frozenset
    reversed_ct: AbstractSet[int] = frozenset()
    missing_phase: AbstractSet[int] = frozenset()
    ct_ratio: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))
    sequence_reversed: bool = False

    def __post_init__(self) -> None:
        reversed_ct = frozenset(self.reversed_ct)
        missing = frozenset(self.missing_phase)
        ratios = {int(ph): float(f) for ph, f in dict(self.ct_ratio).items()}
        for name, phases in (("reversed_ct", reversed_ct), ("missing_phase", missing)):
            for ph in phases:
                _check_phase(name, ph)
        for ph, factor in ratios.items():
            _check_phase("ct_ratio", ph)
            if not math.isfinite(factor) or factor <= 0:
                raise ValueError(f"ct_ratio of L{ph} must be a number > 0, got {factor!r}")
        # a factor of exactly 1 is a correct CT: drop it, so equal wirings compare equal
        ratios = {ph: f for ph, f in sorted(ratios.items()) if f != 1.0}
        object.__setattr__(self, "reversed_ct", reversed_ct)
        object.__setattr__(self, "missing_phase", missing)
        object.__setattr__(self, "ct_ratio", MappingProxyType(ratios))
        object.__setattr__(self, "sequence_reversed", bool(self.sequence_reversed))

    def __hash__(self) -> int:
        return hash(
            (
                frozenset(self.reversed_ct),
                frozenset(self.missing_phase),
                tuple(self.ct_ratio.items()),
                self.sequence_reversed,
            )
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Wiring):
            return NotImplemented
        return (
            self.reversed_ct,
            self.missing_phase,
            dict(self.ct_ratio),
            self.sequence_reversed,
        ) == (
            other.reversed_ct,
            other.missing_phase,
            dict(other.ct_ratio),
            other.sequence_reversed,
        )

    @property
    def is_identity(self) -> bool:
        """True for a correctly wired panel."""
        return self.inputs_identity and not self.sequence_reversed

    @property
    def inputs_identity(self) -> bool:
        """True when every measured value is the load's own (the meter shows the load as
        it is): no CT, voltage or ratio fault; the phase sequence does not change them."""
        return not (self.reversed_ct or self.missing_phase or self.ct_ratio)

    @property
    def phase_sequence(self) -> str:
        """The sequence the meter sees: ``L1-L2-L3`` or ``L1-L3-L2``."""
        return SEQUENCE_REVERSED if self.sequence_reversed else SEQUENCE_NORMAL

    def gain(self, phase: int) -> float:
        """What the meter's current input multiplies the real current of ``phase`` by:
        the CT ratio error, negative for a reversed CT, 0 with no voltage on the phase."""
        if phase in self.missing_phase:
            return 0.0
        sign = -1.0 if phase in self.reversed_ct else 1.0
        return sign * self.ct_ratio.get(phase, 1.0)

    def check_phases(self, phases: int) -> None:
        """Refuse faults on phases a ``phases``-phase meter does not have."""
        if self.sequence_reversed and phases < 3:
            raise ValueError(f"a {phases}-phase meter has no phase sequence to reverse")
        used = set(self.reversed_ct) | set(self.missing_phase) | set(self.ct_ratio)
        extra = sorted(ph for ph in used if ph > phases)
        if extra:
            names = ", ".join(f"L{ph}" for ph in extra)
            raise ValueError(f"a {phases}-phase meter has no {names} to miswire")

    def merge(self, other: Wiring) -> Wiring:
        """Both wirings' faults together (``other``'s CT ratio wins on the same phase)."""
        return Wiring(
            frozenset(self.reversed_ct) | frozenset(other.reversed_ct),
            frozenset(self.missing_phase) | frozenset(other.missing_phase),
            {**self.ct_ratio, **other.ct_ratio},
            self.sequence_reversed or other.sequence_reversed,
        )

    def specs(self) -> list[str]:
        """The text form, one spec per fault (``parse_wiring`` reads it back)."""
        out = [f"reversed_ct:{ph}" for ph in sorted(self.reversed_ct)]
        out += [f"missing_phase:{ph}" for ph in sorted(self.missing_phase)]
        out += [f"ct_ratio:{ph}={f:g}" for ph, f in self.ct_ratio.items()]
        if self.sequence_reversed:
            out.append("phase_sequence:reversed")
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-able view for the control socket's status; ``phase_sequence`` appears
        only when reversed (``"L1-L3-L2"``), so replies for the other faults keep their
        shape."""
        out: dict[str, Any] = {
            "reversed_ct": sorted(self.reversed_ct),
            "missing_phase": sorted(self.missing_phase),
            "ct_ratio": {str(ph): f for ph, f in self.ct_ratio.items()},
        }
        if self.sequence_reversed:
            out["phase_sequence"] = self.phase_sequence
        return out


def parse_wiring(specs: str | Iterable[str], phases: int = 3) -> Wiring:
    """``reversed_ct:2``, ``missing_phase:3``, ``ct_ratio:1=2.0`` (one or many) -> Wiring.

    ``reversed_ct`` and ``missing_phase`` take a comma list (``reversed_ct:1,3``);
    ``phase_sequence`` takes ``reversed`` (or ``L1-L3-L2``; ``normal`` is no fault).
    Raises ValueError with the reason, and for phases a ``phases``-phase meter lacks.
    """
    wiring = Wiring()
    for spec in [specs] if isinstance(specs, str) else specs:
        wiring = wiring.merge(_parse_one(spec))
    wiring.check_phases(phases)
    return wiring


def _parse_one(spec: str) -> Wiring:
    kind, sep, arg = spec.strip().partition(":")
    if kind not in WIRING_KINDS:
        raise ValueError(f"unknown wiring fault {kind!r}; choose one of {', '.join(WIRING_KINDS)}")
    if kind == "phase_sequence":
        word = arg.strip().lower()
        if word not in _SEQUENCE_WORDS:
            raise ValueError(f"phase_sequence is phase_sequence:reversed, got {spec!r}")
        return Wiring(sequence_reversed=_SEQUENCE_WORDS[word])
    if not sep or not arg:
        example = "ct_ratio:1=2.0" if kind == "ct_ratio" else f"{kind}:2"
        raise ValueError(f"wiring fault {kind!r} needs a phase, e.g. {example}; got {spec!r}")
    if kind == "ct_ratio":
        phase_text, eq, factor_text = arg.partition("=")
        if not eq:
            raise ValueError(f"ct_ratio is ct_ratio:PHASE=FACTOR (e.g. 1=2.0), got {spec!r}")
        try:
            factor = float(factor_text)
        except ValueError:
            raise ValueError(f"bad ct_ratio factor in {spec!r}: {factor_text!r}") from None
        return Wiring(ct_ratio={_phase(phase_text, spec): factor})
    phases = frozenset(_phase(p, spec) for p in arg.split(","))
    return Wiring(reversed_ct=phases) if kind == "reversed_ct" else Wiring(missing_phase=phases)


def _phase(text: str, spec: str) -> int:
    text = text.strip().upper().removeprefix("L")
    if not text.isdigit():
        raise ValueError(f"phase must be 1, 2 or 3 in {spec!r}, got {text!r}")
    phase = int(text)
    _check_phase("phase", phase)
    return phase


def _check_phase(name: str, phase: int) -> None:
    if isinstance(phase, bool) or phase not in _PHASES:
        raise ValueError(f"{name}: phase must be 1, 2 or 3, got {phase!r}")


def _gains(wiring: Wiring) -> FloatArray:
    return np.array([wiring.gain(ph) for ph in _PHASES], dtype=np.float64)


def wire_instant(values: Mapping[str, float], wiring: Wiring) -> dict[str, float]:
    """The instant channels a meter wired as ``wiring`` shows for the true ``values``.

    Counters pass through unchanged (see :class:`WiredCounters`); ``f_hz`` too, as
    frequency is measured on whichever phase still has voltage.
    """
    out = dict(values)
    if wiring.inputs_identity:
        return out
    gains = _gains(wiring)[:, None]
    p = np.array([[values[f"p_l{ph}_w"]] for ph in _PHASES]) * gains
    q = np.array([[values[f"q_l{ph}_var"]] for ph in _PHASES]) * gains
    u = np.array(
        [
            [MISSING_PHASE_RESIDUAL_V if ph in wiring.missing_phase else values[f"u_l{ph}_v"]]
            for ph in _PHASES
        ]
    )
    for name, series in derive_instant(p, q, u).items():
        out[name] = float(series[0])
    return out


class WiredCounters:
    """Energy registers of a miswired meter, integrated from the load's raw power.

    Starts from ``initial`` (the meter's registers when the wiring began to apply,
    normally the load's own counters) and adds, step by step of the load model, the
    energy of the *shown* powers: per phase ``gain * p`` into import or export, and
    the net of the shown phases into the totals - so every register only grows.
    """

    def __init__(self, load: LoadModel, t: float, initial: Mapping[str, float]) -> None:
        self._load = load
        self._t = float(t)
        self._wh = {name: float(initial[name]) for name in COUNTER_CHANNELS}

    @property
    def t(self) -> float:
        """Up to when the registers are integrated."""
        return self._t

    def counters(self) -> dict[str, float]:
        """The registers (Wh / varh, not truncated), COUNTER_CHANNELS names."""
        return dict(self._wh)

    def advance_to(self, t: float, wiring: Wiring) -> None:
        """Integrate from the last time to ``t`` with ``wiring`` (``t`` before: no-op)."""
        if t <= self._t:
            return
        gains = _gains(wiring)[:, None]
        for p, q, dt in self._chunks(self._t, t):
            shown_p = p * gains
            shown_q = q * gains
            self._add(shown_p, shown_q, dt)
        self._t = t

    def _chunks(self, t1: float, t2: float) -> Iterator[tuple[FloatArray, FloatArray, FloatArray]]:
        step = self._load.step_s
        k1, k2 = math.floor(t1 / step), math.floor(t2 / step)
        k = k1
        while k <= k2:
            n = min(_CHUNK_STEPS, k2 - k + 1)
            # the middle of step k: immune to float error at the step edges
            p, q = self._load.power_series((k + 0.5) * step, n)
            edges = (k + np.arange(n + 1, dtype=np.float64)) * step
            dt = np.clip(np.minimum(edges[1:], t2) - np.maximum(edges[:-1], t1), 0.0, None)
            yield p, q, dt
            k += n

    def _add(self, p: FloatArray, q: FloatArray, dt: FloatArray) -> None:
        def wh(x: FloatArray) -> float:
            return float(np.sum(np.clip(x, 0.0, None) * dt)) / 3600.0

        for i, ph in enumerate(_PHASES):
            self._wh[f"e_imp_l{ph}_wh"] += wh(p[i])
            self._wh[f"e_exp_l{ph}_wh"] += wh(-p[i])
        p_net, q_net = p.sum(axis=0), q.sum(axis=0)
        self._wh["e_imp_wh"] += wh(p_net)
        self._wh["e_exp_wh"] += wh(-p_net)
        self._wh["er_imp_varh"] += wh(q_net)
        self._wh["er_exp_varh"] += wh(-q_net)
