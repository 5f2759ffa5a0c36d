"""The billing API through the real portal (4.3, 4.4, ЗЗД art. 76, ЗДДС art. 114).

Demo data on 2026-03-02: Ivan's MYE-2025-0001 has invoices 0000000001..0000000003,
each 29.80 + 5.96 VAT = 35.76 EUR; Maria's MYE-2025-0002 has 0000000004..6.
"""

from __future__ import annotations

from contextlib import closing

from tests.portal.web.conftest import OTHER, OWNER, Portal

IVAN = "MYE-2025-0001"


def test_4_3_invoices_list_number_vat_total_due_and_what_is_open(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        answer = client.get(f"/api/v1/contracts/{IVAN}/invoices")
    assert answer.status_code == 200
    january, february, march = answer.json()
    assert march == {
        "number": "0000000003",
        "contract_number": IVAN,
        "month": "2026-03",
        "issued_on": "2026-03-01",
        "due_on": "2026-03-10",
        "amount_net": "29.80",
        "vat": "5.96",
        "total": "35.76",
        "state": "open",
        "paid": "0.00",
        "interest_charged": "0.00",
        "outstanding": "35.76",
        "pdf_url": "/api/v1/invoices/0000000003.pdf",
    }
    # 10 January 2026 is a Saturday: due Monday the 12th (3.1a, 4.3)
    assert (january["number"], january["due_on"], january["state"]) == (
        "0000000001",
        "2026-01-12",
        "overdue",
    )
    assert (january["interest_charged"], january["outstanding"]) == ("0.49", "36.25")
    assert february["outstanding"] == "35.96"


def test_zdds_114_invoice_and_pdf_by_number_foreign_is_not_found(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        one = client.get("/api/v1/invoices/0000000002")
        pdf = client.get("/api/v1/invoices/0000000002.pdf")
    assert one.status_code == 200 and one.json()["total"] == "35.76"
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert 'filename="invoice-0000000002.pdf"' in pdf.headers["content-disposition"]
    with closing(portal.api(OTHER)) as client:
        foreign = client.get("/api/v1/invoices/0000000002")
        foreign_pdf = client.get("/api/v1/invoices/0000000002.pdf")
        unknown = client.get("/api/v1/invoices/0000009999")
        own = client.get("/api/v1/invoices/0000000004")
    assert foreign.status_code == foreign_pdf.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()
    assert own.status_code == 200 and own.json()["contract_number"] == "MYE-2025-0002"


def test_4_3_staff_read_invoices_installer_not_payments(portal: Portal) -> None:
    with closing(portal.api("installer")) as client:
        assert client.get(f"/api/v1/contracts/{IVAN}/invoices").status_code == 200
        assert client.get(f"/api/v1/contracts/{IVAN}/payments").status_code == 403
    with closing(portal.api("operator")) as client:
        assert client.get(f"/api/v1/contracts/{IVAN}/payments").json() == []
        assert client.get("/api/v1/contracts/MYE-2099-0001/invoices").status_code == 404


def test_zzd_76_payment_recorded_once_per_bank_reference(fresh_portal: Portal) -> None:
    body = {"amount": "40.00", "paid_on": "2026-03-02", "reference": "BNK-API-1"}
    with closing(fresh_portal.api("operator")) as client:
        first = client.post(f"/api/v1/contracts/{IVAN}/payments", json=body)
        again = client.post(f"/api/v1/contracts/{IVAN}/payments", json=body)
        listed = client.get(f"/api/v1/contracts/{IVAN}/payments").json()
    assert first.status_code == 201, first.text
    recorded = first.json()
    assert recorded["recorded"] is True and recorded["restoration"] is None
    assert recorded["payment"]["allocations"] == [
        {"invoice_number": "0000000001", "costs": "0.00", "interest": "0.49", "fee": "35.76"},
        {"invoice_number": "0000000002", "costs": "0.00", "interest": "0.20", "fee": "3.55"},
    ]
    assert "лихви 0.69" in recorded["message"]  # the operator's language: Bulgarian
    assert again.status_code == 200 and again.json()["recorded"] is False
    assert again.json()["payment"] == recorded["payment"]
    assert [p["reference"] for p in listed] == ["BNK-API-1"]
    with closing(fresh_portal.api(OWNER)) as client:
        invoices = client.get(f"/api/v1/contracts/{IVAN}/invoices").json()
        own_payments = client.get(f"/api/v1/contracts/{IVAN}/payments")
    assert [i["state"] for i in invoices] == ["paid", "overdue", "open"]
    assert own_payments.status_code == 200 and len(own_payments.json()) == 1


def test_4_3_payment_refusals(fresh_portal: Portal) -> None:
    url = f"/api/v1/contracts/{IVAN}/payments"
    with closing(fresh_portal.api("operator")) as client:
        negative = client.post(
            url, json={"amount": "-1", "paid_on": "2026-03-02", "reference": "X"}
        )
        cents = client.post(
            url, json={"amount": "1.001", "paid_on": "2026-03-02", "reference": "X"}
        )
        foreign = client.post(
            url,
            json={
                "amount": "1.00",
                "paid_on": "2026-03-02",
                "reference": "X",
                "invoice_number": "0000000004",
            },
        )
    assert negative.status_code == cents.status_code == 422
    assert foreign.status_code == 400 and "0000000004" in foreign.json()["detail"]
    with closing(fresh_portal.api(OWNER)) as client:
        assert client.post(url, json={"amount": "1.00"}).status_code == 403


def test_notices_say_whether_the_mail_went_out(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        notices = client.get(f"/api/v1/contracts/{IVAN}/notices").json()
    assert [(n["kind"], n["subject"]) for n in notices] == [
        ("invoice", "0000000003"),
        ("invoice", "0000000002"),
        ("invoice", "0000000001"),
    ]
    assert notices[0]["email_subject"] == "Фактура 0000000003 за 03.2026 (договор MYE-2025-0001)"
    assert notices[0]["email_sent_at"] is None
    with closing(portal.api(OTHER)) as client:
        assert client.get(f"/api/v1/contracts/{IVAN}/notices").status_code == 404
