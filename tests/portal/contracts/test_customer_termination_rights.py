"""The customer's ways out without penalty: General Terms 7.5а, 7.5б, 7.5в."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal_api.contracts.domain.customer_termination_rights import (
    amended_terms_termination,
    off_premises_withdrawal,
)
from portal_api.contracts.domain.interruption_remedies import termination_right
from portal_api.contracts.domain.interruptions import Interruption
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import SOFIA

D = dt.date
E = Decimal
FEE = E("29.99")
LAST = D(2027, 6, 30)  # a subscription running to the end of June 2027


# ---------------------------------------------------------------- 7.5


def test_clause_7_5a_amended_terms_within_one_month(cal: WorkingDays) -> None:
    # in force 31 Jan 2026: the month ends 28 Feb, a Saturday -> Monday 2 March
    ok = amended_terms_termination(D(2026, 1, 31), D(2026, 3, 2), cal)
    assert ok.allowed is True
    assert ok.numbers["deadline"] == D(2026, 3, 2)
    assert amended_terms_termination(D(2026, 1, 31), D(2026, 3, 3), cal).allowed is False
    # leap year: 31 Jan 2028 -> 29 Feb 2028, a Tuesday
    assert amended_terms_termination(D(2028, 1, 31), D(2028, 2, 29), cal).allowed is True
    assert amended_terms_termination(D(2028, 1, 31), D(2028, 3, 1), cal).allowed is False
    statutory = amended_terms_termination(
        D(2026, 1, 31), D(2026, 2, 2), cal, statutory_or_authority=True
    )
    assert statutory.allowed is False


def test_clause_7_5b_interruptions_give_the_customer_a_way_out(cal: WorkingDays) -> None:
    sofia = SOFIA
    start = dt.datetime(2026, 12, 14, tzinfo=sofia)
    long = Interruption(
        kind="unplanned",
        start=start,
        end=dt.datetime(2026, 12, 31, 12, tzinfo=sofia),
        reported_by_customer_at=start,
    )
    assert termination_right([long], cal).value is True


def test_clause_7_5c_off_premises_withdrawal_over_christmas_and_easter(cal: WorkingDays) -> None:
    kw = {"natural_person": True, "off_premises": True, "service_started": False}
    # signed 14 Dec 2026: day 14 is Mon 28 Dec, a day off -> Tue 29 Dec
    ok = off_premises_withdrawal(D(2026, 12, 14), D(2026, 12, 29), cal, **kw)  # type: ignore[arg-type]
    assert ok.allowed is True
    assert ok.numbers["deadline"] == D(2026, 12, 29)
    assert ok.value.customer_owes == E("0.00")
    assert (
        off_premises_withdrawal(D(2026, 12, 14), D(2026, 12, 30), cal, **kw).allowed  # type: ignore[arg-type]
        is False
    )
    # signed 16 Apr 2027: day 14 is Good Friday 30 Apr; Easter and 1 May -> Wed 5 May
    easter = off_premises_withdrawal(D(2027, 4, 16), D(2027, 5, 5), cal, **kw)  # type: ignore[arg-type]
    assert easter.numbers["deadline"] == D(2027, 5, 5)
    assert easter.allowed is True
    started = off_premises_withdrawal(
        D(2026, 12, 14),
        D(2026, 12, 20),
        cal,
        natural_person=True,
        off_premises=True,
        service_started=True,
        costs_incurred=E("15.505"),
    )
    assert started.value.charges == (("costs_incurred", E("15.51")),)
    company = off_premises_withdrawal(
        D(2026, 12, 14),
        D(2026, 12, 20),
        cal,
        natural_person=False,
        off_premises=True,
        service_started=False,
    )
    assert company.allowed is False
