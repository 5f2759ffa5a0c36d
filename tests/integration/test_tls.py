"""g) The uplink over TLS with per-device credentials, against Mosquitto with an ACL.

The agent logs in with its own client certificate and password (from a
password file) and its records arrive at the cloud client. With the very same
credentials, publishing to another device's topic is refused by the broker - in
the MQTT v5 PUBACK, which is why the agent speaks v5 - and nothing reaches that
topic's subscribers. The password never shows in the agent's logs.
"""

from __future__ import annotations

import io
from pathlib import Path

from paho.mqtt.enums import MQTTProtocolVersion

from edge_agent.clock import AcceleratedClock
from edge_agent.logging_setup import configure_logging
from protocol import topics
from protocol.codec import Batch, Record, encode_batch, encode_live
from tests.fixtures.mosquitto import MosquittoTLS
from tests.fixtures.mqtt import MqttTestClient
from tests.integration.harness import (
    DEVICE,
    T0,
    assert_no_gaps,
    collector,
    make_agent,
    start_meter,
    wait_for,
    write_config,
)

OTHER = "site-it-0002"


def test_tls_uplink_with_device_credentials(mosquitto_tls: MosquittoTLS, tmp_path: Path) -> None:
    device = mosquitto_tls.add_device(DEVICE)
    mosquitto_tls.add_device(OTHER)
    cloud_creds = mosquitto_tls.add_cloud_client("ingest")
    mosquitto_tls.start()

    cloud = collector(mosquitto_tls.host, mosquitto_tls.port, credentials=cloud_creds).start()
    cloud.client.subscribe(topics.uplink(OTHER), qos=1)
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(device.password + "\n")

    clock = AcceleratedClock(60, start=T0)
    meter = start_meter(clock)
    config = write_config(
        tmp_path,
        serial_port=meter.path,
        mqtt_port=mosquitto_tls.port,
        mqtt_host="localhost",  # the name in the broker's certificate
        extra={
            "mqtt": {
                "username": DEVICE,
                "password_file": str(password_file),
                "tls": {
                    "enabled": True,
                    "ca_file": str(device.cafile),
                    "cert_file": str(device.certfile),
                    "key_file": str(device.keyfile),
                },
            },
            "log": {"level": "DEBUG"},
        },
    )
    logs = io.StringIO()
    configure_logging("DEBUG", "json", stream=logs)
    agent = make_agent(config, clock)
    agent.start()
    try:
        cloud.wait_until(lambda: len(cloud.records) >= 3, 40, "records over TLS")
        wait_for(lambda: agent.queue.depth() <= 1, 10, "the queue to drain on PUBACKs")

        # A device holding valid credentials still cannot speak for another device.
        rogue = MqttTestClient(
            mosquitto_tls.host,
            mosquitto_tls.port,
            f"{DEVICE}-probe",
            protocol=MQTTProtocolVersion.MQTTv5,
            credentials=device,
        )
        rogue.connect()
        forged = encode_batch(Batch(OTHER, [Record(1, int(T0) // 60 * 60)]))
        sample = encode_live(DEVICE, [(int(T0 * 1000), {"p_l1_w": 1.0})])
        own = rogue.publish(topics.live(DEVICE), sample, qos=1)  # the login itself is fine
        refused = rogue.publish(topics.uplink(OTHER), forged, qos=1)
        rogue.close()
        cloud.drain(0.5)
    finally:
        agent.stop()
        meter.stop()
        configure_logging("INFO", "console")

    assert refused.is_failure and refused.getName() == "Not authorized"
    assert not own.is_failure
    assert {r.device for r in cloud.records} == {DEVICE}  # nothing forged got through
    assert_no_gaps(cloud.seqs(), max(r.record.seq for r in cloud.records))
    text = logs.getvalue()
    assert "mqtt connected" in text
    assert device.password not in text
