"""The live SSE stream over real HTTP: uvicorn serving a tiny FastAPI app, httpx reading.

The app is wired the way the portal's is: the hub starts and stops with the
app's lifespan and the route returns ``live_response(hub.subscribe(...))``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sse_starlette import EventSourceResponse

from edge_agent.live import LIVE_CHANNELS
from portal_api.live import LiveHub, LiveHubConfig, LiveSample, live_response
from portal_api.live.sse import POWER_EVENT, STATUS_EVENT, power_data
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import DEVICE, wait_for
from tests.portal.live.conftest import LiveDevice
from tests.portal.live.servers import SseEvent, UvicornThread, read_events

HEARTBEAT_S = 0.3


def make_app(hub: LiveHub) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            hub.stop()

    app = FastAPI(lifespan=lifespan)

    @app.get("/live/{device_id}")
    async def live(device_id: str) -> EventSourceResponse:
        return live_response(hub.subscribe([device_id]), heartbeat_s=HEARTBEAT_S)

    return app


def _enough(events: list[SseEvent]) -> bool:
    power = [e for e in events if e.event == POWER_EVENT]
    confirmed = [e for e in events if e.event == STATUS_EVENT and e.json()["live_until"]]
    beats = [e for e in events if e.event is None and "keep-alive" in e.comments]
    return len(power) >= 5 and bool(confirmed) and len(beats) >= 2


def test_live_stream_carries_power_status_and_heartbeats(
    mosquitto: MosquittoBroker, live_device: LiveDevice
) -> None:
    hub = LiveHub(LiveHubConfig(host=mosquitto.host, port=mosquitto.port, minutes=1))
    events: list[SseEvent] = []
    with UvicornThread(make_app(hub)) as server:
        assert hub.wait_connected(10)
        with (
            httpx.Client(base_url=server.url, timeout=15) as client,
            client.stream("GET", f"/live/{DEVICE}") as response,
        ):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            for event in read_events(response.iter_lines()):
                events.append(event)
                if _enough(events):
                    break
        # The client went away: the subscription is closed, the device let go.
        wait_for(lambda: hub.watchers() == 0, 10, "the stream's subscription to close")
        assert hub.watched_devices() == set()
        assert hub.commands_sent == 1

    first = events[0]
    assert first.event is None and first.comments == ["live"] and first.retry == 5000
    power = [e.json() for e in events if e.event == POWER_EVENT]
    for data in power:
        assert data["device_id"] == DEVICE
        assert set(data) == {"device_id", "ts_ms", "p_w", "u_v", "i_a", "pf"}
        assert set(data["p_w"]) == {"l1", "l2", "l3", "total"}
        assert all(isinstance(v, float) for v in data["p_w"].values())
        # the agent streams active power only: the rest is present, and null
        assert data["u_v"] == {"l1": None, "l2": None, "l3": None}
        assert data["pf"] == {"l1": None, "l2": None, "l3": None, "total": None}
        # the total the meter reports, not a sum made up on the way
        assert abs(sum(data["p_w"][p] for p in ("l1", "l2", "l3")) - data["p_w"]["total"]) < 5
    stamps = [d["ts_ms"] for d in power]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    statuses = [e.json() for e in events if e.event == STATUS_EVENT]
    assert all(set(s) == {"device_id", "state", "live_until"} for s in statuses)
    assert statuses[-1]["state"] == "online" and isinstance(statuses[-1]["live_until"], int)
    # one status event per change of (state, live_until), never a repeat
    keys = [(s["state"], s["live_until"]) for s in statuses]
    assert all(a != b for a, b in itertools.pairwise(keys))


def test_power_data_maps_every_channel_group() -> None:
    values = {
        "p_l1_w": 1200.0,
        "p_l2_w": 310.0,
        "p_l3_w": 2250.0,
        "p_total_w": 3760.0,
        "u_l1_v": 230.1,
        "u_l2_v": 229.8,
        "u_l3_v": 231.0,
        "i_l1_a": 5.2,
        "pf_total": 0.97,
    }
    data = power_data(LiveSample("me-0042", 1767225600000, values))
    assert set(LIVE_CHANNELS) <= set(values)
    assert data == {
        "device_id": "me-0042",
        "ts_ms": 1767225600000,
        "p_w": {"l1": 1200.0, "l2": 310.0, "l3": 2250.0, "total": 3760.0},
        "u_v": {"l1": 230.1, "l2": 229.8, "l3": 231.0},
        "i_a": {"l1": 5.2, "l2": None, "l3": None},
        "pf": {"l1": None, "l2": None, "l3": None, "total": 0.97},
    }
