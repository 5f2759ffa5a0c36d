"""A service request in Chromium (issue 6): submitted and its timeline advancing.

The customer picks "Присъединяване на обект на потребител" in the catalogue, fills the
form, attaches PDFs and lands on the request at step "Заявката е получена". An operator,
in a browser of their own, finds it in the queue, takes it and advances it to
"Документите са проверени"; the customer reloads and sees the new step with its date
and the operator's name, and the outbox holds one e-mail per step.

Screenshots: the customer's form and timeline (before and after), the staff queue and
the staff detail page.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal_api.db.models import OutboxMessage
from tests.browser.conftest import BrowserPortal
from tests.fixtures.browser import Screenshots

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SERVICE = "Присъединяване на обект на потребител"
OPERATOR_NAME = "Елена Колева (ЦОК)"


def _fill_the_form(page: Page) -> None:
    page.get_by_label("Имейл за известия").fill("ivan.georgiev@example.bg")
    page.get_by_label("Телефон за връзка").fill("0888 123 456")
    page.get_by_label("Населено място").fill("Варна")
    page.get_by_label("Адрес на обекта").fill("ул. „Шипка“ 3")
    page.get_by_label("Небитов").check()
    page.get_by_label("Заявена мощност (kW)").fill("15")
    page.get_by_label("Трифазно (3 фази)").check()
    page.get_by_label("Ниско напрежение (НН, 0,4 kV)").check()
    for label, name in (
        ("Документ за собственост или право на строеж", "notarialen-akt.pdf"),
        ("Скица на имота или виза за проектиране", "skica.pdf"),
    ):
        page.get_by_label(label).set_input_files(
            {"name": name, "mimeType": "application/pdf", "buffer": PDF}
        )


def test_a_request_submitted_and_its_timeline_advancing(
    page: Page,
    browser: Browser,
    portal_site: BrowserPortal,
    screenshots: Screenshots,
    console_errors: list[str],
) -> None:
    # The customer: the catalogue, the form, the request at its first step.
    portal_site.login(page, "ivan.georgiev")
    page.goto(portal_site.url + "/services")
    page.locator("li", has_text=SERVICE).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(SERVICE)
    _fill_the_form(page)
    screenshots(page, "customer-form")
    page.locator("form.service-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/requests/SR-\d{4}-\d{6}.*"))
    found = re.search(r"SR-\d{4}-\d{6}", page.url)
    assert found is not None
    number = found.group(0)
    timeline = page.locator(".request-timeline")
    expect(timeline.locator(".timeline-step.done")).to_have_count(1)
    expect(timeline.locator(".timeline-step.done")).to_contain_text("Заявката е получена")
    screenshots(page, "customer-timeline-received")

    # The operator, in a browser of their own: the queue, the request, take it, advance it.
    context = browser.new_context(locale="bg-BG", timezone_id="Europe/Sofia")
    context.set_default_timeout(15_000)
    staff = context.new_page()
    staff_errors: list[str] = []
    staff.on("console", lambda msg: staff_errors.append(msg.text) if msg.type == "error" else None)
    try:
        portal_site.login(staff, "operator")
        staff.goto(portal_site.url + "/staff/requests")
        row = staff.locator(f"#request-{number}")
        expect(row).to_contain_text(SERVICE)
        expect(row).to_contain_text("Иван Петров Георгиев")
        expect(row).to_contain_text("Заявката е получена")
        screenshots(staff, "staff-queue")
        row.get_by_role("link", name=number).click()
        expect(staff.get_by_role("heading", level=1)).to_contain_text(number)
        expect(staff.locator(".request-documents")).to_contain_text("notarialen-akt.pdf")
        staff.get_by_role("button", name="Възложи на мен").click()
        expect(staff.locator(".notice")).to_have_text("Заявката е възложена.")
        expect(staff.locator(".request-head")).to_contain_text(OPERATOR_NAME)
        staff.get_by_label("Бележка за клиента (по желание)").fill("Документите са пълни.")
        staff.get_by_role("button", name="Премини към: Документите са проверени").click()
        expect(staff.locator(".notice")).to_contain_text("следващата стъпка")
        expect(staff.locator(".request-timeline .timeline-step.done")).to_have_count(2)
        screenshots(staff, "staff-detail-advanced")
        staff.goto(portal_site.url + "/staff/requests?assigned=me")
        expect(staff.locator(f"#request-{number}")).to_contain_text("Документите са проверени")
        screenshots(staff, "staff-queue-mine")
    finally:
        context.close()
    assert not staff_errors

    # The customer reloads: the new step with its date and who acted.
    page.reload()
    steps = page.locator(".request-timeline .timeline-step.done")
    expect(steps).to_have_count(2)
    checked = steps.nth(1)
    expect(checked).to_contain_text("Документите са проверени")
    expect(checked).to_contain_text(OPERATOR_NAME)
    expect(checked).to_contain_text("2.03.2026")  # the portal's day, Sofia time
    expect(checked).to_contain_text("Документите са пълни.")
    screenshots(page, "customer-timeline-advanced")

    with portal_site.server.services.sessions() as session:
        subjects = session.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.kind == "service_request")
            .where(OutboxMessage.subject.contains(number))
            .order_by(OutboxMessage.id)
        ).all()
    assert len(subjects) == 2
    assert "Заявката е получена" in subjects[0] and "Документите са проверени" in subjects[1]
    assert not console_errors
