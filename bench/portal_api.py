"""Consumption API latency: a year of one site through the portal's HTTP API.

A demo customer's site holds a year of energy rows (15-minute, hour, day and
month; computed by ingest's rollup functions from a year of 1-minute counters,
as in ``bench.queries``). The portal runs under uvicorn on loopback with the
SQLite store and then with InfluxDB; an HTTP client logged in as the site's
customer (bearer token) asks what the history page asks:

* a local day at 15 minutes (``group_by=15min``, 92..100 intervals),
* a local month of days (``group_by=day``),
* the year of months (``group_by=month``),

each ``REPETITIONS`` times on random days/months. Printed: p50 and p95 per view,
whole requests (HTTP, auth, authorisation, query, JSON) as the client sees them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import influx_server
from bench.queries import MINUTES, TZ, YEAR_START, _templates, rollups
from ingest.rollup import bucket_bounds
from ingest.store import EnergyKey, EnergyRow, open_store
from portal_api.config import PortalConfig
from portal_api.seed import DEMO_CUSTOMERS, DEMO_PASSWORD, seed_demo
from portal_api.web.app import create_app
from portal_api.web.server_thread import UvicornThread
from portal_api.web.services import build_services
from tests.fixtures.ports import LOOPBACK, free_port

REPETITIONS = 50
TARGET_P95_MS = 100.0
SECRET = "bench-secret-key-0123456789abcdef-0123"


def _config(work: Path, store: dict[str, Any]) -> PortalConfig:
    return PortalConfig.model_validate(
        {
            "database": {"url": f"sqlite:///{work / 'portal.sqlite3'}"},
            "store": store,
            "security": {"secret_key": SECRET, "cookie_secure": False},
            "smtp": {"enabled": False},
        }
    )


def _site_rows(rows: list[EnergyRow], site_id: str) -> list[EnergyRow]:
    """The year's site rows, owned by the demo site."""
    key = EnergyKey("site", site_id)
    return [dataclasses.replace(r, key=key) for r in rows if r.key.kind == "site"]


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _views() -> dict[str, Callable[[random.Random], tuple[str, int, int]]]:
    year = (YEAR_START, bucket_bounds(YEAR_START + MINUTES * 60 - 1, "month", TZ)[1])

    def day(rng: random.Random) -> tuple[str, int, int]:
        return "15min", *bucket_bounds(YEAR_START + rng.randrange(MINUTES) * 60, "day", TZ)

    def month(rng: random.Random) -> tuple[str, int, int]:
        return "day", *bucket_bounds(YEAR_START + rng.randrange(MINUTES) * 60, "month", TZ)

    def whole_year(rng: random.Random) -> tuple[str, int, int]:
        return "month", *year

    return {"day of 15-min": day, "month of days": month, "year of months": whole_year}


def time_api(name: str, config: PortalConfig, site_id: str, username: str) -> dict[str, float]:
    """p95 per view in ms, through HTTP; prints p50/p95."""
    services = build_services(config, with_live=False, with_outbox=False)
    out: dict[str, float] = {}
    try:
        app = create_app(config, services=services)
        with (
            UvicornThread(app, host=LOOPBACK, port=free_port()) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            token = client.post(
                "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
            )
            token.raise_for_status()
            client.headers["Authorization"] = "Bearer " + token.json()["access_token"]
            for view, pick in _views().items():
                rng = random.Random(7)
                samples: list[float] = []
                sizes: set[int] = set()
                for _ in range(REPETITIONS + 1):
                    group_by, lo, hi = pick(rng)
                    params: dict[str, str | int] = {
                        "period_from": _iso(lo),
                        "period_to": _iso(hi),
                        "group_by": group_by,
                        "page_size": 5000,
                    }
                    started = time.perf_counter()
                    answer = client.get(f"/api/v1/sites/{site_id}/consumption", params=params)
                    elapsed = (time.perf_counter() - started) * 1000
                    answer.raise_for_status()
                    body = answer.json()
                    if any(r["import_kwh"] is None for r in body["results"]):
                        raise RuntimeError(f"{name} {view}: gaps in a complete year")
                    sizes.add(body["count"])
                    samples.append(elapsed)
                samples = samples[1:]  # the first request warms caches and connections
                p50 = statistics.median(samples)
                p95 = statistics.quantiles(samples, n=20)[18]
                print(
                    f"  {name:8s} {view:16s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms "
                    f"(intervals {min(sizes)}..{max(sizes)}, {REPETITIONS} requests; "
                    f"target p95 < {TARGET_P95_MS:.0f} ms)"
                )
                out[view] = p95
    finally:
        services.close()
    return out


def run() -> dict[str, float]:
    print("== consumption API on a year of one site (HTTP, bearer token, JSON) ==")
    customer = DEMO_CUSTOMERS[0]
    site_id = customer.sites[0].id
    started = time.perf_counter()
    rows = _site_rows(rollups(_templates()), site_id)
    seconds = time.perf_counter() - started
    print(f"  year of site rows ({len(rows)}) by ingest.rollup in {seconds:.1f} s")
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="myenergy-bench-api-") as tmp:
        work = Path(tmp)
        for name in ("SQLite", "InfluxDB"):
            (work / name).mkdir()
            with contextlib.ExitStack() as stack:
                store: dict[str, Any] = {
                    "kind": "sqlite",
                    "sqlite_path": str(work / name / "ts.sqlite3"),
                }
                if name == "InfluxDB":
                    server = stack.enter_context(influx_server(work / name))
                    store = {"kind": "influx", "influx_url": server.url, "influx_database": "api"}
                config = _config(work / name, store)
                ts_store = open_store(config.store.store_config())
                try:
                    ts_store.init()
                    ts_store.write_energy(rows)
                finally:
                    ts_store.close()
                services = build_services(config, with_live=False, with_outbox=False)
                try:
                    seed_demo(
                        services.sessions,
                        config.security.identifier_keys(),
                        now=datetime.now(UTC),
                    )
                finally:
                    services.close()
                p95 = time_api(name, config, site_id, customer.user.username)
                key = "sqlite" if name == "SQLite" else "influx"
                for view, value in p95.items():
                    figures[f"api_{key}_{view.split()[0]}_p95_ms"] = value
    return figures


if __name__ == "__main__":
    run()
