"""`InfluxStore`: the production `TimeSeriesStore` on InfluxDB (docs/storage.md).

Line protocol is built with influxdb-client's ``Point`` and POSTed by
`InfluxHttp` (gzip, chunked, retried); reads are InfluxQL through ``/query``.
Only the API subset InfluxDB 1.8+, 2.x (DBRP mapping) and 3.x share is used: no
Flux, no continuous queries, no ``tz()`` — local-calendar buckets are computed
by ingest and stored as points of their own.

Every write method returns only when the server accepted every line; otherwise
it raises `StoreWriteError`. Inside ``with store.batch():`` lines are held and
sent when the batch is big or old enough and at the end of the block, which
raises if a send failed: ack after the block, never inside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from ingest.store import influxql, schema
from ingest.store.base import StoreQueryError
from ingest.store.config import InfluxConfig
from ingest.store.influx_http import InfluxHttp
from ingest.store.rows import (
    CounterReading,
    EnergyKey,
    EnergyRow,
    EnergyUnit,
    Instant,
    StatusRow,
    epoch,
    epoch_ms,
)
from protocol import channels as vocabulary
from protocol.records import Record

# Records and energy rows are per-second data: precision s keeps timestamps
# short. Live samples are taken every second or faster and keep their ms.
_PRECISION_S = "s"
_PRECISION_MS = "ms"


def line_protocol(
    measurement: str,
    tags: dict[str, str],
    fields: Mapping[str, schema.FieldValue | str],
    ts: int,
    *,
    ms: bool = False,
) -> str:
    """One line built by influxdb-client's Point (it escapes and types: int -> ``123i``)."""
    point = Point(measurement)  # type: ignore[no-untyped-call]  # influxdb-client is untyped
    for tag, text in tags.items():
        point.tag(tag, text)  # type: ignore[no-untyped-call]
    for name, value in fields.items():
        point.field(name, value)  # type: ignore[no-untyped-call]
    point.time(ts, WritePrecision.MS if ms else WritePrecision.S)  # type: ignore[no-untyped-call]
    line: str = point.to_line_protocol()  # type: ignore[no-untyped-call]
    return line


