"""Every check of one interruption, and what a contract's interruptions give its customer.

The rules are the domain's (interruption_checks, interruption_remedies); this module
only picks which apply to an interruption and evaluates them "as of" a moment, so the
API, the pages and the compensation step read the same lines:

- planned (5.1, 3.2в): notice at least 1 working day before; at most 2 working days;
- unplanned (5.2, 3.2б): counts over 6 astronomical hours; notice within 1 working
  day; fixed within 5 working days (company's fault only);
- 5.3 customer caused: the company's rights (staff choose, nothing is automatic);
- 6.7 customer obstructed: the interruption counts for nothing.

Per contract: the free months earned (5.1, 5.2) and the customer's right to
terminate without penalty (7.5б) — shown, the customer chooses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.interruption_checks import (
    counts_as_unplanned,
    fix_deadline,
    planned_duration_check,
    planned_notice_check,
    unplanned_notice_check,
)
from portal_api.contracts.domain.interruption_remedies import (
    customer_fault_rights,
    free_months,
    subscription_years,
    termination_right,
)
from portal_api.contracts.domain.interruptions import (
    PLANNED_MAX_PER_YEAR,
    UNPLANNED_MAX_PER_YEAR,
    Interruption,
    as_decimal,
    astronomical_hours,
    touched_working_days,
    working_days_duration,
)
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "Measures",
    "Remedies",
    "checks_of",
    "frequency_line",
    "measures_of",
    "obstruction_line",
    "remedies_of",
]


@dataclass(frozen=True)
class Measures:
    """How long an interruption lasted (so far): hours, working days, days touched."""

    hours: Decimal
    working_days: Decimal
    touched_working_days: int
    lasting: bool


@dataclass(frozen=True)
class Remedies:
    """A contract's interruptions, summed up: 5.1 / 5.2 free months and the 7.5б right.

    ``free_months.value``: the domain's count of breaches as of now; ``granted``:
    what the contract already carries (the engine grants one per breach, once).
    """

    free_months: Decision[int]
    termination: Decision[bool]
    granted: int


def measures_of(item: Interruption, calendar: WorkingDays, now: dt.datetime) -> Measures:
    """The length of ``item`` up to its end, or up to ``now`` while it lasts."""
    end = item.end if item.end is not None else max(now, item.start)
    return Measures(
        hours=astronomical_hours(item.elapsed(end)),
        working_days=as_decimal(working_days_duration(item.start, end, calendar)),
        touched_working_days=touched_working_days(item.start, end, calendar),
        lasting=item.end is None,
    )


def obstruction_line(item: Interruption) -> Decision[bool]:
    """6.7 as a line of the explanation: the domain's remedies skip an obstructed
    interruption (free_months, termination_right); this says so to the reader."""
    if item.customer_obstructed:
        return Decision(
            value=True,
            clause="6.7",
            reason_bg="Потребителят не е осигурил достъп или съдействие за отстраняване на "
            "причината: дружеството не отговаря за продължителността и честотата на това "
            "прекъсване (не се брои за компенсация и за прекратяване).",
            reason_en="The customer withheld access or help to remove the cause: the company "
            "is not answerable for this interruption's duration and frequency (it counts "
            "neither for compensation nor for termination).",
            allowed=False,
        )
    return Decision(
        value=False,
        clause="6.7",
        reason_bg="Не е отбелязано възпрепятстване от потребителя.",
        reason_en="No obstruction by the customer is recorded.",
    )


def _counted(item: Interruption, as_of: dt.datetime) -> bool:
    """Counted in a year's limit as ``interruption_remedies.free_months`` counts: every
    planned one, an unplanned one over 6 hours by the company's fault; never one the
    customer obstructed (6.7)."""
    if item.customer_obstructed:
        return False
    if item.kind == "planned":
        return True
    return item.company_fault and bool(counts_as_unplanned(item, max(as_of, item.start)).value)


def frequency_line(
    item: Interruption,
    siblings: Sequence[Interruption],
    *,
    subscription_start: dt.date | None,
    term_months: int,
    now: dt.datetime,
) -> Decision[int] | None:
    """5.1 / 5.2: how many interruptions of ``item``'s kind its subscription year holds
    (at most 10 planned, 20 unplanned by the company's fault; the free month itself is
    ``free_months``'). None before the subscription started or after its term."""
    if subscription_start is None:
        return None
    years = subscription_years(subscription_start, term_months)
    day = local_date(item.start)
    # As free_months: the free days before the first fee month belong to the first year.
    found = next((y for y in years if y[0] <= day < y[1]), years[0] if day < years[0][0] else None)
    if found is None:
        return None
    lo, hi = found

    def in_year(other: Interruption) -> bool:
        other_day = local_date(other.start)
        return (lo <= other_day < hi) or (found == years[0] and other_day < lo)

    same = [
        i
        for i in siblings
        if i.kind == item.kind and i.start <= now and in_year(i) and _counted(i, now)
    ]
    limit = PLANNED_MAX_PER_YEAR if item.kind == "planned" else UNPLANNED_MAX_PER_YEAR
    last = hi - dt.timedelta(days=1)  # the year's last day (``hi`` is the next year's first)
    ok = len(same) <= limit
    kind_bg = "планирани" if item.kind == "planned" else "непланирани по вина на дружеството"
    kind_en = "planned" if item.kind == "planned" else "unplanned by the company's fault"
    return Decision(
        value=len(same),
        clause="5.1" if item.kind == "planned" else "5.2",
        reason_bg=f"Абонаментна година {lo.isoformat()} – {last.isoformat()}: {len(same)} "
        f"{kind_bg} прекъсвания (до {limit} допустими"
        + (")." if ok else "): право на един безплатен месец."),
        reason_en=f"Subscription year {lo.isoformat()} to {last.isoformat()}: {len(same)} "
        f"{kind_en} interruptions ({limit} allowed" + (")." if ok else "): one free month is due."),
        allowed=ok,
        numbers={"year_start": lo, "year_last_day": last, "count": len(same), "limit": limit},
    )


def checks_of(item: Interruption, calendar: WorkingDays, now: dt.datetime) -> list[Decision[Any]]:
    """The domain's checks that apply to ``item``, as of ``now`` while it lasts."""
    as_of = max(now, item.start)
    lines: list[Decision[Any]] = []
    if item.kind == "planned":
        lines.append(planned_notice_check(item, calendar))
        lines.append(planned_duration_check(item, calendar, as_of))
    else:
        lines.append(counts_as_unplanned(item, as_of))
        lines.append(unplanned_notice_check(item, calendar))
        lines.append(fix_deadline(item, calendar, as_of))
    lines.append(customer_fault_rights(item))
    lines.append(obstruction_line(item))
    return lines


def remedies_of(
    items: Sequence[Interruption],
    *,
    subscription_start: dt.date | None,
    term_months: int,
    granted: int,
    calendar: WorkingDays,
    now: dt.datetime,
) -> Remedies | None:
    """5.1 / 5.2 free months and the 7.5б right of a contract; None before its
    subscription started (2.3: there are no subscription years to count in yet)."""
    if subscription_start is None:
        return None
    # An interruption announced for later has not happened yet: it counts from its start.
    happened = [i for i in items if i.start <= now]
    return Remedies(
        free_months=free_months(happened, subscription_start, term_months, calendar, now),
        termination=termination_right(happened, calendar, now),
        granted=granted,
    )
