"""The portal served by a real uvicorn on loopback, in a thread of the test process.

Used by the web tests (httpx against the real HTTP stack) and the browser tests.
The services are built from a real configuration: SQLite database migrated and
seeded with the demo customers, SQLite time-series store, optionally a live hub
on a real Mosquitto.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from portal_api.config import PortalConfig
from portal_api.contracts.daily import run_daily
from portal_api.contracts.domain.dates import local_date
from portal_api.seed import seed_demo
from portal_api.web.app import create_app
from portal_api.web.server_thread import UvicornThread
from portal_api.web.services import Services, build_services
from tests.fixtures.ports import LOOPBACK, free_port

SECRET = "web-tests-secret-key-0123456789abcdef"


def portal_config(directory: Path, **sections: dict[str, Any]) -> PortalConfig:
    """A portal configuration on files under ``directory`` (no TLS cookies: plain http)."""
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{directory / 'portal.sqlite3'}"},
        "store": {"kind": "sqlite", "sqlite_path": str(directory / "ts.sqlite3")},
        "security": {"secret_key": SECRET, "cookie_secure": False},
        "billing": {
            "iban": "BG80BNBG96611020345678",
            "bic": "BNBGBGSF",
            "bank": "Българска народна банка",
            "dual_display_until": "2026-12-31",
            "statutory_rates": [
                {"from": f"{year}-{month:02d}-01", "annual_rate": "10.15"}
                for year in (2025, 2026, 2027)
                for month in (1, 7)
            ],
        },
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return PortalConfig.model_validate(data)


def seeded_services(
    config: PortalConfig, clock: Callable[[], dt.datetime], *, with_live: bool = False
) -> Services:
    services = build_services(config, with_live=with_live, clock=clock)
    seed_demo(services.sessions, config.security.identifier_keys(), now=clock())
    assert services.billing is not None
    # The contract engine's day for the demo contracts: invoices, interest, proposals.
    report = run_daily(
        services.sessions,
        local_date(clock()),
        calendar=services.calendar,
        rates=services.rates,
        billing=services.billing,
        now=clock(),
    )
    assert not report.failed, report.lines()
    return services


@dataclass
class PortalServer:
    """``app`` served by a started uvicorn thread; ``url`` is its base URL."""

    app: FastAPI
    services: Services
    thread: UvicornThread

    @property
    def url(self) -> str:
        return self.thread.url

    def stop(self) -> None:
        self.thread.stop()


def serve(config: PortalConfig, services: Services) -> PortalServer:
    app = create_app(config, services=services)
    thread = UvicornThread(app, host=LOOPBACK, port=free_port(), start_timeout_s=15)
    thread.start()
    return PortalServer(app, services, thread)
