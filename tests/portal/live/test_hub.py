"""LiveHub against a real Mosquitto, a real edge agent and a simulated meter.

Each test runs its asyncio part with ``asyncio.run``; blocking waits on MQTT test
clients go through ``asyncio.to_thread`` so the hub can keep delivering meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import pytest

from edge_agent.live import LIVE_CHANNELS
from portal_api.live import (
    LiveEvent,
    LiveHub,
    LiveHubConfig,
    LiveSample,
    LiveStatus,
    LiveSubscription,
)
from protocol import topics
from protocol.codec import decode_command
from tests.fixtures.mosquitto import MosquittoBroker
from tests.fixtures.mqtt import MqttTestClient
from tests.integration.harness import DEVICE, resolution_tolerance, wait_for
from tests.portal.live.conftest import HUB_NOW, HubFactory, LiveDevice

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro, 120)

    return asyncio.run(bounded())


def metric(hub: LiveHub, name: str) -> float | None:
    return hub.metrics.registry.get_sample_value(name)


async def samples(sub: LiveSubscription, count: int, timeout: float = 15.0) -> list[LiveSample]:
    """The next ``count`` samples of ``sub`` (statuses skipped)."""
    out: list[LiveSample] = []
    async with asyncio.timeout(timeout):
        async for event in sub:
            if isinstance(event, LiveSample):
                out.append(event)
                if len(out) == count:
                    return out
    raise AssertionError(f"the subscription ended after {len(out)} samples")


async def events_until(
    sub: LiveSubscription, done: Callable[[list[LiveEvent]], bool], timeout: float = 15.0
) -> list[LiveEvent]:
    """Every event of ``sub`` until ``done(events so far)``."""
    out: list[LiveEvent] = []
    async with asyncio.timeout(timeout):
        async for event in sub:
            out.append(event)
            if done(out):
                return out
    raise AssertionError(f"the subscription ended after {len(out)} events")


def _confirmed_with_samples(events: list[LiveEvent]) -> bool:
    confirmed = any(isinstance(e, LiveStatus) and e.live_until is not None for e in events)
    return confirmed and sum(isinstance(e, LiveSample) for e in events) >= 5


async def command(observer: MqttTestClient, timeout: float = 5.0) -> dict[str, object]:
    message: mqtt.MQTTMessage = await asyncio.to_thread(observer.expect_message, timeout)
    assert message.topic == topics.command(DEVICE)
    assert message.qos == topics.COMMAND_QOS
    assert not message.retain
    return decode_command(bytes(message.payload))


def test_first_watcher_sends_live_command_and_gets_per_phase_power(
    hubs: HubFactory, live_device: LiveDevice, cmd_observer: MqttTestClient
) -> None:
    hub = hubs(minutes=1)
    assert hub.commands_sent == 0  # nobody watches: nothing asked

    async def scenario() -> tuple[dict[str, object], list[LiveEvent]]:
        async with hub.subscribe([DEVICE]) as sub:
            cmd = await command(cmd_observer)
            return cmd, await events_until(sub, _confirmed_with_samples)

    cmd, events = run(scenario())
    got = [e for e in events if isinstance(e, LiveSample)]
    confirmed = next(e for e in events if isinstance(e, LiveStatus) and e.live_until is not None)

    assert cmd["cmd"] == "live" and cmd["minutes"] == 1
    assert cmd["exp"] == int(HUB_NOW) + 60
    assert isinstance(cmd["id"], str) and cmd["id"].startswith("portal-")
    assert metric(hub, "myenergy_portal_live_commands_sent_total") == 1
    assert confirmed.state == "online" and confirmed.device_id == DEVICE
    stamps = [s.ts_ms for s in got]
    assert stamps == sorted(stamps)
    load = live_device.meter.load
    for sample in got:
        assert sample.device_id == DEVICE
        assert set(sample.values) == set(LIVE_CHANNELS)
        # the meter answers a few real ms after the poll began: that step or the next
        truths = [load.instant_at(sample.ts_ms / 1000 + dt) for dt in (0.0, 0.5, 1.0)]
        for name, value in sample.values.items():
            assert any(
                abs(value - truth[name]) <= resolution_tolerance(truth[name], 1.0)
                for truth in truths
            ), (sample.ts_ms, name, value)
    # the subscription closed with the block: the device is let go
    assert hub.watched_devices() == set()
    assert metric(hub, "myenergy_portal_live_watchers") == 0


def test_second_watcher_of_a_device_sends_no_second_command(
    hubs: HubFactory, live_device: LiveDevice, cmd_observer: MqttTestClient
) -> None:
    hub = hubs()

    async def scenario() -> None:
        first = hub.subscribe([DEVICE])
        await command(cmd_observer)
        second = hub.subscribe([DEVICE])
        assert hub.watchers() == 2 and hub.watched_devices() == {DEVICE}
        # both get the device's samples
        await samples(first, 2)
        await samples(second, 2)
        await asyncio.to_thread(cmd_observer.expect_no_message, 1.0)
        first.close()
        assert hub.watched_devices() == {DEVICE}  # the second still watches
        second.close()
        assert hub.watched_devices() == set()

    run(scenario())
    assert hub.commands_sent == 1


def test_renewals_while_watched_none_after_the_last_leaves_and_the_device_lapses(
    hubs: HubFactory, live_device: LiveDevice, cmd_observer: MqttTestClient
) -> None:
    # Renew every 0.3 real s; the agent's one-minute window is 6 real s (10x clock).
    hub = hubs(minutes=1, renew_s=0.3)

    async def scenario() -> list[dict[str, object]]:
        first = hub.subscribe([DEVICE])
        second = hub.subscribe([DEVICE])
        cmds = [await command(cmd_observer) for _ in range(4)]
        first.close()
        cmds += [await command(cmd_observer) for _ in range(2)]  # still watched
        await samples(second, 3)
        second.close()
        return cmds

    cmds = run(scenario())
    assert all(c["cmd"] == "live" and c["minutes"] == 1 for c in cmds)
    assert len({c["id"] for c in cmds}) == len(cmds)  # each renewal is its own command

    # The last watcher left: no more commands (a renewal already handed to paho
    # may still arrive), and the agent's window runs out by itself.
    late = 0
    while not cmd_observer.messages.empty():
        cmd_observer.messages.get_nowait()
        late += 1
    assert late <= 1, f"{late} commands after the last watcher left"
    cmd_observer.expect_no_message(1.0)  # three renewal periods
    wait_for(lambda: live_device.agent.live.until() is None, 15, "live mode to lapse")
    sent = live_device.agent.live_publisher.sent
    time.sleep(1.0)  # ten agent seconds
    assert live_device.agent.live_publisher.sent == sent, "still streaming after the lapse"
    cmd_observer.expect_no_message(0.5)


def test_a_subscriber_that_never_reads_does_not_stall_another(
    hubs: HubFactory, live_device: LiveDevice
) -> None:
    hub = hubs(queue_size=4)

    async def scenario() -> tuple[LiveSubscription, list[LiveSample]]:
        idle = hub.subscribe([DEVICE])
        busy = hub.subscribe([DEVICE])
        got = await samples(busy, 30)
        await asyncio.sleep(0)  # let the callbacks already scheduled run
        idle.close()
        busy.close()
        return idle, got

    idle, got = run(scenario())
    # The reader missed nothing: one sample per agent second (1000 ms apart).
    gaps = [b.ts_ms - a.ts_ms for a, b in itertools.pairwise(got)]
    assert max(gaps) <= 1500, gaps
    # The idle one kept only its newest events and dropped the rest.
    assert idle.dropped >= 30 - 4 - 2
    assert metric(hub, "myenergy_portal_live_events_dropped_total") == idle.dropped


def test_hub_reconnects_and_resubscribes_after_a_broker_restart(
    hubs: HubFactory, live_device: LiveDevice, mosquitto: MosquittoBroker
) -> None:
    hub = hubs()

    async def scenario() -> tuple[int, list[LiveSample], list[LiveSample]]:
        async with hub.subscribe([DEVICE]) as sub:
            before = await samples(sub, 3)
            sent_before = hub.commands_sent
            await asyncio.to_thread(mosquitto.restart)
            await asyncio.to_thread(
                wait_for, lambda: hub.link.connects >= 2 and hub.connected, 30, "the hub back"
            )
            # Clean session: samples after the restart prove the hub subscribed again.
            after: list[LiveSample] = []
            while not after or after[-1].ts_ms <= before[-1].ts_ms + 2000:
                after += await samples(sub, 1, timeout=30)
            return sent_before, before, after

    sent_before, _before, after = run(scenario())
    assert hub.commands_sent > sent_before  # the command was sent again at the reconnect
    assert after[-1].device_id == DEVICE


def test_subscribe_checks_its_arguments_and_a_stopped_hub_refuses(
    mosquitto: MosquittoBroker,
) -> None:
    hub = LiveHub(LiveHubConfig(host=mosquitto.host, port=mosquitto.port))
    hub.start()
    try:

        async def scenario() -> LiveSubscription:
            with pytest.raises(ValueError, match="at least one"):
                hub.subscribe([])
            with pytest.raises(ValueError, match="invalid device ids"):
                hub.subscribe(["Bad/Id"])
            sub = hub.subscribe([DEVICE])
            await asyncio.to_thread(hub.stop)
            # stopping ended the subscription: iteration stops at once
            assert [event async for event in sub] == []
            with pytest.raises(RuntimeError, match="stopped"):
                hub.subscribe([DEVICE])
            return sub

        assert run(scenario()).closed
    finally:
        hub.stop()


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": 1441}, "minutes"),
        ({"minutes": 1, "renew_s": 60.0}, "renew_s"),
        ({"renew_s": 0.0}, "renew_s"),
        ({"password": "x"}, "username"),
        ({"client_id": ""}, "client_id"),
        ({"queue_size": 0}, "queue_size"),
        ({"port": 70000}, "port"),
    ],
)
def test_config_is_validated_before_any_io(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        LiveHubConfig(**overrides)


def test_config_defaults_follow_the_contract() -> None:
    config = LiveHubConfig()
    assert config.minutes == 5
    assert config.renew_interval_s == 150.0  # half the window (0004)
    assert config.broker_port == 1883
    assert LiveHubConfig().client_id != LiveHubConfig().client_id  # one per instance
    assert "password" not in repr(LiveHubConfig(username="u", password="secret-pw"))


def test_watchers_before_the_broker_is_up_get_their_command_at_connect(
    mosquitto: MosquittoBroker,
) -> None:
    mosquitto.stop()
    hub = LiveHub(LiveHubConfig(host=mosquitto.host, port=mosquitto.port, minutes=1))
    hub.start()
    try:

        async def scenario() -> None:
            sub = hub.subscribe([DEVICE])
            assert not hub.connected and hub.commands_sent == 0  # nothing queued offline
            await asyncio.to_thread(mosquitto.start)
            assert await asyncio.to_thread(hub.wait_connected, 30)
            sub.close()

        run(scenario())
        assert hub.commands_sent == 1  # sent once, at the connect
    finally:
        hub.stop()


def test_undecodable_and_foreign_messages_never_reach_a_watcher(
    hubs: HubFactory, mosquitto: MosquittoBroker, mqtt_clients: Any
) -> None:
    from protocol.codec import encode_live, encode_status

    hub = hubs()
    sender: MqttTestClient = mqtt_clients(mosquitto, "sender")
    sender.connect()

    async def scenario() -> list[LiveEvent]:
        async with hub.subscribe([DEVICE]) as sub:
            await asyncio.to_thread(wait_for, lambda: hub.connected, 10, "hub")
            # Subscriptions are acknowledged asynchronously: repeat a valid status
            # until one arrives, then send the bad ones and a final good one.
            good = encode_status({"state": "online", "live_until": None})
            first = None
            while first is None:
                await asyncio.to_thread(sender.publish, topics.status(DEVICE), good, 0)
                first = await sub.next_event(timeout=0.2)
            bad = [
                (topics.live(DEVICE), b"not a live payload"),
                (topics.status(DEVICE), b"{}"),
                (topics.live(DEVICE), encode_live("other-device", [(1, {"p_l1_w": 5.0})])),
            ]
            for topic, payload in bad:
                await asyncio.to_thread(sender.publish, topic, payload, 0)
            last = encode_live(DEVICE, [(1767225600000, {"p_l1_w": 1200.0})])
            await asyncio.to_thread(sender.publish, topics.live(DEVICE), last, 0)
            return await events_until(
                sub, lambda events: any(isinstance(e, LiveSample) for e in events)
            )

    events = run(scenario())
    samples_got = [e for e in events if isinstance(e, LiveSample)]
    assert samples_got == [LiveSample(DEVICE, 1767225600000, {"p_l1_w": 1200.0})]
    assert all(isinstance(e, LiveStatus) for e in events[:-1])
    assert metric(hub, "myenergy_portal_live_invalid_messages_total") == 3