class InfluxStore:
    """A `TimeSeriesStore` on an InfluxDB server."""

    def __init__(self, config: InfluxConfig, http: InfluxHttp | None = None) -> None:
        self.config = config
        self.http = http or InfluxHttp(config)
        self._buffer: dict[tuple[str, str], list[str]] | None = None
        self._buffer_since = 0.0
        self._buffer_lines = 0
        self._buffer_bytes = 0

    # -- policies -----------------------------------------------------------------

    def _rp(self, measurement: str) -> str:
        if self.config.retention_mode == "delete":
            return self.config.rp
        if measurement in (schema.M_RAW, schema.M_STATUS):
            # statuses are diagnostics: kept as long as raw records
            return self.config.rp_raw
        if measurement == schema.M_LIVE:
            return self.config.rp_live
        return self.config.rp

    def _from(self, measurement: str) -> str:
        return influxql.source(self.config.database, self._rp(measurement), measurement)

    # -- lifecycle ----------------------------------------------------------------

    def init(self) -> None:
        """Create the database and retention policies (InfluxDB 1.x, ``provision``)."""
        if not self.config.provision:
            return
        db = influxql.ident(self.config.database)
        self.http.query(f"CREATE DATABASE {db}", post=True)
        policies: dict[str, str] = {self.config.rp: "INF"}
        if self.config.retention_mode == "policies":
            policies[self.config.rp_raw] = f"{self.config.retention.raw_s}s"
            policies[self.config.rp_live] = f"{self.config.retention.live_s}s"
        for name, duration in policies.items():
            if not name:
                continue
            rp = f"{influxql.ident(name)} ON {db} DURATION {duration} REPLICATION 1"
            try:
                self.http.query(f"CREATE RETENTION POLICY {rp}", post=True)
            except StoreQueryError as exc:
                # Exists with other settings (a changed retention): bring it in line.
                if "already exists" not in str(exc):
                    raise
                self.http.query(f"ALTER RETENTION POLICY {rp}", post=True)

    def close(self) -> None:
        self.http.close()

    # -- writes -------------------------------------------------------------------

    def write_records(
        self, device_id: str, site_id: str, meter: str, records: Iterable[Record]
    ) -> None:
        lines: dict[str, list[str]] = {}
        for record in records:
            measurement = schema.measurement_for(record.period_s)
            tags = {schema.T_DEVICE: device_id, schema.T_SITE: site_id, schema.T_METER: meter}
            line = line_protocol(measurement, tags, schema.record_fields(record), record.ts)
            lines.setdefault(self._rp(measurement), []).append(line)
        for rp, batch in lines.items():
            self._send(batch, rp, _PRECISION_S)

    def write_live(
        self, device_id: str, site_id: str, samples: Iterable[tuple[int, dict[str, float]]]
    ) -> None:
        lines: list[str] = []
        for ts_ms, values in samples:
            if not values:
                continue
            tags = {schema.T_DEVICE: device_id, schema.T_SITE: site_id}
            fields = {vocabulary.get(name).name: float(value) for name, value in values.items()}
            lines.append(line_protocol(schema.M_LIVE, tags, fields, int(ts_ms), ms=True))
        self._send(lines, self._rp(schema.M_LIVE), _PRECISION_MS)

    def write_energy(self, rows: Iterable[EnergyRow]) -> None:
        lines = [
            line_protocol(
                schema.M_ENERGY,
                {
                    schema.T_KEY_KIND: row.key.kind,
                    schema.T_KEY_ID: row.key.id,
                    schema.T_UNIT: row.unit,
                },
                {
                    schema.F_IMPORT: int(row.import_wh),
                    schema.F_EXPORT: int(row.export_wh),
                    schema.F_COMPLETENESS: float(row.completeness),
                    schema.F_END: int(row.end),
                },
                row.start,
            )
            for row in rows
        ]
        self._send(lines, self._rp(schema.M_ENERGY), _PRECISION_S)

    def write_status(
        self, device_id: str, site_id: str, ts: float | datetime, status: Mapping[str, object]
    ) -> None:
        line = line_protocol(
            schema.M_STATUS,
            {schema.T_DEVICE: device_id, schema.T_SITE: site_id},
            schema.status_fields(status),
            epoch_ms(ts),
            ms=True,
        )
        self._send([line], self._rp(schema.M_STATUS), _PRECISION_MS)

    def _send(self, lines: list[str], rp: str, precision: str) -> None:
        if not lines:
            return
        if self._buffer is None:
            self.http.write(lines, rp=rp, precision=precision)
            return
        if not self._buffer_lines:
            self._buffer_since = time.monotonic()
        self._buffer.setdefault((rp, precision), []).extend(lines)
        self._buffer_lines += len(lines)
        self._buffer_bytes += sum(len(line) + 1 for line in lines)
        if (
            self._buffer_lines >= self.config.max_batch_lines
            or self._buffer_bytes >= self.config.max_batch_bytes
            or time.monotonic() - self._buffer_since >= self.config.max_batch_delay_s
        ):
            self.flush()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold writes and send them together (by size and age); flushed on exit.

        An exception (from a send, or the caller's) leaves the block: do not ack.
        Lines still held when the caller's own code raises are dropped, since
        the caller will not ack them and the broker redelivers them.
        """
        if self._buffer is not None:
            yield  # nested: the outer block flushes
            return
        self._buffer = {}
        self._buffer_lines = self._buffer_bytes = 0
        try:
            yield
            self.flush()
        finally:
            self._buffer = None

    def flush(self) -> None:
        """Send what `batch()` holds now; raises StoreWriteError (the lines stay held)."""
        if not self._buffer:
            return
        for (rp, precision), lines in list(self._buffer.items()):
            self.http.write(lines, rp=rp, precision=precision)
            del self._buffer[(rp, precision)]
        self._buffer_lines = self._buffer_bytes = 0

    # -- reads --------------------------------------------------------------------

    def _device(self, device_id: str) -> str:
        return f"{influxql.ident(schema.T_DEVICE)} = {influxql.string(device_id)}"

    @staticmethod
    def _columns(fields: Sequence[str] | None) -> str:
        return "*" if fields is None else ", ".join(influxql.ident(f) for f in fields)

    def records(
        self,
        device_id: str,
        start: Instant,
        end: Instant,
        channels: Sequence[str] | None = None,
    ) -> list[Record]:
        columns = self._columns(schema.selected_fields(channels))
        where = f"{self._device(device_id)} AND {influxql.time_range(epoch(start), epoch(end))}"
        q = "; ".join(
            f"SELECT {columns} FROM {self._from(m)} WHERE {where}" for m in schema.PERIODS
        )
        return self._to_records(self.http.rows(q))

    def latest(self, device_id: str) -> Record | None:
        q = "; ".join(
            f"SELECT * FROM {self._from(m)} WHERE {self._device(device_id)}"
            " ORDER BY time DESC LIMIT 1"
            for m in schema.PERIODS
        )
        found = self._to_records(self.http.rows(q))
        if not found:
            return None
        # Newest ts; at equal ts the raw record (as SqliteStore orders them).
        return max(found, key=lambda r: (r.ts, -r.period_s))

    @staticmethod
    def _to_records(rows: list[tuple[str, dict[str, Any]]]) -> list[Record]:
        # Merge rows of one (period, ts): a device whose site tag changed has
        # two series, and the points of both describe the same record.
        points: dict[tuple[int, int], dict[str, Any]] = {}
        for measurement, row in rows:
            key = (schema.PERIODS[measurement], int(row["time"]))
            merged = points.setdefault(key, {})
            merged.update({k: v for k, v in row.items() if v is not None})
        out = [schema.record_from_fields(ts, p, f) for (p, ts), f in points.items()]
        out.sort(key=lambda r: (r.ts, r.period_s))
        return out

    def counter_readings(
        self, device_id: str, channel: str, start: Instant, end: Instant
    ) -> list[CounterReading]:
        if vocabulary.get(channel).kind != vocabulary.COUNTER:
            raise ValueError(f"{channel} is not a counter channel")
        t0, t1 = epoch(start), epoch(end)
        # A reading's time is the END of its record's period: shift the range
        # into point times per measurement (points are stamped with the start).
        q = "; ".join(
            f"SELECT {influxql.ident(channel)} FROM {self._from(m)}"
            f" WHERE {self._device(device_id)} AND {influxql.time_range(t0 - p, t1 - p)}"
            for m, p in schema.PERIODS.items()
        )
        found = sorted(
            (int(row["time"]) + schema.PERIODS[m], schema.PERIODS[m], int(row[channel]))
            for m, row in self.http.rows(q)
            if row.get(channel) is not None
        )
        return [CounterReading(ts, wh) for ts, _, wh in found]

    def live(
        self, device_id: str, start: Instant, end: Instant
    ) -> list[tuple[int, dict[str, float]]]:
        q = (
            f"SELECT * FROM {self._from(schema.M_LIVE)} WHERE {self._device(device_id)}"
            f" AND {influxql.time_range(epoch(start), epoch(end))}"
        )
        samples: dict[int, dict[str, float]] = {}
        for _, row in self.http.rows(q, epoch="ms"):
            values = samples.setdefault(int(row["time"]), {})
            for name, value in row.items():
                if value is not None and name in vocabulary.BY_NAME:
                    values[name] = float(value)
        return sorted(samples.items())

    def energy(
        self, key: EnergyKey, unit: EnergyUnit, start: Instant, end: Instant
    ) -> list[EnergyRow]:
        tags = " AND ".join(
            f"{influxql.ident(tag)} = {influxql.string(value)}"
            for tag, value in (
                (schema.T_KEY_KIND, key.kind),
                (schema.T_KEY_ID, key.id),
                (schema.T_UNIT, unit),
            )
        )
        q = (
            f"SELECT {self._columns(schema.ENERGY_FIELDS)} FROM {self._from(schema.M_ENERGY)}"
            f" WHERE {tags} AND {influxql.time_range(epoch(start), epoch(end))}"
        )
        return [
            EnergyRow(
                key=key,
                unit=unit,
                start=int(row["time"]),
                end=int(row[schema.F_END]),
                import_wh=int(row[schema.F_IMPORT]),
                export_wh=int(row[schema.F_EXPORT]),
                completeness=float(row[schema.F_COMPLETENESS]),
            )
            for _, row in self.http.rows(q)
        ]

    def latest_status(self, device_id: str) -> StatusRow | None:
        # The newest point as a whole, not last() per field: last() would fill a
        # field the newest status left out (live_until: not live) from an older one.
        q = (
            f"SELECT * FROM {self._from(schema.M_STATUS)} WHERE {self._device(device_id)}"
            " ORDER BY time DESC LIMIT 1"
        )
        rows = self.http.rows(q, epoch="ms")
        if not rows:
            return None
        _, row = max(rows, key=lambda r: int(r[1]["time"]))
        return schema.status_row(int(row["time"]) / 1000, row)

    # -- retention ----------------------------------------------------------------

    def apply_retention(self, now: Instant) -> None:
        """With retention policies the server expires data itself: nothing to do.
        Otherwise DELETE what is older than the retention (InfluxDB 1.x only)."""
        if self.config.retention_mode == "policies":
            return
        t = epoch(now)
        cuts = (
            (schema.M_LIVE, t - self.config.retention.live_s),
            (schema.M_RAW, t - self.config.retention.raw_s),
            (schema.M_STATUS, t - self.config.retention.raw_s),
        )
        # DELETE takes no retention policy (it deletes in all of them) and no
        # field conditions; period_s is implied by the measurement.
        q = "; ".join(
            f"DELETE FROM {influxql.ident(m)} WHERE time < {influxql.time_literal(cut)}"
            for m, cut in cuts
        )
        self.http.query(q, post=True)
