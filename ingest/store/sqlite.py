"""`SqliteStore`: the embedded, zero-install `TimeSeriesStore`.

Standard library ``sqlite3``, not SQLAlchemy: five fixed tables, SQLite-only
upserts (``INSERT OR REPLACE``), no migrations to manage (``init()`` creates
them idempotently) and no second database to support; SQLAlchemy stays with
the relational registry, which must run on PostgreSQL too.

Record values are stored narrow, one row per (record, field) under the field
names of ingest.store.schema, so a redelivery overwrites field by field exactly
as InfluxDB merges the fields of a point with the same series and time, and a
channel selection is an ``IN`` on the field name. WAL mode: the portal reads
while ingest writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.store import schema
from ingest.store.base import Retention, StoreError, StoreQueryError, StoreWriteError
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
from protocol.records import PERIOD_RAW_S, Record

_DDL = (
    """CREATE TABLE IF NOT EXISTS records (
        device_id TEXT NOT NULL, period_s INTEGER NOT NULL, ts INTEGER NOT NULL,
        site_id TEXT NOT NULL, meter TEXT NOT NULL,
        PRIMARY KEY (device_id, period_s, ts)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS record_fields (
        device_id TEXT NOT NULL, period_s INTEGER NOT NULL, ts INTEGER NOT NULL,
        field TEXT NOT NULL, value NUMERIC NOT NULL,
        PRIMARY KEY (device_id, period_s, ts, field)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS live (
        device_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, channel TEXT NOT NULL,
        site_id TEXT NOT NULL, value REAL NOT NULL,
        PRIMARY KEY (device_id, ts_ms, channel)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS energy (
        kind TEXT NOT NULL, key TEXT NOT NULL, unit TEXT NOT NULL, start INTEGER NOT NULL,
        end_s INTEGER NOT NULL, import_wh INTEGER NOT NULL, export_wh INTEGER NOT NULL,
        completeness REAL NOT NULL,
        PRIMARY KEY (kind, key, unit, start)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS status (
        device_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, site_id TEXT NOT NULL,
        state TEXT NOT NULL, clock TEXT, version TEXT, queue_depth INTEGER,
        signal_dbm INTEGER, live_until INTEGER, records_dropped INTEGER,
        oldest_unsent_age_s INTEGER,
        PRIMARY KEY (device_id, ts_ms)) WITHOUT ROWID""",
)

# Columns of `status` after the key: state first, then schema.STATUS_FIELDS' order.
_STATUS_COLUMNS = schema.STATUS_FIELDS
# A second status at the same ms merges field by field, as InfluxDB merges a point.
_STATUS_UPSERT = (
    f"INSERT INTO status (device_id, ts_ms, site_id, {', '.join(_STATUS_COLUMNS)})"
    f" VALUES ({', '.join('?' * (3 + len(_STATUS_COLUMNS)))})"
    " ON CONFLICT (device_id, ts_ms) DO UPDATE SET site_id = excluded.site_id, "
    + ", ".join(f"{c} = COALESCE(excluded.{c}, status.{c})" for c in _STATUS_COLUMNS)
)


class SqliteStore:
    """A `TimeSeriesStore` in one SQLite file (or ``":memory:"``)."""

    def __init__(self, path: str | Path, retention: Retention | None = None) -> None:
        self.path = str(path)
        self.retention = retention or Retention()
        # One connection shared under a lock: ingest writes from one thread at a
        # time anyway, and SQLite serialises writers itself.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across application crashes in WAL mode; only a power
        # cut can lose the last transactions, and the device still holds them.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")

    # -- lifecycle --------------------------------------------------------------

    def init(self) -> None:
        with self._tx(StoreError) as db:
            for statement in _DDL:
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self, error: type[StoreError]) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise error(f"sqlite {self.path}: {exc}") from exc

    def _query(self, sql: str, params: Sequence[object]) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreQueryError(f"sqlite {self.path}: {exc}") from exc

    # -- writes -------------------------------------------------------------------

    def write_records(
        self, device_id: str, site_id: str, meter: str, records: Iterable[Record]
    ) -> None:
        points = [(r, schema.measurement_for(r.period_s), schema.record_fields(r)) for r in records]
        with self._tx(StoreWriteError) as db:
            for record, _, fields in points:
                key = (device_id, record.period_s, record.ts)
                db.execute(
                    "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?)",
                    (*key, site_id, meter),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO record_fields VALUES (?, ?, ?, ?, ?)",
                    [(*key, name, value) for name, value in fields.items()],
                )

    def write_live(
        self, device_id: str, site_id: str, samples: Iterable[tuple[int, dict[str, float]]]
    ) -> None:
        rows = [
            (device_id, int(ts_ms), vocabulary.get(name).name, site_id, float(value))
            for ts_ms, values in samples
            for name, value in values.items()
        ]
        with self._tx(StoreWriteError) as db:
            db.executemany("INSERT OR REPLACE INTO live VALUES (?, ?, ?, ?, ?)", rows)

    def write_energy(self, rows: Iterable[EnergyRow]) -> None:
        values = [
            (
                r.key.kind,
                r.key.id,
                r.unit,
                r.start,
                r.end,
                int(r.import_wh),
                int(r.export_wh),
                float(r.completeness),
            )
            for r in rows
        ]
        with self._tx(StoreWriteError) as db:
            db.executemany("INSERT OR REPLACE INTO energy VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)

    def write_status(
        self, device_id: str, site_id: str, ts: float | datetime, status: Mapping[str, object]
    ) -> None:
        fields = schema.status_fields(status)
        values = [fields.get(c) for c in _STATUS_COLUMNS]
        with self._tx(StoreWriteError) as db:
            db.execute(_STATUS_UPSERT, (device_id, epoch_ms(ts), site_id, *values))

    # -- reads --------------------------------------------------------------------

    def records(
        self,
        device_id: str,
        start: Instant,
        end: Instant,
        channels: Sequence[str] | None = None,
    ) -> list[Record]:
        return self._records(
            "ts >= ? AND ts < ?", [epoch(start), epoch(end)], device_id, channels, None
        )

    def latest(self, device_id: str) -> Record | None:
        found = self._records("1", [], device_id, None, 1)
        return found[0] if found else None

    def _records(
        self,
        where: str,
        params: list[object],
        device_id: str,
        channels: Sequence[str] | None,
        limit: int | None,
    ) -> list[Record]:
        # The newest `limit` record keys first, then their fields in one query.
        heads = self._query(
            f"SELECT period_s, ts FROM records WHERE device_id = ? AND {where}"
            f" ORDER BY ts {'DESC' if limit else 'ASC'}, period_s"
            + (f" LIMIT {int(limit)}" if limit else ""),
            [device_id, *params],
        )
        if not heads:
            return []
        low = min(int(ts) for _, ts in heads)
        high = max(int(ts) for _, ts in heads)
        sql = (
            "SELECT period_s, ts, field, value FROM record_fields"
            " WHERE device_id = ? AND ts >= ? AND ts <= ?"
        )
        args: list[object] = [device_id, low, high]
        wanted = schema.selected_fields(channels)
        if wanted is not None:
            sql += f" AND field IN ({', '.join('?' * len(wanted))})"
            args += wanted
        fields: dict[tuple[int, int], dict[str, object]] = {(int(p), int(t)): {} for p, t in heads}
        for period_s, ts, name, value in self._query(sql, args):
            point = fields.get((int(period_s), int(ts)))
            if point is not None:
                point[str(name)] = value
        out = [schema.record_from_fields(ts, p, f) for (p, ts), f in fields.items()]
        out.sort(key=lambda r: (r.ts, r.period_s))
        return out

    def counter_readings(
        self, device_id: str, channel: str, start: Instant, end: Instant
    ) -> list[CounterReading]:
        if vocabulary.get(channel).kind != vocabulary.COUNTER:
            raise ValueError(f"{channel} is not a counter channel")
        # A reading is the register at the END of its record's period.
        rows = self._query(
            "SELECT ts + period_s AS t, value FROM record_fields"
            " WHERE device_id = ? AND field = ? AND ts + period_s >= ? AND ts + period_s < ?"
            " ORDER BY t, period_s",
            [device_id, channel, epoch(start), epoch(end)],
        )
        return [CounterReading(int(t), int(v)) for t, v in rows]

    def live(
        self, device_id: str, start: Instant, end: Instant
    ) -> list[tuple[int, dict[str, float]]]:
        rows = self._query(
            "SELECT ts_ms, channel, value FROM live"
            " WHERE device_id = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms",
            [device_id, epoch(start) * 1000, epoch(end) * 1000],
        )
        samples: dict[int, dict[str, float]] = {}
        for ts_ms, name, value in rows:
            samples.setdefault(int(ts_ms), {})[str(name)] = float(value)
        return list(samples.items())

    def energy(
        self, key: EnergyKey, unit: EnergyUnit, start: Instant, end: Instant
    ) -> list[EnergyRow]:
        rows = self._query(
            "SELECT start, end_s, import_wh, export_wh, completeness FROM energy"
            " WHERE kind = ? AND key = ? AND unit = ? AND start >= ? AND start < ?"
            " ORDER BY start",
            [key.kind, key.id, unit, epoch(start), epoch(end)],
        )
        return [
            EnergyRow(
                key=key,
                unit=unit,
                start=int(s),
                end=int(e),
                import_wh=int(i),
                export_wh=int(x),
                completeness=float(c),
            )
            for s, e, i, x, c in rows
        ]

    def latest_status(self, device_id: str) -> StatusRow | None:
        rows = self._query(
            f"SELECT ts_ms, {', '.join(_STATUS_COLUMNS)} FROM status"
            " WHERE device_id = ? ORDER BY ts_ms DESC LIMIT 1",
            [device_id],
        )
        if not rows:
            return None
        ts_ms, *values = rows[0]
        return schema.status_row(int(ts_ms) / 1000, dict(zip(_STATUS_COLUMNS, values, strict=True)))

    # -- retention ----------------------------------------------------------------

    def apply_retention(self, now: Instant) -> None:
        t = epoch(now)
        live_cut_ms = (t - self.retention.live_s) * 1000
        raw_cut = t - self.retention.raw_s
        with self._tx(StoreWriteError) as db:
            db.execute("DELETE FROM live WHERE ts_ms < ?", (live_cut_ms,))
            # Statuses are diagnostics: kept as long as raw records.
            db.execute("DELETE FROM status WHERE ts_ms < ?", (raw_cut * 1000,))
            for table in ("record_fields", "records"):
                db.execute(
                    f"DELETE FROM {table} WHERE period_s = ? AND ts < ?", (PERIOD_RAW_S, raw_cut)
                )
