"""A simulated meter: a register image kept in step with a :class:`LoadModel`.

The meter reads the same data file as the agent (``hardware.maps.load_map``) and
encodes each point with ``hardware.registers.encode_point``, so simulator and agent
cannot disagree on addresses, types, byte orders or scales. The image is refreshed
from the load model at the clock's "now" on every request, as a real meter answers
with its latest measurement.

Like a real meter it:

* truncates its energy counters to its own resolution (the raw step of an integer
  register, ``float_counter_resolution_wh`` for float registers) - it never rounds up
  energy not yet measured;
* wraps integer counters at the register width (a 32-bit Wh register rolls over);
* saturates values an integer register cannot hold, and shows the type's largest
  raw value (the usual overflow / "not available" marker) for NaN there;
* after a swap (the ``counter_reset`` fault) restarts its counters near 0 while the
  site's true energy (the load model) goes on;
* shows the site through its installation's :class:`~simulators.wiring.Wiring`
  (reversed CT, missing phase, wrong CT ratio, reversed phase sequence), set at
  construction or at any time with :meth:`SimulatedMeter.set_wiring`;
* answers its map's ``[probe]`` (the model code) to a read of exactly the probe's
  registers, and nothing else there: the EM340's code 341 lives at 000Bh, which a
  wider read returns as the high word of V L3-L1, as the real meter does;
* holds its map's ``[[diagnostics]]`` registers (the phase sequence) in the image,
  from the wiring: -1 on an EM340 wired L1-L3-L2, else 0.

Transport-free: the RTU and TCP servers call :meth:`SimulatedMeter.begin_request`
then :meth:`SimulatedMeter.registers`.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Mapping

from hardware.model import TYPES, Diagnostic, MeterMap, Point
from hardware.registers import decode_point, encode_point
from hardware.vocabulary import CHANNELS, COUNTER
from simulators.clock import Clock, SimClock
from simulators.faults import FaultControl, RequestFaults
from simulators.load import LoadModel
from simulators.wiring import WiredCounters, Wiring, wire_instant

__all__ = ["SimulatedMeter", "meter_phases", "register_spans"]


def meter_phases(meter_map: MeterMap) -> int:
    """1 for a single-phase meter (no L2/L3 points), else 3: the ``phases`` of its load."""
    return 3 if any("_l2" in p.channel or "_l3" in p.channel for p in meter_map.points) else 1


def register_spans(meter_map: MeterMap) -> dict[int, list[tuple[int, int]]]:
    """Address ranges ``(start, count)`` per function code that the meter answers.

    Points closer than ``max_gap_registers`` form one range (widened to the map's
    alignment), so every request the planner can make for any subset of channels
    falls inside one range; a real meter likewise answers the padding between
    points. The probe's and the diagnostics' registers are answered too. Reads
    outside the ranges get ILLEGAL DATA ADDRESS.
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    align = max(1, meter_map.alignment)
    served = [(p.fc, p.address, p.end) for p in meter_map.points]
    served += [(d.fc, d.address, d.end) for d in meter_map.diagnostics]
    if meter_map.probe is not None:
        probe = meter_map.probe
        served.append((probe.fc, probe.address, probe.address + probe.words))
    for fc in sorted({fc for fc, _, _ in served}):
        clusters: list[list[int]] = []
        for _, start, end in sorted(r for r in served if r[0] == fc):
            if clusters and start - clusters[-1][1] <= meter_map.max_gap_registers:
                clusters[-1][1] = max(clusters[-1][1], end)
            else:
                clusters.append([start, end])
        merged: list[tuple[int, int]] = []
        for first, end in clusters:
            lo, hi = first - first % align, end + (-end % align)
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        spans[fc] = [(lo, hi - lo) for lo, hi in merged]
    return spans


