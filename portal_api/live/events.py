"""What a live subscription yields: device samples and live-mode confirmations.

Pure: turns one MQTT message of a watched device (topic ``live`` or ``status``)
into :class:`LiveSample` / :class:`LiveStatus` values with the protocol codec.
A message that does not decode is reported as an error to the caller (the hub
logs and counts it); it never reaches a subscriber.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from protocol import topics
from protocol.codec import decode_live, decode_status

__all__ = ["LiveEvent", "LiveSample", "LiveStatus", "decode_message"]


@dataclass(frozen=True)
class LiveSample:
    """One live sample: meter time in UTC milliseconds and ``{channel: value}``
    (channel names of ``protocol.channels``, usually ``p_l1_w``..``p_total_w``)."""

    device_id: str
    ts_ms: int
    values: Mapping[str, float]


@dataclass(frozen=True)
class LiveStatus:
    """The device's own word on live mode, from its retained status message.

    ``live_until``: UTC unix seconds on the device's clock until which it streams,
    None when it does not. ``state``: "online", or "offline" (its last will).
    """

    device_id: str
    state: str
    live_until: int | None


LiveEvent = LiveSample | LiveStatus


def _live_until(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def decode_message(topic: str, payload: bytes) -> list[LiveEvent]:
    """The events of one message; ValueError (DecodeError is one) if it is not valid.

    Samples whose embedded device id differs from the topic's are refused: a
    device may publish only under its own topic, so a mismatch is a bug or
    someone else's data.
    """
    device_id, kind = topics.parse(topic)
    if kind == topics.LIVE:
        sender, samples = decode_live(payload)
        if sender != device_id:
            raise ValueError(f"live payload of {sender!r} on the topic of {device_id!r}")
        return [LiveSample(device_id, ts_ms, values) for ts_ms, values in samples]
    if kind == topics.STATUS:
        status = decode_status(payload)
        return [LiveStatus(device_id, str(status["state"]), _live_until(status.get("live_until")))]
    raise ValueError(f"the live hub does not read {kind!r} messages")
