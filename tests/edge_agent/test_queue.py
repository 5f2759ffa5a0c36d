"""edge_agent.queue: a real SQLite file, durability, seq rules, bounded disk, crash safety."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import structlog

from edge_agent.queue import QueueError, RecordQueue
from protocol import channels
from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED, Record

T0 = 1_767_225_600  # 2026-01-01T00:00Z, on the 15-minute grid
MiB = 1024 * 1024
SMALL = 192 * 1024  # room for ~100 raw records: the size rules engage after a few hundred puts

# A realistic three-phase record: every instant channel and every counter.
INSTANT = [n for n in channels.NAMES if channels.get(n).kind == channels.INSTANT]
COUNTERS = [n for n in channels.NAMES if channels.get(n).kind == channels.COUNTER]


def minute(i: int, *, value: float = 230.0, energy: int | None = None) -> Record:
    """The record of minute ``i`` after T0 (seq 0: not stored yet)."""
    stats = {name: (value, value - 1.0, value + 1.0) for name in INSTANT}
    stats["pf_total"] = (0.5, 0.25, 0.75)
    stats["f_hz"] = (50.0, 49.5, 50.5)
    counters = {name: 1000 + i if energy is None else energy for name in COUNTERS}
    return Record(0, T0 + 60 * i, 60, CLOCK_SYNCED, 60, 60, 1, stats, counters)


def seqs(records: list[Record]) -> list[int]:
    return [r.seq for r in records]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "queue" / "agent-queue.sqlite3"


def test_put_is_durable_across_reopen(path: Path) -> None:
    exact = Record(
        0,
        T0,
        60,
        CLOCK_SYNCED,
        59,
        60,
        1,
        {"u_l1_v": (230.123456789, 229.0, 231.0)},
        {"e_imp_wh": 9_000_000_000_000},
    )
    with RecordQueue(path, 4 * MiB) as queue:
        stored = queue.put(exact)
        assert stored.seq == 1
        assert exact.seq == 0  # the caller's record is left alone
        queue.put(minute(1))
    with RecordQueue(path, 4 * MiB) as queue:
        first, second = queue.pending(10)
        # Full float64 precision and every field, not just the wire resolution.
        assert (first.seq, first.ts, first.period_s, first.clock) == (1, T0, 60, CLOCK_SYNCED)
        assert (first.samples, first.expected, first.span) == (59, 60, 1)
        assert first.stats == exact.stats
        assert first.counters == exact.counters
        expected = minute(1)
        expected.seq = 2
        assert second == expected
        assert queue.depth() == 2


def test_seq_survives_restart_and_is_never_reused(path: Path) -> None:
    with RecordQueue(path, 4 * MiB) as queue:
        assert seqs([queue.put(minute(i)) for i in range(3)]) == [1, 2, 3]
        assert queue.ack([1, 2, 3]) == 3
        assert queue.depth() == 0
        assert queue.next_seq == 4
    with RecordQueue(path, 4 * MiB) as queue:
        assert queue.put(minute(3)).seq == 4  # not 1, although the table is empty


def test_order_exclude_and_ack(path: Path) -> None:
    with RecordQueue(path, 4 * MiB) as queue:
        for i in range(5):
            queue.put(minute(i))
        assert seqs(queue.pending(2, newest_first=True)) == [5, 4]
        assert seqs(queue.pending(2)) == [1, 2]
        assert seqs(queue.pending(10, exclude={1, 3})) == [2, 4, 5]
        assert seqs(queue.pending(2, newest_first=True, exclude=[5])) == [4, 3]
        assert queue.pending(0) == []
        assert queue.oldest_ts() == T0
        assert queue.ack([1, 2, 99]) == 2  # 99 is not there (acked twice, say)
        assert queue.ack([]) == 0
        assert queue.oldest_ts() == T0 + 120
        assert queue.depth() == 3
        assert seqs(queue.pending(10)) == [3, 4, 5]
        assert queue.size_bytes() > 0
        queue.ack([3, 4, 5])
        assert queue.oldest_ts() is None


def test_coarsening_keeps_the_oldest_data_at_lower_resolution(path: Path) -> None:
    queue = RecordQueue(path, SMALL)
    n = 450  # 7.5 hours of minutes: far more than SMALL holds raw
    for i in range(n):
        # minute j of each cell carries value 200 + j, so each cell's mean is 207
        queue.put(minute(i, value=200.0 + i % 15))
        assert queue.size_bytes() <= SMALL
    assert queue.depth() < n
    assert queue.dropped_records == 0  # coarsening was enough
    stored = queue.pending(n)
    assert [r.seq for r in stored] == sorted(r.seq for r in stored)
    coarse = [r for r in stored if r.period_s == 900]
    raw = [r for r in stored if r.period_s == 60]
    assert coarse and raw
    assert max(r.seq for r in coarse) < min(r.seq for r in raw)  # oldest first
    # Every minute is accounted for: spans add up to all seqs ever put, in order.
    assert sum(r.span for r in stored) == n
    for a, b in itertools.pairwise(stored):
        assert b.seq == a.seq + a.span
    first = coarse[0]
    assert (first.seq, first.ts, first.span) == (1, T0, 15)
    assert (first.samples, first.expected) == (900, 900)
    # mean of 200..214 = 207, min of mins = 199, max of maxes = 215
    assert first.stats["u_l1_v"] == (207.0, 199.0, 215.0)
    assert first.stats["f_hz"] == (50.0, 49.5, 50.5)
    assert first.counters["e_imp_wh"] == 1000 + 14  # end of the cell's last minute
    for r in coarse:
        assert r.ts % 900 == 0
    queue.close()
    assert path.stat().st_size <= SMALL


def test_size_stays_within_budget_and_loss_is_counted(path: Path) -> None:
    # One record per 15-minute cell: coarsening cannot gain anything, so only
    # dropping keeps the file inside its budget.
    budget = SMALL
    with structlog.testing.capture_logs() as logs:
        queue = RecordQueue(path, budget)
        for i in range(300):
            queue.put(minute(15 * i))
            assert queue.size_bytes() <= budget  # database + WAL + shm, after every put
    newest = queue.pending(1, newest_first=True)[0]
    assert newest.seq == 300 and newest.period_s == 60  # the newest are kept raw
    assert queue.dropped_records > 0
    assert queue.dropped_records + sum(r.span for r in queue.pending(1000)) == 300
    loss = [e for e in logs if e["event"] == "queue.data_loss"]
    assert loss and loss[0]["first_seq"] == 1
    assert sum(e["minutes"] for e in loss) == queue.dropped_records
    queue.close()
    assert path.stat().st_size <= budget


def test_records_in_flight_are_never_merged_or_dropped(path: Path) -> None:
    queue = RecordQueue(path, SMALL)
    for i in range(30):
        queue.put(minute(i))
    in_flight = seqs(queue.pending(5))  # the uplink took the five oldest
    assert in_flight == [1, 2, 3, 4, 5]
    for i in range(30, 450):
        queue.put(minute(i))
    oldest = queue.pending(20, exclude=in_flight)  # a later round, they are still out
    assert all(r.period_s == 60 for r in queue.pending(5))
    # Cell 0 holds in-flight minutes: left raw, whole. Cell 1 onwards coarsened.
    assert seqs(queue.pending(15))[:15] == list(range(1, 16))
    assert oldest[10].period_s == 900 and oldest[10].seq == 16
    assert queue.ack(in_flight) == 5
    queue.close()


# Re-anchoring: a module whose RTC lost its time stamped from 2000-01-01T00:00Z on;
# then it learnt that this instant was 2026-03-02T10:00:37.5Z.
OLD = 946_684_800
REAL = 1_772_445_600  # 2026-03-02T10:00Z
STEP = REAL + 37.5 - OLD


def unanchored(ts: int, *, period_s: int = 60) -> Record:
    record = minute(0)
    record.ts, record.clock, record.period_s = ts, CLOCK_UNANCHORED, period_s
    record.span = record.samples = record.expected = period_s // 60
    return record


def test_reanchor_restamps_this_runs_unanchored_records(path: Path) -> None:
    with RecordQueue(path, 4 * MiB) as queue:  # an earlier run, its base unknown
        queue.put(unanchored(OLD - 7200))
        queue.put(unanchored(OLD - 7140))
    with RecordQueue(path, 4 * MiB) as queue:
        since = queue.next_seq
        assert since == 3
        queue.put(unanchored(OLD - 900, period_s=900))  # 3: coarsened while unanchored
        for i in range(6):
            queue.put(unanchored(OLD + 60 * i))  # 4..9
        estimated = minute(1)
        estimated.ts, estimated.clock = REAL + 600, CLOCK_ESTIMATED
        queue.put(estimated)  # 10: another flag, left alone
        before = {r.seq: r for r in queue.pending(100)}
        # The uplink awaits the PUBACK of 4; its round took 10 and 9 to publish.
        assert seqs(queue.pending(2, newest_first=True, exclude={4})) == [10, 9]

        assert queue.reanchor(STEP, since) == 5
        assert queue.reanchor(STEP, since) == 0  # nothing unanchored left outside the lease

    with RecordQueue(path, 4 * MiB) as queue:  # on disk: ts column and payload agree
        after = {r.seq: r for r in queue.pending(100)}
        assert queue.oldest_ts() == OLD - 7200
    stamps = {seq: (r.ts, r.clock) for seq, r in after.items()}
    assert stamps == {
        1: (OLD - 7200, CLOCK_UNANCHORED),  # earlier run: says it could not be anchored
        2: (OLD - 7140, CLOCK_UNANCHORED),
        3: (REAL - 900, CLOCK_ESTIMATED),  # 09:45:37.5 -> its 15-minute cell, 09:45
        4: (OLD, CLOCK_UNANCHORED),  # in flight
        5: (REAL + 60, CLOCK_ESTIMATED),  # 10:01:37.5 -> the minute it started in
        6: (REAL + 120, CLOCK_ESTIMATED),
        7: (REAL + 180, CLOCK_ESTIMATED),
        8: (REAL + 240, CLOCK_ESTIMATED),
        9: (OLD + 300, CLOCK_UNANCHORED),  # about to be published
        10: (REAL + 600, CLOCK_ESTIMATED),
    }
    for seq, record in after.items():  # everything else is as it was
        record.ts, record.clock = before[seq].ts, before[seq].clock
        assert record == before[seq]
        assert (record.samples, record.span) == (before[seq].samples, before[seq].span)
        assert record.counters == before[seq].counters


def test_reanchor_of_a_large_backlog_stays_within_the_budget(path: Path) -> None:
    queue = RecordQueue(path, SMALL)  # the smallest WAL share: many small transactions
    for i in range(90):
        queue.put(unanchored(OLD + 60 * i))
    assert queue.dropped_records == 0 and queue.depth() == 90
    assert queue.reanchor(STEP, 1) == 90
    assert queue.size_bytes() <= SMALL
    stored = queue.pending(100)
    assert [r.ts for r in stored] == [REAL + 60 * i for i in range(90)]
    assert {r.clock for r in stored} == {CLOCK_ESTIMATED}
    queue.close()


def test_seconds_until_full(path: Path) -> None:
    with RecordQueue(path, 4 * MiB) as queue:
        queue.put(minute(0))
        assert queue.seconds_until_full(0.0) is None
        empty = queue.seconds_until_full(1 / 60)
        assert empty is not None and empty > 60 * 60  # hours of minutes fit in 4 MiB
        for i in range(1, 200):
            queue.put(minute(i))
        later = queue.seconds_until_full(1 / 60)
        assert later is not None and 0 < later < empty
        assert queue.seconds_until_full(2 / 60) == pytest.approx(later / 2)


def test_puts_and_acks_from_two_threads(path: Path) -> None:
    queue = RecordQueue(path, 4 * MiB)
    acked: list[int] = []
    done = threading.Event()

    def uplink() -> None:
        while not done.is_set() or queue.depth():
            batch = seqs(queue.pending(7, exclude=acked))
            acked.extend(batch)
            queue.ack(batch)

    thread = threading.Thread(target=uplink)
    thread.start()
    for i in range(300):
        queue.put(minute(i))
    done.set()
    thread.join(timeout=30)
    assert sorted(acked) == list(range(1, 301))
    assert queue.depth() == 0
    queue.close()


def test_corrupt_file_is_set_aside(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 1000)
    with structlog.testing.capture_logs() as logs, RecordQueue(path, 4 * MiB) as queue:
        assert queue.depth() == 0
        assert queue.put(minute(0)).seq == 1
    assert [e["event"] for e in logs] == ["queue.corrupt"]
    assert len(list(path.parent.glob("agent-queue.sqlite3.corrupt-*"))) == 1


CRASH_SCRIPT = """
import sys
from edge_agent.queue import QueueError, RecordQueue
from protocol.codec import Record
queue = RecordQueue(sys.argv[1], 4 * 1024 * 1024)
i = 0
while True:
    r = queue.put(Record(0, 1767225600 + 60 * i, 60, 0, 60, 60, 1,
                         {"u_l1_v": (230.0, 229.0, 231.0)}, {"e_imp_wh": i}))
    print(r.seq, flush=True)  # reported only after put returned
    i += 1
