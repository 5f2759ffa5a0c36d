"""The durable record queue: every record is on disk before anything else happens to it.

``RecordQueue`` is a SQLite file in WAL mode with ``synchronous=FULL``: ``put``
commits (and so fsyncs the WAL) before it returns, and a record leaves the file
only through ``ack``, which the uplink calls after the broker's PUBACK. A crash,
a power cut or a kill at any point loses nothing that ``put`` returned.

Sequence numbers: ``put`` assigns the next one from the ``meta`` table inside the
same transaction as the insert; the counter only grows, so a seq survives
restarts and is never reused, even after its row was acked and deleted.

Bounded disk (``max_bytes``, the database, its WAL and shared-memory file
together): the WAL gets a fixed share (1/16, between 64 KiB and 4 MiB: it is
checkpointed at half of it and truncated back after), the rest is for records.
When they outgrow it, the oldest raw 1-minute records are coarsened into
``coarsen_period_s`` records (``edge_agent.coarsen``; ~15x smaller) instead of
dropped, down to 90 % of the budget so this does not run on every put. Only when
nothing is left to merge are records dropped, oldest first (by then the oldest
are coarse ones), down to 99 % of the budget: counted in ``dropped_records`` and
logged as ``queue.data_loss``. Freed pages go back to the file system
(``auto_vacuum=INCREMENTAL``), so the file really shrinks; every transaction is
kept small enough for the WAL's share.

Records in flight are never merged or dropped. The uplink passes the seqs it
awaits PUBACKs for as ``pending(exclude=...)``; the queue remembers that set plus
the records that call returned (the uplink is about to publish them) until the
next ``pending`` call, and the coarsener leaves all of them alone.

Re-anchoring (``reanchor``): when the clock learns the real time, the records
this run stamped without it get their ``ts`` moved by the clock's step and the
flag ``CLOCK_ESTIMATED``, in place; records of earlier runs and records in flight
keep theirs (see the method).

One process per file: an exclusive ``flock`` on ``<path>.lock`` while open.

Threads: one connection guarded by one lock (``check_same_thread=False``). The
poller thread puts, the MQTT network thread acks, and the uplink reads; SQLite
allows one writer at a time anyway, so two connections would only add
SQLITE_BUSY retries, and the in-flight set must change atomically with the reads
that use it. Every operation is short (one fsync for put/ack); nothing holds the
lock across network I/O. Coarsening, rare, holds it for longer (tens of ms).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import IO

import structlog

from edge_agent import coarsen
from edge_agent.queue_schema import DDL, META_DEFAULTS, encode_payload, record_from_row
from protocol.codec import CLOCK_ESTIMATED, CLOCK_UNANCHORED, Record

__all__ = ["QueueError", "RecordQueue"]

log = structlog.get_logger(__name__)

_COARSEN_TO = 0.90  # coarsen down to this share of the budget (hysteresis)
_DROP_TO = 0.99  # drop down to this share: lose little, but not on every put
_SHM_BYTES = 32 * 1024  # the WAL index file, fixed size for a database this small
_ROW_OVERHEAD = 48  # bytes per row beyond the payload (b-tree cell, ts index entry)


_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26


class QueueError(RuntimeError):
    """The queue file cannot be used (disk full, read-only, open in another process)."""


class _Corrupt(sqlite3.DatabaseError):
    """The file opened, but its integrity check failed."""


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    # Only damage is repaired by starting afresh; "locked", "I/O error" or "cannot
    # open" must never make us set a healthy file aside.
    return isinstance(exc, _Corrupt) or getattr(exc, "sqlite_errorcode", None) in (
        _SQLITE_CORRUPT,
        _SQLITE_NOTADB,
    )


class RecordQueue:
    """Durable FIFO of records keyed by seq. See the module docstring for the rules."""

    def __init__(self, path: Path | str, max_bytes: int, coarsen_period_s: int = 900) -> None:
        if coarsen_period_s <= 60 or coarsen_period_s % 60:
            raise ValueError("coarsen_period_s must be whole minutes above one")
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.coarsen_period_s = coarsen_period_s
        # The WAL's share: between 64 KiB and 4 MiB, 1/16 of the total.
        self._wal_bytes = min(4 << 20, max(64 << 10, self.max_bytes // 16))
        self._budget = self.max_bytes - self._wal_bytes - _SHM_BYTES
        if self._budget < 64 * 1024:
            raise ValueError(f"max_bytes too small for a queue: {self.max_bytes}")
        self._lock = threading.Lock()
        self._closed = False
        self._leased: frozenset[int] = frozenset()
        self._last_row_bytes = 1024  # estimate until the first put
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lockfile = self._exclusive()
        try:
            self._db = self._open()
            self._depth = self._scalar("SELECT COUNT(*) FROM records")
            with self._lock:
                self._enforce_limit()  # the budget may have been lowered since last run
        except BaseException:
            self._lockfile.close()
            raise

    # --- opening ----------------------------------------------------------------

    def _exclusive(self) -> IO[bytes]:
        # One process per queue: a second agent would share seqs but not the
        # in-memory depth and in-flight set. The lock dies with the process.
        fh = open(str(self.path) + ".lock", "wb")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise QueueError(f"queue {self.path} is in use by another process") from None
        return fh

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise QueueError(f"cannot open queue {self.path}: {exc}") from exc
            # A corrupt file (storage failure) must not keep the agent from
            # measuring: keep it aside for forensics and start a new queue.
            aside = self._quarantine()
            log.error("queue.corrupt", path=str(self.path), moved_to=str(aside), error=str(exc))
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a commit is
        # exactly where we want it to be.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise _Corrupt("quick_check failed")
            # auto_vacuum must be chosen before the first table exists; an older file
            # without it is converted once by VACUUM.
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            self._page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
            # Transactions are kept below half the WAL's share (pages), checkpoints run
            # when it is half full: the WAL never needs more than its share.
            self._txn_pages = max(4, self._wal_bytes // self._page_size // 2)
            db.execute(f"PRAGMA journal_size_limit = {self._wal_bytes // 2}")
            db.execute(f"PRAGMA wal_autocheckpoint = {self._txn_pages}")
            db.execute("BEGIN IMMEDIATE")
            for statement in DDL:
                db.execute(statement)
            db.executemany(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", META_DEFAULTS.items()
            )
            # Defensive: next_seq is never below a stored seq (a hand-edited file).
            db.execute(
                "UPDATE meta SET value = max(value, (SELECT coalesce(max(seq), 0) + 1"
                " FROM records)) WHERE key = 'next_seq'"
            )
            db.execute("COMMIT")
            if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                db.execute("VACUUM")
        except BaseException:
            db.close()
            raise
        return db

    def _quarantine(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        return aside

    # --- small helpers (caller holds the lock, or is __init__) -----------------

    def _scalar(self, sql: str, params: Iterable[object] = ()) -> int:
        return int(self._db.execute(sql, tuple(params)).fetchone()[0])

    def _meta(self, key: str) -> int:
        return self._scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def _used_bytes(self) -> int:
        pages = self._scalar("PRAGMA page_count") - self._scalar("PRAGMA freelist_count")
        return pages * self._page_size

    # --- the API ----------------------------------------------------------------

    def put(self, record: Record) -> Record:
        """Store ``record`` under the next seq; returns it with that seq, once on disk.

        ValueError (nothing stored) for a record the codec could not send (NaN,
        unknown channel...): stored, it would block the uplink forever.
        """
        record.check()
        payload = encode_payload(record)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                seq = self._meta("next_seq")
                self._db.execute(
                    "INSERT INTO records (seq, ts, period_s, span, coarsened, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        seq,
                        record.ts,
                        record.period_s,
                        record.span,
                        int(record.period_s > 60),
                        payload,
                    ),
                )
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise QueueError(f"cannot store record: {exc}") from exc
            self._depth += 1
            self._last_row_bytes = len(payload) + _ROW_OVERHEAD
            if self._used_bytes() > self._budget:
                try:
                    self._enforce_limit()
                except sqlite3.Error as exc:
                    # The record is stored; raising would make the caller store it
                    # twice. The limit is enforced again at the next put.
                    self._rollback()
                    log.error("queue.enforce_failed", error=str(exc))
        return Record(
            seq,
            record.ts,
            record.period_s,
            record.clock,
            record.samples,
            record.expected,
            record.span,
            record.stats,
            record.counters,
        )

    def pending(
        self, limit: int, *, newest_first: bool = False, exclude: Collection[int] = ()
    ) -> list[Record]:
        """Up to ``limit`` stored records, oldest (or newest) seq first, skipping ``exclude``.

        ``exclude`` is the uplink's in-flight set; it and the returned records are
        protected from coarsening until the next call (module docstring).
        """
        order = "DESC" if newest_first else "ASC"
        skip = frozenset(exclude)
        out: list[Record] = []
        with self._lock:
            if limit > 0:
                rows = self._db.execute(
                    f"SELECT seq, ts, period_s, span, payload FROM records ORDER BY seq {order}"
                )
                for row in rows:
                    if row[0] in skip:
                        continue
                    out.append(record_from_row(*row))
                    if len(out) >= limit:
                        break
                rows.close()
            self._leased = skip.union(r.seq for r in out)
        return out

    def ack(self, seqs: Iterable[int]) -> int:
        """Delete the acknowledged records (after PUBACK); returns how many were stored."""
        chunk = list(seqs)
        if not chunk:
            return 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                deleted = 0
                for i in range(0, len(chunk), 500):  # SQLite's host-parameter limit
                    part = chunk[i : i + 500]
                    marks = ",".join("?" * len(part))
                    cur = self._db.execute(f"DELETE FROM records WHERE seq IN ({marks})", part)
                    deleted += cur.rowcount
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise QueueError(f"cannot delete acknowledged records: {exc}") from exc
            self._depth -= deleted
            self._leased = self._leased.difference(chunk)
            self._reclaim_if_sparse()
        return deleted

    def reanchor(self, step_s: float, since_seq: int) -> int:
        """Re-stamp the records this run made before the clock knew the time; how many.

        Every stored record with ``seq >= since_seq`` (``since_seq``: ``next_seq`` when
        this run began) flagged ``CLOCK_UNANCHORED`` gets ``ts + step_s`` (the clock's
        step, ``Clock.take_anchor_step``), put on its period's grid like every ``ts``
        (the cell its start falls in, ``coarsen.bucket_start``), and the flag
        ``CLOCK_ESTIMATED``. Records sharing one step keep their distance, and none
        lands on a minute stamped after the step. Untouched: records of earlier runs
        (their clock's base is unknown: they stay unanchored, and say so) and those in
        flight (the lease, module docstring): what is on its way says unanchored, and
        so does a copy sent again. Small transactions, like coarsening (the WAL's
        share); the lock is held throughout, so the uplink sees all or nothing.
        """
        rows_per_txn = max(1, (self._txn_pages - 4) * 4)  # ~n/4 + 4 pages, as in _coarsen_some
        changed = 0
        with self._lock:
            cursor = since_seq
            try:
                while True:
                    rows = self._db.execute(
                        "SELECT seq, ts, period_s, span, payload FROM records WHERE seq >= ?"
                        " ORDER BY seq LIMIT ?",
                        (cursor, rows_per_txn),
                    ).fetchall()
                    if not rows:
                        break
                    cursor = rows[-1][0] + 1
                    updates = []
                    for row in rows:
                        record = record_from_row(*row)
                        if record.clock != CLOCK_UNANCHORED or record.seq in self._leased:
                            continue
                        ts = coarsen.bucket_start(record.ts + step_s, record.period_s)
                        if ts < 0:
                            continue  # a step back past 1970 (a bogus anchor): leave it be
                        record.ts, record.clock = ts, CLOCK_ESTIMATED
                        updates.append((record.ts, encode_payload(record), record.seq))
                    if updates:
                        self._db.execute("BEGIN IMMEDIATE")
                        self._db.executemany(
                            "UPDATE records SET ts = ?, payload = ? WHERE seq = ?", updates
                        )
                        self._db.execute("COMMIT")
                        changed += len(updates)
            except (sqlite3.Error, ValueError) as exc:  # ValueError: a malformed payload
                self._rollback()
                raise QueueError(f"cannot re-anchor records: {exc}") from exc
        return changed

    def depth(self) -> int:
        """Records stored (raw and coarse). Kept in memory: COUNT(*) would read the file."""
        with self._lock:
            return self._depth

    def oldest_ts(self) -> int | None:
        """``ts`` of the oldest stored record, or None when empty."""
        with self._lock:
            row = self._db.execute("SELECT ts FROM records ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def size_bytes(self) -> int:
        """Bytes the queue occupies on disk now (database, WAL and shared-memory file)."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(str(self.path) + suffix).st_size
        return total

    @property
    def dropped_records(self) -> int:
        """1-minute records ever lost to the size limit (sum of spans); 0 is the goal."""
        with self._lock:
            return self._meta("dropped_records")

    @property
    def next_seq(self) -> int:
        with self._lock:
            return self._meta("next_seq")

    def seconds_until_full(self, record_rate_per_s: float) -> float | None:
        """At ``record_rate_per_s`` net growth (1/60 while the uplink is down), seconds
        until the budget is reached and coarsening starts; None if not growing.

        Coarsening then makes room for about 15x as many minutes again before any
        record is dropped, so this is a warning, not the moment of data loss.
        """
        if record_rate_per_s <= 0:
            return None
        with self._lock:
            free = max(0, self._budget - self._used_bytes())
            per_record = self._last_row_bytes
        return free / (record_rate_per_s * per_record)

    def close(self) -> None:
        """Checkpoint the WAL into the file and close. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
                self._lockfile.close()

    def __enter__(self) -> RecordQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- bounded disk (caller holds the lock) -------------------------------------

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _reclaim(self) -> None:
        # In steps, each its own small transaction (see _txn_pages). fetchall():
        # the pragma frees pages as it is stepped.
        while self._scalar("PRAGMA freelist_count"):
            self._db.execute(f"PRAGMA incremental_vacuum({self._txn_pages})").fetchall()

    def _reclaim_if_sparse(self) -> None:
        # After a backlog drained, give the space back; during steady operation
        # (one put, one ack) freed pages are simply reused.
        free = self._scalar("PRAGMA freelist_count")
        if free > 256 and free * 4 > self._scalar("PRAGMA page_count"):
            self._reclaim()

    def _enforce_limit(self) -> None:
        if self._used_bytes() <= self._budget:
            return
        target = int(self._budget * _COARSEN_TO)
        coarsened = 0
        while self._used_bytes() > target:
            merged = self._coarsen_some()
            if not merged:
                break
            coarsened += merged
        if coarsened:
            log.info("queue.coarsened", records=coarsened, size=self._used_bytes())
        if self._used_bytes() > self._budget:
            self._drop_oldest(int(self._budget * _DROP_TO))
        if self._used_bytes() > self._budget:
            log.warning(
                "queue.over_budget",
                size=self._used_bytes(),
                budget=self._budget,
                reason="every remaining record is in flight",
            )

    def _coarsen_some(self) -> int:
        """Merge the oldest eligible groups, as many as one small transaction holds;
        returns how many raw records were merged (0: nothing left to merge)."""
        period = self.coarsen_period_s
        newest = self._db.execute("SELECT ts FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        if newest is None:
            return 0
        before = coarsen.bucket_start(newest[0], period)
        # A group of n raw rows touches about n/4 + 4 pages (rows, ts index, freed pages).
        room = self._txn_pages
        chosen: list[list[int]] = []
        # Read lazily: the oldest groups are at the start, most of the file is never read.
        raw = self._db.execute("SELECT seq, ts FROM records WHERE coarsened = 0 ORDER BY seq")
        for bucket, seqs in coarsen.groups(raw, period, exclude=self._leased, before=before):
            if len(seqs) < 2:
                continue  # merging one record saves nothing
            # One coarse record per cell: every row of the cell must be in this group.
            in_cell = self._scalar(
                "SELECT COUNT(*) FROM records WHERE ts >= ? AND ts < ?", (bucket, bucket + period)
            )
            if in_cell != len(seqs):
                continue
            cost = len(seqs) // 4 + 4
            if chosen and cost > room:
                break
            chosen.append(seqs)
            room -= cost
        raw.close()
        if not chosen:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for seqs in chosen:
                marks = ",".join("?" * len(seqs))
                rows = self._db.execute(
                    f"SELECT seq, ts, period_s, span, payload FROM records WHERE seq IN ({marks})"
                    " ORDER BY seq",
                    seqs,
                ).fetchall()
                merged = coarsen.merge([record_from_row(*r) for r in rows], period)
                self._db.execute(f"DELETE FROM records WHERE seq IN ({marks})", seqs)
                self._db.execute(
                    "INSERT INTO records (seq, ts, period_s, span, coarsened, payload)"
                    " VALUES (?, ?, ?, ?, 1, ?)",
                    (merged.seq, merged.ts, merged.period_s, merged.span, encode_payload(merged)),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        n = sum(len(s) for s in chosen)
        self._depth -= n - len(chosen)
        self._reclaim()
        return n

    def _drop_oldest(self, target: int) -> None:
        """Delete the oldest records not in flight until the data fits ``target``."""
        lost_rows = lost_minutes = 0
        first: tuple[int, int] | None = None
        last: tuple[int, int] | None = None
        while self._used_bytes() > target:
            need = self._used_bytes() - target
            count = max(1, min(need // self._last_row_bytes + 1, self._txn_pages * 2))
            victims: list[tuple[int, int, int]] = []
            rows = self._db.execute("SELECT seq, ts, span FROM records ORDER BY seq")
            for seq, ts, span in rows:
                if seq not in self._leased:
                    victims.append((seq, ts, span))
                    if len(victims) >= count:
                        break
            rows.close()
            if not victims:
                break
            minutes = sum(v[2] for v in victims)
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "DELETE FROM records WHERE seq = ?", [(v[0],) for v in victims]
                )
                self._db.execute(
                    "UPDATE meta SET value = value + ? WHERE key = 'dropped_records'", (minutes,)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            self._depth -= len(victims)
            lost_rows += len(victims)
            lost_minutes += minutes
            first = first or (victims[0][0], victims[0][1])
            last = (victims[-1][0], victims[-1][1])
            self._reclaim()
        if first is not None and last is not None:
            log.error(
                "queue.data_loss",
                records=lost_rows,
                minutes=lost_minutes,
                first_seq=first[0],
                first_ts=first[1],
                last_seq=last[0],
                last_ts=last[1],
                reason="store full even after coarsening",
            )
