"""The portal in the system Chromium: log in, live values, history, CSV, language, 404.

Screenshots of every step are saved under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal_api.seed import DEMO_PASSWORD
from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots
from tests.portal.web.conftest import SITE

pytestmark = pytest.mark.browser


def test_login_and_sites_overview(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    page.goto(portal_site.url + "/sites")
    expect(page).to_have_url(re.compile(r"/login\?next=/sites$"))
    expect(page.locator("html")).to_have_attribute("lang", "bg")
    screenshots(page, "login")
    portal_site.login(page)
    expect(page.get_by_role("heading", name="Моите обекти")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Къща, кв. Бриз"))
    expect(row).to_contain_text("kWh")
    expect(row).to_contain_text("на линия")
    screenshots(page, "sites")
    assert not console_errors


def test_live_values_change(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    portal_site.login(page)
    page.get_by_role("link", name="Къща, кв. Бриз").click()
    total = page.locator("#live-total")
    expect(total).not_to_have_text("–", timeout=20_000)
    first = total.inner_text()
    # The stand-in device raises its power with every sample: the figure must move.
    expect(total).not_to_have_text(first, timeout=10_000)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    l1 = page.locator('[data-field="u_v.l1"]')
    expect(l1).to_have_text("231,2")
    expect(page.locator('[data-field="pf.l3"]')).to_have_text("0,910")
    screenshots(page, "live")
    commands = portal_site.device.commands
    assert commands and commands[0]["cmd"] == "live"
    assert not console_errors


def test_history_charts_and_csv(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots, console_errors: list[str]
) -> None:
    portal_site.login(page)
    page.goto(f"{portal_site.url}/sites/{SITE}/history?view=day&date=2026-03-02")
    expect(page.locator("#energy-chart canvas")).to_have_count(1)
    expect(page.locator(".phase-chart canvas")).to_have_count(1)
    # The gap 08:10-08:40 UTC makes the day incomplete: the page says how much.
    expect(page.locator(".completeness-summary")).to_contain_text("%")
    assert "100" not in page.locator(".completeness-summary").inner_text()
    screenshots(page, "history-day")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Изтегляне на CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"{SITE}_15min_2026-03-02_2026-03-03.csv"
    text = open(download.path(), encoding="utf-8").read()  # noqa: SIM115
    lines = text.splitlines()
    assert lines[0] == "interval_start,interval_end,import_kwh,export_kwh,completeness"
    assert len(lines) == 1 + 96

    for view in ("week", "month", "year"):
        page.get_by_label("Период").select_option(view)
        page.get_by_role("button", name="Покажи").click()
        expect(page.locator("#energy-chart canvas")).to_have_count(1)
        expect(page.locator(".phase-chart canvas")).to_have_count(1)
        screenshots(page, f"history-{view}")
    assert not console_errors


def test_switch_language(page: Page, portal_site: BrowserPortal, screenshots: Screenshots) -> None:
    portal_site.login(page)
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="My sites")).to_be_visible()
    screenshots(page, "sites-en")
    page.get_by_role("button", name="БГ").click()
    expect(page.get_by_role("heading", name="Моите обекти")).to_be_visible()


def test_foreign_site_is_not_found(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots
) -> None:
    portal_site.login(page)
    response = page.goto(portal_site.url + "/sites/shumen-0001")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Страницата не е намерена")).to_be_visible()
    screenshots(page, "foreign-site-404")


def test_keyboard_skip_link(page: Page, portal_site: BrowserPortal) -> None:
    portal_site.login(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Към основното съдържание")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def test_change_password_on_the_account_page(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots
) -> None:
    portal_site.login(page)
    page.get_by_role("link", name="Профил").click()
    page.get_by_label("Текуща парола").fill(DEMO_PASSWORD)
    page.get_by_label("Нова парола", exact=True).fill("a-new-pass-2026")
    page.get_by_label("Повторете новата парола").fill("a-new-pass-2026")
    page.get_by_role("button", name="Смяна на паролата").click()
    expect(page.get_by_role("status")).to_contain_text("Паролата Ви е сменена")
    screenshots(page, "account-password-changed")


def test_lost_credentials_request(
    page: Page, portal_site: BrowserPortal, screenshots: Screenshots
) -> None:
    page.goto(portal_site.url + "/login")
    page.get_by_role("link", name=re.compile("Поискайте нови данни за достъп")).click()
    page.get_by_label("Клиентски номер").fill("3100000017")
    page.get_by_label("Адрес на електронна поща").fill("ivan.georgiev@example.bg")
    screenshots(page, "lost-credentials-form")
    page.get_by_role("button", name="Изпращане на искането").click()
    expect(page.get_by_role("status")).to_contain_text("6 март 2026")
    screenshots(page, "lost-credentials-received")


def test_narrow_screen(page: Page, portal_site: BrowserPortal, screenshots: Screenshots) -> None:
    page.set_viewport_size({"width": 390, "height": 800})
    portal_site.login(page)
    screenshots(page, "sites-phone")
    page.goto(f"{portal_site.url}/sites/{SITE}/history?view=day&date=2026-03-02")
    expect(page.locator("#energy-chart canvas")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways: {width}px"
    screenshots(page, "history-phone")
