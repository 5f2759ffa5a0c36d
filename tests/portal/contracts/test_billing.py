"""Invoices, due dates, the first month and payments (General Terms 2.3, 3.1a, 4.3; ЗЗД art. 76)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.billing import (
    ContractTerms,
    Invoice,
    Ledger,
    Payment,
    due_date,
    invoice_schedule,
)
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interest import RateTable
from portal_api.contracts.domain.term import renewal_start, subscription_start
from portal_api.domain.workdays import WorkingDays

D = dt.date
FEE = Decimal("101.55")
RATES = RateTable([(D(2026, 1, 1), Decimal("10.15")), (D(2026, 7, 1), Decimal("9.90"))])


def first_contract(credentials: dt.date, months: int = 12, free: int = 0) -> ContractTerms:
    return ContractTerms("C-1", FEE, months, credentials_given=credentials, free_months=free)


def test_clause_2_3a_4_3_first_month_free_credentials_on_dst_day(cal: WorkingDays) -> None:
    # credentials on 2026-03-29 (the 23-hour DST day): the rest of March is free
    start = subscription_start(D(2026, 3, 29))
    assert (start.value, start.clause) == (D(2026, 4, 1), "2.3a")
    invoices = invoice_schedule(first_contract(D(2026, 3, 29)), D(2026, 4, 30), cal).value
    assert len(invoices) == 1
    april = invoices[0]
    assert (april.invoice_id, april.month, april.amount) == ("C-1-2026-04", D(2026, 4, 1), FEE)
    # 10 April 2026 is Good Friday, then Saturday, Easter Sunday, Easter Monday
    assert (april.nominal_due, april.due) == (D(2026, 4, 10), D(2026, 4, 14))


@pytest.mark.parametrize(
    ("credentials", "start"),
    [
        (D(2026, 3, 31), D(2026, 4, 1)),  # the last day of a month
        (D(2026, 4, 1), D(2026, 5, 1)),  # the first day: the whole month is free
        (D(2026, 12, 28), D(2027, 1, 1)),  # a holiday, across the year
        (D(2028, 2, 29), D(2028, 3, 1)),  # leap day
    ],
)
def test_clause_4_3_first_fee_is_for_the_month_after_the_credentials(
    credentials: dt.date, start: dt.date, cal: WorkingDays
) -> None:
    assert subscription_start(credentials).value == start
    assert invoice_schedule(first_contract(credentials), start, cal).value[0].month == start


def test_clause_2_3b_renewal_starts_the_month_after_the_previous_contract(
    cal: WorkingDays,
) -> None:
    terms = ContractTerms("C-2", FEE, 24, previous_contract_end=D(2026, 12, 31))
    decision = renewal_start(D(2026, 12, 31), D(2026, 12, 28))
    assert (decision.value, decision.clause) == (D(2027, 1, 1), "2.3b")
    first = invoice_schedule(terms, D(2027, 1, 1), cal).value[0]
    assert first.due == D(2027, 1, 11)  # 10 January 2027 is a Sunday


@pytest.mark.parametrize(
    ("month", "due"),
    [
        (D(2026, 1, 1), D(2026, 1, 12)),  # Saturday
        (D(2026, 4, 1), D(2026, 4, 14)),  # Orthodox Easter, Friday to Monday
        (D(2026, 5, 1), D(2026, 5, 11)),  # Sunday
        (D(2026, 10, 1), D(2026, 10, 12)),  # Saturday
        (D(2026, 12, 1), D(2026, 12, 10)),  # a Thursday: not moved
        (D(2028, 6, 1), D(2028, 6, 12)),  # Saturday
    ],
)
def test_clause_3_1a_4_3_due_by_the_10th_or_the_next_working_day(
    cal: WorkingDays, month: dt.date, due: dt.date
) -> None:
    decision = due_date(month, cal)
    assert decision.value == due
    assert decision.clause == "4.3"
    assert decision.numbers["moved"] is (due.day != 10)


def test_clause_4_3_one_invoice_per_month_of_the_term_free_months_not_invoiced(
    cal: WorkingDays,
) -> None:
    terms = first_contract(D(2028, 1, 15), months=12, free=1)
    decision = invoice_schedule(terms, D(2030, 1, 1), cal)
    invoices = decision.value
    assert [i.month for i in invoices][:2] == [D(2028, 2, 1), D(2028, 3, 1)]
    assert len(invoices) == 12
    assert invoices[-1].month == D(2029, 1, 1)
    assert invoices[0].due == D(2028, 2, 10)  # a Thursday in the leap February
    assert decision.numbers["end"] == D(2029, 2, 28)  # one free month after the 12 paid
    assert decision.numbers["total"] == Decimal("1218.60")
    # only the months begun by `until` are invoiced
    assert len(invoice_schedule(terms, D(2028, 3, 31), cal).value) == 2


def test_clause_2_3_start_needs_exactly_one_event() -> None:
    with pytest.raises(RuleError):
        ContractTerms("C", FEE, 12)
    with pytest.raises(RuleError):
        ContractTerms("C", FEE, 12, D(2026, 1, 5), D(2025, 12, 31))


def _invoice(month: dt.date, due: dt.date, amount: Decimal = FEE) -> Invoice:
    return Invoice(f"C-1-{month:%Y-%m}", "C-1", month, amount, month.replace(day=10), due)


JAN = _invoice(D(2026, 1, 1), D(2026, 1, 12))
FEB = _invoice(D(2026, 2, 1), D(2026, 2, 10))


def _ledger(*invoices: Invoice) -> Ledger:
    ledger = Ledger()
    for invoice in invoices:
        ledger = ledger.add_invoice(invoice).value
    return ledger


def test_clause_4_3_payment_goes_to_oldest_first_interest_before_principal() -> None:
    # ЗЗД art. 76: oldest invoice first; within it interest, then the fee
    paid = _ledger(JAN, FEB).pay(Payment("P1", D(2026, 3, 2), Decimal("150.00")), RATES)
    result = paid.value
    jan, feb = result.applied
    # January: 13 Jan .. 2 Mar = 49 days × 10.15 % / 360 on 101.55 = 1.40
    assert (jan.invoice_id, jan.interest, jan.principal) == ("C-1-2026-01", Decimal("1.40"), FEE)
    # February: 11 Feb .. 2 Mar = 20 days: 0.57, then 46.48 of the fee
    assert (feb.interest, feb.principal) == (Decimal("0.57"), Decimal("46.48"))
    assert result.settled == ("C-1-2026-01",)
    (left,) = result.ledger.items
    assert (left.invoice_id, left.principal) == ("C-1-2026-02", Decimal("55.07"))
    assert left.interest == 0
    assert result.ledger.credit == 0
    assert paid.numbers["to_interest"] == Decimal("1.97")


def test_clause_4_3_named_invoice_is_paid_first_then_interest_resumes_on_the_rest() -> None:
    ledger = _ledger(JAN, FEB)
    result = ledger.pay(Payment("P1", D(2026, 2, 10), FEE, invoice_id="C-1-2026-02"), RATES).value
    # February is paid on its due date: no interest, fully settled; January keeps its interest
    assert result.settled == ("C-1-2026-02",)
    (jan,) = result.ledger.items
    assert jan.principal == FEE
    assert jan.interest_to == D(2026, 2, 10)
    assert jan.interest > 0


def test_clause_4_3_overpayment_is_credit_that_settles_the_next_invoice() -> None:
    ledger = _ledger(JAN)
    result = ledger.pay(Payment("P1", D(2026, 1, 9), Decimal("250.00"))).value
    assert result.credit_added == Decimal("148.45")
    after_feb = result.ledger.add_invoice(FEB).value
    assert after_feb.items == ()
    assert after_feb.credit == Decimal("46.90")
    after_mar = after_feb.add_invoice(_invoice(D(2026, 3, 1), D(2026, 3, 10))).value
    (mar,) = after_mar.items
    assert (mar.principal, after_mar.credit) == (Decimal("54.65"), Decimal("0.00"))


def test_clause_4_3_payment_must_be_positive() -> None:
    with pytest.raises(RuleError):
        Ledger().pay(Payment("P", D(2026, 1, 1), Decimal("0")))


@given(
    amount=st.decimals(min_value="0.01", max_value="1000", places=2),
    day=st.integers(min_value=0, max_value=200),
)
def test_clause_4_3_allocation_loses_no_cent(amount: Decimal, day: int) -> None:
    ledger = _ledger(JAN, FEB).accrue(D(2026, 1, 1), RATES)
    paid_on = D(2026, 1, 1) + dt.timedelta(days=day)
    before = ledger.accrue(paid_on, RATES)
    result = ledger.pay(Payment("P", paid_on, amount), RATES).value
    applied = sum((p.costs + p.interest + p.principal for p in result.applied), Decimal(0))
    assert applied + result.credit_added == amount
    owed_before = sum((i.balance for i in before.items), Decimal(0))
    owed_after = sum((i.balance for i in result.ledger.items), Decimal(0))
    assert owed_before - owed_after == applied
