"""The TLS Mosquitto fixture: certificates, per-device logins and per-device topics.

Observed Mosquitto 2.0.11 behaviour the device and cloud code must live with:

- A publish the ACL denies is acknowledged and dropped, then the broker closes
  the connection ("Bad socket read/write ... Unknown error" in its log). With
  MQTT 3.1.1 the PUBACK says Success; with MQTT v5 it carries 0x87 Not
  authorized. A v3.1.1 client cannot tell a denied publish from a delivered one.
- A subscription the ACL denies is granted in the SUBACK, but nothing the
  client may not read is ever delivered on it.
- A wrong password gets CONNACK "Not authorized" (3.1.1 return code 5, v5 0x87).
"""

from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from tests.conftest import MqttClientFactory
from tests.fixtures.mosquitto import MosquittoFactory, MosquittoTLS
from tests.fixtures.mqtt import MqttConnectError
from tests.fixtures.tls import issue_cert, make_ca

pytestmark = pytest.mark.integration

PROTOCOLS = [
    pytest.param(MQTTProtocolVersion.MQTTv311, id="mqtt311"),
    pytest.param(MQTTProtocolVersion.MQTTv5, id="mqtt5"),
]
NOT_AUTHORIZED = 0x87
V311_NOT_AUTHORIZED = 5  # CONNACK return code


def test_device_and_cloud_exchange_messages_over_tls(
    mosquitto_tls: MosquittoTLS, mqtt_clients: MqttClientFactory
) -> None:
    device_login = mosquitto_tls.add_device("dev-001")
    cloud_login = mosquitto_tls.add_cloud_client("ingest")
    mosquitto_tls.start()

    cloud = mqtt_clients(mosquitto_tls, "ingest-1", credentials=cloud_login)
    cloud.connect()
    cloud.subscribe("myenergy/v1/+/up")
    cloud.subscribe("myenergy/v1/+/status")
    device = mqtt_clients(mosquitto_tls, "dev-001", credentials=device_login)
    device.connect()
    device.subscribe("myenergy/v1/dev-001/cmd")

    assert not device.publish("myenergy/v1/dev-001/up", b"batch").is_failure
    assert cloud.expect_message().payload == b"batch"
    device.publish("myenergy/v1/dev-001/status", b'{"online":true}', retain=True)
    assert cloud.expect_message().topic == "myenergy/v1/dev-001/status"
    cloud.publish("myenergy/v1/dev-001/cmd", b'{"cmd":"live","minutes":5}')
    assert device.expect_message().topic == "myenergy/v1/dev-001/cmd"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_device_cannot_publish_as_another_device(
    mosquitto_tls: MosquittoTLS,
    mqtt_clients: MqttClientFactory,
    protocol: MQTTProtocolVersion,
) -> None:
    intruder_login = mosquitto_tls.add_device("dev-001")
    mosquitto_tls.add_device("dev-002")
    cloud_login = mosquitto_tls.add_cloud_client()
    mosquitto_tls.start()
    cloud = mqtt_clients(mosquitto_tls, "ingest-1", credentials=cloud_login)
    cloud.connect()
    cloud.subscribe("myenergy/v1/+/up")
    intruder = mqtt_clients(mosquitto_tls, "dev-001", protocol=protocol, credentials=intruder_login)
    intruder.connect()

    reason = intruder.publish("myenergy/v1/dev-002/up", b"forged")

    if protocol == MQTTProtocolVersion.MQTTv5:
        assert reason.value == NOT_AUTHORIZED
    else:
        assert not reason.is_failure  # 3.1.1 has no way to say no in a PUBACK
    intruder.wait_disconnected()  # and Mosquitto 2.0.11 then drops the connection
    cloud.expect_no_message(within=0.5)


