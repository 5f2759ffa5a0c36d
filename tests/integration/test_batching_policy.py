"""The upload batching policy (edge_agent.batching) over a real SQLite queue.

The property that matters: fresh records are never starved behind a long
backlog. The uplink is simulated here only as far as the policy sees it (which
batches are in flight); the MQTT side is covered by the integration tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.batching import BatchPolicy, PlannedBatch, plan_round
from edge_agent.queue import RecordQueue
from protocol.codec import Record

NOW = 1_772_445_600.0  # a minute boundary


def _record(ts: float) -> Record:
    return Record(0, int(ts), 60, 0, 60, 60, 1, {"p_l1_w": (100.0, 90.0, 110.0)}, {"e_imp_wh": 5})


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[RecordQueue]:
    q = RecordQueue(tmp_path / "q.sqlite3", 64 << 20)
    yield q
    q.close()


def _fill(queue: RecordQueue, minutes: int, end: float = NOW) -> list[Record]:
    """``minutes`` records ending with the minute just before ``end``."""
    return [queue.put(_record(end - 60 * (minutes - i))) for i in range(minutes)]


class InFlight:
    """What the uplink would have awaiting PUBACK."""

    def __init__(self) -> None:
        self.batches: list[PlannedBatch] = []

    def plan(self, queue: RecordQueue, policy: BatchPolicy, now: float) -> list[PlannedBatch]:
        fresh = sum(1 for b in self.batches if not b.historical)
        planned = plan_round(
            queue,
            policy,
            now,
            in_flight_seqs={s for b in self.batches for s in b.seqs},
            in_flight_fresh=fresh,
            in_flight_backlog=len(self.batches) - fresh,
        )
        self.batches += planned
        return planned

    def ack_oldest(self, queue: RecordQueue) -> PlannedBatch:
        batch = self.batches.pop(0)
        queue.ack(batch.seqs)
        return batch


def test_fresh_tail_goes_first_then_backlog_oldest_first(queue: RecordQueue) -> None:
    records = _fill(queue, 600)  # ten hours offline
    policy = BatchPolicy(batch_records=60, max_in_flight=4, fresh_window_s=180)
    planned = InFlight().plan(queue, policy, NOW)

    assert [b.historical for b in planned] == [False, True, True, True]
    fresh = planned[0]
    # the records whose period ended within the window (3 minutes), in seq order
    assert [r.seq for r in fresh.records] == [r.seq for r in records[-4:]]
    backlog = [r.seq for b in planned[1:] for r in b.records]
    assert backlog == [r.seq for r in records[: 3 * 60]]  # oldest first, contiguous
    assert all(len(b.records) == 60 for b in planned[1:])


def test_a_new_record_is_not_starved_behind_a_long_backlog(queue: RecordQueue) -> None:
    _fill(queue, 2000)  # a day and a half offline
    policy = BatchPolicy(batch_records=50, max_in_flight=3, fresh_window_s=120)
    uplink = InFlight()
    now = NOW
    uplink.plan(queue, policy, now)
    assert [b.historical for b in uplink.batches] == [False, True, True]

    # The broker acknowledges one batch per step, oldest first; a new minute is
    # stored every 4th step. Every new record must go out within a few steps,
    # however long the backlog, and the backlog must keep draining meanwhile.
    waiting: dict[int, int] = {}  # seq -> step it was stored
    latencies = []
    depth_before = queue.depth()
    for step in range(60):
        if step % 4 == 0:
            now += 60
            waiting[queue.put(_record(now - 60)).seq] = step
        if uplink.batches:
            uplink.ack_oldest(queue)
        for batch in uplink.plan(queue, policy, now):
            for seq in batch.seqs:
                if seq in waiting:
                    assert not batch.historical
                    latencies.append(step - waiting.pop(seq))
    assert len(latencies) >= 14
    assert max(latencies) <= policy.max_in_flight
    assert queue.depth() < depth_before - 1000  # 30+ backlog batches went too


def test_backlog_never_takes_the_last_slot(queue: RecordQueue) -> None:
    _fill(queue, 500, end=NOW - 3600)  # only old records: nothing is fresh
    policy = BatchPolicy(batch_records=10, max_in_flight=4, fresh_window_s=180)
    uplink = InFlight()
    planned = uplink.plan(queue, policy, NOW)
    assert len(planned) == 3 and all(b.historical for b in planned)
    assert uplink.plan(queue, policy, NOW) == []  # the 4th slot waits for a fresh record
    queue.put(_record(NOW - 60))
    (fresh,) = uplink.plan(queue, policy, NOW)
    assert not fresh.historical


def test_in_flight_records_are_not_sent_twice(queue: RecordQueue) -> None:
    _fill(queue, 30)
    policy = BatchPolicy(batch_records=10, max_in_flight=8, fresh_window_s=0)
    uplink = InFlight()
    uplink.plan(queue, policy, NOW)
    uplink.plan(queue, policy, NOW)
    seqs = [s for b in uplink.batches for s in b.seqs]
    assert sorted(seqs) == list(range(1, 31))
    assert len(seqs) == len(set(seqs))


def test_single_slot_still_alternates_fresh_first(queue: RecordQueue) -> None:
    _fill(queue, 100)
    policy = BatchPolicy(batch_records=20, max_in_flight=1, fresh_window_s=120)
    uplink = InFlight()
    (first,) = uplink.plan(queue, policy, NOW)
    assert not first.historical
    uplink.ack_oldest(queue)
    (second,) = uplink.plan(queue, policy, NOW + 300)  # nothing fresh any more
    assert second.historical and second.seqs[0] == 1


def test_policy_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="batch_records"):
        BatchPolicy(batch_records=0)
    with pytest.raises(ValueError, match="max_in_flight"):
        BatchPolicy(max_in_flight=0)
