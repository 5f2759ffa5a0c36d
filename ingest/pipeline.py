"""Messages in, their effects stored: decode -> validate -> store -> rollups -> state.

``Pipeline.handle(topic, payload, retained)`` returns normally when the message
may be acknowledged — it was stored, or refused and dead-lettered, or both (a
batch's good records are stored and its bad ones dead-lettered). It raises
:class:`RetryLaterError` when it must NOT be acknowledged because something it
depends on is unavailable (the time-series store, the registry database, the
dead-letter file): the consumer retries and the broker redelivers after a crash.

Anything else that goes wrong (a bug, a payload that trips one) dead-letters the
message as ``internal_error`` with the exception, so one poisoned message can
neither stop the consumer nor loop forever.

Store writes come before dead letters and state: if the store fails nothing else
has been recorded, and a redelivery starts from scratch.

``Pipeline.handle_batch(messages)`` does the same for consecutive messages at
once (the consumer's batches, docs/ingest.md "Batching"): every message is
decoded and validated first, with its effects *deferred*; then the good records
of all of them go to the store in one write per device, inside
``store.batch()`` when the store has one (InfluxStore: one gzip POST per 5000
lines, retried), so a SqliteStore makes one transaction per device and an
InfluxStore one request per few thousand lines instead of one per message.
Rollups are recomputed after that, once per device for the union of its new
readings, then dead letters and device state follow in arrival order. It
returns only when every message of the batch may be acknowledged and raises
RetryLaterError when none may: a redelivered or retried batch rewrites the same
points (writes are idempotent) and starts its dead letters from scratch.
``handle`` is a batch of one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from sqlalchemy.exc import OperationalError as SqlAlchemyOperationalError

from ingest import validate as v
from ingest.deadletter import DeadLetterStore
from ingest.device_state import DeviceStateStore
from ingest.metrics import Metrics
from ingest.rollup_writer import RollupWriter, SiteMeter
from ingest.store import StoreError, TimeSeriesStore
from protocol import topics
from protocol.codec import DecodeError, decode_batch, decode_live, decode_status
from protocol.records import Record

log = structlog.get_logger("ingest.pipeline")

Clock = Callable[[], float]

# How far ahead of ingest's clock a retained status's own ts may be and still be used.
_STATUS_SKEW_S = 300.0


class RetryLaterError(Exception):
    """Do not acknowledge: a dependency failed; the message must be processed again."""


class Directory(Protocol):
    """The registry as the pipeline uses it (ingest.registry.Registry satisfies it)."""

    def active_device(self, device_id: str) -> v.DeviceInfo | None: ...

    def get(self, device_id: str) -> v.DeviceInfo: ...


# Failures of a dependency, not of the message: retry, never dead-letter.
TRANSIENT: tuple[type[BaseException], ...] = (
    StoreError,
    sqlite3.OperationalError,
    SqlAlchemyOperationalError,
)


@dataclass
class Outcome:
    """What happened to one message (for the consumer's log and the tests)."""

    kind: str
    device_id: str | None = None
    records: int = 0
    samples: int = 0
    dead_letters: list[str] = field(default_factory=list)


@dataclass
class _Message:
    """One message being processed, and what happened to it so far."""

    topic: str
    payload: bytes
    retained: bool
    now: float
    outcome: Outcome


Message = tuple[str, bytes, bool]
"""(topic, payload, retained), as ``handle_batch`` takes them."""

# A device's records in a batch are written under these tags.
_Series = tuple[str, str, str]  # device id, site id, meter model


@dataclass
class _Batch:
    """Deferred effects of the messages of one batch, applied by ``_commit``.

    ``records`` and ``live`` are merged per device (one store write each);
    ``after`` runs in arrival order once the store accepted everything and the
    rollups were recomputed: outcomes, metrics, dead letters, device state.
    """

    records: dict[_Series, list[Record]] = field(default_factory=dict)
    live: dict[tuple[str, str], list[tuple[int, dict[str, float]]]] = field(default_factory=dict)
    status: list[tuple[str, str, float, dict[str, object]]] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)


