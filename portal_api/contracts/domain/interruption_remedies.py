"""What interruptions give each side (General Terms 5.1, 5.2, 5.3, 6.7, 7.5б).

- 5.1 / 5.2 compensation: one free month added to the subscription per breach:
  per interruption that is too long (5.1) or fixed too late (5.2), and per
  subscription year whose count exceeds the limit (10 planned, 20 unplanned by
  the company's fault; docs/contract-rules.md, "5.1").
- 5.1 / 5.2 / 7.5б: one interruption over 10 working days, or more than 5 of one
  kind in one calendar month, lets the customer terminate without penalty.
- 5.3 customer's fault: the company may refuse help, terminate (7.4) and
  dismantle; if it repairs, the customer pays 200 % of the damaged equipment's
  value plus all costs (8.1a, computed by ``penalties``).
- 6.7 the company is not answerable for duration and frequency when the customer
  withheld access or help to remove the cause (``customer_obstructed``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from portal_api.contracts.domain.dates import add_months, first_of_month, local_date
from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.interruption_checks import (
    counts_as_unplanned,
    fix_deadline,
    planned_duration_check,
)
from portal_api.contracts.domain.interruptions import (
    PLANNED_MAX_PER_YEAR,
    TERMINATION_MAX_PER_MONTH,
    TERMINATION_MAX_WORKING_DAYS,
    UNPLANNED_MAX_PER_YEAR,
    Interruption,
    Kind,
    as_decimal,
    working_days_duration,
)
from portal_api.contracts.domain.penalties import equipment_damage_penalty
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "compensated_term_end",
    "customer_fault_repair_charge",
    "customer_fault_rights",
    "free_months",
    "subscription_years",
    "termination_right",
]

_KIND_BG = {"planned": "планирано", "unplanned": "непланирано"}
_KIND_BG_PLURAL = {"planned": "планирани", "unplanned": "непланирани"}
_KIND_EN = {"planned": "planned", "unplanned": "unplanned"}


# ---------------------------------------------------------------- compensation


def subscription_years(
    subscription_start: dt.date, term_months: int
) -> list[tuple[dt.date, dt.date]]:
    """The subscription years [start, end) of a term (12 or 24 months, 2.2) from its first month.

    "Годишно" in 5.1 / 5.2 is read as per subscription year (docs/contract-rules.md).
    """
    if subscription_start.day != 1:
        raise RuleError("a subscription starts on the first day of a month (2.3)")
    if term_months <= 0:
        raise RuleError("the term is a positive number of months")
    years = []
    k = 0
    while k * 12 < term_months:
        lo = add_months(subscription_start, 12 * k)
        hi = add_months(subscription_start, min(12 * (k + 1), term_months))
        years.append((lo, hi))
        k += 1
    return years


def _year_of(item: Interruption, years: Sequence[tuple[dt.date, dt.date]]) -> int | None:
    day = local_date(item.start)
    if years and day < years[0][0]:
        return 0  # the free days before the first fee month belong to the first year
    for index, (lo, hi) in enumerate(years):
        if lo <= day < hi:
            return index
    return None


def _counted_unplanned(item: Interruption, as_of: dt.datetime | None) -> bool:
    return item.kind == "unplanned" and counts_as_unplanned(item, as_of).value


def free_months(
    interruptions: Iterable[Interruption],
    subscription_start: dt.date,
    term_months: int,
    calendar: WorkingDays,
    as_of: dt.datetime | None = None,
) -> Decision[int]:
    """5.1 / 5.2: free months added to the term, one per breach (docs/contract-rules.md "5.1").

    Breaches: each planned interruption longer than 2 working days; each
    subscription year with more than 10 planned interruptions; each unplanned
    fault in the company's scope fixed later than 5 working days; each
    subscription year with more than 20 unplanned interruptions by the company's
    fault. Interruptions the customer obstructed (6.7) and unplanned problems of
    6 hours or less do not count.
    """
    years = subscription_years(subscription_start, term_months)
    items = [i for i in interruptions if not i.customer_obstructed]
    too_long = [
        i
        for i in items
        if i.kind == "planned" and not planned_duration_check(i, calendar, as_of).value
    ]
    late_fix = [
        i
        for i in items
        if _counted_unplanned(i, as_of)
        and i.company_fault
        and not fix_deadline(i, calendar, as_of).allowed
    ]
    planned_per_year: Counter[int] = Counter()
    unplanned_per_year: Counter[int] = Counter()
    for i in items:
        year = _year_of(i, years)
        if year is None:
            continue
        if i.kind == "planned":
            planned_per_year[year] += 1
        elif _counted_unplanned(i, as_of) and i.company_fault:
            unplanned_per_year[year] += 1
    planned_years = sorted(y for y, n in planned_per_year.items() if n > PLANNED_MAX_PER_YEAR)
    unplanned_years = sorted(y for y, n in unplanned_per_year.items() if n > UNPLANNED_MAX_PER_YEAR)
    total = len(too_long) + len(late_fix) + len(planned_years) + len(unplanned_years)

    def label(year_indexes: list[int]) -> str:
        return ", ".join(
            f"{years[y][0].isoformat()}..{years[y][1].isoformat()}" for y in year_indexes
        )

    return Decision(
        value=total,
        clause="5.1, 5.2",
        reason_bg=(
            f"Безплатни месеци към срока на абонамента: {total} (планирани над 2 работни дни: "
            f"{len(too_long)}; години с над 10 планирани: {len(planned_years)}; неизправности, "
            f"отстранени след 5 работни дни: {len(late_fix)}; години с над 20 непланирани по "
            f"вина на дружеството: {len(unplanned_years)})."
        ),
        reason_en=(
            f"Free months added to the subscription: {total} (planned over 2 working days: "
            f"{len(too_long)}; years with over 10 planned: {len(planned_years)}; faults fixed "
            f"after 5 working days: {len(late_fix)}; years with over 20 unplanned by the "
            f"company's fault: {len(unplanned_years)})."
        ),
        allowed=total > 0,
        numbers={
            "planned_too_long": len(too_long),
            "planned_frequency_years": label(planned_years),
            "unplanned_fixed_late": len(late_fix),
            "unplanned_frequency_years": label(unplanned_years),
            "planned_limit_per_year": PLANNED_MAX_PER_YEAR,
            "unplanned_limit_per_year": UNPLANNED_MAX_PER_YEAR,
            "free_months": total,
        },
    )


def compensated_term_end(last_month: dt.date, months: int) -> Decision[dt.date]:
    """5.1 / 5.2: the subscription's last month moved on by the free months earned.

    ``last_month``: any day of the subscription's last month; ``value`` the first
    day of the new last month (the free months carry no fee).
    """
    if months < 0:
        raise RuleError("free months cannot be negative")
    first = first_of_month(last_month)
    new_last = add_months(first, months)
    return Decision(
        value=new_last,
        clause="5.1, 5.2",
        reason_bg=f"Срокът на абонамента се удължава с {months} безплатни месеца: последен "
        f"месец {new_last.strftime('%m.%Y')}.",
        reason_en=f"The subscription is extended by {months} free months: last month "
        f"{new_last.strftime('%m.%Y')}.",
        numbers={"old_last_month": first, "free_months": months, "new_last_month": new_last},
    )


# ---------------------------------------------------------------- termination (7.5б)


def _termination_counts(item: Interruption, as_of: dt.datetime | None) -> bool:
    if item.customer_obstructed or item.customer_caused:
        return False
    if item.kind == "planned":
        return True
    # 7.5б: the customer must have notified the company; a notice from the company
    # itself shows it knew (docs/contract-rules.md "7.5б").
    known = item.reported_by_customer_at is not None or item.notified_at is not None
    return known and _counted_unplanned(item, as_of)


def termination_right(
    interruptions: Iterable[Interruption],
    calendar: WorkingDays,
    as_of: dt.datetime | None = None,
) -> Decision[bool]:
    """5.1 / 5.2 / 7.5б: the customer may terminate without penalty after one interruption
    longer than 10 working days, or more than 5 of one kind (planned, unplanned)
    starting in one calendar month (Europe/Sofia)."""
    items = [i for i in interruptions if _termination_counts(i, as_of)]
    longest: tuple[Fraction, Interruption] | None = None
    for i in items:
        length = working_days_duration(i.start, i.until(as_of), calendar)
        if longest is None or length > longest[0]:
            longest = (length, i)
    months: Counter[tuple[Kind, int, int]] = Counter()
    for i in items:
        day = local_date(i.start)
        months[(i.kind, day.year, day.month)] += 1
    busy = sorted(k for k, n in months.items() if n > TERMINATION_MAX_PER_MONTH)
    too_long = longest is not None and longest[0] > TERMINATION_MAX_WORKING_DAYS
    numbers: dict[str, Number] = {
        "counted": len(items),
        "longest_working_days": as_decimal(longest[0]) if longest else None,
        "limit_working_days": TERMINATION_MAX_WORKING_DAYS,
        "limit_per_month": TERMINATION_MAX_PER_MONTH,
        "months_over_limit": ", ".join(f"{k} {y:04d}-{m:02d}" for k, y, m in busy),
    }
    if too_long and longest is not None:
        kind, days = longest[1].kind, as_decimal(longest[0])
        return Decision(
            value=True,
            clause="7.5b",
            reason_bg=f"{_KIND_BG[kind].capitalize()} прекъсване е продължило {days} работни "
            "дни (над 10): потребителят може да прекрати договора без неустойка.",
            reason_en=f"A {_KIND_EN[kind]} interruption lasted {days} working days "
            "(over 10): the customer may terminate without penalty.",
            numbers=numbers,
        )
    if busy:
        kind, year, month = busy[0]
        return Decision(
            value=True,
            clause="7.5b",
            reason_bg=f"През {month:02d}.{year} е имало {months[busy[0]]} {_KIND_BG_PLURAL[kind]} "
            "прекъсвания (над 5 в календарен месец): потребителят може да прекрати договора "
            "без неустойка.",
            reason_en=f"{months[busy[0]]} {_KIND_EN[kind]} interruptions in {year}-{month:02d} "
            "(over 5 in a calendar month): the customer may terminate without penalty.",
            numbers=numbers,
        )
    return Decision(
        value=False,
        clause="7.5b",
        reason_bg="Прекъсванията са в границите, които дават право на прекратяване "
        "(до 10 работни дни всяко и до 5 в календарен месец).",
        reason_en="The interruptions stay within the limits that give a right to terminate "
        "(10 working days each, 5 in a calendar month).",
        allowed=False,
        numbers=numbers,
    )


# ---------------------------------------------------------------- 5.3 customer's fault


def customer_fault_rights(item: Interruption) -> Decision[tuple[str, ...]]:
    """5.3: damage caused by the customer's side: the company may refuse help, terminate
    without penalty (7.4), dismantle and claim 8.1a. Staff choose; nothing is automatic."""
    if not item.customer_caused:
        return Decision(
            value=(),
            clause="5.3",
            reason_bg="Повредата не е причинена от потребителя: т. 5.3 не се прилага.",
            reason_en="The damage was not caused by the customer: 5.3 does not apply.",
            allowed=False,
        )
    rights = ("refuse_help", "terminate", "dismantle", "claim_8_1a")
    return Decision(
        value=rights,
        clause="5.3",
        reason_bg="Повреда по вина на потребителя: дружеството може да откаже съдействие, да "
        "прекрати договора без неустойка (т. 7.4), да демонтира оборудването и да иска "
        "неустойка по т. 8.1а.",
        reason_en="Damage caused by the customer: the company may refuse help, terminate "
        "without penalty (7.4), dismantle the equipment and claim the penalty of 8.1a.",
        numbers={"rights": ", ".join(rights)},
    )


def customer_fault_repair_charge(
    damaged_equipment_value: Decimal, costs: Decimal
) -> Decision[Decimal]:
    """5.3: the company repaired damage caused by the customer: 200 % of the damaged
    equipment's value plus all costs of the damage and its repair (same sum as 8.1a)."""
    penalty = equipment_damage_penalty(damaged_equipment_value, costs, ground="5.3")
    return replace(
        penalty,
        clause="5.3",
        reason_bg="Отстранена повреда по вина на потребителя: " + penalty.reason_bg,
        reason_en="Repaired damage caused by the customer: " + penalty.reason_en,
        numbers={**penalty.numbers, "penalty_clause": "8.1a"},
    )
