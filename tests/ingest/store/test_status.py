"""Device status in the time-series store (decision 0004 "Device status"), against
SqliteStore and InfluxStore alike; and the ingest pipeline writing it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.registry import Registry
from ingest.store import SqliteStore, StatusRow, TimeSeriesStore
from protocol import topics
from protocol.codec import encode_status
from tests.ingest.consumer.helpers import METER_A, METER_B, make_ingest, make_registry

DEV = "me-0042"
SITE_ID = "site-7"
# Statuses are kept as long as raw records: stay within the raw retention of the
# real clock, or Influx's policy drops them (as the contract suite does for records).
T0 = float((int(time.time()) - 3 * 86400) // 3600 * 3600)

ONLINE: dict[str, object] = {
    "state": "online",
    "version": "1.4.2",
    "ts": int(T0),
    "uptime_s": 3600,
    "queue_depth": 12,
    "oldest_unsent_age_s": 840,
    "store_full_in_s": None,
    "records_dropped": 0,
    "modbus_errors": {"timeout": 3},
    "clock": "synced",
    "live_until": int(T0) + 300,
    "signal_dbm": -71,
}


def test_no_status_yet(store: TimeSeriesStore) -> None:
    assert store.latest_status(DEV) is None


def test_write_and_read_back(store: TimeSeriesStore) -> None:
    store.write_status(DEV, SITE_ID, T0, ONLINE)
    assert store.latest_status(DEV) == StatusRow(
        ts=T0,
        state="online",
        queue_depth=12,
        signal_dbm=-71,
        clock="synced",
        version="1.4.2",
        live_until=int(T0) + 300,
        records_dropped=0,
        oldest_unsent_age_s=840,
    )
    assert store.latest_status("me-other") is None


def test_newest_wins_and_absent_fields_are_none(store: TimeSeriesStore) -> None:
    store.write_status(DEV, SITE_ID, T0 + 60, {"state": "offline", "version": "1.4.2"})
    store.write_status(DEV, SITE_ID, T0, ONLINE)  # older, arrives later: not the latest
    got = store.latest_status(DEV)
    assert got is not None
    # the newest point as a whole: no field is filled in from the older status
    assert got == StatusRow(ts=T0 + 60, state="offline", version="1.4.2")


def test_milliseconds_and_datetimes(store: TimeSeriesStore) -> None:
    store.write_status(DEV, SITE_ID, T0 + 0.25, {"state": "online"})
    store.write_status(DEV, SITE_ID, datetime.fromtimestamp(T0 + 0.5, UTC), {"state": "offline"})
    got = store.latest_status(DEV)
    assert got is not None
    assert (got.ts, got.state) == (T0 + 0.5, "offline")
    with pytest.raises(ValueError, match="naive"):
        store.write_status(DEV, SITE_ID, datetime(2026, 1, 1), {"state": "online"})


def test_unknown_keys_and_bad_values_are_ignored(store: TimeSeriesStore) -> None:
    store.write_status(
        DEV,
        SITE_ID,
        T0,
        {
            "state": "online",
            "queue_depth": True,  # a bool is not a count
            "signal_dbm": -70.6,  # rounded
            "clock": 7,  # not a string
            "future_key": "x",
            "records_dropped": None,
        },
    )
    assert store.latest_status(DEV) == StatusRow(ts=T0, state="online", signal_dbm=-71)


def test_a_status_needs_a_state(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError, match="state"):
        store.write_status(DEV, SITE_ID, T0, {"queue_depth": 1})


def test_same_time_merges_fields_like_influx(store: TimeSeriesStore) -> None:
    store.write_status(DEV, SITE_ID, T0, ONLINE)
    store.write_status(DEV, SITE_ID, T0, {"state": "offline"})
    got = store.latest_status(DEV)
    assert got is not None
    assert (got.state, got.queue_depth, got.version) == ("offline", 12, "1.4.2")


def test_retention_drops_old_statuses(deleting_store: TimeSeriesStore) -> None:
    store = deleting_store
    now = int(time.time())
    store.write_status(DEV, SITE_ID, now - 40 * 86400, ONLINE)  # beyond raw_s (30 days)
    store.apply_retention(now)
    assert store.latest_status(DEV) is None
    store.write_status(DEV, SITE_ID, now - 20 * 86400, ONLINE)
    store.apply_retention(now)
    assert store.latest_status(DEV) is not None


# -- the pipeline writes statuses ------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = make_registry(tmp_path / "registry.sqlite3")
    yield reg
    reg.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "ts.sqlite3")
    s.init()
    yield s
    s.close()


def test_pipeline_stores_live_statuses_at_arrival(
    sqlite_store: SqliteStore, registry: Registry, tmp_path: Path
) -> None:
    now = 1_780_272_000.0
    ingest = make_ingest(sqlite_store, registry, tmp_path / "state.sqlite3", clock=lambda: now)
    status = {**ONLINE, "ts": int(now) - 5}
    ingest.pipeline.handle(topics.status(METER_A), encode_status(status))
    got = sqlite_store.latest_status(METER_A)
    assert got is not None
    assert (got.ts, got.state, got.queue_depth, got.signal_dbm) == (now, "online", 12, -71)
    # the last will (no ts, published by the broker) follows: offline is the newest
    now += 30
    will = encode_status({"state": "offline", "version": "1.4.2"})
    ingest.pipeline.handle(topics.status(METER_A), will)
    got = sqlite_store.latest_status(METER_A)
    assert got is not None
    assert (got.ts, got.state, got.queue_depth) == (now, "offline", None)
    assert ingest.deadletters.count() == 0


def test_pipeline_stamps_a_retained_status_with_its_own_ts(
    sqlite_store: SqliteStore, registry: Registry, tmp_path: Path
) -> None:
    now = 1_780_272_000.0
    ingest = make_ingest(sqlite_store, registry, tmp_path / "state.sqlite3", clock=lambda: now)
    sent = int(now) - 7200
    ingest.pipeline.handle(topics.status(METER_A), encode_status({**ONLINE, "ts": sent}), True)
    got = sqlite_store.latest_status(METER_A)
    assert got is not None
    assert got.ts == sent  # a replay: the device was heard two hours ago, not now
    # a wild clock is not believed: arrival time instead
    wild = encode_status({**ONLINE, "ts": int(now) + 86400 * 365})
    ingest.pipeline.handle(topics.status(METER_B), wild, True)
    got = sqlite_store.latest_status(METER_B)
    assert got is not None
    assert got.ts == now
