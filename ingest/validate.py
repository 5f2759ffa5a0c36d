"""Validation of decoded messages: identity, time and physical plausibility.

Pure functions; the pipeline decides what to do with a refusal (dead-letter it).
Identity is checked per message (a wrong identity taints everything in it);
time and values per record, so one bad minute does not cost a batch its good ones.

Reasons are short stable strings: they label the dead-letter metric and the
``reason`` column, so an operator can query by them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from protocol import channels
from protocol.codec import CLOCK_UNANCHORED, Record

# message-level reasons
DECODE_ERROR = "decode_error"
BAD_TOPIC = "bad_topic"
DEVICE_MISMATCH = "device_mismatch"
UNKNOWN_DEVICE = "unknown_device"
INACTIVE_DEVICE = "inactive_device"
INTERNAL_ERROR = "internal_error"
# record/sample-level reasons
FUTURE_TIMESTAMP = "future_timestamp"
BEFORE_INSTALLATION = "before_installation"
IMPLAUSIBLE_VALUE = "implausible_value"
UNANCHORED_CLOCK = "unanchored_clock"


class DeviceInfo(Protocol):
    """What validation needs of a registry device (ingest.registry.Device has it)."""

    @property
    def id(self) -> str: ...

    @property
    def site_id(self) -> str: ...

    @property
    def meter_model(self) -> str: ...

    @property
    def installed_at(self) -> dt.datetime: ...


@dataclass(frozen=True)
class Limits:
    """Validation tolerances (config section ``validation``)."""

    future_tolerance_s: int = 300
    before_install_tolerance_s: int = 86400


@dataclass(frozen=True)
class Refusal:
    """Why some records (identified by seq) or a whole message were refused."""

    reason: str
    detail: str


def check_identity(topic_device: str, payload_device: str) -> Refusal | None:
    """The payload must name the device whose topic (and broker login) it came on."""
    if topic_device != payload_device:
        return Refusal(
            DEVICE_MISMATCH, f"topic device {topic_device!r} != payload device {payload_device!r}"
        )
    return None


def _implausible(values: Mapping[str, float]) -> str | None:
    for name, value in values.items():
        try:
            channel = channels.get(name)
        except KeyError:
            return f"unknown channel {name}"
        if not channel.plausible(value):
            return f"{name}={value!r} outside {channel.minimum}..{channel.maximum}"
    return None


def record_problem(
    record: Record, device: DeviceInfo, now: float, limits: Limits
) -> Refusal | None:
    """Why ``record`` must not be stored, or None.

    Unanchored clocks are refused outright: their ``ts`` is the device's guess
    and storing it would put energy on the wrong day (and bill it). They are
    dead-lettered with their raw bytes, to be replayed once re-anchored.
    """
    if record.clock == CLOCK_UNANCHORED:
        return Refusal(UNANCHORED_CLOCK, f"seq {record.seq}: clock unanchored, ts {record.ts}")
    if record.ts + record.period_s > now + limits.future_tolerance_s:
        return Refusal(
            FUTURE_TIMESTAMP,
            f"seq {record.seq}: ends at {record.ts + record.period_s} > now {now:.0f}",
        )
    installed = device.installed_at.timestamp()
    if record.ts + record.period_s < installed - limits.before_install_tolerance_s:
        return Refusal(
            BEFORE_INSTALLATION,
            f"seq {record.seq}: ts {record.ts} before installation {installed:.0f}",
        )
    for name, triple in record.stats.items():
        for label, value in zip(("mean", "min", "max"), triple, strict=False):
            problem = _implausible({name: value})
            if problem:
                return Refusal(IMPLAUSIBLE_VALUE, f"seq {record.seq}: {label} {problem}")
    problem = _implausible({k: float(v) for k, v in record.counters.items()})
    if problem:
        return Refusal(IMPLAUSIBLE_VALUE, f"seq {record.seq}: {problem}")
    return None


def sample_problem(
    ts_ms: int, values: Mapping[str, float], device: DeviceInfo, now: float, limits: Limits
) -> Refusal | None:
    """Why a live sample must not be stored, or None."""
    ts = ts_ms / 1000
    if ts > now + limits.future_tolerance_s:
        return Refusal(FUTURE_TIMESTAMP, f"live sample at {ts:.0f} > now {now:.0f}")
    if ts < device.installed_at.timestamp() - limits.before_install_tolerance_s:
        return Refusal(BEFORE_INSTALLATION, f"live sample at {ts:.0f} before installation")
    problem = _implausible(values)
    if problem:
        return Refusal(IMPLAUSIBLE_VALUE, f"live sample at {ts_ms}: {problem}")
    return None


def split_records(
    records: Iterable[Record], device: DeviceInfo, now: float, limits: Limits
) -> tuple[list[Record], dict[str, list[Refusal]]]:
    """(records to store, refusals grouped by reason)."""
    good: list[Record] = []
    refused: dict[str, list[Refusal]] = {}
    for record in records:
        problem = record_problem(record, device, now, limits)
        if problem is None:
            good.append(record)
        else:
            refused.setdefault(problem.reason, []).append(problem)
    return good, refused
