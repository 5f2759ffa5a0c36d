"""Fixtures of the web tests: the portal on a real uvicorn, seeded, with a day of data.

``portal`` (one per module): SQLite database migrated and seeded with the demo
customers; SQLite time-series store holding 2026-03-02 of ``demo-sdm630-1``
(site ``varna-0001``) up to NOW, written and rolled up by ingest's own code,
with a gap 08:10-08:40 UTC (incomplete intervals); the device's status message;
one open clause 5.4 request. The clock is fixed at NOW. ``fresh_portal`` is the
same for one test that changes state (passwords, sessions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from portal_api.seed import DEMO_PASSWORD
from portal_api.web.services import Services
from tests.portal.web.meterdata import minute_records, store_history
from tests.portal.web.server import PortalServer, portal_config, seeded_services, serve

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)  # 14:00 in Sofia, a Monday
DAY_START = int(dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC).timestamp())  # Sofia midnight
GAP = (
    int(dt.datetime(2026, 3, 2, 8, 10, tzinfo=dt.UTC).timestamp()),
    int(dt.datetime(2026, 3, 2, 8, 40, tzinfo=dt.UTC).timestamp()),
)
OWNER = "ivan.georgiev"  # owns varna-0001 and dobrich-0001
OTHER = "maria.nikolova"  # owns shumen-0001
SITE = "varna-0001"
METER = "demo-sdm630-1"
MODULE = "cm-0001"


@dataclass
class Portal:
    server: PortalServer
    request_id: int  # an open clause 5.4 request

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def services(self) -> Services:
        return self.server.services

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        with self.client() as client:
            answer = client.post(
                "/api/v1/auth/token", data={"username": username, "password": password}
            )
            assert answer.status_code == 200, answer.text
            token: str = answer.json()["access_token"]
            return token

    def api(self, username: str) -> httpx.Client:
        """A client with a bearer token of ``username``."""
        client = self.client()
        client.headers["Authorization"] = f"Bearer {self.token(username)}"
        return client

    def browser_session(self, username: str, password: str = DEMO_PASSWORD) -> httpx.Client:
        """A client logged in through the login form (session cookie, CSRF token)."""
        client = self.client()
        form = client.get("/login")
        answer = client.post(
            "/login",
            data={
                "csrf_token": csrf_of(form.text),
                "username": username,
                "password": password,
                "next": "/sites",
            },
        )
        assert answer.status_code == 303, answer.text
        return client


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (meta tag and every form)."""
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found is not None, "no csrf-token meta tag"
    return found.group(1)


def _start(directory: Path) -> Portal:
    config = portal_config(directory, security={"ip_max_attempts": 10_000})
    services = seeded_services(config, lambda: NOW)
    store = services.consumption.store
    records = minute_records(DAY_START, int(NOW.timestamp()), skip=GAP)
    store_history(store, METER, SITE, "sdm630", records=records, installed_at=DAY_START - 86400)
    store.write_status(
        METER,
        SITE,
        NOW.timestamp() - 30,
        {"state": "online", "queue_depth": 3, "signal_dbm": -71, "clock": "ntp", "version": "1.4"},
    )
    # Fulfilling it gives the customer new credentials: not one the tests log in as.
    request = services.accounts.open_credential_request(
        "energy@dobrudzha-agro.example.bg", "lost our password", customer_number="3100000041"
    )
    return Portal(serve(config, services), request.id)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    started = _start(tmp_path_factory.mktemp("portal"))
    yield started
    started.server.stop()
    started.server.services.close()


@pytest.fixture
def fresh_portal(tmp_path: Path) -> Iterator[Portal]:
    started = _start(tmp_path)
    yield started
    started.server.stop()
    started.server.services.close()
