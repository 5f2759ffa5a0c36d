"""The daily run's invoices carry the gapless ten-digit number (ЗДДС art. 114(1)(2)) in
the PDF, the e-mail and the notice, and owe base + VAT (docs/contract-rules.md "VAT")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.db.models import Customer, OutboxMessage
from tests.portal.contracts_daily.test_daily import _contract, _run
from tests.portal.contracts_db.samples import NUMBER
from tests.portal.contracts_pdf.test_invoice_pdf import _text

D = dt.date


def test_4_3_invoice_number_vat_and_buyer_address(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    _contract(sessions, seeded["customer"])
    assert _run(sessions, D(2026, 5, 1)).invoices == 1
    with sessions.begin() as session:  # the customer's postal address arrives (0003)
        session.execute(
            update(Customer)
            .where(Customer.id == seeded["customer"])
            .values(address="бул. „Христо Ботев“ 3, 9000 Варна")
        )
    assert _run(sessions, D(2026, 6, 1)).invoices == 1
    with sessions() as session:
        bills = BillingRepository(session)
        may, june = bills.issued(NUMBER)
        assert (may.tax_number, june.tax_number) == ("0000000001", "0000000002")
        assert (may.amount, may.vat, may.total) == (
            Decimal("73.70"),
            Decimal("14.74"),
            Decimal("88.44"),
        )
        owed = {item.invoice_id: item.principal for item in bills.ledger(NUMBER).items}
        assert owed == {may.key: Decimal("88.44"), june.key: Decimal("88.44")}
        may_pdf, june_pdf = bills.invoice_pdf(may.key), bills.invoice_pdf(june.key)
        subjects = session.scalars(
            select(OutboxMessage.subject)
            .where(OutboxMessage.kind == "contract_invoice")
            .order_by(OutboxMessage.id)
        ).all()
    assert may_pdf is not None and june_pdf is not None
    may_text, june_text = _text(may_pdf), _text(june_pdf)
    assert "ФАКТУРА № 0000000001" in may_text and "Сума за плащане 88,44 €" in may_text
    # No postal address on file yet: the first site's (ЗДДС art. 114(1)(5) fallback)
    assert "Адрес: ул. Варненска 1, Варна" in may_text
    assert "бул. „Христо Ботев“ 3, 9000 Варна" in june_text
    assert subjects == [
        f"Фактура 0000000001 за 05.2026 (договор {NUMBER})",
        f"Фактура 0000000002 за 06.2026 (договор {NUMBER})",
    ]
