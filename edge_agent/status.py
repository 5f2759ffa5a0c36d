"""The device's retained status message: what it says and when it is sent.

Pure logic, the clock injected. The runtime gathers a :class:`StatusInputs` from
the queue, the poller, the clock and the live-mode state, and asks
:meth:`StatusReporter.due` whether to publish; ``due`` returns the dict to
``protocol.codec.encode_status`` or None.

When to publish (cellular data costs money, but the portal should see trouble
quickly): on the first call; whenever a *meaningful* field changes; and at least
every ``interval_s`` (a heartbeat, so "last seen" stays fresh). Meaningful:

* ``state``, ``clock``, ``live_until``: any change;
* Modbus error counts per kind and the queue depth: only when they cross into
  another decade (0, 1-9, 10-99, ...; the queue from 0-9, 10-99, ...), so a
  meter that times out every poll, or a queue that fills and drains every upload
  cycle, does not trigger a message per poll;
* ``signal_dbm`` (the modem's RSSI) is reported but never triggers a message:
  radio signal wanders by a few dB all the time;
* change-triggered messages are at least ``min_gap_s`` apart; a change held back
  by the gap is sent as soon as the gap has passed (it is still a change then).

The offline state is not published by this module: it is the MQTT last will
(:func:`last_will`), sent by the broker when the connection dies. Every dict
here fits ``protocol.codec.encode_status`` (JSON, no NaN/inf, well under 4 KiB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_agent import __version__
from edge_agent.clock import CLOCK_NAMES, Clock
from protocol.codec import STATE_OFFLINE, STATE_ONLINE

__all__ = [
    "STATE_OFFLINE",
    "STATE_ONLINE",
    "StatusInputs",
    "StatusReporter",
    "build_status",
    "last_will",
]


@dataclass(frozen=True)
class StatusInputs:
    """Everything the status message reports, gathered by the runtime."""

    queue_depth: int
    oldest_unsent_ts: float | None  # ts of the oldest record still in the queue
    store_full_in_s: float | None  # RecordQueue.seconds_until_full(); None = not filling
    store_bytes: int = 0
    records_dropped: int = 0  # RecordQueue.dropped_records (data loss, ever)
    modbus_errors: Mapping[str, int] = field(default_factory=dict)  # by kind, since start
    clock_quality: int = 0
    live_until: float | None = None  # UTC unix seconds, None when not live
    state: str = STATE_ONLINE
    signal_dbm: int | None = None  # the modem's RSSI (edge_agent.modem), None = unknown


def _decade(n: int) -> int:
    """0 -> 0, 1..9 -> 1, 10..99 -> 2, ..."""
    return 0 if n <= 0 else int(math.log10(n)) + 1


def _queue_bucket(depth: int) -> int:
    """0..9 -> 0, 10..99 -> 1, ...: a queue of a few records is normal between uploads."""
    return 0 if depth < 10 else int(math.log10(depth))


def _optional_int(x: float | None) -> int | None:
    return None if x is None or math.isinf(x) else int(x)


def build_status(inputs: StatusInputs, now: float, uptime_s: float) -> dict[str, Any]:
    """The status dict (JSON-able). Times are whole seconds; ``now`` is UTC unix seconds."""
    oldest_age = None if inputs.oldest_unsent_ts is None else now - inputs.oldest_unsent_ts
    return {
        "state": inputs.state,
        "version": __version__,
        "ts": int(now),
        "uptime_s": int(uptime_s),
        "queue_depth": inputs.queue_depth,
        "oldest_unsent_age_s": None if oldest_age is None else max(0, int(oldest_age)),
        "store_full_in_s": _optional_int(inputs.store_full_in_s),
        "store_bytes": inputs.store_bytes,
        "records_dropped": inputs.records_dropped,
        "modbus_errors": dict(sorted(inputs.modbus_errors.items())),
        "clock": CLOCK_NAMES.get(inputs.clock_quality, str(inputs.clock_quality)),
        "live_until": _optional_int(inputs.live_until),
        "signal_dbm": inputs.signal_dbm,
    }


def last_will() -> dict[str, Any]:
    """The status the broker publishes for us when the connection dies (MQTT will)."""
    return {"state": STATE_OFFLINE, "version": __version__}


def _key(inputs: StatusInputs) -> tuple[object, ...]:
    """The part of the inputs whose change is worth a message."""
    return (
        inputs.state,
        inputs.clock_quality,
        _optional_int(inputs.live_until),
        _queue_bucket(inputs.queue_depth),
        tuple(sorted((k, _decade(v)) for k, v in inputs.modbus_errors.items())),
        _decade(inputs.records_dropped),
    )


class StatusReporter:
    """Decides when to publish the status; ``due`` is called often (every poll loop)."""

    def __init__(self, clock: Clock, interval_s: float, min_gap_s: float = 5.0) -> None:
        self._clock = clock
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self._started = clock.monotonic()
        self._last_key: tuple[object, ...] | None = None
        self._last_sent: float | None = None  # monotonic

    @property
    def uptime_s(self) -> float:
        return self._clock.monotonic() - self._started

    def due(self, inputs: StatusInputs) -> dict[str, Any] | None:
        """The status to publish now, or None. Marks it as published."""
        mono = self._clock.monotonic()
        key = _key(inputs)
        if self._last_sent is None:
            send = True
        else:
            since = mono - self._last_sent
            send = since >= self.interval_s or (key != self._last_key and since >= self.min_gap_s)
        if not send:
            return None
        self._last_key = key
        self._last_sent = mono
        return build_status(inputs, self._clock.now(), mono - self._started)

    def force(self, inputs: StatusInputs) -> dict[str, Any]:
        """The status, now, regardless of the schedule (e.g. right after (re)connecting)."""
        mono = self._clock.monotonic()
        self._last_key = _key(inputs)
        self._last_sent = mono
        return build_status(inputs, self._clock.now(), mono - self._started)
