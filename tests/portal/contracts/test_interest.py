"""Late payment: statutory interest, suspension, restoration, termination (General Terms 4.4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.billing import ContractTerms, Ledger, invoice_schedule
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interest import (
    RateTable,
    late_interest,
    late_status,
    may_terminate,
    restoration_due,
    statutory_interest,
)
from portal_api.domain.workdays import WorkingDays

D = dt.date
FEE = Decimal("101.55")
# Illustrative rates in the shape of the real ones: BNB base rate + 10 pp until 2025,
# ECB main refinancing rate (2.15 %) + 8 pp from 2026-01-01.
RATES = RateTable(
    [
        (D(2025, 7, 1), Decimal("11.81")),
        (D(2026, 1, 1), Decimal("10.15")),
        (D(2026, 7, 1), Decimal("9.90")),
        (D(2027, 1, 1), Decimal("10.15")),
        (D(2027, 7, 1), Decimal("10.15")),
        (D(2028, 1, 1), Decimal("10.40")),
        (D(2028, 7, 1), Decimal("10.40")),
        (D(2029, 1, 1), Decimal("9.65")),
        (D(2029, 7, 1), Decimal("9.65")),
    ]
)


def test_clause_4_4_interest_across_half_years() -> None:
    # due 10 June 2026, paid 20 July: 11..30 June = 20 days at 10.15 %, 1..20 July = 20 at 9.90 %
    decision = late_interest(Decimal("1234.56"), D(2026, 6, 10), D(2026, 7, 20), RATES)
    assert decision.clause == "4.4"
    assert decision.value == Decimal("13.75")  # 1234.56 × (20×10.15 + 20×9.90) / 36000
    assert decision.numbers["days"] == 40
    assert "2026-07-01..2026-07-20: 20 d × 9.90%" in str(decision.numbers["segments"])


def test_clause_4_4_interest_across_the_change_from_bnb_to_ecb_reference() -> None:
    # 11..31 Dec 2025 (21 cal) at BNB + 10 = 11.81 %, 1..12 Jan 2026 (12 cal) at ECB + 8
    decision = late_interest(Decimal("500.00"), D(2025, 12, 10), D(2026, 1, 12), RATES)
    assert decision.value == Decimal("5.14")
    assert decision.numbers["days"] == 33


def test_clause_4_4_interest_counts_the_leap_day_and_the_payment_day() -> None:
    # due Thu 10 Feb 2028, paid 1 March: 11..29 February (19 cal) + 1 March = 20 days
    decision = late_interest(Decimal("800.00"), D(2028, 2, 10), D(2028, 3, 1), RATES)
    assert decision.numbers["days"] == 20
    assert decision.value == Decimal("4.62")


def test_clause_4_4_no_interest_when_paid_by_the_due_date() -> None:
    assert late_interest(FEE, D(2026, 4, 14), D(2026, 4, 14), RATES).value == 0
    one_day = late_interest(Decimal("36000.00"), D(2026, 4, 14), D(2026, 4, 15), RATES)
    assert (one_day.value, one_day.numbers["days"]) == (Decimal("10.15"), 1)


def test_clause_4_4_rate_table_is_checked() -> None:
    with pytest.raises(RuleError, match="1 January or 1 July"):
        RateTable([(D(2026, 3, 1), Decimal("10"))])
    with pytest.raises(RuleError, match="no statutory interest rate"):
        late_interest(FEE, D(2024, 12, 10), D(2025, 1, 5), RATES)
    with pytest.raises(RuleError):
        statutory_interest(Decimal("-1"), D(2026, 1, 1), D(2026, 1, 2), RATES)


class _Invoice:
    def __init__(self, invoice_id: str, due: dt.date) -> None:
        self.invoice_id = invoice_id
        self.due = due


APRIL = _Invoice("C-1-2026-04", D(2026, 4, 14))  # 10 April 2026 was Good Friday


@pytest.mark.parametrize(
    ("today", "late", "suspend", "terminate"),
    [
        (D(2026, 4, 14), 0, False, False),
        (D(2026, 4, 19), 5, False, False),
        (D(2026, 4, 20), 6, True, False),  # more than 5 calendar days
        (D(2026, 5, 29), 45, True, False),
        (D(2026, 5, 30), 46, True, True),  # more than 45 calendar days
    ],
)
def test_clause_4_4_suspension_after_more_than_5_days_termination_after_more_than_45(
    today: dt.date, late: int, suspend: bool, terminate: bool
) -> None:
    decision = late_status(APRIL, today)
    assert decision.clause == "4.4"
    assert decision.value.days_late == late
    assert decision.allowed is suspend
    assert decision.value.suspension_allowed is suspend
    assert decision.value.termination_allowed is terminate
    assert decision.value.suspension_from == D(2026, 4, 20)
    assert decision.value.termination_from == D(2026, 5, 30)


def test_clause_4_4_termination_for_late_payment_carries_penalty_8_1b() -> None:
    refused = may_terminate(APRIL, D(2026, 5, 29), FEE)
    assert (refused.allowed, refused.value) == (False, Decimal("0.00"))
    allowed = may_terminate(APRIL, D(2026, 5, 30), FEE)
    assert (allowed.allowed, allowed.value) == (True, Decimal("203.10"))
    assert allowed.numbers["penalty"] == Decimal("203.10")


@pytest.mark.parametrize(
    ("paid_on", "restore_by"),
    [
        (D(2026, 12, 23), D(2026, 12, 31)),  # 24-28 December off (26th moved to Monday 28th)
        (D(2027, 4, 29), D(2027, 5, 10)),  # Easter 30 Apr-3 May, 1 May moved to 4th, 6 May
        (D(2026, 2, 27), D(2026, 3, 5)),  # 3 March, Liberation Day
        (D(2026, 10, 24), D(2026, 10, 28)),  # paid on a Saturday before the DST night
    ],
)
def test_clause_4_4_access_restored_within_3_working_days_of_payment(
    cal: WorkingDays, paid_on: dt.date, restore_by: dt.date
) -> None:
    decision = restoration_due(paid_on, cal)
    assert (decision.value, decision.clause) == (restore_by, "4.4")


def test_clause_4_4_fees_stay_due_while_suspended(cal: WorkingDays) -> None:
    terms = ContractTerms("C-1", FEE, 12, credentials_given=D(2026, 3, 29))
    april, may = invoice_schedule(terms, D(2026, 5, 31), cal).value
    # April unpaid: suspension may start on 20 April; May is invoiced all the same
    assert late_status(april, D(2026, 4, 20)).allowed
    assert (may.amount, may.due) == (FEE, D(2026, 5, 11))  # 10 May 2026 is a Sunday
    assert late_status(may, D(2026, 5, 17)).value.days_late == 6
    ledger = Ledger().add_invoice(april).value.add_invoice(may).value
    owed = ledger.accrue(D(2026, 5, 17), RATES)
    assert sum(i.principal for i in owed.items) == Decimal("203.10")
    # April: 15 Apr .. 17 May = 33 days; May: 12 .. 17 May = 6 cal, at 10.15 %
    assert [i.interest for i in owed.items] == [Decimal("0.94"), Decimal("0.17")]


@given(
    amount=st.decimals(min_value="0.01", max_value="100000", places=2),
    due_offset=st.integers(min_value=0, max_value=700),
    late=st.integers(min_value=0, max_value=400),
    more=st.integers(min_value=0, max_value=400),
)
def test_clause_4_4_interest_never_decreases_with_more_days_late(
    amount: Decimal, due_offset: int, late: int, more: int
) -> None:
    due = D(2025, 7, 1) + dt.timedelta(days=due_offset)
    fewer = late_interest(amount, due, due + dt.timedelta(days=late), RATES).value
    longer = late_interest(amount, due, due + dt.timedelta(days=late + more), RATES).value
    assert 0 <= fewer <= longer
