"""GET /sites/{id}/live through the real app: the live hub on a real Mosquitto, a
stand-in device that streams when commanded, events read as the browser would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.fixtures.mosquitto import MosquittoBroker
from tests.portal.web.conftest import METER, NOW, OTHER, OWNER, SITE, Portal
from tests.portal.web.livedevice import LiveDevice, sample_values
from tests.portal.web.server import portal_config, seeded_services, serve


@pytest.fixture
def live_portal(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[tuple[Portal, LiveDevice]]:
    config = portal_config(
        tmp_path, mqtt={"host": mosquitto.host, "port": mosquitto.port, "client_id": "web-live"}
    )
    services = seeded_services(config, lambda: NOW, with_live=True)
    device = LiveDevice(mosquitto, METER, period_s=0.2)
    device.start()
    services.start()
    server = serve(config, services)
    yield Portal(server, request_id=0), device
    server.stop()
    device.stop()
    services.close()


def _events(lines: Iterator[str], wanted: int) -> list[tuple[str, dict[str, object]]]:
    """The first ``wanted`` events of an SSE stream as (event, data)."""
    events: list[tuple[str, dict[str, object]]] = []
    name, data = "message", ""
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data += line.split(":", 1)[1].strip()
        elif line == "" and data:
            events.append((name, json.loads(data)))
            name, data = "message", ""
            if len(events) >= wanted:
                break
    return events


def test_live_power_events(live_portal: tuple[Portal, LiveDevice]) -> None:
    portal, device = live_portal
    with (
        closing(portal.api(OWNER)) as client,
        client.stream("GET", f"/api/v1/sites/{SITE}/live", timeout=30) as answer,
    ):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert "content-security-policy" in answer.headers
        events = _events(answer.iter_lines(), 3)
    power = [data for name, data in events if name == "power"]
    assert power, events
    first = power[0]
    assert first["device_id"] == METER
    p_w = first["p_w"]
    assert isinstance(p_w, dict)
    sent = [sample_values(n)["p_l1_w"] for n in range(device.sent)]
    assert p_w["l1"] in sent
    assert set(first) >= {"ts_ms", "p_w", "u_v", "i_a", "pf"}
    assert device.commands[0]["cmd"] == "live"


def test_live_of_another_customer_is_not_found(live_portal: tuple[Portal, LiveDevice]) -> None:
    portal, _ = live_portal
    with closing(portal.api(OTHER)) as client:
        assert client.get(f"/api/v1/sites/{SITE}/live").status_code == 404
