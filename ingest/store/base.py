"""The `TimeSeriesStore` protocol (decision 0003) and what both stores share.

Every range is half-open, [start, end), in UTC unix seconds (or aware
datetimes). Writes are idempotent and synchronous: when a write method returns,
the data is durable in the store; when it cannot be written it raises
`StoreWriteError`, so the ingest consumer does not acknowledge the MQTT message
and the broker redelivers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ingest.store.rows import (
    CounterReading,
    EnergyKey,
    EnergyRow,
    EnergyUnit,
    Instant,
    StatusRow,
)
from protocol.records import Record

DAY_S = 86400


class StoreError(RuntimeError):
    """Base of the store's errors."""


class StoreWriteError(StoreError):
    """Data was not (or not certainly) written: do not acknowledge its source."""


class StoreQueryError(StoreError):
    """A query failed (server unreachable, or it rejected the query)."""


@dataclass(frozen=True)
class Retention:
    """How long short-lived data is kept; records coarsened to 15 minutes and energy
    rows are kept forever (they are the customer's billing history)."""

    live_s: int = 2 * DAY_S
    raw_s: int = 400 * DAY_S  # raw minutes: a year and a bit, for year-on-year views

    def __post_init__(self) -> None:
        if self.live_s <= 0 or self.raw_s <= 0:
            raise ValueError(f"retention periods must be positive: {self}")


@runtime_checkable
class TimeSeriesStore(Protocol):
    """Meter records, live samples and energy rows; see docs/storage.md."""

    def init(self) -> None:
        """Create what the store needs (tables; database and retention policies). Idempotent."""

    def close(self) -> None:
        """Release connections."""

    def write_records(
        self, device_id: str, site_id: str, meter: str, records: Iterable[Record]
    ) -> None:
        """Store raw (60 s) or coarsened (900 s) records; idempotent on (device, period, ts):
        a redelivery overwrites field by field."""

    def write_live(
        self, device_id: str, site_id: str, samples: Iterable[tuple[int, dict[str, float]]]
    ) -> None:
        """Store live samples [(ts_ms, {channel: value})] (short retention)."""

    def write_energy(self, rows: Iterable[EnergyRow]) -> None:
        """Store rollup rows; idempotent on (key, unit, start)."""

    def write_status(
        self, device_id: str, site_id: str, ts: float | datetime, status: Mapping[str, object]
    ) -> None:
        """Store a device status message taken at ``ts`` (ms precision): its known keys
        (``schema.STATUS_FIELDS``), unknown ones ignored; a second status at the same
        ms merges field by field, as InfluxDB does."""

    def records(
        self,
        device_id: str,
        start: Instant,
        end: Instant,
        channels: Sequence[str] | None = None,
    ) -> list[Record]:
        """Records with start of period in [start, end), ascending by ts (raw and coarsened).

        With ``channels``, only those channels' stats/counters are returned.
        """
        ...

    def latest(self, device_id: str) -> Record | None:
        """The record with the greatest ts, or None."""
        ...

    def counter_readings(
        self, device_id: str, channel: str, start: Instant, end: Instant
    ) -> list[CounterReading]:
        """Readings of counter ``channel`` whose time (the END of their record's
        period) lies in [start, end), ascending."""
        ...

    def live(
        self, device_id: str, start: Instant, end: Instant
    ) -> list[tuple[int, dict[str, float]]]:
        """Live samples with ts_ms in [start, end) (seconds bounds), ascending."""
        ...

    def energy(
        self, key: EnergyKey, unit: EnergyUnit, start: Instant, end: Instant
    ) -> list[EnergyRow]:
        """Energy rows of ``key`` and ``unit`` whose start lies in [start, end), ascending."""
        ...

    def latest_status(self, device_id: str) -> StatusRow | None:
        """The status with the greatest ts, or None."""
        ...

    def apply_retention(self, now: Instant) -> None:
        """Drop live samples, raw records and statuses older than the configured retention."""
