"""The billing pages: the customer's invoices and notices, the staff's payments page."""

from __future__ import annotations

from contextlib import closing

from tests.portal.web.conftest import OTHER, OWNER, Portal, csrf_of


def test_4_3_invoices_page_shows_what_is_due_and_links_the_pdfs(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        page = client.get("/invoices")
        assert page.status_code == 200
        html = page.text
        for number in ("0000000001", "0000000002", "0000000003"):
            assert f'href="/invoices/{number}.pdf"' in html
        assert "35,76\u00a0€" in html and "5,96\u00a0€" in html  # total and VAT, Bulgarian
        assert "Дължимо сега" in html and "107,97\u00a0€" in html  # 36.25 + 35.96 + 35.76
        assert "просрочена" in html and "т. 4.4" in html
        pdf = client.get("/invoices/0000000001.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with closing(portal.browser_session(OTHER)) as client:
        assert client.get("/invoices/0000000001.pdf").status_code == 404
        assert "0000000001" not in client.get("/invoices").text


def test_notices_page_lists_the_invoice_mails(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        html = client.get("/notices").text
    assert "Фактура 0000000003 за 03.2026 (договор MYE-2025-0001)" in html
    assert "в опашката, още не е изпратено" in html


def test_staff_invoices_by_contract(portal: Portal) -> None:
    with closing(portal.browser_session("installer")) as client:
        html = client.get("/invoices?contract=MYE-2025-0002").text
        assert "0000000004" in html and "0000000001" not in html
        assert client.get("/staff/payments").status_code == 403


def test_zzd_76_staff_payments_page_records_and_shows_the_allocation(
    fresh_portal: Portal,
) -> None:
    with closing(fresh_portal.browser_session("operator")) as client:
        found = client.get("/staff/payments", params={"q": "георгиев"})
        assert 'href="/staff/payments?contract=MYE-2025-0001"' in found.text
        assert "<td>активен</td>" in found.text  # the state in the page's language
        page = client.get("/staff/payments", params={"contract": "MYE-2025-0001"})
        assert page.status_code == 200 and "Запис на плащане" in page.text
        form = {
            "csrf_token": csrf_of(page.text),
            "contract_number": "MYE-2025-0001",
            "amount": "40,00",
            "paid_on": "2026-03-02",
            "reference": "BNK-PAGE-1",
            "invoice_number": "",
        }
        done = client.post("/staff/payments", data=form)
        assert done.status_code == 200, done.text
        assert "Плащането е записано" in done.text
        assert "BNK-PAGE-1" in done.text and "35,76\u00a0€" in done.text
        again = client.post("/staff/payments", data=form)
        assert "Нищо не е записано" in again.text and "вече е записано" in again.text
        bad = client.post("/staff/payments", data={**form, "amount": "abc"})
        assert bad.status_code == 422 and "Въведете сумата в евро" in bad.text
    with closing(fresh_portal.browser_session(OWNER)) as client:
        token = csrf_of(client.get("/invoices").text)
        refused = client.post("/staff/payments", data={**form, "csrf_token": token})
        assert refused.status_code == 403