def test_device_does_not_receive_another_devices_commands(
    mosquitto_tls: MosquittoTLS, mqtt_clients: MqttClientFactory
) -> None:
    snoop_login = mosquitto_tls.add_device("dev-001")
    mosquitto_tls.add_device("dev-002")
    cloud_login = mosquitto_tls.add_cloud_client()
    mosquitto_tls.start()
    snoop = mqtt_clients(mosquitto_tls, "dev-001", credentials=snoop_login)
    snoop.connect()
    snoop.subscribe("myenergy/v1/dev-002/cmd")  # granted by Mosquitto 2.0.11 ...
    snoop.subscribe("myenergy/v1/dev-001/cmd")
    cloud = mqtt_clients(mosquitto_tls, "portal", credentials=cloud_login)
    cloud.connect()
    cloud.publish("myenergy/v1/dev-002/cmd", b"for dev-002")
    cloud.publish("myenergy/v1/dev-001/cmd", b"for dev-001")
    assert snoop.expect_message().payload == b"for dev-001"  # ... but never delivered
    snoop.expect_no_message(within=0.3)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_password_is_refused(
    mosquitto_tls: MosquittoTLS,
    mqtt_clients: MqttClientFactory,
    protocol: MQTTProtocolVersion,
) -> None:
    login = mosquitto_tls.add_device("dev-001", password="right")
    mosquitto_tls.start()
    client = mqtt_clients(
        mosquitto_tls, "dev-001", protocol=protocol, credentials=login, password="wrong"
    )
    with pytest.raises(MqttConnectError) as refused:
        client.connect()
    assert refused.value.reason_code is not None
    assert refused.value.reason_code.value in (NOT_AUTHORIZED, V311_NOT_AUTHORIZED)
    assert mosquitto_tls.wait_for_log("not authorised")  # logged just after the CONNACK
    mqtt_clients(mosquitto_tls, "dev-001b", credentials=login).connect()


def test_client_without_a_certificate_of_our_ca_is_refused(
    mosquitto_tls: MosquittoTLS, mqtt_clients: MqttClientFactory, tmp_path: Path
) -> None:
    login = mosquitto_tls.add_device("dev-001")
    mosquitto_tls.start()
    foreign = issue_cert(make_ca("Someone else's CA"), "dev-001").write(tmp_path, "foreign")
    client = mqtt_clients(mosquitto_tls, "dev-001")
    client.client.tls_set(
        ca_certs=str(login.cafile), certfile=str(foreign.certfile), keyfile=str(foreign.keyfile)
    )
    client.client.username_pw_set(login.username, login.password)
    with pytest.raises(MqttConnectError):
        client.connect()

    no_cert = mqtt_clients(mosquitto_tls, "dev-001")
    no_cert.client.tls_set(ca_certs=str(login.cafile))
    no_cert.client.username_pw_set(login.username, login.password)
    with pytest.raises(MqttConnectError):
        no_cert.connect()


def test_shared_subscription_for_ingest_workers(
    mosquitto_tls: MosquittoTLS, mqtt_clients: MqttClientFactory
) -> None:
    device_login = mosquitto_tls.add_device("dev-001")
    cloud_login = mosquitto_tls.add_cloud_client()
    mosquitto_tls.start()
    workers = [
        mqtt_clients(
            mosquitto_tls,
            f"ingest-{i}",
            protocol=MQTTProtocolVersion.MQTTv5,
            credentials=cloud_login,
        )
        for i in range(2)
    ]
    for worker in workers:
        worker.connect()
        worker.subscribe("$share/ingest/myenergy/v1/+/up")
    device = mqtt_clients(mosquitto_tls, "dev-001", credentials=device_login)
    device.connect()
    for i in range(10):
        device.publish("myenergy/v1/dev-001/up", str(i))
    received: list[str] = []
    for worker in workers:
        while True:
            try:
                received.append(worker.expect_message(timeout=0.3).payload.decode())
            except AssertionError:
                break
    assert sorted(received, key=int) == [str(i) for i in range(10)]  # each exactly once


def test_certificate_identity_mode(
    mosquitto_factory: MosquittoFactory, mqtt_clients: MqttClientFactory
) -> None:
    """identity="certificate": the CN is the username, no password file."""
    broker = mosquitto_factory.tls(identity="certificate")
    login = broker.add_device("dev-001")
    broker.add_device("dev-002")
    broker.start()
    assert "use_identity_as_username true" in broker.config_path.read_text()
    device = mqtt_clients(broker, "dev-001", credentials=login, password="")
    device.connect()
    device.publish("myenergy/v1/dev-001/up", b"ok")
    assert device.connected
    device.publish("myenergy/v1/dev-002/up", b"forged")
    device.wait_disconnected()


def test_devices_added_after_start_count_from_the_next_restart(
    mosquitto_tls: MosquittoTLS, mqtt_clients: MqttClientFactory
) -> None:
    mosquitto_tls.add_device("dev-001")
    mosquitto_tls.start()
    late = mosquitto_tls.add_device("dev-009")
    client = mqtt_clients(mosquitto_tls, "dev-009", credentials=late)
    with pytest.raises(MqttConnectError):
        client.connect()
    mosquitto_tls.restart()
    client.connect()
    with pytest.raises(ValueError, match="already"):
        mosquitto_tls.add_device("dev-009")
