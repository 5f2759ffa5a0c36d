"""Device state: last seen, online/offline, sequence gaps, interruption candidates.

Kept by ingest in two small SQLite tables next to the dead letters:

* ``device_state`` — per device: when a message from it last arrived
  (``last_seen``, from uplink/live and non-retained status; a retained status is
  a replay and the last will is the broker speaking, so neither counts as seen),
  and its connection state from the retained status topic and the last will
  (``online``/``offline`` with the time ingest learned it). Online/offline is
  never inferred from keepalives: the broker's will is the authority.
* ``seq_ranges`` — the record sequence numbers received so far as merged closed
  ranges ``[first, last]``. A record covers ``seq .. seq + span - 1``. The holes
  between ranges are the gaps; a late batch fills them and the ranges merge.
  Tracking starts at the first seq seen (nothing before it is a gap).

``interruption_candidates(now)`` lists devices silent longer than
``silent_after_s`` (6 h by default) for the contract engine, which decides
whether a silence is an interruption under the General Terms.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from ingest.deadletter import connect

DEFAULT_SILENT_AFTER_S = 6 * 3600

_DDL = (
    """CREATE TABLE IF NOT EXISTS device_state (
        device_id TEXT PRIMARY KEY,
        last_seen REAL,
        status TEXT,
        status_at REAL,
        newest_record_ts INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS seq_ranges (
        device_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (device_id, first_seq)
    )""",
)


@dataclass(frozen=True)
class DeviceStatus:
    device_id: str
    last_seen: float | None
    status: str | None
    status_at: float | None
    newest_record_ts: int | None


class InterruptionSource(Protocol):
    """What the contract engine needs from device state (and nothing more)."""

    def interruption_candidates(self, now: float) -> list[tuple[str, float]]: ...


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged closed ranges; adjacent ranges (5..7, 8..9) merge too."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


class DeviceStateStore:
    """Device state in ingest's SQLite file; safe to share between threads."""

    def __init__(self, path: Path | str, silent_after_s: float = DEFAULT_SILENT_AFTER_S) -> None:
        self.silent_after_s = silent_after_s
        self._lock = threading.Lock()
        self._db = connect(path)
        with self._lock:
            for statement in _DDL:
                self._db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _ensure(self, device_id: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO device_state (device_id) VALUES (?)", (device_id,))

    def seen(self, device_id: str, at: float) -> None:
        """A message from the device itself arrived at ``at``."""
        with self._lock:
            self._ensure(device_id)
            self._db.execute(
                "UPDATE device_state SET last_seen = MAX(COALESCE(last_seen, 0), ?)"
                " WHERE device_id = ?",
                (at, device_id),
            )

    def set_status(self, device_id: str, status: str, at: float, *, retained: bool) -> None:
        """Online/offline from the status topic (retained replay, live status or last will).

        A retained status only fills in what is not known yet: it is older than
        anything ingest has already seen live.
        """
        with self._lock:
            self._ensure(device_id)
            if retained:
                self._db.execute(
                    "UPDATE device_state SET status = ?, status_at = ?"
                    " WHERE device_id = ? AND status IS NULL",
                    (status, at, device_id),
                )
            else:
                self._db.execute(
                    "UPDATE device_state SET status = ?, status_at = ? WHERE device_id = ?",
                    (status, at, device_id),
                )

    def records_received(
        self, device_id: str, seqs: Iterable[tuple[int, int]], newest_ts: int
    ) -> None:
        """Record ``(seq, span)`` pairs as received and the newest record time."""
        new = [(seq, seq + max(span, 1) - 1) for seq, span in seqs]
        with self._lock:
            self._ensure(device_id)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT first_seq, last_seq FROM seq_ranges WHERE device_id = ?", (device_id,)
                ).fetchall()
                merged = merge_ranges([(int(a), int(b)) for a, b in rows] + new)
                self._db.execute("DELETE FROM seq_ranges WHERE device_id = ?", (device_id,))
                self._db.executemany(
                    "INSERT INTO seq_ranges (device_id, first_seq, last_seq) VALUES (?, ?, ?)",
                    [(device_id, a, b) for a, b in merged],
                )
                self._db.execute(
                    "UPDATE device_state SET newest_record_ts ="
                    " MAX(COALESCE(newest_record_ts, 0), ?) WHERE device_id = ?",
                    (newest_ts, device_id),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def gaps(self, device_id: str) -> list[tuple[int, int]]:
        """Missing seq ranges ``[first, last]`` between the ranges received so far."""
        with self._lock:
            rows = self._db.execute(
                "SELECT first_seq, last_seq FROM seq_ranges WHERE device_id = ? ORDER BY first_seq",
                (device_id,),
            ).fetchall()
        return [(int(a[1]) + 1, int(b[0]) - 1) for a, b in pairwise(rows)]

    def missing_total(self) -> int:
        """How many seqs are missing over all devices (the gap metric)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT device_id, first_seq, last_seq FROM seq_ranges"
                " ORDER BY device_id, first_seq"
            ).fetchall()
        total = 0
        for prev, cur in pairwise(rows):
            if prev[0] == cur[0]:
                total += int(cur[1]) - int(prev[2]) - 1
        return total

    def get(self, device_id: str) -> DeviceStatus | None:
        with self._lock:
            row = self._db.execute(
                "SELECT device_id, last_seen, status, status_at, newest_record_ts"
                " FROM device_state WHERE device_id = ?",
                (device_id,),
            ).fetchone()
        return None if row is None else DeviceStatus(*row)

    def interruption_candidates(self, now: float) -> list[tuple[str, float]]:
        """``(device_id, silent_since)`` of devices not seen for more than ``silent_after_s``.

        ``silent_since`` is the last time the device was heard from. A device
        never seen at all is not listed: it has no history to be interrupted.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT device_id, last_seen FROM device_state"
                " WHERE last_seen IS NOT NULL AND last_seen < ? ORDER BY device_id",
                (now - self.silent_after_s,),
            ).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]
