"""The MQTT uplink: queued records to the broker, at least once, over TLS.

Threads. paho runs the socket in its own network thread (``loop_start``); this
module adds one *upload thread* that owns the scheduling: it reads the durable
queue, publishes batches, and deletes records when their PUBACK has come. paho's
callbacks only hand events over (a deque and an Event), so the network thread
never touches SQLite and the poll thread never waits for the network: it calls
:meth:`Uplink.notify` after ``queue.put`` and goes on polling.

Delivery. A record leaves the queue only after the broker's PUBACK for the batch
that carried it (``on_publish`` fires on PUBACK for QoS 1 in paho 2.x:
``_handle_pubackcomp`` -> ``_do_on_publish``). ``mid -> seqs`` is kept for every
batch in flight. A connection that dies with batches in flight keeps them in
paho's session state, and paho resends them (DUP set) right after the next
CONNACK, so their PUBACKs still arrive under the same mids. A process that dies
loses nothing either: the records are still in SQLite and go out again after the
restart. Duplicates are harmless, the cloud stores idempotently on (device, ts).

Why MQTT v5 with ``clean_start=False`` and a session expiry rather than v3.1.1
``clean_session=False``: (1) a v5 PUBACK carries a reason code, so a publish the
broker refused (ACL "not authorized", quota exceeded, packet too large) is told
apart from a delivered one - Mosquitto acknowledges a refused v3.1.1 publish
exactly like a good one, and the agent would delete records that never arrived;
(2) the session expiry bounds how long the broker keeps state (and queued
commands) for a module that was scrapped, where a v3.1.1 persistent session
lives until an operator removes it; (3) the cloud side already needs v5 for
shared subscriptions.

Reconnects use exponential backoff with jitter, so a fleet does not stampede a
restarted broker in lockstep. paho's own backoff has no jitter, so it is set to
zero and the wait happens in ``on_pre_connect``, which paho calls in its network
thread before every connection attempt (nothing else waits there then).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.batching import BatchPolicy, PendingSource, PlannedBatch, plan_round
from edge_agent.clock import Clock
from edge_agent.config import MqttConfig
from protocol import topics
from protocol.codec import Batch, encode_batch, encode_status

__all__ = ["SESSION_EXPIRY_S", "Backoff", "Uplink", "UplinkCounters"]

log = structlog.get_logger(__name__)

_NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT 5 PUBACK reason code

# How long the broker keeps our session (subscription, queued commands) after a
# disconnect: longer than any plausible coverage gap, short enough that a
# scrapped module's session does not stay forever.
SESSION_EXPIRY_S = 7 * 24 * 3600
# The upload thread wakes at least this often (real seconds) to check timers.
_TICK_S = 0.5
# A refused batch (failure reason code) pauses the backlog this long, doubling.
_REFUSED_PAUSE_MIN_S = 5.0
_REFUSED_PAUSE_MAX_S = 600.0
# Status and live are not batches; they travel beside them.
_EXTRA_INFLIGHT = 4


class AckQueue(PendingSource, Protocol):
    """The part of :class:`edge_agent.queue.RecordQueue` the uplink uses."""

    def ack(self, seqs: list[int]) -> int: ...


class Backoff:
    """Exponential backoff with "equal jitter": half the step fixed, half random.

    The first attempt after a success is immediate; then about 1, 2, 4... times
    ``minimum``, capped at ``maximum``. Half-random spreads a fleet without ever
    collapsing to zero (full jitter can retry at once, which hurts a broker that
    just came back).
    """

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The wait before the next attempt; counts the attempt."""
        n, self.attempt = self.attempt, self.attempt + 1
        if n == 0:
            return 0.0
        step = min(self.maximum, self.minimum * 2.0 ** (n - 1))
        return step / 2.0 + self._rng.uniform(0.0, step / 2.0)

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class UplinkCounters:
    """What the uplink has done since start (status, metrics, tests)."""

    connects: int = 0
    disconnects: int = 0
    batches_sent: int = 0
    batches_acked: int = 0
    batches_refused: int = 0
    records_acked: int = 0
    live_sent: int = 0
    commands: int = 0


