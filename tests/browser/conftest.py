"""Browser fixtures and the portal for the browser tests.

``browser`` is the system Chromium (tests/fixtures/browser.py), shared by the tests of
this package only: while Playwright's sync API is open it keeps an asyncio loop marked
running in the main thread, and every ``asyncio.run()`` of later tests (amqtt, the
stack) would fail. ``page`` is a fresh context per test; ``screenshots`` saves PNGs.

The portal: real uvicorn, seeded SQLite, a day of meter data, and a live hub on a real
Mosquitto with a stand-in device (tests/portal/web/livedevice.py) that answers the
portal's live command by streaming encoded live samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from portal_api.seed import DEMO_PASSWORD
from tests.fixtures.browser import Screenshots, launch_chromium
from tests.fixtures.mosquitto import MosquittoBroker
from tests.portal.web.conftest import DAY_START, GAP, METER, NOW, SITE
from tests.portal.web.livedevice import LiveDevice
from tests.portal.web.meterdata import minute_records, store_history
from tests.portal.web.server import PortalServer, portal_config, seeded_services, serve


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """/usr/bin/chromium, headless."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page per test (no cookies shared between tests)."""
    context = browser.new_context(locale="bg-BG", timezone_id="Europe/Sofia")
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """screenshots(page, name): a full-page PNG in test-artifacts/screenshots/<test>/."""
    return Screenshots(request.config.rootpath, request.node.nodeid)


@dataclass
class BrowserPortal:
    server: PortalServer
    device: LiveDevice

    @property
    def url(self) -> str:
        return self.server.url

    def login(self, page: Page, username: str = "ivan.georgiev") -> None:
        page.goto(self.url + "/login")
        page.get_by_label("Потребителско име").fill(username)
        page.get_by_label("Парола").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Вход").click()
        page.wait_for_url(self.url + "/sites")


@pytest.fixture
def portal_site(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[BrowserPortal]:
    # The browser's clock is the real one (EventSource timestamps); the portal's data
    # day is fixed, so the clock of the services stays at NOW.
    config = portal_config(
        tmp_path,
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "client_id": "portal-browser"},
    )
    services = seeded_services(config, lambda: NOW, with_live=True)
    store = services.consumption.store
    records = minute_records(DAY_START, int(NOW.timestamp()), skip=GAP)
    store_history(store, METER, SITE, "sdm630", records=records, installed_at=DAY_START - 86400)
    store.write_status(
        METER, SITE, NOW.timestamp() - 30, {"state": "online", "queue_depth": 3, "signal_dbm": -71}
    )
    device = LiveDevice(mosquitto, METER)
    device.start()
    services.start()
    server = serve(config, services)
    yield BrowserPortal(server, device)
    server.stop()
    device.stop()
    services.close()


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Console errors of the page (a CSP violation shows up here)."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


__all__ = ["BrowserPortal"]
