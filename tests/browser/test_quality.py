"""Clause 6.5 import screen in Chromium: an operator uploads the network operator's file."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots
from tests.portal.contracts_web.test_quality_import import operator_file


def test_quality_import_marks_the_flagged_site(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    data, quarters = operator_file(portal_site.server.services.consumption)
    portal_site.login(page, "operator")
    page.goto(portal_site.url + "/staff/quality")
    expect(page.get_by_role("heading", level=1)).to_have_text("Норма за качество по т. 6.5")
    screenshots(page, "quality-form")
    page.get_by_label("CSV файл").set_input_files(
        {"name": "operator-2026-03-02.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.get_by_label("Сравняване", exact=True).select_option("row")
    page.get_by_role("button", name="Сравняване", exact=True).click()
    rows = page.locator("table.quality-result tbody tr")
    expect(rows).to_have_count(quarters)
    flagged = page.locator('tr[data-verdict="flagged"]')
    expect(flagged).to_have_count(1)
    # Marked in words and by a symbol, not by colour alone.
    expect(flagged.locator(".verdict")).to_have_text("⚠ Извън нормата")
    expect(page.get_by_role("alert")).to_contain_text("varna-0001")
    screenshots(page, "quality-result")
    # The alert links each flagged period to its row.
    page.get_by_role("alert").get_by_role("link").click()
    expect(flagged).to_be_in_viewport()
    page.screenshot(path=str(screenshots.directory / "03-flagged-row.png"))
    assert console_errors == []
