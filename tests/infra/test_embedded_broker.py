"""The stack's embedded broker (amqtt 0.12.1) with a real paho-mqtt 2.2 client.

The first tests prove what the edge agent and ingest need; the `limitation`
tests pin down what amqtt does not do, so an upgrade that fixes (or breaks)
one of them is noticed. See the docstring of simulators/broker.py.
"""

import asyncio

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from simulators.broker import EmbeddedBroker
from tests.conftest import MqttClientFactory
from tests.fixtures.mqtt import MqttConnectError, Will
from tests.fixtures.ports import port_accepts

pytestmark = pytest.mark.integration

UP = "myenergy/v1/dev-001/up"
STATUS = "myenergy/v1/dev-001/status"


def test_qos1_publish_is_acknowledged_and_delivered(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    ingest = mqtt_clients(embedded_broker, "ingest-1")
    ingest.connect()
    assert ingest.subscribe("myenergy/v1/+/up", qos=1)[0].value == 1
    device = mqtt_clients(embedded_broker, "dev-001")
    device.connect()
    assert not device.publish(UP, b"\x00batch", qos=1).is_failure  # waits for the PUBACK
    message = ingest.expect_message()
    assert (message.topic, message.payload, message.qos) == (UP, b"\x00batch", 1)


def test_persistent_session_queues_qos1_for_an_offline_subscriber(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    ingest = mqtt_clients(embedded_broker, "ingest-1", clean_start=False)
    ingest.connect()
    ingest.subscribe("myenergy/v1/+/up", qos=1)
    ingest.disconnect()

    device = mqtt_clients(embedded_broker, "dev-001")
    device.connect()
    for i in range(50):
        device.publish(UP, str(i).encode(), qos=1)

    assert ingest.connect().session_present
    received = [int(m.payload) for m in ingest.expect_messages(50)]
    assert sorted(received) == list(range(50))
    ingest.expect_no_message(within=0.2)


def test_retained_status_reaches_a_later_subscriber(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    device = mqtt_clients(embedded_broker, "dev-001")
    device.connect()
    device.publish(STATUS, b'{"online":true}', qos=1, retain=True)
    portal = mqtt_clients(embedded_broker, "portal")
    portal.connect()
    portal.subscribe("myenergy/v1/+/status")
    message = portal.expect_message()
    assert (message.topic, message.payload, message.retain) == (STATUS, b'{"online":true}', True)


def test_last_will_is_published_when_the_device_vanishes(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    portal = mqtt_clients(embedded_broker, "portal")
    portal.connect()
    portal.subscribe(STATUS)
    device = mqtt_clients(
        embedded_broker, "dev-001", will=Will(STATUS, b'{"online":false}', qos=1, retain=True)
    )
    device.connect()
    device.drop()
    assert portal.expect_message().payload == b'{"online":false}'
    late = mqtt_clients(embedded_broker, "late")
    late.connect()
    late.subscribe(STATUS)
    assert late.expect_message().payload == b'{"online":false}'  # the will was retained


def test_clean_disconnect_sends_no_will(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    portal = mqtt_clients(embedded_broker, "portal")
    portal.connect()
    portal.subscribe(STATUS)
    device = mqtt_clients(embedded_broker, "dev-001", will=Will(STATUS, b"offline"))
    device.connect()
    device.disconnect()
    portal.expect_no_message(within=0.5)


def test_start_stop_from_inside_an_event_loop(mqtt_clients: MqttClientFactory) -> None:
    async def scenario() -> None:
        broker = EmbeddedBroker()
        await broker.start_async()
        try:
            client = mqtt_clients(broker, "dev-001")
            # paho blocks: run it off the loop that serves the broker
            await asyncio.to_thread(client.connect)
            await asyncio.to_thread(client.publish, UP, b"x", 1)
            await asyncio.to_thread(client.disconnect)
        finally:
            port = broker.port
            await broker.stop_async()
        assert not port_accepts(broker.host, port)

    asyncio.run(scenario())


def test_threaded_start_stop_frees_the_port() -> None:
    with EmbeddedBroker() as broker:
        port, running_inside = broker.port, broker.running
        assert port_accepts(broker.host, port)
    assert (running_inside, broker.running) == (True, False)
    assert not port_accepts(broker.host, port)


def test_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback"):
        EmbeddedBroker(host="0.0.0.0")


# -- what amqtt 0.12.1 does not do --------------------------------------------


def test_limitation_mqtt5_clients_are_refused(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    client = mqtt_clients(embedded_broker, "ingest-1", protocol=MQTTProtocolVersion.MQTTv5)
    with pytest.raises(MqttConnectError) as refused:
        client.connect()
    code = refused.value.reason_code
    assert code is None or code.is_failure


def test_limitation_shared_subscriptions_receive_nothing(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    ingest = mqtt_clients(embedded_broker, "ingest-1")
    ingest.connect()
    ingest.subscribe("$share/ingest/myenergy/v1/+/up")
    device = mqtt_clients(embedded_broker, "dev-001")
    device.connect()
    device.publish(UP, b"batch")
    ingest.expect_no_message(within=0.5)


def test_limitation_queued_messages_arrive_with_the_retain_flag(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    ingest = mqtt_clients(embedded_broker, "ingest-1", clean_start=False)
    ingest.connect()
    ingest.subscribe(UP)
    ingest.disconnect()
    device = mqtt_clients(embedded_broker, "dev-001")
    device.connect()
    device.publish(UP, b"batch")
    ingest.connect()
    assert ingest.expect_message().retain  # MQTT 3.1.1 says it should be 0


def test_limitation_unacknowledged_message_is_lost_when_the_subscriber_crashes(
    embedded_broker: EmbeddedBroker, mqtt_clients: MqttClientFactory
) -> None:
    """amqtt forgets an in-flight QoS 1 message when the connection drops (or when
    no PUBACK comes within 5 s) instead of resending it on reconnect; Mosquitto
    resends it (tests/infra/test_mosquitto.py)."""
    ingest = mqtt_clients(embedded_broker, "ingest-1", clean_start=False, manual_ack=True)
    ingest.connect()
    ingest.subscribe(UP, qos=1)
    device = mqtt_clients(embedded_broker, "dev-001")
    device.connect()
    device.publish(UP, b"batch-7", qos=1)
    assert ingest.expect_message().payload == b"batch-7"
    ingest.drop()  # crashed before acknowledging

    assert ingest.connect().session_present
    ingest.expect_no_message(within=1.0)


def test_limitation_a_restart_forgets_everything(mqtt_clients: MqttClientFactory) -> None:
    broker = EmbeddedBroker()
    broker.start()
    try:
        ingest = mqtt_clients(broker, "ingest-1", clean_start=False)
        ingest.connect()
        ingest.subscribe(UP)
        ingest.disconnect()
        port = broker.port
        broker.stop()
        broker = EmbeddedBroker(port=port)
        broker.start()
        assert not ingest.connect().session_present
    finally:
        broker.stop()
