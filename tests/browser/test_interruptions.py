"""Clause 5.2 in Chromium: a device silent over 6 hours is confirmed by the operator, the
unplanned interruption is ended on its page, and the customer sees it in the history.

Screenshots: the staff desk (proposal, open form), the detail with the checks, the
customer's history with the 7.5б right.
"""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from portal_api.contracts.daily_interruptions import silence_step
from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots
from tests.portal.web.conftest import NOW

OTHER_METER = "demo-sdm120-4"  # dobrich-0001, also the owner's contract


def test_5_2_silent_device_confirmed_ended_and_shown(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    services = portal_site.server.services
    heard = NOW - dt.timedelta(hours=8)
    services.consumption.store.write_status(
        OTHER_METER, "dobrich-0001", heard.timestamp(), {"state": "online"}
    )
    assert len(silence_step(services.sessions, services.consumption, NOW).proposed) == 1

    portal_site.login(page, "operator")
    page.goto(portal_site.url + "/staff/interruptions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Прекъсвания")
    proposal = page.locator("tr").filter(has_text=OTHER_METER)
    expect(proposal).to_contain_text("мълчи")  # the engine's reason, in Bulgarian
    screenshots(page, "desk")
    proposal.get_by_role("button", name="Потвърди и отвори").click()
    expect(page.get_by_role("status")).to_have_text("Прекъсването е записано.")
    expect(page.locator("table.checks")).to_contain_text("5.2")
    page.get_by_label("Край", exact=True).fill("2026-03-02T13:30")
    page.get_by_role("button", name="Запази").click()
    expect(page.get_by_role("status")).to_have_text("Прекъсването е записано.")
    expect(page.locator("dl").first).to_contain_text("7,50 ч")  # 04:00 -> 11:30 UTC
    screenshots(page, "detail")

    page.context.clear_cookies()
    portal_site.login(page)
    page.goto(portal_site.url + "/interruptions")
    expect(page.locator(".interruptions-table")).to_contain_text("непланирано")
    expect(page.locator(".interruptions-contract").first).to_contain_text(
        "Право на прекратяване без неустойка"
    )
    screenshots(page, "customer-history")
    assert console_errors == []
