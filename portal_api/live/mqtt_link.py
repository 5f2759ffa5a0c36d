"""The portal's MQTT connection for live mode: paho-mqtt 2 (callback API 2), MQTT v5.

A thin wrapper so the hub deals in topics and payloads, not paho details:

* clean start, no session expiry: the portal needs no backlog (a live sample is
  worthless a few seconds later), and a restarted portal must not inherit the
  subscriptions of a dead one. After every (re)connect the owner subscribes
  again from its own state (``on_connect``).
* paho's network thread (``loop_start``) reconnects by itself with exponential
  backoff between ``reconnect_min_s`` and ``reconnect_max_s``.
* ``publish`` / ``subscribe`` / ``unsubscribe`` return False while disconnected
  instead of letting paho queue the request: the owner repeats what matters at
  the next connect, so nothing stale is replayed.

Thread-safety: every method may be called from any thread; the callbacks run on
paho's network thread and must not block.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from portal_api.live.config import LiveHubConfig

__all__ = ["MqttLink"]

log = structlog.get_logger(__name__)


class MqttLink:
    """One paho client; ``on_connect()`` after each successful CONNACK,
    ``on_disconnect()`` when the connection is lost or closed,
    ``on_message(topic, payload)`` for each message received."""

    def __init__(
        self,
        config: LiveHubConfig,
        *,
        on_connect: Callable[[], None],
        on_message: Callable[[str, bytes], None],
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._on_connect_cb = on_connect
        self._on_disconnect_cb = on_disconnect
        self._on_message_cb = on_message
        self._connected = threading.Event()
        self._stopping = False
        self.connects = 0
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        config = self.config
        v5 = config.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            # The portal needs no backlog: a clean session under either protocol.
            clean_session=None if v5 else True,
        )
        if config.tls.enabled:
            tls = config.tls
            client.tls_set(
                ca_certs=str(tls.ca_file) if tls.ca_file else None,
                certfile=str(tls.cert_file) if tls.cert_file else None,
                keyfile=str(tls.key_file) if tls.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if config.username:
            client.username_pw_set(config.username, config.password)
        client.reconnect_delay_set(config.reconnect_min_s, config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting until :meth:`stop`."""
        if self.config.protocol == "5":
            self.client.connect_async(
                self.config.host,
                self.config.broker_port,
                keepalive=self.config.keepalive_s,
                clean_start=True,
            )
        else:  # 3.1.1 has no clean_start: the session is clean by clean_session above
            self.client.connect_async(
                self.config.host, self.config.broker_port, keepalive=self.config.keepalive_s
            )
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect cleanly and end the network thread."""
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        """True once connected (within ``timeout`` seconds)."""
        return self._connected.wait(timeout)

    # -- operations (any thread) --------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int, retain: bool = False) -> bool:
        """Hand a message to paho; False when not connected (nothing is queued)."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    def subscribe(self, topics: Sequence[str], qos: int) -> bool:
        if not self.connected or not topics:
            return False
        result, _ = self.client.subscribe([(topic, qos) for topic in topics])
        return result == MQTTErrorCode.MQTT_ERR_SUCCESS

    def unsubscribe(self, topics: Sequence[str]) -> bool:
        if not self.connected or not topics:
            return False
        result, _ = self.client.unsubscribe(list(topics))
        return result == MQTTErrorCode.MQTT_ERR_SUCCESS

    # -- paho callbacks (network thread) ----------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused the live link", reason=str(reason_code))
            return
        self.connects += 1
        self._connected.set()
        log.info(
            "live link connected",
            host=self.config.host,
            port=self.config.broker_port,
            client_id=self.config.client_id,
        )
        self._on_connect_cb()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        if not self._stopping:
            log.warning("live link lost; reconnecting", reason=str(reason_code))
        if self._on_disconnect_cb is not None:
            self._on_disconnect_cb()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self._on_message_cb(message.topic, bytes(message.payload))
