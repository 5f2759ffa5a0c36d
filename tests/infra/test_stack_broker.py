"""start_broker(): Mosquitto first (MQTT v5, what the agent speaks), amqtt as fallback."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from simulators import broker as broker_module
from simulators.broker import EmbeddedBroker, LocalMosquitto, start_broker
from tests.conftest import MqttClientFactory
from tests.fixtures.ports import port_accepts

pytestmark = pytest.mark.integration

UP = "myenergy/v1/dev-001/up"
V5 = MQTTProtocolVersion.MQTTv5


@pytest.fixture
def stopped_at_teardown() -> Iterator[list[LocalMosquitto | EmbeddedBroker]]:
    brokers: list[LocalMosquitto | EmbeddedBroker] = []
    yield brokers
    for broker in brokers:
        broker.stop()


def test_auto_prefers_mosquitto_which_serves_mqtt5_clients(
    stopped_at_teardown: list[LocalMosquitto | EmbeddedBroker], mqtt_clients: MqttClientFactory
) -> None:
    broker = start_broker()
    stopped_at_teardown.append(broker)
    assert broker.kind == "mosquitto"
    ingest = mqtt_clients(broker, "ingest-1", protocol=V5)
    ingest.connect()
    ingest.subscribe("$share/ingest/myenergy/v1/+/up")
    device = mqtt_clients(broker, "dev-001", protocol=V5)
    device.connect()
    assert not device.publish(UP, b"batch").is_failure
    assert ingest.expect_message().payload == b"batch"


def test_mosquitto_with_a_state_dir_keeps_sessions_across_restarts(
    tmp_path: Path, mqtt_clients: MqttClientFactory
) -> None:
    with LocalMosquitto(state_dir=tmp_path) as broker:
        port = broker.port
        ingest = mqtt_clients(broker, "ingest-1", protocol=V5, clean_start=False)
        ingest.connect()
        ingest.subscribe(UP)
        ingest.disconnect()
        device = mqtt_clients(broker, "dev-001", protocol=V5)
        device.connect()
        device.publish(UP, b"queued")
        device.disconnect()
    assert not port_accepts("127.0.0.1", port)
    with LocalMosquitto(port=port, state_dir=tmp_path) as broker:
        assert ingest.connect().session_present
        assert ingest.expect_message().payload == b"queued"
    assert (tmp_path / "mosquitto.log").exists()


def test_temporary_state_is_removed_on_stop() -> None:
    broker = LocalMosquitto()
    broker.start()
    directory = broker.directory
    assert directory.exists()
    broker.stop()
    assert not directory.exists()


def test_falls_back_to_amqtt_without_mosquitto(
    monkeypatch: pytest.MonkeyPatch, stopped_at_teardown: list[LocalMosquitto | EmbeddedBroker]
) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    broker = start_broker()
    stopped_at_teardown.append(broker)
    assert isinstance(broker, EmbeddedBroker)
    assert broker.kind == "amqtt"
    with pytest.raises(broker_module.BrokerError, match="not installed"):
        start_broker(kind="mosquitto")


def test_amqtt_on_request(stopped_at_teardown: list[LocalMosquitto | EmbeddedBroker]) -> None:
    broker = start_broker(kind="amqtt")
    stopped_at_teardown.append(broker)
    assert broker.kind == "amqtt" and port_accepts(broker.host, broker.port)


def test_mosquitto_dies_with_a_killed_parent(tmp_path):
    """A SIGKILLed stack leaves no broker behind (parent-death signal)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from simulators.broker import LocalMosquitto\n"
        "b = LocalMosquitto(state_dir=Path(sys.argv[1]))\n"
        "b.start()\n"
        "print(b._proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "broker")], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(child, 0)  # the broker runs
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(child, signal.SIGKILL)
    raise AssertionError("mosquitto outlived its killed parent")
