"""Clause 4.4 in Chromium: an operator confirms a suspension proposal in the queue.

Also takes the screenshots of the area's other pages: the customer's notice page
(7.2 / 7.5c quotes) and the staff's termination page with a quote (7.3, 8.2).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots


def test_4_4_operator_confirms_a_suspension(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    portal_site.login(page, "operator")
    page.goto(portal_site.url + "/staff/decisions")
    expect(page.get_by_role("heading", level=1)).to_have_text("Предложения")
    screenshots(page, "queue")
    # Maria's January and February invoices are both more than 5 days late.
    rows = page.locator('tr[data-kind="suspension_proposed"]').filter(has_text="MYE-2025-0002")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("просрочена")  # the engine's reason, in Bulgarian
    rows.first.get_by_role("button", name="Потвърди").click()
    expect(page.get_by_role("status")).to_have_text("Предложението е потвърдено и приложено.")
    expect(rows).to_have_count(1)
    screenshots(page, "confirmed")
    page.goto(portal_site.url + "/staff/decisions?state=confirmed")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.goto(portal_site.url + "/staff/contracts/MYE-2025-0001/termination?ground=company_early")
    expect(page.locator(".termination-quote")).to_contain_text(re.compile(r"59,60"))
    screenshots(page, "staff-termination-quote")
    assert console_errors == []


def test_7_2_customer_sees_what_notice_costs(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    portal_site.login(page)
    page.goto(portal_site.url + "/contracts/MYE-2025-0001/terminate")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Прекратяване на договора")
    screenshots(page, "customer-quote")
    page.get_by_role("radio", name="Предизвестие от потребителя, 14 дни (т. 7.2, 8.1б)").check()
    page.get_by_role("button", name="Изпрати уведомлението").click()
    expect(page.get_by_role("status")).to_contain_text("Уведомлението ви е получено")
    screenshots(page, "customer-notice-sent")
    assert console_errors == []
