"""Counter differences: the only source of energy, and where anomalies are caught.

Energy comes from the meter's cumulative register (ARCHITECTURE "Data path
decisions"), never from integrated power. Two consecutive readings give one
*difference*; this module classifies each one before anything is apportioned:

* normal      ``0 <= after - before <= limit``: valid, energy known;
* rollover    a decrease that the register width (``rollover_wh``) explains with a
              plausible wrapped difference: valid, energy = wrapped difference;
* reset       any other decrease (meter reset or swap to a lower count): the
              energy across it is unknown, the difference is not valid;
* spike       an increase above ``limit`` (swap to a meter with a higher count, or
              a corrupt reading): unknown, not valid;
* gap         a difference whose energy is known but whose readings are more than
              ``max_gap_s`` apart: the total is reported as unattributed energy
              and the time is not covered, because spreading it would be guessing.

``limit = max_wh_per_s * dt + resolution_wh``: the site's physical maximum power
over the elapsed time, plus one register step because a register that counts in
steps can show up to one step more than the true energy.

Everything here is pure; each anomaly becomes a ``CounterEvent`` so ingest can
log and count it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise


@dataclass(frozen=True, order=True)
class CounterReading:
    """A cumulative register value ``wh`` at ``ts`` (unix seconds).

    ``ts`` is the END of the record's period: a protocol record carries its period
    start, so the caller passes ``record.ts + record.period_s``.
    """

    ts: int
    wh: int


class EventKind(StrEnum):
    """What was detected in one counter difference."""

    ROLLOVER = "rollover"  # register wrapped; energy known, difference valid
    RESET = "reset"  # decrease not explained by a wrap; energy unknown
    SPIKE = "spike"  # implausibly large increase; energy unknown
    GAP = "gap"  # energy known but readings too far apart to place it in time


@dataclass(frozen=True)
class CounterEvent:
    """One detection between readings ``before`` and ``after``.

    ``ts`` is ``after.ts`` (when ingest could first see it). ``wh`` is the energy
    the difference carries when it is known (rollover: the wrapped difference; gap:
    the unattributed energy) and ``None`` when it is not (reset, spike).
    """

    kind: EventKind
    ts: int
    before: CounterReading
    after: CounterReading
    wh: int | None = None


@dataclass(frozen=True)
class Difference:
    """The span ``(before.ts, after.ts]`` between two consecutive readings.

    ``valid`` means its energy ``wh`` is known AND may be placed in time (apportioned
    linearly). An invalid difference covers no time; its ``wh`` is the known but
    unplaced energy of a gap, or ``None`` when the energy is unknown.
    """

    before: CounterReading
    after: CounterReading
    wh: int | None
    valid: bool
    events: tuple[CounterEvent, ...] = ()

    @property
    def start(self) -> int:
        return self.before.ts

    @property
    def end(self) -> int:
        return self.after.ts


def sorted_readings(readings: Iterable[CounterReading]) -> list[CounterReading]:
    """Readings in time order with exact duplicates dropped.

    Delivery is at-least-once, so the same reading may arrive twice; that is harmless.
    Two different values at one instant cannot come from the store (it overwrites
    on (device, ts)), so they are a caller bug and raise rather than pick one.
    """
    by_ts: dict[int, CounterReading] = {}
    for r in readings:
        if r.wh < 0:
            raise ValueError(f"negative register value {r!r}")
        seen = by_ts.setdefault(r.ts, r)
        if seen.wh != r.wh:
            raise ValueError(f"two register values at ts {r.ts}: {seen.wh} and {r.wh}")
    return [by_ts[ts] for ts in sorted(by_ts)]


def classify(
    before: CounterReading,
    after: CounterReading,
    *,
    max_wh_per_s: float,
    rollover_wh: int | None = None,
    max_gap_s: int,
    resolution_wh: int = 1,
) -> Difference:
    """Classify one difference between consecutive readings (``before.ts < after.ts``)."""
    dt = after.ts - before.ts
    if dt <= 0:
        raise ValueError(f"readings out of order: {before!r} then {after!r}")
    limit = max_wh_per_s * dt + resolution_wh
    raw = after.wh - before.wh
    events: list[CounterEvent] = []

    if raw < 0:
        wrapped = _wrapped(before.wh, after.wh, rollover_wh)
        if wrapped is None or wrapped > limit:
            # A reset or a swap to a meter with a lower count: the new meter's
            # start value is unknown, so the energy in between is too.
            event = CounterEvent(EventKind.RESET, after.ts, before, after)
            return Difference(before, after, None, False, (event,))
        events.append(CounterEvent(EventKind.ROLLOVER, after.ts, before, after, wrapped))
        wh = wrapped
    elif raw > limit:
        event = CounterEvent(EventKind.SPIKE, after.ts, before, after)
        return Difference(before, after, None, False, (event,))
    else:
        wh = raw

    if dt > max_gap_s:
        # The total is exact but its distribution over the gap is not: report it,
        # do not invent a load profile.
        events.append(CounterEvent(EventKind.GAP, after.ts, before, after, wh))
        return Difference(before, after, wh, False, tuple(events))
    return Difference(before, after, wh, True, tuple(events))


def _wrapped(before_wh: int, after_wh: int, rollover_wh: int | None) -> int | None:
    """The difference if the register wrapped once at ``rollover_wh``, else None."""
    if rollover_wh is None or before_wh >= rollover_wh or after_wh >= rollover_wh:
        # Values at or above the modulus mean the register is not that wide.
        return None
    return after_wh + rollover_wh - before_wh


def differences(
    readings: Iterable[CounterReading],
    *,
    max_wh_per_s: float,
    rollover_wh: int | None = None,
    max_gap_s: int,
    resolution_wh: int = 1,
) -> list[Difference]:
    """Classified differences of consecutive readings (sorted, duplicates dropped)."""
    if max_wh_per_s <= 0:
        raise ValueError(f"max_wh_per_s must be positive, got {max_wh_per_s}")
    if rollover_wh is not None and rollover_wh <= 0:
        raise ValueError(f"rollover_wh must be positive, got {rollover_wh}")
    if max_gap_s <= 0 or resolution_wh < 0:
        raise ValueError("max_gap_s must be positive and resolution_wh not negative")
    ordered = sorted_readings(readings)
    return [
        classify(
            a,
            b,
            max_wh_per_s=max_wh_per_s,
            rollover_wh=rollover_wh,
            max_gap_s=max_gap_s,
            resolution_wh=resolution_wh,
        )
        for a, b in pairwise(ordered)
    ]
