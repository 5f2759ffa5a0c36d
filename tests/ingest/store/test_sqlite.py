"""SqliteStore specifics: WAL, durability across reopen, concurrent readers, open_store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ingest.store import SqliteConfig, SqliteStore, StoreWriteError, open_store
from protocol.records import Record

DEV, SITE, METER = "me-0042", "site-7", "em340"


def test_wal_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "ts.sqlite3"
    store = open_store(SqliteConfig(path))
    assert isinstance(store, SqliteStore)
    record = Record(1, 1_800_000_000, samples=60, expected=60, counters={"e_imp_wh": 5})
    store.write_records(DEV, SITE, METER, [record])
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again = open_store(SqliteConfig(path))
    assert again.latest(DEV) == record
    again.close()


def test_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    store = open_store(SqliteConfig(tmp_path / "ts.sqlite3"))
    good = Record(1, 1_800_000_000)
    with pytest.raises(ValueError, match="no_such"):
        store.write_records(
            DEV, SITE, METER, [good, Record(2, 1_800_000_060, counters={"no_such": 1})]
        )
    assert store.latest(DEV) is None
    store.close()


def test_readers_run_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "ts.sqlite3"
    writer = open_store(SqliteConfig(path))
    reader = SqliteStore(path)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                reader.records(DEV, 0, 2**40)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(50):
        writer.write_records(DEV, SITE, METER, [Record(i, 1_800_000_000 + 60 * i)])
    thread.join()
    assert errors == []
    assert len(reader.records(DEV, 0, 2**40)) == 50
    writer.close()
    reader.close()


def test_write_error_when_database_is_unusable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ts.sqlite3")  # init() not called: no tables
    with pytest.raises(StoreWriteError, match="no such table"):
        store.write_records(DEV, SITE, METER, [Record(1, 1_800_000_000)])
    store.close()
