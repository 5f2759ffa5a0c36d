"""The plain Mosquitto fixture: a real broker, persistence across restarts, crashes."""

import socket

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from tests.conftest import MqttClientFactory
from tests.fixtures import mosquitto as mosquitto_module
from tests.fixtures.mosquitto import MosquittoBroker, MosquittoError, MosquittoFactory
from tests.fixtures.mqtt import MqttConnectError, Will
from tests.fixtures.ports import LOOPBACK, free_port, port_accepts

pytestmark = pytest.mark.integration

TOPIC = "myenergy/v1/dev-001/up"
PROTOCOLS = [
    pytest.param(MQTTProtocolVersion.MQTTv311, id="mqtt311"),
    pytest.param(MQTTProtocolVersion.MQTTv5, id="mqtt5"),
]


def test_qos1_round_trip(mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory) -> None:
    sub = mqtt_clients(mosquitto, "sub")
    sub.connect()
    assert sub.subscribe("myenergy/v1/+/up", qos=1)[0].value == 1
    pub = mqtt_clients(mosquitto, "pub")
    pub.connect()
    assert not pub.publish(TOPIC, b"\x01\x02", qos=1).is_failure
    message = sub.expect_message()
    assert (message.topic, message.payload, message.qos) == (TOPIC, b"\x01\x02", 1)
    assert mosquitto.host == LOOPBACK
    assert "New client connected" in mosquitto.log_text()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_persistent_session_and_queued_message_survive_restart(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    protocol: MQTTProtocolVersion,
) -> None:
    """What the agent's broker-restart tests rely on."""
    sub = mqtt_clients(mosquitto, "ingest-1", protocol=protocol, clean_start=False)
    assert not sub.connect().session_present
    sub.subscribe(TOPIC, qos=1)
    sub.disconnect()

    pub = mqtt_clients(mosquitto, "dev-001", protocol=protocol)
    pub.connect()
    assert not pub.publish(TOPIC, b"while offline", qos=1).is_failure
    pub.disconnect()

    mosquitto.restart()
    assert "Saving in-memory database" in mosquitto.log_text()

    assert sub.connect().session_present
    message = sub.expect_message()
    assert (message.topic, message.payload, message.qos) == (TOPIC, b"while offline", 1)


def test_offline_backlog_beyond_mosquittos_default_queue_is_kept(
    mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory
) -> None:
    count = 1500  # Mosquitto's default max_queued_messages (1000) would drop 500
    sub = mqtt_clients(mosquitto, "ingest-1", clean_start=False)
    sub.connect()
    sub.subscribe(TOPIC, qos=1)
    sub.disconnect()
    pub = mqtt_clients(mosquitto, "dev-001")
    pub.connect()
    infos = [pub.client.publish(TOPIC, str(i), qos=1) for i in range(count)]
    for info in infos:
        info.wait_for_publish(10)
        assert info.is_published()
    sub.connect()
    payloads = [int(m.payload) for m in sub.expect_messages(count)]
    assert sorted(payloads) == list(range(count))
    sub.expect_no_message(within=0.2)


def test_unacknowledged_message_is_redelivered_to_a_crashed_subscriber(
    mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory
) -> None:
    """Ingest acknowledges only after storing: a crash before the ack loses nothing."""
    sub = mqtt_clients(mosquitto, "ingest-1", clean_start=False, manual_ack=True)
    sub.connect()
    sub.subscribe(TOPIC, qos=1)
    pub = mqtt_clients(mosquitto, "dev-001")
    pub.connect()
    pub.publish(TOPIC, b"batch-7", qos=1)
    first = sub.expect_message()
    assert first.payload == b"batch-7"
    sub.drop()  # no PUBACK, no DISCONNECT

    sub.connect()
    again = sub.expect_message()
    assert (again.payload, again.dup) == (b"batch-7", True)
    sub.ack(again)
    sub.disconnect()
    sub.connect()
    sub.expect_no_message(within=0.3)


def test_will_is_published_when_a_client_vanishes(
    mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory
) -> None:
    status = "myenergy/v1/dev-001/status"
    watcher = mqtt_clients(mosquitto, "portal")
    watcher.connect()
    watcher.subscribe(status)
    device = mqtt_clients(mosquitto, "dev-001", will=Will(status, b"offline", retain=True))
    device.connect()
    device.drop()
    message = watcher.expect_message()
    assert (message.topic, message.payload) == (status, b"offline")


def test_kill_then_start_on_the_same_port(
    mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory
) -> None:
    client = mqtt_clients(mosquitto, "dev-001")
    client.connect()
    port, pid = mosquitto.port, mosquitto.pid
    mosquitto.kill()
    assert not mosquitto.running
    client.wait_disconnected()
    with pytest.raises(MqttConnectError):
        client.connect(timeout=1)
    mosquitto.start()
    assert (mosquitto.port, mosquitto.running) == (port, True)
    assert mosquitto.pid != pid
    client.connect()


def test_paused_broker_accepts_tcp_but_does_not_answer(
    mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory
) -> None:
    mosquitto.pause()
    try:
        client = mqtt_clients(mosquitto, "dev-001")
        with pytest.raises(MqttConnectError, match="no CONNACK"):
            client.connect(timeout=0.5)
    finally:
        mosquitto.resume()
    mqtt_clients(mosquitto, "dev-002").connect()


def test_custom_config_through_the_factory(
    mosquitto_factory: MosquittoFactory, mqtt_clients: MqttClientFactory
) -> None:
    broker = mosquitto_factory(name="tiny", max_queued_messages=2, start=False)
    broker.extra_config = "max_keepalive 60"
    broker.start()
    assert broker.name == "tiny"
    config = broker.config_path.read_text()
    assert "max_queued_messages 2\n" in config
    assert config.endswith("max_keepalive 60\n")
    mqtt_clients(broker, "c").connect()
    second = mosquitto_factory(name="tiny")
    assert second.name == "tiny-2"
    assert second.port != broker.port


def test_start_fails_loudly_on_a_taken_fixed_port(mosquitto_factory: MosquittoFactory) -> None:
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        broker = mosquitto_factory(port=taken, start=False)
        with pytest.raises(MosquittoError, match="Address already in use"):
            broker.start(timeout=3)


def test_start_retries_when_the_chosen_port_was_taken_meanwhile(
    mosquitto_factory: MosquittoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        ports = iter([squatter.getsockname()[1], free_port()])
        monkeypatch.setattr(mosquitto_module, "free_port", lambda host: next(ports))
        broker = mosquitto_factory()
        assert broker.port != squatter.getsockname()[1]
        assert port_accepts(LOOPBACK, broker.port)


def test_broker_log_is_attached_to_a_failing_test(
    pytester: pytest.Pytester, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(request.config.rootpath))
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(
        test_fails="""
        def test_fails(mosquitto):
            assert mosquitto.running
            assert False, "deliberate"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mosquitto log (last 200 lines)*", "*mosquitto version 2*"])
    saved = list(pytester.path.glob("test-artifacts/brokers/*/mosquitto.log"))
    assert len(saved) == 1
