"""Dead letters: messages (or parts of messages) ingest refused, with why and the raw bytes.

A refused message is acknowledged to the broker (a payload that fails today
fails on every redelivery, so it must not loop forever), but nothing is dropped
silently: its topic, reason, a human detail and the exact bytes are kept here,
so an operator can inspect, fix (e.g. register the device) and replay them.

One small SQLite table next to the device state. Writes are synchronous and
durable before the message is acked; if this write fails the caller does not ack.
A crash between this write and the ack makes the broker redeliver, so the same
message can appear twice here: dead letters are at-least-once, like everything else.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

_DDL = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    topic TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    raw BLOB NOT NULL
)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS dead_letters_reason ON dead_letters (reason, received_at)"
MAX_DETAIL = 2000  # a detail is for people; the raw bytes carry the evidence


@dataclass(frozen=True)
class DeadLetter:
    """One refused message (or the refused records of one)."""

    id: int
    received_at: float
    topic: str
    reason: str
    detail: str
    raw: bytes


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection to ingest's own SQLite file, shared by dead letters and device state."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")  # several workers may share the file
    return db


class DeadLetterStore:
    """The ``dead_letters`` table."""

    def __init__(self, path: Path | str) -> None:
        self._lock = threading.Lock()
        self._db = connect(path)
        with self._lock:
            self._db.execute(_DDL)
            self._db.execute(_INDEX)

    def add(
        self, received_at: float, topic: str, reason: str, raw: bytes, detail: str = ""
    ) -> None:
        """Keep one refused message; raises sqlite3.Error if it cannot (then do not ack)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO dead_letters (received_at, topic, reason, detail, raw)"
                " VALUES (?, ?, ?, ?, ?)",
                (received_at, topic, reason, detail[:MAX_DETAIL], bytes(raw)),
            )

    def list(self, reason: str | None = None, limit: int = 1000) -> list[DeadLetter]:
        """Dead letters, oldest first, optionally of one reason."""
        sql = "SELECT id, received_at, topic, reason, detail, raw FROM dead_letters"
        args: tuple[object, ...] = ()
        if reason is not None:
            sql += " WHERE reason = ?"
            args = (reason,)
        sql += " ORDER BY id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [DeadLetter(r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows]

    def count(self, reason: str | None = None) -> int:
        with self._lock:
            if reason is None:
                row = self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM dead_letters WHERE reason = ?", (reason,)
                ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
