"""A stand-in device for live mode: answers the portal's live command with live samples.

It subscribes to the meter's command topic on a real broker, waits for the
portal's ``live`` command and then publishes one sample every ``period_s``
(encoded with ``protocol.live``, QoS 0, as the agent does), with a power that
rises by a few watts each time so a viewer can see it move.
"""

from __future__ import annotations

import threading
import time

from protocol import topics
from protocol.live import encode_live
from protocol.messages import decode_command
from tests.fixtures.mosquitto import MosquittoBroker
from tests.fixtures.mqtt import MqttTestClient


def sample_values(n: int) -> dict[str, float]:
    """The ``n``-th sample's channels: power rises by 15 W a sample in total."""
    p1, p2, p3 = 1000.0 + 7 * n, 1500.0 + 5 * n, 800.0 + 3 * n
    return {
        "p_l1_w": p1,
        "p_l2_w": p2,
        "p_l3_w": p3,
        "p_total_w": p1 + p2 + p3,
        "u_l1_v": 231.2,
        "u_l2_v": 229.8,
        "u_l3_v": 230.5,
        "i_l1_a": round(p1 / 231.2, 2),
        "i_l2_a": round(p2 / 229.8, 2),
        "i_l3_a": round(p3 / 230.5, 2),
        "pf_l1": 0.97,
        "pf_l2": 0.95,
        "pf_l3": 0.91,
    }


class LiveDevice:
    """Waits for a live command on the meter's command topic, then publishes one live
    sample every ``period_s`` with a power that changes each time, until stopped."""

    def __init__(self, broker: MosquittoBroker, device_id: str, period_s: float = 0.5) -> None:
        self.device_id = device_id
        self.period_s = period_s
        self.client = MqttTestClient(broker.host, broker.port, f"device-{device_id}")
        self.commands: list[dict[str, object]] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-device", daemon=True)

    def start(self) -> None:
        self.client.connect()
        self.client.subscribe(topics.command(self.device_id), qos=1)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                message = self.client.expect_message(timeout=0.5)
            except AssertionError:
                continue
            self.commands.append(decode_command(bytes(message.payload)))
            break
        while not self._stop.is_set():
            values = sample_values(self.sent)
            payload = encode_live(self.device_id, [(int(time.time() * 1000), values)])
            self.client.publish(topics.live(self.device_id), payload, qos=0)
            self.sent += 1
            self._stop.wait(self.period_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.close()
