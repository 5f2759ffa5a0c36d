"""The MQTT side of ingest: paho-mqtt 2 (callback API 2), MQTT v5, manual acknowledgement.

* Uplink and live are read through shared subscriptions
  (``$share/<group>/myenergy/v1/+/up``, ``.../live``): workers of one group
  split the messages; one worker is the default.
* Status is read through a plain subscription: MQTT v5 never sends retained
  messages to a shared subscription, and ingest needs every device's retained
  status at start. Statuses are rare and writing one twice is harmless.
* Persistent session: ``clean_start=False`` with a session expiry, so messages
  that arrive while this worker is down, and messages it received but never
  acknowledged, are kept by the broker and delivered when it reconnects.
* Manual acknowledgement (``manual_ack=True``; paho's ``Client.ack(mid, qos)``
  sends the PUBACK): the network thread only queues a message; one worker
  thread processes messages in arrival order and acknowledges each only after
  the pipeline returned (stored, or dead-lettered). When the pipeline raises
  :class:`~ingest.pipeline.RetryLaterError` (store down), the worker retries that
  message with capped exponential backoff and does not move on, so acks stay in
  order and nothing later is acknowledged before it. A crash at any point leaves
  the message un-acked and the broker redelivers it.
* Batching (with a ``batch_handler``, as ``myenergy-ingest run`` wires it): the
  worker takes the messages already queued, waiting up to ``batch_max_delay_s``
  after the first for more, up to ``batch_max_messages`` / ``batch_max_bytes`` of
  payload, hands them to the handler at once (one store write) and acks ALL of
  them, in arrival order, only after it returned. On RetryLaterError the same
  batch is retried whole and nothing of it is acked. A batch never mixes
  connections (packet ids are per connection).
* Messages queued from an earlier connection are discarded, never acked: a
  packet id belongs to the connection it arrived on, and the broker redelivers
  those messages on the new one.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.config import MqttConfig
from ingest.pipeline import Message, RetryLaterError
from protocol import topics

log = structlog.get_logger("ingest.consumer")

Handler = Callable[[str, bytes, bool], object]
BatchHandler = Callable[[Sequence[Message]], object]
SUBSCRIBE_QOS = 1


def subscriptions(config: MqttConfig) -> list[tuple[str, SubscribeOptions]]:
    """The topic filters of one worker with their options."""
    share = f"$share/{config.share_group}/"
    subs = [(share + topics.ALL_UPLINK, SubscribeOptions(qos=SUBSCRIBE_QOS))]
    if config.subscribe_live:
        subs.append((share + topics.ALL_LIVE, SubscribeOptions(qos=SUBSCRIBE_QOS)))
    # Retained statuses only when the subscription is new, not at every reconnect.
    subs.append(
        (
            topics.ALL_STATUS,
            SubscribeOptions(
                qos=SUBSCRIBE_QOS, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB
            ),
        )
    )
    return subs


@dataclass
class _Queued:
    generation: int
    message: mqtt.MQTTMessage


class Consumer:
    """Receives, hands messages to the handler, acknowledges after it returned.

    Without ``batch_handler`` each message goes to ``handler`` on its own; with
    it, consecutive messages go to ``batch_handler`` together (see the module
    docstring) and ``handler`` is not used.
    """

    def __init__(
        self,
        config: MqttConfig,
        handler: Handler,
        *,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        on_ack: Callable[[], None] | None = None,
        batch_handler: BatchHandler | None = None,
        batch_max_messages: int = 500,
        batch_max_bytes: int = 4_000_000,
        batch_max_delay_s: float = 0.1,
    ) -> None:
        self.config = config
        self.handler = handler
        self.batch_handler = batch_handler
        self.batch_max_messages = batch_max_messages if batch_handler is not None else 1
        self.batch_max_bytes = batch_max_bytes
        self.batch_max_delay_s = batch_max_delay_s
        self.batches = 0
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.on_ack = on_ack
        self.received = 0
        self.handled = 0
        self.acked = 0
        self.retries = 0
        self.handled_topics: list[str] = []
        self._queue: queue.Queue[_Queued] = queue.Queue()
        self._generation = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._worker: threading.Thread | None = None
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if self.config.tls.enabled:
            client.tls_set(
                ca_certs=str(self.config.tls.ca_file) if self.config.tls.ca_file else None,
                certfile=str(self.config.tls.cert_file) if self.config.tls.cert_file else None,
                keyfile=str(self.config.tls.key_file) if self.config.tls.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password_value())
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    # -- lifecycle --------------------------------------------------------------

    def start(self, wait_s: float = 10.0) -> None:
        """Connect (reconnecting on its own afterwards) and start the worker thread.

        Waits up to ``wait_s`` for the subscriptions to be acknowledged.
        """
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.config.session_expiry_s
        self.client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self._worker = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
        self._worker.start()
        self.client.loop_start()
        if wait_s > 0 and not self._subscribed.wait(wait_s):
            log.warning(
                "not subscribed yet; still trying", host=self.config.host, port=self.config.port
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop without acknowledging anything unprocessed; the session keeps it."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    # -- paho callbacks (network thread) --------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection", reason=str(reason_code))
            return
        with self._lock:
            self._generation += 1
        log.info(
            "connected",
            host=self.config.host,
            port=self.config.port,
            client_id=self.config.client_id,
            session_present=flags.session_present,
        )
        # Subscribing again to an existing subscription is harmless (and repairs a
        # session the broker expired meanwhile).
        client.subscribe(subscriptions(self.config))

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("subscription refused", reasons=failed)
        self._subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._subscribed.clear()
        if not self._stop.is_set():
            log.warning("disconnected; reconnecting", reason=str(reason_code))

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received += 1
            generation = self._generation
        self._queue.put(_Queued(generation, message))

    # -- worker thread ------------------------------------------------------------

    def _work(self) -> None:
        carry: _Queued | None = None
        while not self._stop.is_set():
            if carry is not None:
                first, carry = carry, None
            else:
                try:
                    first = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
            if first.generation != self._generation:
                continue  # from a dead connection: the broker redelivers it
            items, carry = self._gather(first)
            if not self._process([item.message for item in items]):
                return  # stopping with the messages un-acked
            if first.generation != self._generation:
                continue  # reconnected while processing: do not ack stale packet ids
            # Everything of the batch is durable: ack in arrival order.
            for item in items:
                if item.message.qos > 0:
                    self.client.ack(item.message.mid, item.message.qos)
                with self._lock:
                    self.acked += 1
                    self.handled_topics.append(item.message.topic)
                if self.on_ack is not None:
                    self.on_ack()

    def _gather(self, first: _Queued) -> tuple[list[_Queued], _Queued | None]:
        """``first`` and the messages after it, within the batch limits.

        Returns the batch and a message taken but left out (from a newer
        connection), to start the next batch with.
        """
        items = [first]
        size = len(first.message.payload)
        deadline = time.monotonic() + self.batch_max_delay_s
        while len(items) < self.batch_max_messages and size < self.batch_max_bytes:
            # Under load the queue is never empty and batches fill up at once;
            # when it is, a short wait still gathers a burst's stragglers.
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item.generation != first.generation:
                return items, item
            items.append(item)
            size += len(item.message.payload)
        return items, None

    def _call(self, messages: list[mqtt.MQTTMessage]) -> None:
        if self.batch_handler is None:
            (message,) = messages
            self.handler(message.topic, bytes(message.payload), bool(message.retain))
            return
        self.batch_handler([(m.topic, bytes(m.payload), bool(m.retain)) for m in messages])

    def _process(self, messages: list[mqtt.MQTTMessage]) -> bool:
        """Handle a batch until it succeeds; False if stopped before it did."""
        delay = self.backoff_min_s
        while True:
            try:
                self._call(messages)
            except RetryLaterError as exc:
                with self._lock:
                    self.retries += 1
                log.warning(
                    "not stored; will retry, not acknowledged",
                    topic=messages[0].topic,
                    messages=len(messages),
                    error=str(exc),
                    retry_in_s=delay,
                )
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, self.backoff_max_s)
                continue
            with self._lock:
                self.handled += len(messages)
                self.batches += 1
            return True
