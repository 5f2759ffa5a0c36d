"""One message in, its effects stored: decode -> validate -> store -> rollups -> state.

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
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
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

log = structlog.get_logger("ingest.pipeline")

Clock = Callable[[], float]


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

    # -- entry point ----------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> Outcome:
        """Process one message; raise RetryLaterError when it must not be acknowledged."""
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
            started = time.perf_counter()
            self.store.write_records(device.id, device.site_id, device.meter_model, good)
            rows = self.rollups.recompute(
                device.id, device.site_id, sorted({r.ts + r.period_s for r in good})
            )
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.records.inc(len(good))
            self.metrics.points.inc(len(good) + rows)
            self.metrics.lag.set(m.now - max(r.ts + r.period_s for r in good))
            m.outcome.records = len(good)
        for reason, refusals in sorted(refused.items()):
            detail = f"{len(refusals)} of {len(batch.records)} records: " + "; ".join(
                r.detail for r in refusals[:20]
            )
            self._refuse(m, reason, detail)
        self.state.seen(device.id, m.now)
        if batch.records:
            # Refused records arrived too: they are parked, not missing.
            newest = max(r.ts + r.period_s for r in good) if good else 0
            self.state.records_received(device.id, [(r.seq, r.span) for r in batch.records], newest)
            self.metrics.gaps.set(self.state.missing_total())
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
            started = time.perf_counter()
            self.store.write_live(device.id, device.site_id, good)
            self.metrics.write_seconds.observe(time.perf_counter() - started)
            self.metrics.points.inc(len(good))
            m.outcome.samples = len(good)
        for reason, refusals in sorted(refused.items()):
            detail = f"{len(refusals)} of {len(samples)} samples: " + "; ".join(
                r.detail for r in refusals[:20]
            )
            self._refuse(m, reason, detail)
        self.state.seen(device.id, m.now)
        return m.outcome

    def _status(self, m: _Message, device_id: str) -> Outcome:
        try:
            status = decode_status(m.payload)
        except DecodeError as exc:
            return self._refuse(m, v.DECODE_ERROR, str(exc))
        try:
            # Any registered device, whatever its state: a suspended device's last
            # will or retained status is still true, and not worth a dead letter.
            self.directory.get(device_id)
        except KeyError:
            return self._refuse(m, v.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
        state = str(status["state"])
        self.state.set_status(device_id, state, m.now, retained=m.retained)
        # The last will ("offline") is published by the broker, and a retained
        # status is a replay: neither means the device was heard from now.
        if not m.retained and state != "offline":
            self.state.seen(device_id, m.now)
        return m.outcome

    # -- refusals -------------------------------------------------------------------

    def _refuse(self, m: _Message, reason: str, detail: str) -> Outcome:
        self.deadletters.add(m.now, m.topic, reason, m.payload, detail)
        self.metrics.dead_letters.labels(reason).inc()
        m.outcome.dead_letters.append(reason)
        log.warning(
            "dead-lettered", topic=m.topic, reason=reason, detail=detail[:300], size=len(m.payload)
        )
        return m.outcome
