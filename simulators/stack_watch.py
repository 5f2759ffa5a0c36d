"""The stack's window on the broker: a paho-mqtt 2 subscriber, as the cloud sees the devices.

Subscribes to every stack device's ``up``, ``status`` and ``live`` topics and hands
each message to :class:`~simulators.stack_state.StackState`, which decodes it; the
resulting events go to ``on_event`` (the plain output's queue). It also sends the
cloud's commands (``live``, ``live_stop``) at QoS 1, as the portal would.

A viewer, not ingest: a clean session (nothing queued for it between runs) and no
shared subscription (``on_raw`` hands every message on as received: with the
amqtt broker, which has no MQTT v5 for ingest's consumer, that is how the stack's
ingest is fed). It connects, and its subscriptions are acknowledged, before
the agents start, so it sees every batch they upload. The retained status of each
device arrives at once on subscribe (offline after a clean stop of the last run).

Live-mode requests wait for the device's birth status: a status that is not a
retained replay means the agent is connected now and subscribed to its command
topic (it subscribes before it publishes its birth status on the same
connection), so the command reaches it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from protocol import topics
from protocol.codec import CMD_LIVE, CMD_LIVE_STOP, STATE_ONLINE, encode_command
from simulators.stack_config import MQTT_V5
from simulators.stack_state import CommandEvent, Event, StackState, StatusEvent

__all__ = ["WatchError", "Watcher"]

_CONNECT_TIMEOUT_S = 10.0


class WatchError(RuntimeError):
    """The viewer could not connect or subscribe."""


class Watcher:
    """Subscriber + command sender for the stack's devices."""

    def __init__(
        self,
        state: StackState,
        host: str,
        port: int,
        *,
        mqtt_protocol: str = MQTT_V5,
        client_id: str = "myenergy-stack-view",
        on_event: Callable[[Event], None] | None = None,
        on_raw: Callable[[str, bytes, bool], None] | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._on_event = on_event
        self._on_raw = on_raw
        version = (
            MQTTProtocolVersion.MQTTv5 if mqtt_protocol == MQTT_V5 else MQTTProtocolVersion.MQTTv311
        )
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id, protocol=version)
        if username:
            self._client.username_pw_set(username, password)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._connect_error: str | None = None
        self._subscribed = threading.Event()
        self._pending_subacks: set[int] = set()
        # device id -> minutes: live requests waiting for the device's birth status
        self._live_wanted: dict[str, int] = {}
        self.commands_sent = 0

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Connect and subscribe; returns when the broker acknowledged the subscriptions."""
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise WatchError(
                f"cannot connect to the broker {self.host}:{self.port}: {exc}"
            ) from exc
        self._client.loop_start()
        if not self._connected.wait(_CONNECT_TIMEOUT_S) or self._connect_error:
            self.stop()
            raise WatchError(
                f"the broker {self.host}:{self.port} refused the viewer: "
                f"{self._connect_error or 'no CONNACK'}"
            )
        if not self._subscribed.wait(_CONNECT_TIMEOUT_S):
            self.stop()
            raise WatchError(f"the broker {self.host}:{self.port} did not confirm subscriptions")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    # -- commands (the portal's part) -------------------------------------------------

    def request_live(self, device_id: str, minutes: int, *, at_birth: bool = False) -> None:
        """Ask for live mode now if the device is online, else when it connects.

        ``at_birth``: wait for the next birth status even if the device looks online
        (at start-up the "online" seen may be a stale retained one).
        """
        with self._lock:
            self._live_wanted[device_id] = minutes
        if at_birth:
            return
        row = next((r for r in self.state.snapshot() if r.device_id == device_id), None)
        if row is not None and row.state == STATE_ONLINE:
            self._send_wanted(device_id)

    def stop_live(self, device_id: str) -> None:
        self._command(device_id, {"cmd": CMD_LIVE_STOP})

    def _send_wanted(self, device_id: str) -> None:
        with self._lock:
            minutes = self._live_wanted.pop(device_id, None)
        if minutes is not None:
            self._command(device_id, {"cmd": CMD_LIVE, "minutes": minutes})

    def _command(self, device_id: str, command: dict[str, Any]) -> None:
        self._client.publish(
            topics.command(device_id),
            encode_command(command),
            qos=topics.COMMAND_QOS,
            retain=topics.COMMAND_RETAIN,
        )
        self.commands_sent += 1
        if self._on_event is not None:
            self._on_event(CommandEvent(device_id, command))

    # -- paho callbacks (network thread) ------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connect_error = str(reason_code)
            self._connected.set()
            return
        subscriptions = []
        for device_id in self.state.device_ids:
            subscriptions += [
                (topics.uplink(device_id), topics.UPLINK_QOS),
                (topics.status(device_id), topics.STATUS_QOS),
                (topics.live(device_id), topics.LIVE_QOS),
            ]
        _, mid = client.subscribe(subscriptions)
        with self._lock:
            if mid is not None:
                self._pending_subacks.add(mid)
        self._connected.set()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._pending_subacks.discard(mid)
            done = not self._pending_subacks
        if done:
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        if self._on_raw is not None:
            self._on_raw(message.topic, payload, bool(message.retain))
        event = self.state.on_message(message.topic, payload, bool(message.retain))
        if event is None:
            return
        if (
            isinstance(event, StatusEvent)
            and not event.retained
            and event.status.get("state") == STATE_ONLINE
        ):
            self._send_wanted(event.device_id)
        if self._on_event is not None:
            self._on_event(event)
