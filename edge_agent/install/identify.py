"""Which register map answers: find a device on the bus and tell its model.

Everything comes from the maps in ``hardware/maps`` (no address list of our own):

* :func:`presence_read` - the cheap read ``scan`` sends to every slave id: the first
  phase voltage (``u_l1_v``), which every map has, at the address most maps share.
  Any answer proves a device, even an exception: a Modbus slave answers a request
  addressed to it, with an exception when it cannot serve it (Modbus Application
  Protocol V1.1b3, section 7), so one read per id is enough.
* :func:`identify` - for one device, try each map: its ``[probe]`` register when it has
  one (a model code: a match is decisive, another value rules the map out, an exception
  decides nothing - a meter of another make may refuse that address), then one
  full poll of its points (every request must be answered) whose voltages and frequency
  must be plausible: f 45-65 Hz, every phase 0-500 V, at least one phase above 50 V.
  Of the maps that pass, the one with a matching probe wins, then the one that explains
  the most registers with plausible values: an SDM630 also "passes" as an SDM120 (the
  SDM120's registers are a subset of the SDM630's), but only the SDM630 map reads its
  per-phase energy registers too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge_agent.install.bus import Answer
from hardware.model import MeterMap, Point
from hardware.planner import decode_request, plan_requests
from hardware.registers import decode_point

__all__ = [
    "Identification",
    "Reader",
    "identify",
    "plausible_supply",
    "presence_read",
    "read_points",
]

F_MIN_HZ, F_MAX_HZ = 45.0, 65.0
V_MAX = 500.0
V_LIVE = 50.0
_VOLTAGES = ("u_l1_v", "u_l2_v", "u_l3_v")
# A device is known to be there: one garbled reply (noise, a gap inside the reply) must
# not rule a map out, so identification asks twice.
_ATTEMPTS = 2


class Reader(Protocol):
    """What identification needs of a bus (``edge_agent.install.bus.Bus``)."""

    def read(self, fc: int, address: int, count: int, slave: int, attempts: int = 1) -> Answer: ...


@dataclass(frozen=True)
class Identification:
    """The model a device answered as, and the values that showed it."""

    model: str
    title: str
    values: dict[str, float]
    probe: int | None = None
    points: int = 0  # plausible points read: the tie-break
    rejected: dict[str, str] = field(default_factory=dict)  # other models and why not

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "title": self.title,
            "values": {k: round(v, 3) for k, v in self.values.items()},
            "probe": self.probe,
        }


def presence_read(maps: Sequence[MeterMap]) -> tuple[int, int, int]:
    """``(fc, address, count)`` of the ``u_l1_v`` read the most maps share."""
    votes: Counter[tuple[int, int, int]] = Counter()
    for meter_map in maps:
        p = meter_map.point("u_l1_v")
        votes[(p.fc, p.address, p.words)] += 1
    # most shared first; on a tie the lower address (cheaper to reason about), stable
    return sorted(votes.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))[0][0]


def plausible_supply(values: dict[str, float]) -> str | None:
    """Why these values are not a meter on a live supply (None: they are)."""
    f = values.get("f_hz")
    if f is None or not math.isfinite(f) or not F_MIN_HZ <= f <= F_MAX_HZ:
        return f"frequency {f!r} outside {F_MIN_HZ:g}-{F_MAX_HZ:g} Hz"
    volts = [values[c] for c in _VOLTAGES if c in values]
    if not volts:
        return "no voltage"
    if any(not math.isfinite(v) or not 0.0 <= v <= V_MAX for v in volts):
        return f"voltage outside 0-{V_MAX:g} V: {volts}"
    if max(volts) <= V_LIVE:
        return f"no phase above {V_LIVE:g} V: {volts}"
    return None


def read_points(
    bus: Reader, slave: int, meter_map: MeterMap
) -> tuple[dict[str, float], str | None]:
    """One poll of every point of ``meter_map``: values by channel, or why it failed."""
    values: dict[str, float] = {}
    for request in plan_requests(meter_map):
        answer = bus.read(request.fc, request.address, request.count, slave, _ATTEMPTS)
        if answer.kind != "registers":
            why = (
                f"exception {answer.exception_code}" if answer.kind == "exception" else answer.kind
            )
            return values, f"FC{request.fc} {request.address}+{request.count}: {why}"
        values.update(decode_request(request, answer.registers))
    return values, None


def _probe(bus: Reader, slave: int, meter_map: MeterMap) -> tuple[int | None, str | None]:
    probe = meter_map.probe
    if probe is None:
        return None, None
    answer = bus.read(probe.fc, probe.address, probe.words, slave, _ATTEMPTS)
    if answer.kind == "exception":
        # not decisive either way: the points decide, without the probe's bonus
        return None, None
    if answer.kind != "registers":
        return None, f"probe FC{probe.fc} {probe.address}: {answer.kind}"
    point = Point("probe", probe.address, probe.number, probe.fc, probe.type, probe.order,
                  1.0, "", "instant", -math.inf, math.inf)  # fmt: skip
    code = int(decode_point(point, answer.registers))
    if code not in probe.expect:
        return code, f"probe {probe.note}: {code}, expected one of {list(probe.expect)}"
    return code, None


def _plausible_count(meter_map: MeterMap, values: dict[str, float]) -> int:
    return sum(
        1
        for p in meter_map.points
        if p.channel in values
        and math.isfinite(values[p.channel])
        and p.plausible(values[p.channel])
    )


def identify(
    bus: Reader, slave: int, maps: Sequence[MeterMap]
) -> tuple[Identification | None, dict[str, str]]:
    """The model of the device at ``slave`` (None when no map fits it), and why each
    other map was ruled out."""
    best: tuple[tuple[int, int], Identification] | None = None
    rejected: dict[str, str] = {}
    for meter_map in maps:
        code, why = _probe(bus, slave, meter_map)
        if why is not None:
            rejected[meter_map.model] = why
            continue
        values, why = read_points(bus, slave, meter_map)
        if why is None:
            why = plausible_supply(values)
        if why is not None:
            rejected[meter_map.model] = why
            continue
        shown = {c: values[c] for c in (*_VOLTAGES, "f_hz") if c in values}
        points = _plausible_count(meter_map, values)
        found = Identification(meter_map.model, meter_map.title, shown, code, points)
        score = (1 if code is not None else 0, points)
        if best is None or score > best[0]:
            if best is not None:
                rejected[best[1].model] = f"fewer plausible points ({best[1].points})"
            best = (score, found)
        else:
            rejected[meter_map.model] = f"fewer plausible points ({points})"
    if best is None:
        return None, rejected
    winner = best[1]
    return Identification(
        winner.model, winner.title, winner.values, winner.probe, winner.points, rejected
    ), rejected
