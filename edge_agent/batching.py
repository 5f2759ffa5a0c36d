"""Which queued records go into the next upload batches: the batching policy.

Pure logic over the durable queue (:class:`edge_agent.queue.RecordQueue` or
anything with the same ``pending``): no MQTT, no threads, so the policy is unit
tested on its own and the uplink only carries out what it decides.

The rules, in order, each time an upload slot is free:

1. **Fresh first.** The newest records still unsent and younger than
   ``fresh_window_s`` (by the end of their period) go out as one live batch
   (``historical=False``), so the portal's "now" never waits behind a long
   backlog.
2. **Backlog oldest first.** Everything else goes out oldest first, in batches of
   ``batch_records``, marked ``historical=True`` so the cloud can tell a catch-up
   from live data.
3. **Bounded in flight.** At most ``max_in_flight`` batches await their PUBACK:
   one fresh batch at a time, and (when more than one slot is allowed) the backlog
   in all but one slot. So neither starves the other: a fresh minute waits at most
   for the previous fresh batch's round trip, never for the whole backlog, and the
   backlog keeps draining however often fresh records come.

Records already in flight are excluded (by seq), so a batch is never sent twice
while its PUBACK is pending; after a reconnect paho resends those itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from protocol.codec import Record

__all__ = ["BatchPolicy", "PendingSource", "PlannedBatch", "plan_round"]


class PendingSource(Protocol):
    """The read side of the durable queue that the policy needs."""

    def pending(
        self, limit: int, *, newest_first: bool = False, exclude: Collection[int] = ()
    ) -> list[Record]: ...


@dataclass(frozen=True)
class BatchPolicy:
    """Limits of the upload policy (from the ``[uplink]`` config)."""

    batch_records: int = 60
    max_in_flight: int = 4
    fresh_window_s: float = 180.0

    def __post_init__(self) -> None:
        if self.batch_records < 1:
            raise ValueError(f"batch_records must be >= 1, got {self.batch_records}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {self.max_in_flight}")
        if self.fresh_window_s < 0:
            raise ValueError(f"fresh_window_s must be >= 0, got {self.fresh_window_s}")

    @property
    def backlog_slots(self) -> int:
        """In-flight batches the backlog may hold (one slot is kept for fresh data)."""
        return self.max_in_flight - 1 if self.max_in_flight > 1 else 1


@dataclass(frozen=True)
class PlannedBatch:
    """Records to send together, in seq order, and whether they are a catch-up."""

    records: tuple[Record, ...]
    historical: bool

    @property
    def seqs(self) -> tuple[int, ...]:
        return tuple(r.seq for r in self.records)


def _is_fresh(record: Record, now: float, window_s: float) -> bool:
    return record.ts + record.period_s >= now - window_s


def plan_round(
    source: PendingSource,
    policy: BatchPolicy,
    now: float,
    *,
    in_flight_seqs: Collection[int],
    in_flight_fresh: int,
    in_flight_backlog: int,
) -> list[PlannedBatch]:
    """The batches to publish now, fresh one first, then backlog oldest first.

    ``in_flight_*`` describe what already awaits a PUBACK; ``now`` is the agent's
    clock (UTC seconds) against which freshness is judged.
    """
    free = policy.max_in_flight - in_flight_fresh - in_flight_backlog
    if free <= 0:
        return []
    planned: list[PlannedBatch] = []
    excluded = set(in_flight_seqs)

    fresh: list[Record] = []
    if in_flight_fresh == 0:
        tail = source.pending(policy.batch_records, newest_first=True, exclude=excluded)
        for record in tail:  # newest first: stop at the first record that is not fresh
            if not _is_fresh(record, now, policy.fresh_window_s):
                break
            fresh.append(record)
    if fresh:
        fresh.sort(key=lambda r: r.seq)
        planned.append(PlannedBatch(tuple(fresh), historical=False))
        excluded.update(r.seq for r in fresh)
        free -= 1

    backlog_free = min(free, policy.backlog_slots - in_flight_backlog)
    if backlog_free <= 0:
        return planned
    backlog = source.pending(
        backlog_free * policy.batch_records, newest_first=False, exclude=excluded
    )
    # Fresh records wait for the fresh slot rather than travel flagged historical.
    backlog = [r for r in backlog if not _is_fresh(r, now, policy.fresh_window_s)]
    planned.extend(
        PlannedBatch(tuple(chunk), historical=True)
        for chunk in _chunks(backlog, policy.batch_records)
    )
    return planned


def _chunks(records: Sequence[Record], size: int) -> list[Sequence[Record]]:
    return [records[i : i + size] for i in range(0, len(records), size)]
