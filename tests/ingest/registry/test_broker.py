"""A real Mosquitto 2.0 running exactly the files `render_mosquitto` writes.

Each test registers devices and service accounts, renders, starts the broker
(TLS, client certificates, passwords, ACL) and checks one rule of
docs/broker-security.md from a client's point of view.
"""

from __future__ import annotations

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from ingest.registry import DeviceState, Registry, ServiceRole
from protocol import topics
from tests.conftest import MqttClientFactory
from tests.fixtures.mosquitto import MqttCredentials
from tests.fixtures.mqtt import MqttConnectError, MqttTestClient
from tests.ingest.registry.conftest import RegistryBroker

pytestmark = pytest.mark.integration

V5 = MQTTProtocolVersion.MQTTv5
NOT_AUTHORIZED = 0x87  # MQTT v5 reason code, in PUBACK and CONNACK
BAD_USERNAME_OR_PASSWORD = 0x86


class Fleet:
    """Two devices and the two cloud services, registered and logged in."""

    def __init__(self, registry: Registry, broker: RegistryBroker) -> None:
        self.broker = broker
        self.logins: dict[str, MqttCredentials] = {}
        for device_id in ("dev-a", "dev-b"):
            password = registry.add_device(device_id, "site-1", "sdm630")
            self.logins[device_id] = broker.login(device_id, password)
        for name, role in (("svc_ingest", ServiceRole.INGEST), ("svc_portal", ServiceRole.PORTAL)):
            self.logins[name] = broker.login(name, registry.add_service_account(name, role))

    def client(
        self, clients: MqttClientFactory, username: str, *, password: str | None = None
    ) -> MqttTestClient:
        return clients(
            self.broker,
            f"{username}-client",
            protocol=V5,
            credentials=self.logins[username],
            password=password,
        )


@pytest.fixture
def fleet(registry: Registry, registry_broker: RegistryBroker) -> Fleet:
    return Fleet(registry, registry_broker)


def connected(client: MqttTestClient) -> MqttTestClient:
    client.connect()
    return client


def test_device_uplink_reaches_ingest_through_its_shared_subscription(
    fleet: Fleet, registry_broker: RegistryBroker, mqtt_clients: MqttClientFactory
) -> None:
    registry_broker.start()
    ingest = connected(fleet.client(mqtt_clients, "svc_ingest"))
    for shared in (topics.SHARED_UPLINK, topics.SHARED_STATUS, topics.SHARED_LIVE):
        ingest.subscribe(shared)
    device = connected(fleet.client(mqtt_clients, "dev-a"))

    assert not device.publish(topics.uplink("dev-a"), b"batch").is_failure
    assert not device.publish(topics.status("dev-a"), b'{"online":true}').is_failure
    device.publish(topics.live("dev-a"), b"live", qos=0)

    received = {m.topic: m.payload for m in ingest.expect_messages(3)}
    assert received == {
        topics.uplink("dev-a"): b"batch",
        topics.status("dev-a"): b'{"online":true}',
        topics.live("dev-a"): b"live",
    }


def test_device_cannot_publish_under_another_devices_topic(
    fleet: Fleet, registry_broker: RegistryBroker, mqtt_clients: MqttClientFactory
) -> None:
    registry_broker.start()
    ingest = connected(fleet.client(mqtt_clients, "svc_ingest"))
    ingest.subscribe(topics.ALL_UPLINK)
    intruder = connected(fleet.client(mqtt_clients, "dev-a"))

    reason = intruder.publish(topics.uplink("dev-b"), b"forged")

    assert reason.value == NOT_AUTHORIZED
    ingest.expect_no_message(within=0.5)


def test_device_receives_only_its_own_commands(
    fleet: Fleet, registry_broker: RegistryBroker, mqtt_clients: MqttClientFactory
) -> None:
    registry_broker.start()
    snoop = connected(fleet.client(mqtt_clients, "dev-a"))
    snoop.subscribe(topics.command("dev-b"))  # Mosquitto 2.0.11 grants it in the SUBACK ...
    snoop.subscribe(topics.command("dev-a"))
    portal = connected(fleet.client(mqtt_clients, "svc_portal"))

    assert not portal.publish(topics.command("dev-b"), b"for dev-b").is_failure
    assert not portal.publish(topics.command("dev-a"), b"for dev-a").is_failure

    assert snoop.expect_message().payload == b"for dev-a"  # ... but delivers nothing on it
    snoop.expect_no_message(within=0.3)


