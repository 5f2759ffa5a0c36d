"""Live delay: a meter sample until its ``power`` event has been read by an HTTP client.

The whole live path on loopback, in real time: the simulated SDM630 on a pty,
the real edge agent polling it every second (live sampling 1 s, its real
clock), Mosquitto (``simulators.broker.LocalMosquitto``), the portal's
``LiveHub``, the SSE route of a small FastAPI app served by uvicorn, and an
httpx client reading the stream. The delay of a sample is the time its event
was parsed by the client minus the sample's ``ts_ms`` (when the agent's poll
began: the meter answers a few ms later on the 115200-baud line). The
browser's own share is measured later by the web tests; this one ends at the
SSE bytes read.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from sse_starlette import EventSourceResponse

from edge_agent.clock import SystemClock
from edge_agent.logging_setup import configure_logging
from portal_api.live import LiveHub, LiveHubConfig, live_response
from portal_api.live.sse import POWER_EVENT
from simulators.broker import LocalMosquitto
from tests.integration.harness import DEVICE, make_agent, start_meter, wait_for, write_config
from tests.portal.live.servers import UvicornThread, read_events

SAMPLES = 60  # one a second: a minute of watching
WARMUP = 2  # the first events may carry samples taken before the stream opened
TARGET_S = 2.0


def _app(hub: LiveHub) -> FastAPI:
    app = FastAPI()

    @app.get("/live/{device_id}")
    async def live(device_id: str) -> EventSourceResponse:
        return live_response(hub.subscribe([device_id]))

    return app


def _measure(url: str) -> list[float]:
    delays: list[float] = []
    with (
        httpx.Client(base_url=url, timeout=30) as client,
        client.stream("GET", f"/live/{DEVICE}") as response,
    ):
        response.raise_for_status()
        for event in read_events(response.iter_lines()):
            read_at = time.time()
            if event.event != POWER_EVENT:
                continue
            delays.append(read_at - event.json()["ts_ms"] / 1000)
            if len(delays) == SAMPLES + WARMUP:
                break
    return delays[WARMUP:]


def run() -> dict[str, float]:
    """Measure and print; returns the figures for the summary."""
    clock = SystemClock()
    with (
        tempfile.TemporaryDirectory(prefix="myenergy-live-bench-") as tmp,
        LocalMosquitto() as broker,
    ):
        meter = start_meter(clock)
        config = write_config(
            Path(tmp),
            serial_port=meter.path,
            mqtt_port=broker.port,
            # No ingest here: keep the minute records queued instead of uploading
            # them to nobody (the agent would log each batch nobody heard).
            extra={"live": {"sample_s": 1.0}, "mqtt": {"upload_interval_s": 3600}},
        )
        agent = make_agent(config, clock)
        agent.start()
        hub = LiveHub(LiveHubConfig(host=broker.host, port=broker.port))
        hub.start()
        try:
            wait_for(lambda: agent.uplink.connected and hub.connected, 15, "agent and hub")
            with UvicornThread(_app(hub)) as server:
                delays = _measure(server.url)
        finally:
            hub.stop()
            agent.stop()
            meter.stop()
    ordered = sorted(delays)
    p50 = statistics.median(ordered)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    worst = ordered[-1]
    print("== live: meter sample -> SSE event read by an HTTP client ==")
    print(f"samples:  {len(ordered)} at 1 s (agent, Mosquitto, LiveHub, uvicorn, httpx)")
    print(f"delay:    p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {worst * 1000:.0f} ms")
    print(f"target:   < {TARGET_S:.0f} s ({'ok' if worst < TARGET_S else 'MISSED'} at max)")
    return {"live_delay_p50_s": p50, "live_delay_p95_s": p95, "live_delay_max_s": worst}


if __name__ == "__main__":
    configure_logging("WARNING", "console", stream=sys.stderr)
    run()