class Pipeline:
    """Decode, validate, store and roll up messages of protocol v1."""

    def __init__(
        self,
        store: TimeSeriesStore,
        directory: Directory,
        site_meters: Callable[[str], Sequence[SiteMeter]],
        *,
        deadletters: DeadLetterStore,
        state: DeviceStateStore,
        metrics: Metrics,
        limits: v.Limits | None = None,
        max_wh_per_s: float = 100_000 / 3600,
        rollover_wh: int | None = None,
        tz: str = "Europe/Sofia",
        lookback_s: int = 3600,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self.directory = directory
        self.deadletters = deadletters
        self.state = state
        self.metrics = metrics
        self.limits = limits or v.Limits()
        self.clock = clock
        self.rollups = RollupWriter(
            store,
            site_meters,
            max_wh_per_s=max_wh_per_s,
            rollover_wh=rollover_wh,
            tz=tz,
            lookback_s=lookback_s,
        )
        self.lookback_s = lookback_s
        self._batch: _Batch | None = None

    # -- entry points ---------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> Outcome:
        """Process one message; raise RetryLaterError when it must not be acknowledged."""
        return self.handle_batch([(topic, payload, retained)])[0]

    def handle_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        """Process consecutive messages together; outcomes in their order.

        Returns when ALL of them may be acknowledged; raises RetryLaterError when
        none may (nothing of theirs but idempotent store points was recorded).
        """
        if not messages:
            return []
        batch = _Batch()
        self._batch = batch
        try:
            outcomes = [self._prepare(t, p, r) for t, p, r in messages]
        finally:
            self._batch = None
        try:
            self._commit(batch)
        except TRANSIENT as exc:
            self.metrics.store_failures.inc()
            raise RetryLaterError(f"{type(exc).__name__}: {exc}") from exc
        except RetryLaterError:
            raise
        except Exception as exc:
            if len(messages) > 1:
                # A bug tripped by one message's data: redo them one by one, so
                # only that message is dead-lettered (writes are idempotent).
                log.exception("batch failed unexpectedly; processing its messages one by one")
                return [o for msg in messages for o in self.handle_batch([msg])]
            topic, payload, retained = messages[0]
            log.exception("message failed unexpectedly; dead-lettered", topic=topic)
            m = _Message(topic, bytes(payload), retained, self.clock(), outcomes[0])
            try:
                self._refuse(m, v.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
            except TRANSIENT as inner:
                raise RetryLaterError(str(inner)) from inner
        return outcomes

    def _store_batch(self) -> AbstractContextManager[None]:
        """The store's write batch (InfluxStore.batch()), or nothing (SqliteStore)."""
        batch: Callable[[], AbstractContextManager[None]] | None = getattr(
            self.store, "batch", None
        )
        return batch() if batch is not None else nullcontext()

    def _commit(self, batch: _Batch) -> None:
        """Store the batch's points, recompute its rollups, then apply what was deferred."""
        started = time.perf_counter()
        # All points first, in one flushed store batch: when the block exits
        # without raising, the store accepted every line.
        with self._store_batch():
            for (device_id, site_id, meter), recs in batch.records.items():
                self.store.write_records(device_id, site_id, meter, recs)
            for (device_id, site_id), samples in batch.live.items():
                self.store.write_live(device_id, site_id, samples)
            for device_id, site_id, ts, status in batch.status:
                self.store.write_status(device_id, site_id, ts, status)
        # Rollups read the counters just written, so they come after the flush
        # (and write directly): once per device for the union of its readings.
        rows = 0
        for (device_id, site_id, _), recs in batch.records.items():
            for group in _clusters(sorted({r.ts + r.period_s for r in recs}), self.lookback_s):
                rows += self.rollups.recompute(device_id, site_id, group)
        if batch.records or batch.live:
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.points.inc(rows)
        for effect in batch.after:
            effect()

    def _defer(self, effect: Callable[[], None]) -> None:
        """Run ``effect`` after the store accepted the batch (now when there is none)."""
        if self._batch is None:
            effect()
        else:
            self._batch.after.append(effect)

    def _prepare(self, topic: str, payload: bytes, retained: bool) -> Outcome:
        """Decode and validate one message; its effects go into the current batch."""
        m = _Message(topic, bytes(payload), retained, self.clock(), Outcome("unknown"))
        try:
            device_id, kind = topics.parse(topic)
        except ValueError as exc:
            self.metrics.messages.labels("unknown").inc()
            return self._refuse(m, v.BAD_TOPIC, str(exc))
        self.metrics.messages.labels(kind).inc()
        m.outcome = Outcome(kind, device_id)
        try:
            if kind == topics.UP:
                return self._uplink(m, device_id)
            if kind == topics.LIVE:
                return self._live(m, device_id)
            if kind == topics.STATUS:
                return self._status(m, device_id)
            return self._refuse(m, v.BAD_TOPIC, "ingest does not read commands")
        except TRANSIENT as exc:
            self.metrics.store_failures.inc()
            raise RetryLaterError(f"{type(exc).__name__}: {exc}") from exc
        except RetryLaterError:
            raise
        except Exception as exc:  # a bug or a payload that trips one: keep it, keep going
            log.exception("message failed unexpectedly; dead-lettered", topic=topic)
            try:
                return self._refuse(m, v.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
            except TRANSIENT as inner:
                raise RetryLaterError(str(inner)) from inner

    # -- kinds ----------------------------------------------------------------------

    def _identify(self, m: _Message, topic_dev: str, payload_dev: str) -> v.DeviceInfo | None:
        """The active registered device, or None after dead-lettering why not."""
        refusal = v.check_identity(topic_dev, payload_dev)
        if refusal is not None:
            self._refuse(m, refusal.reason, refusal.detail)
            return None
        device = self.directory.active_device(topic_dev)
        if device is None:
            reason, detail = self._why_inactive(topic_dev)
            self._refuse(m, reason, detail)
        return device

    def _why_inactive(self, device_id: str) -> tuple[str, str]:
        try:
            device = self.directory.get(device_id)
        except KeyError:  # the registry's UnknownError is a KeyError
            return v.UNKNOWN_DEVICE, f"device {device_id!r} is not registered"
        state = getattr(device, "state", "inactive")
        return v.INACTIVE_DEVICE, f"device {device_id!r} is {getattr(state, 'value', state)}"

    def _uplink(self, m: _Message, device_id: str) -> Outcome:
        try:
            batch = decode_batch(m.payload)
        except DecodeError as exc:
            return self._refuse(m, v.DECODE_ERROR, str(exc))
        device = self._identify(m, device_id, batch.device_id)
        if device is None:
            return m.outcome
        good, refused = v.split_records(batch.records, device, m.now, self.limits)
        if good:
            assert self._batch is not None  # _prepare runs inside handle_batch
            series = (device.id, device.site_id, device.meter_model)
            self._batch.records.setdefault(series, []).extend(good)

            def stored() -> None:
                self.metrics.records.inc(len(good))
                self.metrics.points.inc(len(good))
                self.metrics.lag.set(m.now - max(r.ts + r.period_s for r in good))
                m.outcome.records = len(good)

            self._defer(stored)
        for reason, refusals in sorted(refused.items()):
            detail = f"{len(refusals)} of {len(batch.records)} records: " + "; ".join(
                r.detail for r in refusals[:20]
            )
            self._refuse(m, reason, detail)

        def state() -> None:
            self.state.seen(device.id, m.now)
            if batch.records:
                # Refused records arrived too: they are parked, not missing.
                newest = max(r.ts + r.period_s for r in good) if good else 0
                seqs = [(r.seq, r.span) for r in batch.records]
                self.state.records_received(device.id, seqs, newest)
                self.metrics.gaps.set(self.state.missing_total())

        self._defer(state)
        return m.outcome

    def _live(self, m: _Message, device_id: str) -> Outcome:
        try:
            payload_dev, samples = decode_live(m.payload)
        except DecodeError as exc:
            return self._refuse(m, v.DECODE_ERROR, str(exc))
        device = self._identify(m, device_id, payload_dev)
        if device is None:
            return m.outcome
        good = []
        refused: dict[str, list[v.Refusal]] = {}
        for ts_ms, values in samples:
            problem = v.sample_problem(ts_ms, values, device, m.now, self.limits)
            if problem is None:
                good.append((ts_ms, values))
            else:
                refused.setdefault(problem.reason, []).append(problem)
        if good:
            assert self._batch is not None  # _prepare runs inside handle_batch
            self._batch.live.setdefault((device.id, device.site_id), []).extend(good)

            def stored() -> None:
                self.metrics.points.inc(len(good))
                m.outcome.samples = len(good)

            self._defer(stored)
        for reason, refusals in sorted(refused.items()):
            detail = f"{len(refusals)} of {len(samples)} samples: " + "; ".join(
                r.detail for r in refusals[:20]
            )
            self._refuse(m, reason, detail)
        self._defer(lambda: self.state.seen(device.id, m.now))
        return m.outcome

    def _status(self, m: _Message, device_id: str) -> Outcome:
        try:
            status = decode_status(m.payload)
        except DecodeError as exc:
            return self._refuse(m, v.DECODE_ERROR, str(exc))
        try:
            # Any registered device, whatever its state: a suspended device's last
            # will or retained status is still true, and not worth a dead letter.
            device = self.directory.get(device_id)
        except KeyError:
            return self._refuse(m, v.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
        state = str(status["state"])
        assert self._batch is not None  # _prepare runs inside handle_batch
        # Into the time-series store too, so every portal instance reads the same
        # status (decision 0004 "Device status"). A live message is stamped with
        # its arrival; a retained one is a replay, stamped with the time the device
        # sent it when it says so (else arrival: a retained last will has no ts).
        sent = status.get("ts")
        ts = m.now
        if (
            m.retained
            and isinstance(sent, int | float)
            and not isinstance(sent, bool)
            and 0 < sent <= m.now + _STATUS_SKEW_S  # a wild device clock is not believed
        ):
            ts = float(sent)
        self._batch.status.append((device_id, device.site_id, ts, status))

        def record() -> None:
            self.state.set_status(device_id, state, m.now, retained=m.retained)
            # The last will ("offline") is published by the broker, and a retained
            # status is a replay: neither means the device was heard from now.
            if not m.retained and state != "offline":
                self.state.seen(device_id, m.now)

        self._defer(record)
        return m.outcome

    # -- refusals -------------------------------------------------------------------

    def _refuse(self, m: _Message, reason: str, detail: str) -> Outcome:
        """Dead-letter ``m`` (after the batch's store write: a failed write retries it)."""

        def add() -> None:
            self.deadletters.add(m.now, m.topic, reason, m.payload, detail)
            self.metrics.dead_letters.labels(reason).inc()
            log.warning(
                "dead-lettered",
                topic=m.topic,
                reason=reason,
                detail=detail[:300],
                size=len(m.payload),
            )

        m.outcome.dead_letters.append(reason)
        self._defer(add)
        return m.outcome


def _clusters(reading_ts: list[int], gap_s: int) -> Iterator[list[int]]:
    """Sorted reading times split where they are more than ``gap_s`` apart.

    A batch may hold a late backfill beside today's records: recomputing one
    window from the oldest to the newest would redo every interval between.
    """
    group: list[int] = []
    for ts in reading_ts:
        if group and ts - group[-1] > gap_s:
            yield group
            group = []
        group.append(ts)
    if group:
        yield group
