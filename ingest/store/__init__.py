"""Time-series storage of meter records, live samples and energy rollups.

TimeSeriesStore     base.py      the protocol both stores implement (decision 0003)
SqliteStore         sqlite.py    embedded default, one SQLite file
InfluxStore         influx.py    InfluxDB through /write and InfluxQL /query
InfluxConfig, SqliteConfig, open_store   config.py / here
schema                           measurement, tag and field names (docs/storage.md)
"""

from __future__ import annotations

from ingest.store.base import (
    Retention,
    StoreError,
    StoreQueryError,
    StoreWriteError,
    TimeSeriesStore,
)
from ingest.store.config import InfluxConfig, SqliteConfig
from ingest.store.influx import InfluxStore
from ingest.store.rows import CounterReading, EnergyKey, EnergyRow, StatusRow
from ingest.store.sqlite import SqliteStore


def open_store(config: InfluxConfig | SqliteConfig) -> TimeSeriesStore:
    """The store a configuration describes, initialised (tables, database, policies)."""
    store: TimeSeriesStore
    if isinstance(config, InfluxConfig):
        store = InfluxStore(config)
    else:
        store = SqliteStore(config.path, config.retention)
    store.init()
    return store


__all__ = [
    "CounterReading",
    "EnergyKey",
    "EnergyRow",
    "InfluxConfig",
    "InfluxStore",
    "Retention",
    "SqliteConfig",
    "SqliteStore",
    "StatusRow",
    "StoreError",
    "StoreQueryError",
    "StoreWriteError",
    "TimeSeriesStore",
    "open_store",
]