"""


def test_every_put_that_returned_survives_sigkill(path: Path) -> None:
    path.parent.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    returned = []
    try:
        for line in proc.stdout:
            returned.append(int(line))
            if len(returned) >= 200:
                break
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-stream: it is putting as fast as it can
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with RecordQueue(path, 4 * MiB) as queue:
        stored = seqs(queue.pending(10_000))
        assert stored[: len(returned)] == returned
        assert stored == list(range(1, len(stored) + 1))  # nothing torn, no holes
        assert {r.counters["e_imp_wh"] for r in queue.pending(10_000)} == set(range(len(stored)))
        assert queue.put(minute(0)).seq == len(stored) + 1


def test_a_record_that_cannot_be_sent_is_refused(path: Path) -> None:
    with RecordQueue(path, 4 * MiB) as queue:
        bad = Record(0, T0, 60, CLOCK_SYNCED, 1, 60, 1, {"u_l1_v": (float("nan"), 0.0, 1.0)}, {})
        with pytest.raises(ValueError, match="non-finite"):
            queue.put(bad)
        assert queue.depth() == 0
        assert queue.put(minute(0)).seq == 1  # no seq was used up


def test_one_process_per_queue_file(path: Path) -> None:
    with RecordQueue(path, 4 * MiB) as queue:
        queue.put(minute(0))
        with pytest.raises(QueueError, match="in use by another process"):
            RecordQueue(path, 4 * MiB)
        assert queue.put(minute(1)).seq == 2  # the first one is unharmed
    with RecordQueue(path, 4 * MiB) as queue:  # closed: free again
        assert queue.depth() == 2
