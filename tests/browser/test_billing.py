"""Billing in the system Chromium: the customer downloads an invoice PDF (4.3).

Also looks at the notices page and the staff's payments page after recording a
payment, with screenshots of each under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots

pytestmark = pytest.mark.browser


def test_customer_downloads_an_invoice_pdf(
    page: Page,
    browser: Browser,
    portal_site: BrowserPortal,
    screenshots: Screenshots,
    console_errors: list[str],
) -> None:
    portal_site.login(page)
    page.get_by_role("link", name="Фактури").click()
    expect(page.get_by_role("heading", name="Фактури", exact=True)).to_be_visible()
    row = page.get_by_role("row", name=re.compile("0000000003"))
    expect(row).to_contain_text("35,76")
    expect(row).to_contain_text("5,96")
    expect(page.get_by_role("heading", name="Дължимо сега")).to_be_visible()
    screenshots(page, "invoices")
    with page.expect_download() as download_info:
        row.get_by_role("link", name=re.compile("PDF")).click()
    download = download_info.value
    assert download.suggested_filename == "invoice-0000000003.pdf"
    path = download.path()
    assert path is not None and path.read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Уведомления").click()
    expect(page.get_by_role("cell", name=re.compile("Фактура 0000000001"))).to_be_visible()
    screenshots(page, "notices")
    assert not console_errors

    staff = browser.new_context(locale="bg-BG", timezone_id="Europe/Sofia")
    try:
        operator = staff.new_page()
        portal_site.login(operator, "operator")
        operator.goto(portal_site.url + "/staff/payments?contract=MYE-2025-0001")
        operator.get_by_label("Сума (EUR)").fill("40,00")
        operator.get_by_label("Банкова референция").fill("BNK-BROWSER-1")
        operator.get_by_role("button", name="Запиши плащането").click()
        expect(operator.get_by_role("heading", name="Плащането е записано")).to_be_visible()
        expect(operator.get_by_role("cell", name="BNK-BROWSER-1")).to_be_visible()
        screenshots(operator, "staff-payments")
    finally:
        staff.close()
