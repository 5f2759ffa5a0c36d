"""The agent's uplink on its own (no poller): for tests about what the broker says.

Shared by the tests of MQTT 3.1.1, of unheard batches and by bench/uplink.py.
"""

from __future__ import annotations

from typing import Any

from edge_agent.clock import SystemClock
from edge_agent.config import MqttConfig, TlsConfig
from edge_agent.queue import RecordQueue
from edge_agent.uplink import Uplink
from protocol.codec import CLOCK_SYNCED, Record

T0 = 1_780_272_000  # 2026-06-01 00:00 UTC


def sample_record(k: int) -> Record:
    """The k-th of consecutive plain 1-minute records (seq assigned by the queue)."""
    return Record(
        0,
        T0 + 60 * k,
        clock=CLOCK_SYNCED,
        samples=60,
        expected=60,
        stats={"p_total_w": (1000.0 + k, 900.0, 1100.0 + k)},
        counters={"e_imp_wh": 5_000_000 + 17 * k},
    )


def bare_uplink(host: str, port: int, device: str, queue: RecordQueue, **mqtt: Any) -> Uplink:
    """An Uplink without TLS, uploading every 0.2 s, with ``mqtt`` overriding settings."""
    settings: dict[str, Any] = {"upload_interval_s": 0.2, **mqtt}
    cfg = MqttConfig(host=host, port=port, tls=TlsConfig(enabled=False), **settings)
    return Uplink(
        cfg,
        device,
        queue,
        SystemClock(),
        status_fn=lambda state: None,
        last_will={"state": "offline"},
        on_command=lambda payload, retained: None,
    )