@dataclass(frozen=True)
class _InFlight:
    seqs: tuple[int, ...]
    historical: bool


@dataclass
class _Events:
    """Handed from paho's network thread to the upload thread."""

    acks: deque[tuple[int, ReasonCode]] = field(default_factory=deque)
    connected: bool = False
    just_connected: bool = False


class Uplink:
    """paho-mqtt v2 client, QoS 1 batches, persistent session, TLS; deletes on PUBACK.

    ``status_fn(state)`` returns the status dict to publish now (or None when not
    due); ``state`` is ``"online"``, ``"offline"`` or ``"due"`` (publish only if the
    reporter says so). ``on_command(payload, retained)`` gets each command message.
    """

    def __init__(
        self,
        mqtt_config: MqttConfig,
        device_id: str,
        queue: AckQueue,
        clock: Clock,
        *,
        status_fn: Callable[[str], dict[str, Any] | None],
        last_will: dict[str, Any],
        on_command: Callable[[bytes, bool], object],
        rng: random.Random | None = None,
    ) -> None:
        self._cfg = mqtt_config
        self.device_id = device_id
        self._queue = queue
        self._clock = clock
        self._status_fn = status_fn
        self._on_command = on_command
        self.policy = _policy(mqtt_config)
        # agent-clock seconds between upload rounds
        self.upload_interval_s = mqtt_config.upload_interval_s
        self.counters = UplinkCounters()
        self._backoff = Backoff(mqtt_config.backoff_min_s, mqtt_config.backoff_max_s, rng)
        self._lock = threading.Lock()
        self._events = _Events()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # upload-thread state
        self._in_flight: dict[int, _InFlight] = {}
        self._last_round: float | None = None  # agent-clock monotonic
        self._refused_until = 0.0  # real monotonic
        self._refused_pause = _REFUSED_PAUSE_MIN_S
        self._client = self._make_client(last_will)

    # -- setup -------------------------------------------------------------------

    def _make_client(self, last_will: dict[str, Any]) -> mqtt.Client:
        cfg = self._cfg
        if cfg.protocol == "5":
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.device_id,
                protocol=MQTTProtocolVersion.MQTTv5,
            )
        else:
            # MQTT 3.1.1 only for brokers without v5 (the stack's amqtt fallback, see
            # docs/decisions/0002): its PUBACK cannot say "not authorised".
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=self.device_id,
                protocol=MQTTProtocolVersion.MQTTv311,
                clean_session=False,
            )
        if cfg.tls.enabled:
            client.tls_set(
                ca_certs=_path(cfg.tls.ca_file),
                certfile=_path(cfg.tls.cert_file),
                keyfile=_path(cfg.tls.key_file),
            )
        client.will_set(
            topics.status(self.device_id),
            encode_status(last_will),
            qos=topics.STATUS_QOS,
            retain=True,
        )
        # Backoff is ours (with jitter, in on_pre_connect); paho must not add its own.
        client.reconnect_delay_set(0, 0)
        client.max_inflight_messages_set(cfg.max_in_flight + _EXTRA_INFLIGHT)
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.enable_logger(logging.getLogger("paho.mqtt"))
        return client

    def start(self) -> None:
        """Connect in the background and start the upload thread; returns at once."""
        if self._cfg.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            self._client.connect_async(
                self._cfg.host,
                self._cfg.port,
                keepalive=self._cfg.keepalive_s,
                clean_start=False,
                properties=props,
            )
        else:
            self._client.connect_async(
                self._cfg.host, self._cfg.port, keepalive=self._cfg.keepalive_s
            )
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()
        log.info(
            "uplink starting",
            host=self._cfg.host,
            port=self._cfg.port,
            tls=self._cfg.tls.enabled,
            username=self._cfg.username,
        )

    def stop(self, timeout: float = 3.0) -> None:
        """Say goodbye (retained offline status), disconnect, stop the threads."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.connected:
            status = self._status_fn("offline")
            if status is not None:
                info = self._client.publish(
                    topics.status(self.device_id),
                    encode_status(status),
                    qos=topics.STATUS_QOS,
                    retain=True,
                )
                _wait_published(info, timeout)
        self._client.disconnect()
        self._client.loop_stop()
        log.info("uplink stopped", in_flight_batches=len(self._in_flight))

    # -- called from other threads -------------------------------------------------

    def reconfigure(self, mqtt_config: MqttConfig) -> None:
        """Take the upload interval (and the fresh window derived from it) of a
        ``config`` command; two attribute stores, read by the next round."""
        self.policy = _policy(mqtt_config)
        self.upload_interval_s = mqtt_config.upload_interval_s

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._events.connected

    def notify(self) -> None:
        """A record was queued (poll thread): the upload thread looks soon."""
        self._wake.set()

    def publish_live(self, payload: bytes) -> bool:
        """Send one live message at QoS 0; dropped (False) while disconnected.

        Live data is worthless late, so it is never queued: losing it is cheaper
        than sending it after the viewer left.
        """
        if not self.connected:
            return False
        info = self._client.publish(topics.live(self.device_id), payload, qos=topics.LIVE_QOS)
        ok = info.rc == mqtt.MQTT_ERR_SUCCESS
        if ok:
            self.counters.live_sent += 1
        return ok

    def in_flight(self) -> int:
        """Batches awaiting their PUBACK."""
        return len(self._in_flight)

    # -- paho callbacks (network thread): hand over, never block -------------------

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        # the first callback in paho's network thread: name the device in its lines
        structlog.contextvars.bind_contextvars(device=self.device_id)
        delay = self._backoff.next_delay()
        if delay > 0:
            log.info(
                "mqtt reconnect backoff", delay_s=round(delay, 2), attempt=self._backoff.attempt
            )
            self._stop.wait(delay)
        self._set_credentials(client)

    def _set_credentials(self, client: mqtt.Client) -> None:
        # Read before every attempt: a rotated password file needs no restart.
        if not self._cfg.username:
            return
        try:
            password = self._cfg.password_value()
        except OSError as exc:  # keep the previous password; the broker will say
            log.error("cannot read the mqtt password file", error=exc.strerror)
            return
        client.username_pw_set(self._cfg.username, password)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.warning("mqtt connection refused", reason=str(reason_code))
            return
        self._backoff.reset()
        client.subscribe(topics.command(self.device_id), qos=topics.COMMAND_QOS)
        with self._lock:
            self._events.connected = True
            self._events.just_connected = True
        self.counters.connects += 1
        log.info("mqtt connected", session_present=flags.session_present)
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        log.info("mqtt connection attempt failed", attempt=self._backoff.attempt)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            was = self._events.connected
            self._events.connected = False
        if was:
            self.counters.disconnects += 1
            if self._stop.is_set():
                log.info("mqtt disconnected", reason=str(reason_code))
            else:
                log.warning("mqtt connection lost", reason=str(reason_code))

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        # QoS 1: the PUBACK. (QoS 0 live messages also land here when written;
        # their mids are not batches and are ignored by the upload thread.)
        with self._lock:
            self._events.acks.append((mid, reason_code))
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.counters.commands += 1
        try:
            self._on_command(bytes(message.payload), bool(message.retain))
        except Exception:  # a bad command must never take the network thread down
            log.exception("command handler failed", topic=message.topic)

    # -- upload thread --------------------------------------------------------------

    def _run(self) -> None:
        structlog.contextvars.bind_contextvars(device=self.device_id)
        while not self._stop.is_set():
            self._wake.wait(_TICK_S)
            self._wake.clear()
            try:
                self._step()
            except Exception:  # SQLite trouble etc.: log, keep the thread alive
                log.exception("upload step failed")
                self._stop.wait(1.0)

    def _step(self) -> None:
        with self._lock:
            acks = list(self._events.acks)
            self._events.acks.clear()
            connected = self._events.connected
            just_connected, self._events.just_connected = self._events.just_connected, False
        freed = self._handle_acks(acks)
        if not connected:
            return
        self._publish_status("online" if just_connected else "due")
        now_mono = self._clock.monotonic()
        interval_due = (
            self._last_round is None or now_mono - self._last_round >= self.upload_interval_s
        )
        # A round runs every upload interval, right after (re)connecting, and whenever a
        # PUBACK freed a slot: so a backlog drains at the speed of the round trips.
        if (interval_due or freed or just_connected) and time.monotonic() >= self._refused_until:
            self._upload_round(now_mono)

    def _handle_acks(self, acks: list[tuple[int, ReasonCode]]) -> bool:
        freed = False
        for mid, reason in acks:
            batch = self._in_flight.pop(mid, None)
            if batch is None:
                continue  # status or live message
            freed = True
            # 0x10 "No matching subscribers" is a success code, but it means no ingest
            # worker is subscribed (Mosquitto does not restore a shared subscription
            # after a restart until the worker comes back): nobody stored the batch.
            unheard = reason.value == _NO_MATCHING_SUBSCRIBERS
            if reason.is_failure or unheard:
                self.counters.batches_refused += 1
                self._refused_until = time.monotonic() + self._refused_pause
                log.error(
                    "no subscriber heard the batch; records kept, uploads paused"
                    if unheard
                    else "broker refused a batch; records kept, uploads paused",
                    reason=str(reason),
                    first_seq=batch.seqs[0],
                    records=len(batch.seqs),
                    pause_s=self._refused_pause,
                )
                self._refused_pause = min(self._refused_pause * 2, _REFUSED_PAUSE_MAX_S)
                continue
            self._refused_pause = _REFUSED_PAUSE_MIN_S
            self._queue.ack(list(batch.seqs))
            self.counters.batches_acked += 1
            self.counters.records_acked += len(batch.seqs)
        return freed

    def _upload_round(self, now_mono: float) -> None:
        fresh_n = sum(1 for b in self._in_flight.values() if not b.historical)
        in_flight_seqs = {s for b in self._in_flight.values() for s in b.seqs}
        plan = plan_round(
            self._queue,
            self.policy,
            self._clock.now(),
            in_flight_seqs=in_flight_seqs,
            in_flight_fresh=fresh_n,
            in_flight_backlog=len(self._in_flight) - fresh_n,
        )
        self._last_round = now_mono
        for planned in plan:
            self._publish_batch(planned)

    def _publish_batch(self, planned: PlannedBatch) -> None:
        payload = encode_batch(Batch(self.device_id, list(planned.records), planned.historical))
        info = self._client.publish(topics.uplink(self.device_id), payload, qos=topics.UPLINK_QOS)
        # Even when the connection dropped just now (rc NO_CONN) paho keeps the
        # message and sends it after the reconnect, so it is in flight either way.
        self._in_flight[info.mid] = _InFlight(planned.seqs, planned.historical)
        self.counters.batches_sent += 1
        log.debug(
            "batch published",
            mid=info.mid,
            first_seq=planned.seqs[0],
            records=len(planned.seqs),
            historical=planned.historical,
            bytes=len(payload),
        )

    def _publish_status(self, state: str) -> None:
        status = self._status_fn(state)
        if status is None:
            return
        self._client.publish(
            topics.status(self.device_id),
            encode_status(status),
            qos=topics.STATUS_QOS,
            retain=True,
        )


def _policy(cfg: MqttConfig) -> BatchPolicy:
    return BatchPolicy(
        batch_records=cfg.batch_max_records,
        max_in_flight=cfg.max_in_flight,
        fresh_window_s=cfg.fresh_window(),
    )


def _path(p: object) -> str | None:
    return None if p is None else str(p)


def _wait_published(info: mqtt.MQTTMessageInfo, timeout: float) -> None:
    # not connected any more (RuntimeError/ValueError): the will says "offline" instead
    with contextlib.suppress(RuntimeError, ValueError):
        info.wait_for_publish(timeout)
