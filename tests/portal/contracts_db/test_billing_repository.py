"""Invoices, payments and interest on SQLite and PostgreSQL (4.3, 4.4, ЗЗД art. 76):
round trips, and the unique keys that keep a re-run of the daily job from charging twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import InvoiceState
from portal_api.contracts.db.models import InterestAccrualRow, InvoiceRow
from portal_api.contracts.db.records import ContractRecord, InvoiceRecord, PaymentRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.billing import AppliedPart, ContractTerms, Invoice, Ledger, Payment
from portal_api.contracts.domain.billing import invoice_schedule as schedule
from portal_api.contracts.domain.interest import RateTable
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts_db.samples import signed_contract

D = dt.date
NUMBER = "MYE-2026-0001"
RATES = RateTable(
    [
        (D(2026, 1, 1), Decimal("10.15")),
        (D(2026, 7, 1), Decimal("9.90")),
        (D(2027, 1, 1), Decimal("10.15")),
    ]
)
CALENDAR = WorkingDays()


def invoices() -> tuple[Invoice, ...]:
    """Credentials on 2026-10-26 (the day after the DST night): fees from November 2026.

    2027-01-10 is a Sunday: that fee is due on Monday the 11th (4.3).
    """
    terms = ContractTerms(
        contract_id=NUMBER,
        monthly_fee=Decimal("45.80"),
        period_months=12,
        credentials_given=D(2026, 10, 26),
    )
    return schedule(terms, D(2027, 1, 1), CALENDAR).value


@pytest.fixture
def contract(sessions: sessionmaker[Session], seeded: dict[str, int]) -> str:
    with sessions.begin() as session:
        ContractRepository(session).save_contract(
            ContractRecord(signed_contract(), seeded["customer"])
        )
    return NUMBER


def test_clause_4_3_invoices_round_trip_once_per_month(
    sessions: sessionmaker[Session], contract: str
) -> None:
    issued = invoices()
    assert [i.due for i in issued] == [D(2026, 11, 10), D(2026, 12, 10), D(2027, 1, 11)]
    with sessions.begin() as session:
        repo = BillingRepository(session)
        ids = [repo.add_invoice(invoice, D(2026, 10, 26)) for invoice in issued]
        assert None not in ids
        # the daily run again, for a past date: nothing new
        assert [repo.add_invoice(invoice, D(2026, 12, 1)) for invoice in issued] == [None] * 3
        repo.attach_pdf(issued[1].invoice_id, b"%PDF-1.7 \xd0\x94\x00")
        repo.set_invoice_state(issued[0].invoice_id, InvoiceState.PAID)
    with sessions() as session:
        repo = BillingRepository(session)
        assert repo.invoices(contract) == [
            InvoiceRecord(issued[0], D(2026, 10, 26), InvoiceState.PAID, ids[0]),
            InvoiceRecord(issued[1], D(2026, 10, 26), InvoiceState.ISSUED, ids[1]),
            InvoiceRecord(issued[2], D(2026, 10, 26), InvoiceState.ISSUED, ids[2]),
        ]
        assert repo.invoice_pdf(issued[1].invoice_id) == b"%PDF-1.7 \xd0\x94\x00"
        assert repo.invoice_pdf(issued[0].invoice_id) is None


def test_the_database_rejects_a_second_invoice_for_a_month_or_a_number(
    sessions: sessionmaker[Session], contract: str
) -> None:
    first = invoices()[0]
    with sessions.begin() as session:
        BillingRepository(session).add_invoice(first, D(2026, 10, 26))
    with sessions.begin() as session:
        row = session.query(InvoiceRow).one()
        values = {
            "contract_id": row.contract_id,
            "month": row.month,
            "amount": row.amount,
            "due_on": row.due_on,
            "issued_on": row.issued_on,
            "state": row.state,
        }
    for changed in ({"number": "OTHER-1"}, {"number": first.invoice_id, "month": D(2027, 5, 1)}):
        with sessions() as session, pytest.raises(IntegrityError):
            session.add(InvoiceRow(**{**values, **changed}))
            session.flush()
    # the repository skips the month, but a number reused elsewhere is a bug, not a re-run
    reused = Invoice(
        first.invoice_id, NUMBER, D(2027, 5, 1), first.amount, D(2027, 5, 10), D(2027, 5, 10)
    )
    with sessions() as session, pytest.raises(IntegrityError):
        BillingRepository(session).add_invoice(reused, D(2027, 5, 1))


def test_clause_4_4_accrual_is_idempotent_per_invoice_and_day(
    sessions: sessionmaker[Session], contract: str
) -> None:
    first = invoices()[0]
    with sessions.begin() as session:
        repo = BillingRepository(session)
        repo.add_invoice(first, D(2026, 10, 26))
        assert repo.add_accrual(first.invoice_id, D(2026, 12, 31), Decimal("0.65"))
        assert not repo.add_accrual(first.invoice_id, D(2026, 12, 31), Decimal("0.65"))
        invoice_id = session.query(InvoiceRow.id).scalar()
    with sessions() as session, pytest.raises(IntegrityError):
        session.add(
            InterestAccrualRow(
                invoice_id=invoice_id, through_date=D(2026, 12, 31), amount=Decimal("0.01")
            )
        )
        session.flush()
    with sessions() as session:
        assert BillingRepository(session).accruals(first.invoice_id) == [
            (D(2026, 12, 31), Decimal("0.65"))
        ]


def test_clause_4_4_ledger_rebuilt_from_the_database_equals_the_domains(
    sessions: sessionmaker[Session], contract: str
) -> None:
    """Interest across the half-year boundary 2026-12-31/2027-01-01, a payment naming
    the newest invoice (ЗЗД art. 76), the rest as credit: stored, reloaded, identical."""
    issued = invoices()
    ledger = Ledger()
    for invoice in issued:
        ledger = ledger.add_invoice(invoice).value
    with sessions.begin() as session:
        repo = BillingRepository(session)
        for invoice in issued:
            repo.add_invoice(invoice, D(2026, 10, 26))
        accrued = ledger.accrue(D(2027, 1, 15), RATES)
        assert repo.record_accrued(ledger, accrued) == 3
        assert repo.record_accrued(ledger, accrued) == 0  # a re-run
        payment = Payment("BANK-2027-0001", D(2027, 1, 15), Decimal("100.00"), issued[2].invoice_id)
        result = accrued.pay(payment).value
        assert repo.add_payment(contract, payment, result.applied) is not None
        assert repo.add_payment(contract, payment, result.applied) is None  # same statement again
    with sessions() as session:
        repo = BillingRepository(session)
        assert repo.ledger(contract) == result.ledger
        assert repo.payments(contract) == [
            PaymentRecord(contract, payment, result.applied, repo.payments(contract)[0].id)
        ]
    interest = {i.invoice_id: i.interest for i in accrued.items}
    # 45.80 EUR at 9.90 % from 11 Nov (51 d in 2026) and 10.15 % (15 d in 2027), actual/360
    assert interest[issued[0].invoice_id] == Decimal("0.84")
    # 100.00 = Jan (named): 0.05 + 45.80; then the oldest, Nov: 0.84 + 45.80; Dec: 0.46 + 7.05
    assert [(p.interest, p.principal) for p in result.applied] == [
        (Decimal("0.05"), Decimal("45.80")),
        (Decimal("0.84"), Decimal("45.80")),
        (Decimal("0.46"), Decimal("7.05")),
    ]
    assert result.ledger.credit == Decimal("0.00")


def test_allocations_cannot_exceed_the_payment(
    sessions: sessionmaker[Session], contract: str
) -> None:
    first = invoices()[0]
    with sessions() as session:
        repo = BillingRepository(session)
        repo.add_invoice(first, D(2026, 10, 26))
        too_much = AppliedPart(first.invoice_id, Decimal(0), Decimal(0), Decimal("45.80"))
        with pytest.raises(ValueError, match="allocated"):
            repo.add_payment(contract, Payment("P-1", D(2026, 11, 9), Decimal("45.79")), [too_much])


def test_money_is_whole_cents_and_never_a_float(
    sessions: sessionmaker[Session], contract: str
) -> None:
    first = invoices()[0]
    amounts: tuple[tuple[Any, str], ...] = (
        (Decimal("45.805"), "whole cents"),  # rounding is the domain's (cents, half-up)
        (45.80, "finite Decimal"),
    )
    for amount, error in amounts:
        odd = Invoice(first.invoice_id, NUMBER, first.month, amount, first.nominal_due, first.due)
        with sessions() as session, pytest.raises(StatementError, match=error):
            BillingRepository(session).add_invoice(odd, D(2026, 10, 26))
