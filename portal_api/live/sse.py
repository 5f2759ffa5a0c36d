"""Server-sent events of a live subscription (decision 0004, ``GET /sites/{id}/live``).

    event: power    data: {"device_id", "ts_ms", "p_w": {"l1","l2","l3","total"},
                           "u_v": {"l1","l2","l3"}, "i_a": {"l1","l2","l3"},
                           "pf": {"l1","l2","l3","total"}}
    event: status   data: {"device_id", "state", "live_until"}
    : keep-alive    (a comment line every ``heartbeat_s``, 15 s by default)

One ``power`` event per device sample (the device samples once a second).
Every key is always present; a quantity the device did not send is null (the
agents send active power only: cellular data costs money). ``status`` is sent
when a device's ``(state, live_until)`` changes, the first time included:
``live_until`` (UTC unix seconds) is the device confirming how long it streams.

The heartbeat is produced here, so the route passes ``ping=0`` to
``EventSourceResponse`` (:func:`live_response` does). The subscription is
closed when the generator ends for any reason, including the client going away
(sse-starlette cancels the generator, and ``finally`` runs).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent

from portal_api.live.events import LiveSample, LiveStatus
from portal_api.live.subscription import LiveClosedError, LiveSubscription

__all__ = [
    "HEARTBEAT_S",
    "POWER_EVENT",
    "STATUS_EVENT",
    "live_events",
    "live_response",
    "power_data",
    "status_data",
]

POWER_EVENT = "power"
STATUS_EVENT = "status"
HEARTBEAT_S = 15.0
RETRY_MS = 5000  # how long a browser waits before it reconnects a broken stream

_PHASES = ("l1", "l2", "l3")
# SSE group -> {key: channel of protocol.channels}
_GROUPS: dict[str, dict[str, str]] = {
    "p_w": {**{p: f"p_{p}_w" for p in _PHASES}, "total": "p_total_w"},
    "u_v": {p: f"u_{p}_v" for p in _PHASES},
    "i_a": {p: f"i_{p}_a" for p in _PHASES},
    "pf": {**{p: f"pf_{p}" for p in _PHASES}, "total": "pf_total"},
}


def power_data(sample: LiveSample) -> dict[str, object]:
    """The JSON object of a ``power`` event."""
    data: dict[str, object] = {"device_id": sample.device_id, "ts_ms": sample.ts_ms}
    for group, keys in _GROUPS.items():
        data[group] = {key: sample.values.get(channel) for key, channel in keys.items()}
    return data


def status_data(status: LiveStatus) -> dict[str, object]:
    """The JSON object of a ``status`` event."""
    return {"device_id": status.device_id, "state": status.state, "live_until": status.live_until}


def _json(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


async def live_events(
    subscription: LiveSubscription,
    *,
    heartbeat_s: float = HEARTBEAT_S,
    monotonic: Callable[[], float] = time.monotonic,
) -> AsyncIterator[ServerSentEvent]:
    """The event stream of ``subscription``; closes it when the stream ends."""
    if heartbeat_s <= 0:
        raise ValueError("heartbeat_s must be > 0")
    seen: dict[str, tuple[str, int | None]] = {}
    try:
        # An immediate first line: proxies and browsers see the stream is alive.
        yield ServerSentEvent(comment="live", retry=RETRY_MS)
        next_beat = monotonic() + heartbeat_s
        while True:
            left = next_beat - monotonic()
            if left <= 0:
                yield ServerSentEvent(comment="keep-alive")
                next_beat = monotonic() + heartbeat_s
                continue
            try:
                event = await subscription.next_event(timeout=left)
            except LiveClosedError:
                return
            if isinstance(event, LiveSample):
                yield ServerSentEvent(_json(power_data(event)), event=POWER_EVENT)
            elif isinstance(event, LiveStatus):
                key = (event.state, event.live_until)
                if seen.get(event.device_id) != key:
                    seen[event.device_id] = key
                    yield ServerSentEvent(_json(status_data(event)), event=STATUS_EVENT)
    finally:
        subscription.close()


def live_response(
    subscription: LiveSubscription, *, heartbeat_s: float = HEARTBEAT_S
) -> EventSourceResponse:
    """``text/event-stream`` response of ``subscription`` for a FastAPI route."""
    return EventSourceResponse(
        live_events(subscription, heartbeat_s=heartbeat_s),
        ping=0,  # our own heartbeat above
        headers={"Cache-Control": "no-store"},
    )
