"""1.2: each reason to refuse a contract, all at once, with the 2-month window on its edges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.eligibility import (
    Applicant,
    Refusal,
    SupplyContract,
    check_eligibility,
    supply_window_end,
)

D = dt.date
INDEFINITE = SupplyContract(active=True)


def test_clause_1_2_clean_applicant_is_eligible() -> None:
    d = check_eligibility(Applicant(supply_contract=INDEFINITE), D(2026, 12, 24))
    assert d.allowed
    assert d.value == ()
    assert d.clause == "1.2"


def test_clause_1_2_all_reasons_at_once() -> None:
    applicant = Applicant(
        missing_documents=("пълномощно", "актуално състояние"),
        sites_without_operator_contract=("32Z1400000000002",),
        overdue_debt=Decimal("12.34"),
        equipment_misuse=True,
        supply_contract=SupplyContract(active=True, ends_on=D(2027, 2, 28)),
    )
    d = check_eligibility(applicant, D(2026, 12, 31))
    assert not d.allowed
    kinds = [r.value for r in d.value]
    assert kinds == [
        Refusal.MISSING_DATA,
        Refusal.NO_OPERATOR_CONTRACT,
        Refusal.OVERDUE_DEBTS,
        Refusal.EQUIPMENT_MISUSE,
        Refusal.SUPPLY_CONTRACT_EXPIRING,
    ]
    assert all(not r.allowed and r.clause == "1.2" for r in d.value)
    debt = d.value[2]
    assert debt.numbers["overdue_debt"] == Decimal("12.34")
    assert "12.34" in debt.reason_bg
    assert "пълномощно" in d.value[0].reason_bg
    assert d.numbers["refusals"] == (
        "missing_data,no_operator_contract,overdue_debts,equipment_misuse,supply_contract_expiring"
    )


@pytest.mark.parametrize(
    ("signing_on", "window_end"),
    [
        (D(2026, 12, 31), D(2027, 2, 28)),  # 31st -> 28th
        (D(2027, 12, 31), D(2028, 2, 29)),  # leap year
        (D(2027, 12, 29), D(2028, 2, 29)),
        (D(2026, 7, 31), D(2026, 9, 30)),  # 31st -> 30th
        (D(2026, 8, 31), D(2026, 10, 31)),
        (D(2026, 1, 3), D(2026, 3, 3)),  # Liberation Day: a holiday changes nothing here
        (D(2028, 2, 29), D(2028, 4, 29)),
    ],
)
def test_clause_1_2_two_calendar_month_window_edges(
    signing_on: dt.date, window_end: dt.date
) -> None:
    assert supply_window_end(signing_on) == window_end
    on_edge = SupplyContract(active=True, ends_on=window_end)
    d = check_eligibility(Applicant(supply_contract=on_edge), signing_on)
    assert [r.value for r in d.value] == [Refusal.SUPPLY_CONTRACT_EXPIRING]
    assert d.value[0].numbers["window_end"] == window_end
    after = SupplyContract(active=True, ends_on=window_end + dt.timedelta(days=1))
    assert check_eligibility(Applicant(supply_contract=after), signing_on).allowed


def test_clause_1_2_no_active_supply_contract() -> None:
    for supply in (None, SupplyContract(active=False), SupplyContract(True, D(2026, 10, 24))):
        d = check_eligibility(Applicant(supply_contract=supply), D(2026, 10, 25))
        assert [r.value for r in d.value] == [Refusal.NO_SUPPLY_CONTRACT]
    # ending on the signing day itself: still active that day, but expiring
    d = check_eligibility(
        Applicant(supply_contract=SupplyContract(True, D(2026, 10, 25))), D(2026, 10, 25)
    )
    assert [r.value for r in d.value] == [Refusal.SUPPLY_CONTRACT_EXPIRING]


def test_clause_1_2_zero_debt_is_no_reason_and_negative_debt_is_not_judged() -> None:
    zero = Applicant(overdue_debt=Decimal("0.00"), supply_contract=INDEFINITE)
    assert check_eligibility(zero, D(2026, 4, 10)).allowed
    one_cent = Applicant(overdue_debt=Decimal("0.01"), supply_contract=INDEFINITE)
    assert [r.value for r in check_eligibility(one_cent, D(2026, 4, 10)).value] == [
        Refusal.OVERDUE_DEBTS
    ]
    with pytest.raises(RuleError):
        check_eligibility(Applicant(overdue_debt=Decimal("-1")), D(2026, 4, 10))


@given(st.dates(D(2024, 1, 1), D(2032, 12, 31)), st.integers(0, 120))
def test_clause_1_2_window_is_monotonic(signing_on: dt.date, offset: int) -> None:
    ends_on = signing_on + dt.timedelta(days=offset)
    d = check_eligibility(Applicant(supply_contract=SupplyContract(True, ends_on)), signing_on)
    end = supply_window_end(signing_on)
    assert 59 <= (end - signing_on).days <= 62
    assert d.allowed == (ends_on > end)
