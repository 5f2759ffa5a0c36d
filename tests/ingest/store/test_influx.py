"""InfluxStore specifics against a real influxd: policies, field types, failures."""

from __future__ import annotations

import dataclasses
import time

import pytest

from ingest.store import InfluxStore, Retention, StoreWriteError
from ingest.store.rows import EnergyKey, EnergyRow
from protocol.records import Record
from tests.fixtures.influxdb import InfluxServer
from tests.ingest.store.conftest import RETENTION, influx_config

pytestmark = pytest.mark.integration

DEV, SITE, METER = "me-0042", "site-7", "em340"


@pytest.fixture
def influx(influxdb: InfluxServer):
    store = InfluxStore(influx_config(influxdb))
    store.init()
    yield store
    store.close()


def now_record(seq: int = 1, *, period_s: int = 60, age_s: int = 3600) -> Record:
    ts = (int(time.time()) - age_s) // period_s * period_s
    return Record(
        seq,
        ts,
        period_s=period_s,
        samples=60,
        expected=60,
        span=period_s // 60,
        stats={"p_l1_w": (1200, 1100, 1300)},
        counters={"e_imp_wh": 123},
    )


def policies(store: InfluxStore) -> dict[str, str]:
    (result,) = store.http.query(f'SHOW RETENTION POLICIES ON "{store.config.database}"')
    return {row[0]: row[1] for row in result["series"][0]["values"]}


def test_init_creates_database_and_policies(influx: InfluxStore) -> None:
    got = policies(influx)
    assert got["forever"] == "0s"
    assert got["raw"] == f"{RETENTION.raw_s // 3600}h0m0s"
    assert got["live"] == f"{RETENTION.live_s // 3600}h0m0s"
    influx.init()  # idempotent


def test_init_alters_a_changed_policy(influxdb: InfluxServer) -> None:
    config = influx_config(influxdb)
    InfluxStore(config).init()
    longer = Retention(live_s=3 * 86400, raw_s=RETENTION.raw_s)
    changed = InfluxStore(dataclasses.replace(config, retention=longer))
    changed.init()
    assert policies(changed)["live"] == "72h0m0s"


def test_each_kind_goes_to_its_policy(influx: InfluxStore) -> None:
    influx.write_records(DEV, SITE, METER, [now_record(1), now_record(2, period_s=900)])
    influx.write_live(DEV, SITE, [(int(time.time()) * 1000, {"p_l1_w": 1.0})])
    influx.write_energy([EnergyRow(EnergyKey("site", SITE), "day", 0, 86400, 1, 2, 1.0)])
    db = influx.config.database
    expected = {("raw", "rec_1m"), ("forever", "rec_15m"), ("live", "live"), ("forever", "energy")}
    for rp, measurement in expected:
        rows = influx.http.rows(f'SELECT count("seq") FROM "{db}"."{rp}"."{measurement}"')
        rows += influx.http.rows(f'SELECT count("p_l1_w") FROM "{db}"."{rp}"."{measurement}"')
        rows += influx.http.rows(f'SELECT count("import_wh") FROM "{db}"."{rp}"."{measurement}"')
        assert rows, (rp, measurement)


def test_field_types(influx: InfluxStore) -> None:
    influx.write_records(DEV, SITE, METER, [now_record()])
    influx.write_energy([EnergyRow(EnergyKey("meter", DEV), "15min", 0, 900, 1, 2, 1.0)])
    db = influx.config.database
    types: dict[str, str] = {}
    for rp in ("raw", "forever"):
        for _, row in influx.http.rows(f'SHOW FIELD KEYS ON "{db}" FROM "{rp}"."rec_1m"'):
            types[row["fieldKey"]] = row["fieldType"]
        for _, row in influx.http.rows(f'SHOW FIELD KEYS ON "{db}" FROM "{rp}"."energy"'):
            types[row["fieldKey"]] = row["fieldType"]
    assert types["p_l1_w_mean"] == "float"  # written from the int 1200
    assert types["e_imp_wh"] == "integer"
    assert types["seq"] == types["clock"] == types["samples"] == "integer"
    assert types["import_wh"] == types["export_wh"] == types["end_s"] == "integer"
    assert types["completeness"] == "float"
    tags = influx.http.rows(f'SHOW TAG KEYS ON "{db}" FROM "raw"."rec_1m"')
    assert {row["tagKey"] for _, row in tags} == {"device_id", "site_id", "meter"}


def test_backfill_beyond_retention_is_dropped_not_failed(influx: InfluxStore) -> None:
    old = now_record(1, age_s=RETENTION.raw_s + 86400)
    fresh = now_record(2)
    influx.write_records(DEV, SITE, METER, [old, fresh])  # no StoreWriteError: ack it
    assert [r.seq for r in influx.records(DEV, 0, 2**40)] == [2]


def test_write_fails_while_server_is_down_then_succeeds(influxdb: InfluxServer) -> None:
    store = InfluxStore(influx_config(influxdb))
    store.init()
    record = now_record()
    influxdb.stop()
    try:
        with pytest.raises(StoreWriteError, match="after 2 attempts"):
            store.write_records(DEV, SITE, METER, [record])
    finally:
        influxdb.start()
    store.write_records(DEV, SITE, METER, [record])  # the redelivery after no ack
    assert store.latest(DEV) == record


def test_batch_holds_writes_until_the_block_ends(influx: InfluxStore) -> None:
    records = [now_record(i, age_s=3600 + 60 * i) for i in range(1, 4)]
    with influx.batch():
        for record in records:
            influx.write_records(DEV, SITE, METER, [record])
        assert influx.latest(DEV) is None  # nothing sent yet: nothing to ack yet
    assert len(influx.records(DEV, 0, 2**40)) == 3


def test_batch_failure_raises_at_the_end_of_the_block(influxdb: InfluxServer) -> None:
    store = InfluxStore(influx_config(influxdb))
    store.init()
    influxdb.stop()
    try:
        with pytest.raises(StoreWriteError), store.batch():
            store.write_records(DEV, SITE, METER, [now_record()])
    finally:
        influxdb.start()


@pytest.mark.parametrize(
    ("options", "visible_inside"),
    [({"max_batch_lines": 2}, 2), ({"max_batch_bytes": 1}, 3), ({"max_batch_delay_s": 0.0}, 3)],
)
def test_batch_sends_when_big_or_old_enough(
    influxdb: InfluxServer, options: dict[str, object], visible_inside: int
) -> None:
    store = InfluxStore(influx_config(influxdb, **options))
    store.init()
    with store.batch():
        for i in range(1, 4):
            store.write_records(DEV, SITE, METER, [now_record(i, age_s=3600 + 60 * i)])
        assert len(store.records(DEV, 0, 2**40)) == visible_inside
    assert len(store.records(DEV, 0, 2**40)) == 3