class SimulatedMeter:
    """One meter on the bus: map, load, clock, slave id, faults and its register image."""

    def __init__(
        self,
        meter_map: MeterMap,
        load: LoadModel,
        clock: Clock | None = None,
        slave_id: int = 1,
        *,
        faults: FaultControl | None = None,
        turnaround_s: float | None = None,
        float_counter_resolution_wh: float = 10.0,
        wiring: Wiring | None = None,
    ) -> None:
        if not 1 <= slave_id <= 247:
            raise ValueError(f"Modbus slave id must be 1..247, got {slave_id}")
        self.map = meter_map
        self.load = load
        self.clock: Clock = clock if clock is not None else SimClock()
        self.slave_id = slave_id
        self.faults = faults if faults is not None else FaultControl()
        self.turnaround_s = meter_map.turnaround_s if turnaround_s is None else turnaround_s
        self.float_counter_resolution_wh = float_counter_resolution_wh
        self.spans = register_spans(meter_map)
        self.phases = meter_phases(meter_map)
        self._wiring = wiring if wiring is not None else Wiring()
        self._wiring.check_phases(self.phases)
        # None while the panel has always been wired right: counters are the load's own
        self._wired: WiredCounters | None = None
        self.requests = 0
        self._lock = threading.Lock()
        self._image: dict[int, dict[int, int]] = {fc: {} for fc in self.spans}
        self._swap_offset: dict[str, float] = {}
        self._shown: dict[str, float] = {}

    # ------------------------------------------------------------- requests
    def begin_request(self) -> RequestFaults:
        """Start answering one request: take its faults and refresh the image."""
        faults = self.faults.take()
        with self._lock:
            self.requests += 1
            self._advance()
            if faults.counter_reset_wh is not None:
                self._swap(faults.counter_reset_wh)
            self._refresh(faults.implausible)
        return faults

    def registers(self, fc: int, address: int, count: int) -> list[int]:
        """``count`` registers from ``address`` of the image (0 in the padding); the
        model code for a read of exactly the map's probe registers."""
        probe = self.map.probe
        if probe is not None and (fc, address, count) == (probe.fc, probe.address, probe.words):
            # the model code, to this exact read only (the EM340 answers 341 there)
            return encode_point(probe.point(), float(probe.expect[0]))
        with self._lock:
            image = self._image.get(fc, {})
            return [image.get(a, 0) for a in range(address, address + count)]

    @property
    def wiring(self) -> Wiring:
        """The installation's wiring the meter measures through."""
        return self._wiring

    def set_wiring(self, wiring: Wiring) -> None:
        """Rewire the panel now: energy so far stays counted under the old wiring."""
        wiring.check_phases(self.phases)
        with self._lock:
            self._advance()
            if self._wired is not None:
                self._wired.advance_to(self.load.t, self._wiring)
            elif not wiring.inputs_identity:
                self._wired = WiredCounters(self.load, self.load.t, self.load.values())
            self._wiring = wiring

    def turnaround_for(self, faults: RequestFaults) -> float:
        """Seconds between the end of the request and the start of the reply."""
        base = self.turnaround_s if faults.turnaround_s is None else faults.turnaround_s
        return base + faults.extra_delay_s

    def readings(self) -> dict[str, float]:
        """What the meter showed at the last request, by channel: exactly what a
        client decodes from the registers (truncation, float32 rounding, faults)."""
        with self._lock:
            return dict(self._shown)

    def refresh(self) -> dict[str, float]:
        """Refresh the image now without a request (tests); returns :meth:`readings`."""
        with self._lock:
            self._advance()
            self._refresh({})
            return dict(self._shown)

    # ------------------------------------------------------------ internals
    def _advance(self) -> None:
        now = self.clock.now()
        with contextlib.suppress(RuntimeError):  # raised before the first request
            now = max(now, self.load.t)  # a clock set back must not move the load back
        self.load.advance_to(now)

    def _measure(self) -> dict[str, float]:
        """Every channel as this meter's inputs see the load: through its wiring."""
        values = self.load.values()
        if self._wired is None:
            if self._wiring.inputs_identity:
                return values
            # the wiring applies from the first request: the registers hold the history
            self._wired = WiredCounters(self.load, self.load.t, values)
        self._wired.advance_to(self.load.t, self._wiring)
        values = wire_instant(values, self._wiring)
        values.update(self._wired.counters())
        return values

    def _swap(self, start_wh: float) -> None:
        """A new meter from here on: its counters begin at ``start_wh``."""
        values = self._measure()
        for p in self.map.points:
            if p.kind == COUNTER:
                self._swap_offset[p.channel] = values[p.channel] - start_wh

    def _refresh(self, implausible: Mapping[str, float]) -> None:
        values = self._measure()
        shown: dict[str, float] = {}
        for p in self.map.points:
            value = values[p.channel]
            if p.kind == COUNTER:
                value = self._truncate(p, value - self._swap_offset.get(p.channel, 0.0))
            if p.channel in implausible:
                value = implausible[p.channel]
            regs = self._encode(p, value)
            # what a client decodes, float32 rounding and integer wrap included
            shown[p.channel] = decode_point(p, regs)
            image = self._image[p.fc]
            for i, word in enumerate(regs):
                image[p.address + i] = word
        for d in self.map.diagnostics:
            regs = encode_point(d.point(), float(self._diagnostic_raw(d)))
            for i, word in enumerate(regs):
                self._image[d.fc][d.address + i] = word
        self._shown = shown

    def _diagnostic_raw(self, d: Diagnostic) -> int:
        """What the meter's diagnostic register holds for the panel's wiring."""
        meaning = {"phase_sequence": self._wiring.phase_sequence}.get(d.name)
        raws = {text: raw for raw, text in d.meanings}
        if meaning in raws:
            return raws[meaning]
        return d.meanings[0][0]  # the map lists no value for this state: show its first

    def _truncate(self, p: Point, value: float) -> float:
        res = self.float_counter_resolution_wh if TYPES[p.type].is_float else abs(p.scale)
        return math.floor(value / res + 1e-9) * res

    def _encode(self, p: Point, value: float) -> list[int]:
        info = TYPES[p.type]
        if info.is_float:
            try:
                return encode_point(p, value)
            except ValueError:  # too large for a float32: the meter shows infinity
                return encode_point(p, math.copysign(math.inf, value))
        if not math.isfinite(value):
            return encode_point(p, info.maximum * p.scale)  # the "not available" marker
        raw = round(value / p.scale)
        if CHANNELS[p.channel].kind == COUNTER:
            bits = 16 * info.words
            raw %= 1 << bits  # an integer counter rolls over at its register width
            if info.minimum < 0 and raw > info.maximum:
                raw -= 1 << bits
        raw = min(max(raw, info.minimum), info.maximum)  # saturate what does not fit
        return encode_point(p, raw * p.scale)
