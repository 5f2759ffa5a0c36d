"""What the stack's viewer knows about each device: only what was uploaded, decoded.

:class:`StackState` is fed raw MQTT messages (topic, payload, retain flag) by
:mod:`simulators.stack_watch` on paho's network thread, decodes them with
``protocol.codec`` as the cloud's ingest would, and keeps per device: the
retained status, how many records and bytes arrived, the newest record, which
sequence numbers are missing, and the latest live sample. The console view and the
plain output read :meth:`StackState.snapshot` from the main thread; the lock makes
each snapshot consistent.

Gaps. Records of one device cover ``[seq, seq + span)`` without overlap
(docs/protocol.md, section 2). A seq between the lowest and the highest received
that never arrived is a gap. The uplink sends the fresh tail before any backlog,
so right after a restart with records left in the queue a gap shows for a moment
and closes when the backlog arrives; one that stays is data lost.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from protocol import topics
from protocol.codec import (
    STATE_ONLINE,
    Batch,
    DecodeError,
    Record,
    decode_batch,
    decode_live,
    decode_status,
)
from simulators.stack_sites import Site

__all__ = [
    "PHASES",
    "STATE_WAITING",
    "BadMessage",
    "BatchEvent",
    "CommandEvent",
    "DeviceRow",
    "Event",
    "LiveEvent",
    "LiveSample",
    "SeqLine",
    "StackState",
    "StatusEvent",
    "Totals",
    "phase_power_w",
]

PHASES = ("L1", "L2", "L3")
_PHASE_CHANNELS = ("p_l1_w", "p_l2_w", "p_l3_w")
STATE_WAITING = "waiting"  # no status seen yet


def phase_power_w(values: dict[str, float]) -> dict[str, float]:
    """Active power by phase ("L1".."L3") and "total" from channel values, where present.

    A single-phase meter (SDM120) reports only the total: it is L1's.
    """
    out = {ph: values[ch] for ph, ch in zip(PHASES, _PHASE_CHANNELS, strict=True) if ch in values}
    if "p_total_w" in values:
        out["total"] = values["p_total_w"]
        if not out.keys() & set(PHASES):
            out["L1"] = values["p_total_w"]
    return out


class SeqLine:
    """Which sequence numbers arrived; the holes between the lowest and the highest."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self.low: int | None = None
        self.high: int | None = None

    def add(self, seq: int, span: int = 1) -> int:
        """Record ``[seq, seq + span)``; returns how many of those seqs are new."""
        new = 0
        for s in range(seq, seq + max(1, span)):
            if s not in self._seen:
                self._seen.add(s)
                new += 1
        last = seq + max(1, span) - 1
        self.low = seq if self.low is None else min(self.low, seq)
        self.high = last if self.high is None else max(self.high, last)
        return new

    @property
    def missing(self) -> int:
        if self.low is None or self.high is None:
            return 0
        return self.high - self.low + 1 - len(self._seen)


@dataclass(frozen=True)
class LiveSample:
    """The latest live sample of a device."""

    ts: float  # UTC unix seconds of the sample (the agent's clock)
    power_w: dict[str, float]  # phase_power_w of the sample
    received: float  # time.monotonic() when it arrived


@dataclass
class _Device:
    site: Site
    poll_s: float
    status: dict[str, Any] | None = None
    records: int = 0
    duplicates: int = 0
    batches: int = 0
    historical_batches: int = 0
    up_bytes: int = 0
    bytes: int = 0
    newest: Record | None = None
    seqs: SeqLine = field(default_factory=SeqLine)
    live: LiveSample | None = None
    live_samples: int = 0
    problem: str | None = None


@dataclass(frozen=True)
class DeviceRow:
    """One device as the view shows it (a copy: safe to read without the lock)."""

    device_id: str
    model: str
    what: str
    poll_s: float
    state: str  # "online", "offline" (retained status or last will) or "waiting"
    records: int
    duplicates: int
    batches: int
    last_ts: float | None  # start of the newest record's minute, UTC unix seconds
    missing: int
    power_w: dict[str, float]  # mean active power of the newest record, by phase
    import_wh: int | None
    export_wh: int | None
    queue_depth: int | None
    modbus_errors: int
    live_until: float | None
    bytes: int
    up_bytes: int
    live: LiveSample | None
    live_samples: int
    problem: str | None


@dataclass(frozen=True)
class Totals:
    devices: int
    online: int
    records: int
    batches: int
    bytes: int
    up_bytes: int
    missing: int
    bad_messages: int


# -- events: what one message was, for the plain output ---------------------------------


@dataclass(frozen=True)
class BatchEvent:
    device_id: str
    batch: Batch
    nbytes: int
    missing: int  # the device's gaps after this batch


@dataclass(frozen=True)
class StatusEvent:
    device_id: str
    status: dict[str, Any]
    retained: bool  # a replay of the last known status, not news


