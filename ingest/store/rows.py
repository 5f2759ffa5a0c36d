"""Row types the store reads and writes besides protocol ``Record``.

``CounterReading`` is ingest/rollup's own (re-exported here): the store returns
exactly what the rollups consume. ``EnergyRow`` is the stored form of a rollup
result: rollup's ``EnergyInterval``/``EnergyBucket`` carry one direction's
``wh`` and no owner, a stored row carries its key and both directions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ingest.rollup.counters import CounterReading

KeyKind = Literal["meter", "site"]
EnergyUnit = Literal["15min", "hour", "day", "month"]
KEY_KINDS: tuple[KeyKind, ...] = ("meter", "site")
ENERGY_UNITS: tuple[EnergyUnit, ...] = ("15min", "hour", "day", "month")

Instant = int | datetime
"""A UTC instant: unix seconds, or an aware ``datetime``."""


def epoch(t: Instant) -> int:
    """Unix seconds of ``t``; a naive datetime is refused (ambiguous across DST)."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError(f"naive datetime {t!r}: pass an aware (UTC) datetime")
        return int(t.timestamp())
    if isinstance(t, bool) or not isinstance(t, int):
        raise TypeError(f"an instant is unix seconds (int) or an aware datetime, got {t!r}")
    return t


def epoch_ms(t: float | datetime) -> int:
    """Unix milliseconds of ``t`` (float seconds or an aware datetime); naive refused."""
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError(f"naive datetime {t!r}: pass an aware (UTC) datetime")
        return round(t.timestamp() * 1000)
    if isinstance(t, bool) or not isinstance(t, int | float):
        raise TypeError(f"a time is unix seconds or an aware datetime, got {t!r}")
    return round(t * 1000)


def utc(ts: int) -> datetime:
    """The aware UTC datetime of unix seconds ``ts``."""
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class EnergyKey:
    """Whose energy a row is: one meter (device id) or one site (site id)."""

    kind: KeyKind
    id: str

    def __post_init__(self) -> None:
        if self.kind not in KEY_KINDS:
            raise ValueError(f"energy key kind must be one of {KEY_KINDS}, got {self.kind!r}")
        if not self.id:
            raise ValueError("energy key id must not be empty")


@dataclass(frozen=True)
class EnergyRow:
    """Imported and exported energy of one key over [start, end): a 15-minute interval or a local
    hour/day/month, stored under the UTC instant of its (local) start.

    ``end`` is stored too because a local day lasts 23, 24 or 25 hours and a
    month 28..31 days: the reader must not have to recompute calendars.
    """

    key: EnergyKey
    unit: EnergyUnit
    start: int
    end: int
    import_wh: int
    export_wh: int
    completeness: float

    def __post_init__(self) -> None:
        if self.unit not in ENERGY_UNITS:
            raise ValueError(f"energy unit must be one of {ENERGY_UNITS}, got {self.unit!r}")
        if self.end <= self.start:
            raise ValueError(f"energy row ends before it starts: {self.start}..{self.end}")


@dataclass(frozen=True)
class StatusRow:
    """The device's status message as stored (``write_status``): the time ingest
    took it for, and the fields the portal shows; None where the message had none."""

    ts: float
    state: str
    queue_depth: int | None = None
    signal_dbm: int | None = None
    clock: str | None = None
    version: str | None = None
    live_until: int | None = None
    records_dropped: int | None = None
    oldest_unsent_age_s: int | None = None


__all__ = [
    "ENERGY_UNITS",
    "KEY_KINDS",
    "CounterReading",
    "EnergyKey",
    "EnergyRow",
    "EnergyUnit",
    "Instant",
    "KeyKind",
    "StatusRow",
    "epoch",
    "epoch_ms",
    "utc",
]
