"""Contracts in Chromium: an operator drafts (1.1, 1.2), signs (2.1) and books the
installation visit (1.4.2); the customer sees its contracts and the fee breakdown (4.1,
4.2); the price lists with the admin's form (4.1).

Takes the screenshots of the area's pages: the staff list with the draft form, a draft
with its 1.2 grounds, the signed contract with the installation form, the customer's
list and contract, the price lists.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal_api.db.enums import Voltage
from portal_api.db.models import Customer, Site
from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots
from tests.portal.web.conftest import NOW


def _new_site(portal: BrowserPortal) -> None:
    """A new MV site of the owner, in no contract yet (every demo site is in one)."""
    with portal.server.services.sessions.begin() as session:
        owner = session.scalars(select(Customer).where(Customer.number == "3100000017")).one()
        session.add(
            Site(
                id="varna-0009",
                customer_id=owner.id,
                metering_point="32Z0000000000009",
                name="Склад Варна",
                address="ул. Складова 9",
                settlement="Варна",
                voltage=Voltage.MV,
                created_at=NOW,
            )
        )


def test_2_1_operator_drafts_signs_books_the_visit_customer_sees_the_fee(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    _new_site(portal_site)
    portal_site.login(page, "operator")
    page.goto(portal_site.url + "/staff/contracts")
    expect(page.locator("tbody tr")).to_have_count(3)
    page.get_by_label("Клиентски номер").last.fill("3100000017")
    page.get_by_label("Обекти", exact=True).fill("varna-0009:2")
    page.get_by_label("Абонаментен период").select_option("24")
    page.get_by_label("Имейл за потребителското име и паролата").fill("ivan.georgiev@example.bg")
    page.get_by_label("Липсващи документи").fill("пълномощно")
    screenshots(page, "staff-list-draft-form")
    page.get_by_role("button", name="Създаване на чернова").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Договор MYE-2026-0001")
    expect(page.locator(".eligibility")).to_contain_text("пълномощно")
    # MV for 24 months 34.00 + one additional device 4.50 (4.1)
    expect(page.locator(".fee-total")).to_have_text(re.compile(r"38,50"))
    screenshots(page, "staff-draft")
    page.get_by_role("button", name="Подписване").click()
    expect(page.get_by_role("status")).to_contain_text("Договорът е подписан")
    page.get_by_label("Уговорено посещение", exact=True).check()
    page.get_by_label("Дата", exact=True).fill("2026-03-02")
    page.get_by_role("button", name="Записване на резултата").click()
    expect(page.get_by_role("status")).to_have_text("Резултатът от посещението е записан.")
    expect(page.locator(".contract-head")).to_contain_text("уговорено посещение за инсталация")
    screenshots(page, "staff-installation")
    page.get_by_role("button", name="Изход").click()

    portal_site.login(page)
    page.goto(portal_site.url + "/contracts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Моите договори")
    expect(page.locator("tbody tr")).to_have_count(2)  # the active one and the new one
    screenshots(page, "customer-contracts")
    page.get_by_role("link", name="MYE-2025-0001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Договор MYE-2025-0001")
    expect(page.locator(".fee-total")).to_have_text(re.compile(r"29,80"))
    screenshots(page, "customer-contract")
    page.get_by_role("button", name="Изход").click()

    portal_site.login(page, "admin")
    page.goto(portal_site.url + "/staff/price-lists")
    expect(page.locator("form.price-form input[required]")).to_have_count(9)
    screenshots(page, "price-lists-admin")
    assert console_errors == []
