"""What interruptions give: General Terms 5.1, 5.2 free months, 5.3, 6.7, 7.5б."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal_api.contracts.domain.interruption_remedies import (
    compensated_term_end,
    customer_fault_repair_charge,
    customer_fault_rights,
    free_months,
    subscription_years,
    termination_right,
)
from portal_api.contracts.domain.interruptions import (
    Interruption,
)
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import at, planned, unplanned

D = dt.date


# ---------------------------------------------------------------- compensation


def test_clause_5_1_compensation_one_free_month_per_breach(cal: WorkingDays) -> None:
    # 11 one-hour planned interruptions in the first subscription year -> frequency breach (1)
    items = [planned(at(2026, m, 5, 9), at(2026, m, 5, 10)) for m in range(1, 12)]
    # and one of 2.5 working days -> duration breach (1)
    items.append(planned(at(2026, 3, 9), at(2026, 3, 11, 12)))
    decision = free_months(items, D(2026, 1, 1), 12, cal)
    assert decision.value == 2
    assert decision.numbers["planned_too_long"] == 1
    assert decision.numbers["planned_frequency_years"] == "2026-01-01..2027-01-01"
    # 10 a year is within the limit
    assert free_months(items[:9], D(2026, 1, 1), 12, cal).value == 0
    # the free months move the subscription's last month on
    assert compensated_term_end(D(2026, 12, 31), 2).value == D(2027, 2, 1)


def test_clause_5_2_compensation_frequency_by_company_fault_and_late_fixes(
    cal: WorkingDays,
) -> None:
    days = [D(2026, 1, 1) + dt.timedelta(days=9 * k) for k in range(21)]
    faults = [unplanned(at(d.year, d.month, d.day, 1), at(d.year, d.month, d.day, 8)) for d in days]
    assert free_months(faults, D(2026, 1, 1), 12, cal).value == 1  # 21 > 20 in the year
    # one of them was the mobile network's (6.6ж): 20 by the company's fault -> within
    third_party = [
        *faults[:20],
        unplanned(faults[20].start, faults[20].end, company_fault=False),
    ]
    assert free_months(third_party, D(2026, 1, 1), 12, cal).value == 0
    # 6 hours or less do not count at all
    short = [unplanned(i.start, i.start + dt.timedelta(hours=6)) for i in faults]
    assert free_months(short, D(2026, 1, 1), 12, cal).value == 0
    # a fix after 5 working days: one more month per fault
    slow = unplanned(at(2026, 12, 23, 10), at(2027, 1, 6, 9))
    assert free_months([slow], D(2026, 1, 1), 24, cal).value == 1
    # the second subscription year of a 24-month term counts on its own
    assert subscription_years(D(2026, 2, 1), 24) == [
        (D(2026, 2, 1), D(2027, 2, 1)),
        (D(2027, 2, 1), D(2028, 2, 1)),
    ]


def test_clause_6_7_obstructed_interruptions_give_nothing(cal: WorkingDays) -> None:
    slow = unplanned(at(2026, 12, 23, 10), at(2027, 1, 6, 9), customer_obstructed=True)
    assert free_months([slow], D(2026, 1, 1), 24, cal).value == 0
    long = planned(
        at(2026, 3, 9), at(2026, 3, 30), customer_obstructed=True, notified_at=at(2026, 3, 1)
    )
    assert termination_right([long], cal).value is False


# ---------------------------------------------------------------- 7.5б thresholds


def test_clause_5_2_termination_after_more_than_10_working_days_over_christmas(
    cal: WorkingDays,
) -> None:
    # Mon 14 Dec 2026 .. Thu 31 Dec 00:00: 14-18, 21-23, 29, 30 Dec = exactly 10 -> not over
    exactly = unplanned(
        at(2026, 12, 14), at(2026, 12, 31), reported_by_customer_at=at(2026, 12, 14, 9)
    )
    assert termination_right([exactly], cal).value is False
    longer = unplanned(
        at(2026, 12, 14), at(2026, 12, 31, 12), reported_by_customer_at=at(2026, 12, 14, 9)
    )
    decision = termination_right([longer], cal)
    assert decision.value is True
    assert decision.clause == "7.5b"
    assert decision.numbers["longest_working_days"] == Decimal("10.5000")
    # 7.5б: nobody notified the fault -> no right
    silent = unplanned(at(2026, 12, 14), at(2026, 12, 31, 12))
    assert termination_right([silent], cal).value is False


def test_clause_5_2_termination_more_than_5_in_a_calendar_month_leap_february(
    cal: WorkingDays,
) -> None:
    def fault(start: dt.datetime) -> Interruption:
        return unplanned(
            start, start + dt.timedelta(hours=7), notified_at=start + dt.timedelta(hours=8)
        )

    feb = [fault(at(2028, 2, d, 8)) for d in (1, 8, 15, 22, 29)]
    # 00:30 on 1 March in Sofia is still 29 February in UTC: it counts in March
    march = fault(at(2028, 3, 1, 0, 30))
    assert termination_right([*feb, march], cal).value is False
    sixth = fault(at(2028, 2, 29, 20))
    decision = termination_right([*feb, sixth], cal)
    assert decision.value is True
    assert decision.numbers["months_over_limit"] == "unplanned 2028-02"
    # planned and unplanned are counted apart
    mixed = [*feb, planned(at(2028, 2, 3, 1), at(2028, 2, 3, 2))]
    assert termination_right(mixed, cal).value is False


def test_clause_5_1_termination_more_than_5_planned_in_a_month(cal: WorkingDays) -> None:
    items = [planned(at(2026, 4, d, 1), at(2026, 4, d, 2)) for d in (1, 2, 6, 7, 8, 9)]
    assert termination_right(items, cal).value is True
    assert termination_right(items[:5], cal).value is False


# ---------------------------------------------------------------- 5.3


def test_clause_5_3_customer_fault_repair_costs_200_percent() -> None:
    damage = unplanned(
        at(2026, 5, 4, 8), at(2026, 5, 6, 8), company_fault=False, customer_caused=True
    )
    rights = customer_fault_rights(damage)
    assert rights.clause == "5.3"
    assert "terminate" in rights.value and "refuse_help" in rights.value
    charge = customer_fault_repair_charge(Decimal("123.45"), Decimal("10.01"))
    assert charge.value == Decimal("256.91")
    assert charge.clause == "5.3"
    assert charge.numbers["penalty_clause"] == "8.1a"
    assert customer_fault_rights(unplanned(at(2026, 5, 4), None)).allowed is False
