"""The portal served by a real uvicorn on loopback, in a thread of the test process.

Used by the web tests (httpx against the real HTTP stack) and the browser tests.
The services are built from a real configuration: SQLite database migrated and
seeded with the demo customers, SQLite time-series store, optionally a live hub
on a real Mosquitto.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from portal_api.config import PortalConfig
from portal_api.seed import seed_demo
from portal_api.web.app import create_app
from portal_api.web.services import Services, build_services
from tests.fixtures.ports import LOOPBACK, free_port

SECRET = "web-tests-secret-key-0123456789abcdef"


def portal_config(directory: Path, **sections: dict[str, Any]) -> PortalConfig:
    """A portal configuration on files under ``directory`` (no TLS cookies: plain http)."""
    data: dict[str, Any] = {
        "database": {"url": f"sqlite:///{directory / 'portal.sqlite3'}"},
        "store": {"kind": "sqlite", "sqlite_path": str(directory / "ts.sqlite3")},
        "security": {"secret_key": SECRET, "cookie_secure": False},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return PortalConfig.model_validate(data)


def seeded_services(
    config: PortalConfig, clock: Callable[[], dt.datetime], *, with_live: bool = False
) -> Services:
    services = build_services(config, with_live=with_live, clock=clock)
    seed_demo(services.sessions, config.security.identifier_keys(), now=clock())
    return services


@dataclass
class PortalServer:
    """A started uvicorn serving ``app``; ``url`` is its base URL."""

    app: FastAPI
    services: Services
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(config: PortalConfig, services: Services) -> PortalServer:
    app = create_app(config, services=services)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="portal-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the portal did not start")
        time.sleep(0.02)
    return PortalServer(app, services, port, server, thread)
