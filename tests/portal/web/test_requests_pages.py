"""Customer pages of the service requests (issue 6): the catalogue, a form submitted with
a document (multipart, CSRF), the request on /requests with its timeline, another
customer's 404, and bad input answered with every field's message."""

from __future__ import annotations

import html
import re
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select

from portal_api.db.models import User
from portal_api.service_requests.catalogue import Step, step_title
from portal_api.web import render
from portal_api.web.i18n import load_catalogs
from portal_api.web.requests_access import request_service
from tests.portal.web.conftest import OTHER, OWNER, Portal, csrf_of

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
FIELDS = {
    "contact_email": "ivan@example.bg",
    "contact_phone": "0888 123 456",
    "settlement": "Варна",
    "address": "ул. Шипка 12",
    "purpose": "household",
    "power_kw": "12,5",
    "phases": "3",
    "voltage": "low",
    "cadastral_id": "10135.2558.231",
    "connection_date": "2026-04-01",
    "note": "Нова къща, строителство 2026.",
}
TIMELINE = "request_timeline.html"
TEMPLATES = Path(render.__file__).with_name("templates")


def _text(page: str) -> str:
    """The page's visible text, one space between words (for phrases across tags)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _operator_id(portal: Portal) -> int:
    with portal.services.sessions() as session:
        return session.scalars(select(User.id).where(User.username == "operator")).one()


def test_submit_see_the_timeline_and_nobody_else_does(fresh_portal: Portal) -> None:
    portal = fresh_portal
    with closing(portal.browser_session(OWNER)) as client:
        form = client.get("/services/connect_consumer/new")
        assert form.status_code == 200
        assert 'enctype="multipart/form-data"' in form.text
        assert "Заявена мощност (kW)" in form.text and 'name="site_plan"' in form.text
        answer = client.post(
            "/services/connect_consumer",
            data={**FIELDS, "csrf_token": csrf_of(form.text)},
            files=[
                ("ownership", ("../нотариален акт.pdf", PDF, "application/pdf")),
                ("site_plan", ("скица.pdf", PDF, "application/octet-stream")),
            ],
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/requests/SR-2026-000001?submitted=1"

        listing = client.get("/requests")
        assert listing.status_code == 200
        listed = _text(listing.text)
        assert "SR-2026-000001" in listed
        assert "Присъединяване на обект на потребител" in listed
        assert "Електроразпределение Север АД" in listed and "В изпълнение" in listed

        page = client.get(answer.headers["location"])
        assert page.status_code == 200
        text = _text(page.text)
        assert "Заявката Ви е получена" in text
        assert "Заявката е получена" in text and "Вие" in text
        assert "02.03.2026" in text or "2.03.2026" in text  # Sofia time of NOW
        assert "Заявена мощност (kW) 12,50 kW" in text
        assert "Кадастрален идентификатор на имота 10135.2558.231" in text
        ahead = re.findall(
            r'class="timeline-step ahead">\s*<p class="timeline-title">([^<]*)<', page.text
        )
        assert ahead == [
            "Документите са проверени",
            "Издадено становище за условията за присъединяване",
            "Сключен договор за присъединяване",
            "Обектът е присъединен",
        ]
        link = re.search(r'href="(/requests/SR-2026-000001/attachments/\d+)"', page.text)
        assert link is not None
        document = client.get(link.group(1))
        assert document.status_code == 200 and document.content == PDF
        assert document.headers["content-type"] == "application/pdf"
        assert document.headers["content-disposition"].startswith("attachment;")
        assert document.headers["x-content-type-options"] == "nosniff"
        disposition = document.headers["content-disposition"]
        assert f"filename*=UTF-8''{quote('нотариален акт.pdf')}" in disposition

    # Staff move it on; the customer sees who acted and the reason of the refusal.
    service = request_service(portal.services)
    operator = _operator_id(portal)
    service.advance("SR-2026-000001", actor_user_id=operator, expected=Step.DOCUMENTS_CHECKED)
    service.reject("SR-2026-000001", actor_user_id=operator, reason="Скицата не е актуална.")
    with closing(portal.browser_session(OWNER)) as client:
        page = client.get("/requests/SR-2026-000001")
        text = _text(page.text)
        assert "Документите са проверени" in text and "ЦОК:" in text
        assert "Причина за отказа: Скицата не е актуална." in text
        assert 'class="timeline-note reason"' in page.text
        assert "timeline-step ahead" not in page.text  # nothing ahead after a rejection
        assert "Отказана" in _text(client.get("/requests").text)

    with closing(portal.browser_session(OTHER)) as client:
        assert client.get("/requests/SR-2026-000001").status_code == 404
        assert client.get(link.group(1)).status_code == 404
        assert "SR-2026-000001" not in client.get("/requests").text
    with closing(portal.api(OTHER)) as client:
        assert client.get("/api/v1/service-requests/SR-2026-000001").status_code == 404


def test_bad_input_answers_400_with_every_message(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        form = client.get("/services/connect_consumer/new")
        bad = {
            **FIELDS,
            "contact_email": "ivan@",
            "power_kw": "0",
            "connection_date": "2026-03-01",
            "csrf_token": csrf_of(form.text),
        }
        answer = client.post(
            "/services/connect_consumer",
            data=bad,
            files=[("site_plan", ("plan.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))],
        )
    assert answer.status_code == 400
    text = _text(answer.text)
    for message in (
        "Невалиден имейл адрес.",
        "Стойност над 0 и до 10000 kW.",
        "Датата не може да е в миналото.",
        "Приложете документа.",  # ownership missing
        "Приемат се само PDF, JPEG и PNG.",  # the .exe named plan.pdf
        "изберете ги отново",
    ):
        assert message in text, message
    assert 'value="ivan@"' in answer.text and 'value="ул. Шипка 12"' in answer.text
    assert 'id="f-contact_email" name="contact_email"' in answer.text
    assert answer.text.count('aria-invalid="true"') >= 5
    assert "SR-2026" not in _text(answer.text)


def test_a_form_post_without_the_csrf_token_is_refused(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        answer = client.post(
            "/services/supply_contract",
            data={**FIELDS, "csrf_token": "forged"},
            files=[("ownership", ("a.pdf", PDF, "application/pdf"))],
        )
        assert answer.status_code == 403


def test_myenergy_form_is_the_order_page_and_unknown_kinds_404(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        answer = client.get("/services/myenergy/new")
        assert answer.status_code == 303 and answer.headers["location"] == "/services/myenergy"
        assert client.get("/services/nonsense/new").status_code == 404


def test_catalogue_lists_three_companies_with_myenergy_live(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        page = client.get("/services")
    assert page.status_code == 200
    text = _text(page.text)
    for company in (
        "Към Електроразпределение Север АД",
        "Към ЕНЕРГО-ПРО Продажби АД",
        "Към ЕНЕРГО-ПРО Енергийни услуги ЕАД",
    ):
        assert company in text
    assert 'href="/services/myenergy"' in page.text
    assert "очаквайте скоро" not in text.lower()
    for kind in ("connect_consumer", "connect_producer", "network_contract", "supply_contract"):
        assert f'href="/services/{kind}/new"' in page.text
    assert 'href="/requests"' in page.text


def test_staff_see_the_catalogue_read_only(portal: Portal) -> None:
    with closing(portal.browser_session("operator")) as client:
        page = client.get("/services")
        assert page.status_code == 200 and "/services/connect_consumer/new" not in page.text
        assert client.get("/requests").status_code == 403
        assert client.get("/services/connect_consumer/new").status_code == 403


def test_timeline_titles_of_steps_ahead_match_the_catalogue() -> None:
    """The partial's own table of titles (it is included by staff pages too) stays equal
    to catalogue.step_title in both languages."""
    source = (TEMPLATES / TIMELINE).read_text(encoding="utf-8")
    table = dict(re.findall(r'"(\w+)": _\("([^"]+)"\)', source))
    catalogs = load_catalogs()
    for step in Step:
        if step is Step.REJECTED:
            continue  # never ahead
        assert table[step.value] == step_title(step, "en"), step
        assert catalogs["bg"].gettext(table[step.value]) == step_title(step, "bg"), step
