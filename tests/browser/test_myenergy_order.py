"""MyEnergy ordered online in Chromium (issue 6): the customer orders for a free site, sees
the quote (every 1.2 ground, the fee 4.1), orders, lands on the request ("received") and
sees the new contract as a draft; an operator signs it (2.1) and the customer's timeline
shows "Договорът е подписан".

Screenshots: the order form, the quote, the request received, the customer's contracts,
the draft contract, the timeline after signing.
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


def _free_site(portal: BrowserPortal) -> None:
    """A new LV site of Ivan Georgiev in no contract (every demo site is in one)."""
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
                voltage=Voltage.LV,
                created_at=NOW,
            )
        )


def test_myenergy_ordered_online_is_a_draft_contract_and_its_timeline_follows_signing(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    _free_site(portal_site)
    portal_site.login(page)
    page.goto(portal_site.url + "/services/myenergy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Заявете MyEnergy")
    expect(page.locator("table.myenergy-sites")).to_contain_text(
        "не е свободен: в договор MYE-2025-0001"
    )
    page.get_by_label("Склад Варна").check()
    page.get_by_label("да, обектът има такъв").check()
    page.get_by_label("12 месеца").check()
    page.get_by_label("в сила, безсрочен").check()
    expect(page.get_by_label("Имейл за договора и за всяка стъпка на поръчката")).to_have_value(
        "ivan.georgiev@example.bg"
    )
    screenshots(page, "myenergy-form")
    page.get_by_role("button", name="Вижте допустимостта и цената").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Вашата поръчка на MyEnergy: допустимост и цена"
    )
    expect(page.locator("ul.grounds li")).to_have_count(6)
    expect(page.locator(".myenergy-eligibility")).to_contain_text("т. 1.2")
    expect(page.locator(".fee-total")).to_have_text(re.compile(r"14,90"))  # LV, 12 months
    screenshots(page, "myenergy-quote")
    page.get_by_role("button", name="Заявявам").click()

    page.wait_for_url(re.compile(r".*/requests/SR-2026-\d{6}$"))
    request_url = page.url
    expect(page.locator("body")).to_contain_text("Заявката е получена")
    screenshots(page, "myenergy-request-received")
    page.goto(portal_site.url + "/contracts")
    row = page.locator("tbody tr", has_text="MYE-2026-0001")
    expect(row).to_contain_text("чернова — очаква подписване")
    screenshots(page, "myenergy-customer-contracts")
    page.get_by_role("link", name="MYE-2026-0001").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Договор MYE-2026-0001")
    expect(page.locator(".notice")).to_contain_text("Заявихте този договор онлайн")
    screenshots(page, "myenergy-draft-contract")
    page.get_by_role("button", name="Изход").click()

    portal_site.login(page, "operator")
    page.goto(portal_site.url + "/staff/contracts/MYE-2026-0001")
    page.get_by_role("button", name="Подписване").click()
    expect(page.get_by_role("status")).to_contain_text("Договорът е подписан")
    page.get_by_role("button", name="Изход").click()

    portal_site.login(page)
    page.goto(request_url)
    expect(page.locator(".request-timeline")).to_contain_text("Договорът е подписан")
    screenshots(page, "myenergy-timeline-signed")
    assert console_errors == []
