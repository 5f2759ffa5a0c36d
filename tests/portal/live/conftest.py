"""Fixtures of the live-link tests: a real agent + simulated meter, hubs, a command observer.

The agent and the meter run on a 10x clock (tests/integration/harness.py), so a
one-minute live window lasts six real seconds and live samples come ten times a
real second. The hub runs on the real clock and talks to the same Mosquitto.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from edge_agent.agent import Agent
from edge_agent.clock import AcceleratedClock
from portal_api.live import LiveHub, LiveHubConfig
from protocol import topics
from tests.conftest import MqttClientFactory
from tests.fixtures.mosquitto import MosquittoBroker
from tests.fixtures.mqtt import MqttTestClient
from tests.integration.harness import (
    DEVICE,
    T0,
    Meter,
    make_agent,
    start_meter,
    wait_for,
    write_config,
)

SPEED = 10.0
# The hub's wall clock in these tests: commands carry exp = HUB_NOW + minutes * 60.
HUB_NOW = 1_800_000_000.0


@dataclass
class LiveDevice:
    agent: Agent
    meter: Meter
    clock: AcceleratedClock
    device_id: str = DEVICE


@pytest.fixture
def live_device(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[LiveDevice]:
    """A running agent reading a simulated SDM630, connected to ``mosquitto``."""
    clock = AcceleratedClock(SPEED, start=T0)
    meter = start_meter(clock)
    config = write_config(
        tmp_path,
        serial_port=meter.path,
        mqtt_port=mosquitto.port,
        extra={"live": {"max_minutes": 2, "default_minutes": 1}},
    )
    agent = make_agent(config, clock)
    agent.start()
    try:
        wait_for(lambda: agent.uplink.connected and agent.polls > 3, 15, "the agent")
        yield LiveDevice(agent, meter, clock)
    finally:
        agent.stop()
        meter.stop()


HubFactory = Callable[..., LiveHub]


@pytest.fixture
def hubs(mosquitto: MosquittoBroker) -> Iterator[HubFactory]:
    """make(**config overrides) -> a started LiveHub connected to ``mosquitto``."""
    made: list[LiveHub] = []

    def make(**overrides: Any) -> LiveHub:
        options: dict[str, Any] = {
            "host": mosquitto.host,
            "port": mosquitto.port,
            "minutes": 1,
            "renew_s": 3600 / 61,  # < 60 s, and no renewal within a test
            "keepalive_s": 10,
        }
        options.update(overrides)
        hub = LiveHub(LiveHubConfig(**options), clock=lambda: HUB_NOW)
        made.append(hub)
        hub.start()
        assert hub.wait_connected(10), "the hub did not connect"
        return hub

    yield make
    for hub in made:
        hub.stop()


@pytest.fixture
def cmd_observer(mosquitto: MosquittoBroker, mqtt_clients: MqttClientFactory) -> MqttTestClient:
    """A cloud-side client that sees every command sent to the test device."""
    client = mqtt_clients(mosquitto, "cmd-observer", protocol=MQTTProtocolVersion.MQTTv5)
    client.connect()
    client.subscribe(topics.command(DEVICE), qos=1)
    return client
