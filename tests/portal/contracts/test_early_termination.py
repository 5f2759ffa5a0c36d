"""Early termination and its money: General Terms 7.2, 7.3, 7.4 with 8.1 and 8.2."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.contracts.domain.early_termination import (
    company_early_termination,
    company_termination_without_penalty,
    customer_early_termination,
)

D = dt.date
E = Decimal
FEE = E("29.99")
LAST = D(2027, 6, 30)  # a subscription running to the end of June 2027


# ---------------------------------------------------------------- 7.2


def test_clause_7_2_customer_notice_ends_on_a_holiday_and_pays_december() -> None:
    # notice received Mon 14 Dec 2026 -> ends Mon 28 Dec (a day off: a notice period is not moved)
    decision = customer_early_termination(D(2026, 12, 14), FEE, LAST)
    outcome = decision.value
    assert decision.clause == "7.2"
    assert outcome.ends_on == D(2026, 12, 28)
    assert outcome.charges == (("last_month_fee", E("29.99")), ("8.1b", E("59.98")))
    assert outcome.customer_owes == E("89.97")
    assert decision.numbers["last_month"] == D(2026, 12, 1)


def test_clause_7_2_month_end_and_leap_day_decide_the_last_month() -> None:
    assert customer_early_termination(D(2026, 1, 17), FEE, LAST).value.ends_on == D(2026, 1, 31)
    feb = customer_early_termination(D(2026, 1, 18), FEE, LAST)
    assert feb.value.ends_on == D(2026, 2, 1)
    assert feb.numbers["last_month"] == D(2026, 2, 1)
    leap = customer_early_termination(D(2028, 2, 15), FEE, D(2028, 12, 31))
    assert leap.value.ends_on == D(2028, 2, 29)
    # the fee of the last month already paid: only the penalty
    paid = customer_early_termination(D(2026, 1, 17), FEE, LAST, last_month_paid=True)
    assert paid.value.customer_owes == E("59.98")


def test_clause_7_2_end_in_the_free_first_month_owes_only_the_penalty() -> None:
    # credentials in March 2026, first fee April (2.3, 4.3); ends 19 March
    decision = customer_early_termination(D(2026, 3, 5), FEE, LAST, first_fee_month=D(2026, 4, 1))
    assert decision.value.charges == (("last_month_fee", E("0.00")), ("8.1b", E("59.98")))


def test_clause_7_2_notice_running_past_the_term_is_not_early() -> None:
    decision = customer_early_termination(D(2027, 6, 20), FEE, LAST)
    assert decision.allowed is False
    assert decision.value.customer_owes == E("0.00")
    later = customer_early_termination(D(2026, 5, 1), FEE, LAST, requested_end=D(2026, 6, 30))
    assert later.value.ends_on == D(2026, 6, 30)


# ---------------------------------------------------------------- 7.3 / 8.2


def test_clause_7_3_company_notice_owes_two_fees_and_charges_the_last_full_month() -> None:
    decision = company_early_termination(D(2026, 10, 17), FEE, LAST)
    outcome = decision.value
    assert decision.clause == "7.3"
    assert outcome.ends_on == D(2026, 10, 31)
    assert decision.numbers["last_full_month"] == D(2026, 10, 1)
    assert outcome.credits == (("8.2", E("59.98")),)
    assert outcome.customer_owes == E("29.99")
    # one day later the contract ends on 1 November: October is still the last full month
    nov = company_early_termination(D(2026, 10, 18), FEE, LAST)
    assert nov.numbers["last_full_month"] == D(2026, 10, 1)
    # access suspended since 15 September: the last full month with access is August
    cut = company_early_termination(D(2026, 10, 18), FEE, LAST, access_until=D(2026, 9, 14))
    assert cut.numbers["last_full_month"] == D(2026, 8, 1)
    paid = company_early_termination(D(2026, 10, 17), FEE, LAST, last_full_month_paid=True)
    assert paid.value.customer_owes == E("0.00")
    assert paid.value.company_owes == E("59.98")


# ---------------------------------------------------------------- 7.4


def test_clause_7_4_company_ends_without_penalty_only_in_1_4_2_4_4_5_3() -> None:
    late = company_termination_without_penalty("4.4", FEE)
    assert late.allowed is True
    assert late.value.charges == (("8.1b", E("59.98")),)
    assert late.value.company_owes == E("0.00")
    damage = company_termination_without_penalty(
        "5.3", FEE, damaged_equipment_value=E("150.50"), damage_costs=E("20.00")
    )
    assert damage.value.charges == (("8.1a", E("321.00")),)
    assert company_termination_without_penalty("1.4.2", FEE).value.customer_owes == E("0.00")
    assert company_termination_without_penalty("6.5", FEE).allowed is False


# ---------------------------------------------------------------- properties


fees = st.decimals(min_value=0, max_value=10_000, places=2)
days = st.dates(min_value=D(2026, 1, 1), max_value=D(2028, 12, 31))


@settings(max_examples=80, deadline=None)
@given(fee=fees, notice=days, paid=st.booleans())
def test_termination_amounts_are_never_negative_and_to_the_cent(
    fee: Decimal, notice: dt.date, paid: bool
) -> None:
    last = D(2029, 1, 31)
    customer = customer_early_termination(notice, fee, last, last_month_paid=paid).value
    company = company_early_termination(notice, fee, last, last_full_month_paid=paid).value
    for amount in (customer.customer_owes, company.customer_owes, company.company_owes):
        assert amount >= 0
        assert amount == amount.quantize(E("0.01"))
    assert customer.customer_owes >= 2 * fee
    assert company.company_owes == (2 * fee).quantize(E("0.01"))