def test_services_only_have_their_roles_rights(
    fleet: Fleet, registry_broker: RegistryBroker, mqtt_clients: MqttClientFactory
) -> None:
    registry_broker.start()
    device = connected(fleet.client(mqtt_clients, "dev-a"))
    device.subscribe(topics.command("dev-a"))
    ingest = connected(fleet.client(mqtt_clients, "svc_ingest"))
    assert ingest.publish(topics.command("dev-a"), b"not ingest's job").value == NOT_AUTHORIZED
    portal = connected(fleet.client(mqtt_clients, "svc_portal"))
    assert portal.publish(topics.uplink("dev-a"), b"forged").value == NOT_AUTHORIZED
    device.expect_no_message(within=0.3)


@pytest.mark.parametrize("state", [DeviceState.SUSPENDED, DeviceState.RETIRED])
def test_suspended_or_retired_device_cannot_connect(
    fleet: Fleet,
    registry: Registry,
    registry_broker: RegistryBroker,
    mqtt_clients: MqttClientFactory,
    state: DeviceState,
) -> None:
    registry.set_state("dev-a", state)
    registry_broker.start()

    with pytest.raises(MqttConnectError) as refused:
        fleet.client(mqtt_clients, "dev-a").connect()

    assert refused.value.reason_code is not None
    assert refused.value.reason_code.value in (NOT_AUTHORIZED, BAD_USERNAME_OR_PASSWORD)
    connected(fleet.client(mqtt_clients, "dev-b"))  # the others are unaffected


def test_wrong_password_is_refused(
    fleet: Fleet, registry_broker: RegistryBroker, mqtt_clients: MqttClientFactory
) -> None:
    registry_broker.start()
    with pytest.raises(MqttConnectError) as refused:
        fleet.client(mqtt_clients, "dev-a", password="not-the-password").connect()
    assert refused.value.reason_code is not None
    assert refused.value.reason_code.value in (NOT_AUTHORIZED, BAD_USERNAME_OR_PASSWORD)


def test_rotated_password_replaces_the_old_one_after_render_and_sighup(
    fleet: Fleet,
    registry: Registry,
    registry_broker: RegistryBroker,
    mqtt_clients: MqttClientFactory,
) -> None:
    registry_broker.start()
    old = fleet.logins["dev-a"]
    connected(fleet.client(mqtt_clients, "dev-a")).disconnect()

    new_password = registry.rotate_password("dev-a")
    # the broker still runs the old files: the old password works until the reload
    connected(fleet.client(mqtt_clients, "dev-a")).disconnect()
    registry_broker.render()
    registry_broker.reload()

    with pytest.raises(MqttConnectError):
        fleet.client(mqtt_clients, "dev-a", password=old.password).connect()
    connected(fleet.client(mqtt_clients, "dev-a", password=new_password))


def test_device_suspended_while_running_is_locked_out_after_sighup(
    fleet: Fleet,
    registry: Registry,
    registry_broker: RegistryBroker,
    mqtt_clients: MqttClientFactory,
) -> None:
    registry_broker.start()
    connected(fleet.client(mqtt_clients, "dev-a")).disconnect()

    registry.set_state("dev-a", DeviceState.SUSPENDED)
    registry_broker.render()
    registry_broker.reload()

    with pytest.raises(MqttConnectError):
        fleet.client(mqtt_clients, "dev-a").connect()
    registry.set_state("dev-a", DeviceState.ACTIVE)
    registry_broker.render()
    registry_broker.reload()
    connected(fleet.client(mqtt_clients, "dev-a"))


def test_reload_disconnects_sessions_whose_login_was_revoked(
    fleet: Fleet,
    registry: Registry,
    registry_broker: RegistryBroker,
    mqtt_clients: MqttClientFactory,
) -> None:
    """Observed in Mosquitto 2.0.11: at SIGHUP it re-checks every connected
    client's login and drops those that no longer pass (suspended, or password
    rotated): a rotation must reach the device before the reload."""
    registry_broker.start()
    suspended = connected(fleet.client(mqtt_clients, "dev-a"))
    rotated = connected(fleet.client(mqtt_clients, "dev-b"))
    ingest = connected(fleet.client(mqtt_clients, "svc_ingest"))

    registry.set_state("dev-a", DeviceState.SUSPENDED)
    registry.rotate_password("dev-b")
    registry_broker.render()
    registry_broker.reload()

    suspended.wait_disconnected()
    rotated.wait_disconnected()
    assert ingest.connected