@dataclass(frozen=True)
class LiveEvent:
    device_id: str
    samples: list[tuple[int, dict[str, float]]]


@dataclass(frozen=True)
class BadMessage:
    topic: str
    error: str


@dataclass(frozen=True)
class CommandEvent:
    """A command the stack sent, as the portal would."""

    device_id: str
    command: dict[str, Any]


Event = BatchEvent | StatusEvent | LiveEvent | BadMessage | CommandEvent


class StackState:
    """Per-device state built from decoded MQTT messages; thread-safe."""

    def __init__(self, sites: list[Site], poll_s: dict[str, float]) -> None:
        self._lock = threading.Lock()
        self._devices = {s.device_id: _Device(s, poll_s[s.device_id]) for s in sites}
        self.bad_messages = 0

    @property
    def device_ids(self) -> list[str]:
        return list(self._devices)

    def on_message(self, topic: str, payload: bytes, retained: bool = False) -> Event | None:
        """Decode one message and update the device; the event, or None if not ours."""
        try:
            device_id, kind = topics.parse(topic)
        except ValueError:
            return None
        with self._lock:
            device = self._devices.get(device_id)
            if device is None:
                return None
            device.bytes += len(payload)
            try:
                if kind == topics.UP:
                    return self._on_batch(device, decode_batch(payload), len(payload))
                if kind == topics.STATUS:
                    status = decode_status(payload)
                    device.status = status
                    return StatusEvent(device_id, status, retained)
                if kind == topics.LIVE:
                    _, samples = decode_live(payload)
                    self._on_live(device, samples)
                    return LiveEvent(device_id, samples)
            except DecodeError as exc:
                # What ingest would quarantine: count it, show it, never crash the viewer.
                self.bad_messages += 1
                device.problem = f"undecodable {kind}: {exc}"
                return BadMessage(topic, str(exc))
        return None

    def _on_batch(self, device: _Device, batch: Batch, nbytes: int) -> BatchEvent:
        device.batches += 1
        device.up_bytes += nbytes
        if batch.historical:
            device.historical_batches += 1
        for record in batch.records:
            device.records += 1
            if device.seqs.add(record.seq, record.span) == 0:
                device.duplicates += 1  # at-least-once delivery: harmless
            if device.newest is None or record.seq > device.newest.seq:
                device.newest = record
        return BatchEvent(device.site.device_id, batch, nbytes, device.seqs.missing)

    @staticmethod
    def _on_live(device: _Device, samples: list[tuple[int, dict[str, float]]]) -> None:
        if not samples:
            return
        ts_ms, values = max(samples, key=lambda s: s[0])
        device.live = LiveSample(ts_ms / 1000.0, phase_power_w(values), time.monotonic())
        device.live_samples += len(samples)

    def note_problem(self, device_id: str, problem: str) -> None:
        """Something the view should show beside the device (e.g. its agent failed)."""
        with self._lock:
            if device_id in self._devices:
                self._devices[device_id].problem = problem

    def snapshot(self) -> list[DeviceRow]:
        with self._lock:
            return [_row(d) for d in self._devices.values()]

    def totals(self, rows: list[DeviceRow] | None = None) -> Totals:
        rows = self.snapshot() if rows is None else rows
        return Totals(
            devices=len(rows),
            online=sum(r.state == STATE_ONLINE for r in rows),
            records=sum(r.records for r in rows),
            batches=sum(r.batches for r in rows),
            bytes=sum(r.bytes for r in rows),
            up_bytes=sum(r.up_bytes for r in rows),
            missing=sum(r.missing for r in rows),
            bad_messages=self.bad_messages,
        )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _row(d: _Device) -> DeviceRow:
    status = d.status or {}
    newest = d.newest
    means = {ch: stats[0] for ch, stats in newest.stats.items()} if newest else {}
    counters = newest.counters if newest else {}
    errors = status.get("modbus_errors")
    return DeviceRow(
        device_id=d.site.device_id,
        model=d.site.model,
        what=d.site.what,
        poll_s=d.poll_s,
        state=str(status.get("state", STATE_WAITING)),
        records=d.records,
        duplicates=d.duplicates,
        batches=d.batches,
        last_ts=float(newest.ts) if newest else None,
        missing=d.seqs.missing,
        power_w=phase_power_w(means),
        import_wh=counters.get("e_imp_wh"),
        export_wh=counters.get("e_exp_wh"),
        queue_depth=_int_or_none(status.get("queue_depth")),
        modbus_errors=sum(v for v in errors.values() if isinstance(v, int))
        if isinstance(errors, dict)
        else 0,
        live_until=_int_or_none(status.get("live_until")),
        bytes=d.bytes,
        up_bytes=d.up_bytes,
        live=d.live,
        live_samples=d.live_samples,
        problem=d.problem,
    )
