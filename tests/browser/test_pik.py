"""Logging in with EIK/EGN and PIK in Chromium (issue 6): EGN, EIK, the foreigner's
extra field appearing without a reload, and the lockout after five wrong PIKs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.pik_demo import seed_demo_piks
from portal_api.config import SecuritySettings
from portal_api.db.enums import CustomerKind, IdKind
from portal_api.db.models import Customer
from portal_api.domain.identifiers import encrypt_identifier, hmac_identifier
from portal_api.seed import DEMO_CUSTOMERS
from portal_api.web.routes.pages_pik import pik_service
from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots
from tests.portal.web.conftest import NOW

IVAN = next(c for c in DEMO_CUSTOMERS if c.id_kind is IdKind.EGN)
COMPANY, THIRD = (c for c in DEMO_CUSTOMERS if c.id_kind is IdKind.EIK)
FOREIGN = "8501150000"
FOREIGN_NUMBER = "3100000999"


def _add_foreigner(sessions: sessionmaker[Session], security: SecuritySettings) -> int:
    keys = security.identifier_keys()
    with sessions.begin() as session:
        customer = Customer(
            number=FOREIGN_NUMBER,
            kind=CustomerKind.PERSON,
            name="John Smith",
            id_kind=IdKind.FOREIGN_BIRTH,
            id_hmac=hmac_identifier(IdKind.FOREIGN_BIRTH, FOREIGN, keys.pepper),
            id_enc=encrypt_identifier(FOREIGN, keys.fernet_key),
            email="john.smith@example.com",
            created_at=NOW,
        )
        session.add(customer)
        session.flush()
        return customer.id


def _submit(page: Page, portal: BrowserPortal, identifier: str, pik: str) -> None:
    page.goto(portal.url + "/login")
    page.get_by_label("ЕИК/ЕГН", exact=True).fill(identifier)
    page.get_by_label("ПИК", exact=True).fill(pik)
    page.get_by_role("button", name="Влизане с ПИК").click()


def test_pik_login_egn_eik_foreigner_and_lockout(
    page: Page,
    portal_site: BrowserPortal,
    screenshots: Screenshots,
    console_errors: list[str],
) -> None:
    services = portal_site.server.services
    service = pik_service(services)
    codes = seed_demo_piks(service)
    foreigner = _add_foreigner(services.sessions, services.config.security)
    codes[FOREIGN_NUMBER] = service.issue(
        foreigner, holder_role="customer", actor_user_id=None
    ).code

    # EGN (a natural person)
    page.goto(portal_site.url + "/login")
    expect(page.get_by_role("heading", name="Вход с ЕИК/ЕГН и ПИК")).to_be_visible()
    expect(page.get_by_label("Клиентски номер")).to_be_hidden()
    screenshots(page, "login-page")
    _submit(page, portal_site, IVAN.identifier, codes[IVAN.number])
    page.wait_for_url(portal_site.url + "/sites")
    expect(page.get_by_text("Къща, кв. Бриз").first).to_be_visible()
    page.context.clear_cookies()

    # EIK (a legal entity); the code typed in lower case
    _submit(page, portal_site, COMPANY.identifier, codes[COMPANY.number].lower())
    page.wait_for_url(portal_site.url + "/sites")
    page.context.clear_cookies()

    # A foreigner: YYMMDD0000 makes the customer-number field appear, without a reload
    page.goto(portal_site.url + "/login")
    page.evaluate("window.__samePage = true")
    number = page.get_by_label("Клиентски номер")
    expect(number).to_be_hidden()
    page.get_by_label("ЕИК/ЕГН", exact=True).fill(FOREIGN)
    expect(number).to_be_visible()
    assert page.evaluate("window.__samePage === true")
    assert page.evaluate("document.getElementById('pik-customer-number').required")
    screenshots(page, "foreigner-number-field")
    number.fill(FOREIGN_NUMBER)
    page.get_by_label("ПИК", exact=True).fill(codes[FOREIGN_NUMBER])
    page.get_by_role("button", name="Влизане с ПИК").click()
    page.wait_for_url(portal_site.url + "/sites")
    page.context.clear_cookies()

    # Five wrong PIKs lock; then even the right one is refused for 15 minutes
    for _ in range(5):
        _submit(page, portal_site, THIRD.identifier, "ZZZZZZZZ")
        expect(page.get_by_role("alert")).to_contain_text("Грешен ЕИК/ЕГН или ПИК")
    _submit(page, portal_site, THIRD.identifier, codes[THIRD.number])
    expect(page.get_by_role("alert")).to_contain_text("Твърде много неуспешни опити")
    screenshots(page, "locked")
    # The refused logins answer 401/429, which Chromium reports; anything else (a CSP
    # violation of the script, a script error) is a failure.
    others = [e for e in console_errors if not e.startswith("Failed to load resource")]
    assert not others, others


def test_operator_issues_a_pik_and_downloads_the_letter(
    page: Page,
    portal_site: BrowserPortal,
    screenshots: Screenshots,
    tmp_path: Path,
) -> None:
    portal_site.login(page, "operator")
    page.goto(portal_site.url + "/staff/piks")
    page.get_by_label("Клиентски номер").fill(IVAN.number)
    page.get_by_role("button", name="Търсене").click()
    expect(page.get_by_role("heading", name=f"{IVAN.name} · {IVAN.number}")).to_be_visible()
    page.get_by_role("radio", name="упълномощено лице").check()
    page.get_by_label("Име на титуляря").fill("Мария Петрова")
    screenshots(page, "desk")
    page.get_by_role("button", name="Издаване на ПИК").click()
    code = page.locator("#letter-pik").inner_text()
    assert len(code) == 8
    screenshots(page, "letter")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF").click()
    target = tmp_path / "letter.pdf"
    download_info.value.save_as(target)
    text = subprocess.run(
        ["pdftotext", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert code in text and IVAN.number in text and "Мария Петрова" in text
    # Back on the desk the code is nowhere.
    page.get_by_role("link", name="Обратно към ПИК на клиента").click()
    expect(page.get_by_text("Мария Петрова")).to_be_visible()
    assert code not in page.content()
