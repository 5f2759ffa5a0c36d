"""The retained status message: what it says and when it is sent.

Same fields and rules as edge_agent/status.py (the portal reads both alike):
published on the first call, whenever a meaningful field changes (state,
clock quality, live mode; Modbus error counts and the store depth only when
they cross into another decade, so a meter timing out every poll does not
cause a message per poll), and at least every ``status.interval_s``.
Change-triggered messages are at least ``MIN_GAP_MS`` apart. The signal level
is reported but never triggers a message: radio signal wanders all the time.
The offline state is the MQTT last will (:func:`last_will`), sent by the broker.
"""

import time

from firmware import VERSION
from protocol.messages import STATE_OFFLINE, STATE_ONLINE
from protocol.records import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED

try:
    from typing import Any
except ImportError:
    pass

CLOCK_NAMES = {CLOCK_SYNCED: "synced", CLOCK_ESTIMATED: "estimated", CLOCK_UNANCHORED: "unanchored"}
MIN_GAP_MS = 5000


def _decade(n: int) -> int:
    """0 -> 0, 1..9 -> 1, 10..99 -> 2, ..."""
    d = 0
    while n > 0:
        d += 1
        n //= 10
    return d


def _depth_bucket(depth: int) -> int:
    """0..9 -> 0, 10..99 -> 1, ...: a few records waiting between uploads is normal."""
    return max(0, _decade(depth) - 1)


def build(inputs: "dict[str, Any]", utc: int, uptime_s: int) -> "dict[str, Any]":
    """The status dict for ``protocol.codec.encode_status``.

    ``inputs``: queue_depth, oldest_unsent_ts (or None), records_dropped,
    modbus_errors {kind: n}, clock (CLOCK_*), live_until (UTC s or None),
    signal_dbm (or None), and optionally store_bytes, store_full_in_s,
    refused (config keys the device refused, with reasons).
    """
    oldest = inputs.get("oldest_unsent_ts")
    status = {
        "state": STATE_ONLINE,
        "version": VERSION,
        "ts": utc,
        "uptime_s": uptime_s,
        "queue_depth": inputs["queue_depth"],
        "oldest_unsent_age_s": None if oldest is None else max(0, utc - oldest),
        "store_full_in_s": inputs.get("store_full_in_s"),
        "store_bytes": inputs.get("store_bytes", 0),
        "records_dropped": inputs.get("records_dropped", 0),
        "modbus_errors": dict(inputs.get("modbus_errors") or {}),
        "clock": CLOCK_NAMES.get(inputs["clock"], str(inputs["clock"])),
        "live_until": inputs.get("live_until"),
        "signal_dbm": inputs.get("signal_dbm"),
    }
    if inputs.get("refused"):
        status["refused"] = inputs["refused"]
    return status


def last_will() -> "dict[str, Any]":
    """What the broker publishes for us when the connection dies."""
    return {"state": STATE_OFFLINE, "version": VERSION}


def _key(inputs: "dict[str, Any]") -> "tuple[object, ...]":
    errors = inputs.get("modbus_errors") or {}
    return (
        inputs["clock"],
        inputs.get("live_until") is not None,
        _depth_bucket(inputs["queue_depth"]),
        tuple(sorted((k, _decade(v)) for k, v in errors.items())),
        _decade(inputs.get("records_dropped", 0)),
        tuple(sorted(inputs.get("refused") or {})),
    )


class StatusReporter:
    """Decides when to publish; ``due`` is called every loop turn."""

    def __init__(self, interval_s: float, now_ms: int) -> None:
        self.interval_ms = int(interval_s * 1000)
        self._started = now_ms
        self._last_key = None  # type: tuple[object, ...] | None
        self._last_sent = None  # type: int | None

    def uptime_s(self, now_ms: int) -> int:
        return time.ticks_diff(now_ms, self._started) // 1000

    def due(self, inputs: "dict[str, Any]", utc: int, now_ms: int) -> "dict[str, Any] | None":
        """The status to publish now, or None; marks it published."""
        key = _key(inputs)
        if self._last_sent is not None:
            since = time.ticks_diff(now_ms, self._last_sent)
            changed = key != self._last_key and since >= MIN_GAP_MS
            if since < self.interval_ms and not changed:
                return None
        return self.force(inputs, utc, now_ms)

    def force(self, inputs: "dict[str, Any]", utc: int, now_ms: int) -> "dict[str, Any]":
        """The status now, whatever the schedule (right after connecting)."""
        self._last_key = _key(inputs)
        self._last_sent = now_ms
        return build(inputs, utc, self.uptime_s(now_ms))
