"""Late payment: statutory interest, suspension, restoration, termination (General Terms 4.4).

4.4: on late payment the company *may* charge interest for delay at the
statutory rate (законна лихва, ЗЗД art. 86) on the amounts due, for the period
of delay until full payment. The rate is set per half-year by Decree 426/2014 of
the Council of Ministers: from 2026-01-01 the ECB main refinancing rate in force
on 1 January / 1 July plus 8 percentage points (before: the BNB base rate plus
10 pp). The rates are data (:class:`RateTable`), supplied by the caller.

Computation (docs/contract-rules.md, "4.4"): simple interest, day count
actual/360, each day at the rate of its half-year, summed exactly and rounded
to the cent once per computation. Days of delay: from the day after the due
date to the day of payment inclusive (ЗЗД art. 72(1): the first day is not
counted; the debtor is in delay from the day after the last day of the term).

More than 5 calendar days late: the company *may* suspend the service until
the overdue fee is paid (from day 6; a proposal staff confirm). Once paid,
access is restored within 3 working days. Fees stay due while suspended. Not
paid more than 45 calendar days after the due date: the company *may*
terminate, dismantle and claim the penalty of 8.1b (two monthly fees).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.money import ZERO, cents
from portal_api.contracts.domain.penalties import termination_penalty
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "SUSPEND_AFTER_DAYS",
    "TERMINATE_AFTER_DAYS",
    "LateStatus",
    "Overdue",
    "RateTable",
    "days_late",
    "late_interest",
    "late_status",
    "may_terminate",
    "restoration_due",
    "statutory_interest",
]

SUSPEND_AFTER_DAYS = 5  # "с повече от 5 календарни дни"
TERMINATE_AFTER_DAYS = 45  # "повече от 45 календарни дни след изтичане на срока"
RESTORE_WITHIN_WORKING_DAYS = 3
DAY_COUNT = 360  # actual/360
_ONE_DAY = dt.timedelta(days=1)


def _half_year_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 1 if day.month <= 6 else 7, 1)


def _next_half_year(start: dt.date) -> dt.date:
    return dt.date(start.year, 7, 1) if start.month == 1 else dt.date(start.year + 1, 1, 1)


@dataclass(frozen=True)
class RateTable:
    """Annual statutory interest rates in percent, per half-year.

    ``rates`` holds ``(half_year_start, annual_rate_percent)``: the start is a
    1 January or a 1 July; ``Decimal("10.15")`` means 10.15 % a year.
    """

    rates: tuple[tuple[dt.date, Decimal], ...]

    def __init__(self, rates: Iterable[tuple[dt.date, Decimal]]) -> None:
        ordered = tuple(sorted(rates))
        seen: set[dt.date] = set()
        for start, rate in ordered:
            if start != _half_year_start(start):
                raise RuleError(f"a half-year starts on 1 January or 1 July, not {start}")
            if start in seen:
                raise RuleError(f"two rates for the half-year of {start}")
            seen.add(start)
            if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
                raise RuleError(f"the rate of {start} is a non-negative Decimal, got {rate!r}")
        object.__setattr__(self, "rates", ordered)

    def rate_on(self, day: dt.date) -> Decimal:
        """The annual rate (percent) of the half-year ``day`` falls in."""
        start = _half_year_start(day)
        for when, rate in self.rates:
            if when == start:
                return rate
        raise RuleError(f"no statutory interest rate for the half-year of {start}")


def statutory_interest(
    amount: Decimal, first_day: dt.date, last_day: dt.date, table: RateTable
) -> Decision[Decimal]:
    """Interest on ``amount`` for every day of ``[first_day, last_day]`` (both counted).

    Each day earns ``amount × rate / 100 / 360`` at the rate of its half-year;
    the exact sum is rounded half-up to the cent once.
    """
    if amount < 0:
        raise RuleError(f"interest on a negative amount ({amount})")
    if last_day < first_day:
        return _interest_decision(amount, first_day, last_day, days=0, interest=ZERO, segments=[])
    total = Decimal(0)
    days = 0
    segments: list[str] = []
    start = first_day
    while start <= last_day:
        end = min(last_day, _next_half_year(_half_year_start(start)) - _ONE_DAY)
        n = (end - start).days + 1
        rate = table.rate_on(start)
        total += amount * rate * n / (100 * DAY_COUNT)
        days += n
        segments.append(f"{start.isoformat()}..{end.isoformat()}: {n} d × {rate}%")
        start = end + _ONE_DAY
    return _interest_decision(
        amount, first_day, last_day, days=days, interest=cents(total), segments=segments
    )


def _interest_decision(
    amount: Decimal,
    first_day: dt.date,
    last_day: dt.date,
    *,
    days: int,
    interest: Decimal,
    segments: list[str],
) -> Decision[Decimal]:
    return Decision(
        value=interest,
        clause="4.4",
        reason_bg=(
            f"Законна лихва за забава върху {amount} EUR за {days} дни "
            f"(проста лихва, година от 360 дни, всеки ден по лихвата за полугодието му): "
            f"{interest} EUR."
        ),
        reason_en=(
            f"Statutory interest for delay on {amount} EUR for {days} day(s) "
            f"(simple, actual/360, each day at its half-year's rate): {interest} EUR."
        ),
        numbers={
            "amount": amount,
            "first_day": first_day,
            "last_day": last_day,
            "days": days,
            "segments": "; ".join(segments),
            "interest": interest,
        },
    )


def days_late(due: dt.date, on: dt.date) -> int:
    """Calendar days of delay on ``on`` for a payment due by ``due`` (0 if not late)."""
    return max(0, (on - due).days)


def late_interest(
    amount: Decimal, due: dt.date, paid_on: dt.date, table: RateTable
) -> Decision[Decimal]:
    """4.4: interest on an amount due by ``due`` and paid (or still open) on ``paid_on``.

    The delay runs from the day after ``due`` to ``paid_on`` inclusive.
    """
    return statutory_interest(amount, due + _ONE_DAY, paid_on, table)


class Overdue(Protocol):
    """What the late-payment rules need of an invoice."""

    @property
    def invoice_id(self) -> str: ...

    @property
    def due(self) -> dt.date: ...


@dataclass(frozen=True)
class LateStatus:
    """Where an unpaid invoice stands under 4.4 on a given day."""

    invoice_id: str
    due: dt.date
    days_late: int
    suspension_allowed: bool
    termination_allowed: bool
    suspension_from: dt.date  # first day the company may suspend (day 6 of delay)
    termination_from: dt.date  # first day the company may terminate (day 46 of delay)


def late_status(invoice: Overdue, today: dt.date) -> Decision[LateStatus]:
    """4.4 for an invoice still unpaid on ``today``.

    ``allowed`` is the company's right to suspend the service (more than 5
    calendar days late, i.e. from day 6): a proposal that staff confirm, never
    an automatic act. The fee stays due while the service is suspended.
    """
    late = days_late(invoice.due, today)
    status = LateStatus(
        invoice_id=invoice.invoice_id,
        due=invoice.due,
        days_late=late,
        suspension_allowed=late > SUSPEND_AFTER_DAYS,
        termination_allowed=late > TERMINATE_AFTER_DAYS,
        suspension_from=invoice.due + dt.timedelta(days=SUSPEND_AFTER_DAYS + 1),
        termination_from=invoice.due + dt.timedelta(days=TERMINATE_AFTER_DAYS + 1),
    )
    if status.termination_allowed:
        bg = (
            f"Фактура {invoice.invoice_id} е просрочена с {late} календарни дни (над 45): "
            "дружеството може да спре услугата и да прекрати договора с неустойка по т. 8.1б."
        )
        en = (
            f"Invoice {invoice.invoice_id} is {late} calendar days late (more than 45): the "
            "company may suspend the service and terminate with the penalty of 8.1b."
        )
    elif status.suspension_allowed:
        bg = (
            f"Фактура {invoice.invoice_id} е просрочена с {late} календарни дни (над 5): "
            "дружеството може да спре услугата до плащане; таксите остават дължими."
        )
        en = (
            f"Invoice {invoice.invoice_id} is {late} calendar days late (more than 5): the "
            "company may suspend the service until paid; fees stay due meanwhile."
        )
    else:
        bg = (
            f"Фактура {invoice.invoice_id}: {late} дни забава, не повече от 5; "
            "спиране на услугата не е допустимо."
        )
        en = (
            f"Invoice {invoice.invoice_id}: {late} day(s) late, not more than 5; "
            "the service may not be suspended."
        )
    return Decision(
        value=status,
        clause="4.4",
        reason_bg=bg,
        reason_en=en,
        allowed=status.suspension_allowed,
        numbers={
            "due": invoice.due,
            "today": today,
            "days_late": late,
            "suspend_after_days": SUSPEND_AFTER_DAYS,
            "terminate_after_days": TERMINATE_AFTER_DAYS,
            "suspension_from": status.suspension_from,
            "termination_from": status.termination_from,
        },
    )


def may_terminate(invoice: Overdue, today: dt.date, monthly_fee: Decimal) -> Decision[Decimal]:
    """4.4 with 8.1b: may the company terminate for this unpaid invoice, and for what penalty.

    ``allowed`` from day 46 of delay; ``value`` is the penalty of 8.1b (two
    monthly fees) the company may then claim, zero while not allowed.
    """
    late = days_late(invoice.due, today)
    penalty = termination_penalty(monthly_fee, "4.4").value
    allowed = late > TERMINATE_AFTER_DAYS
    numbers: dict[str, Decimal | int | dt.date | str | bool | None] = {
        "due": invoice.due,
        "today": today,
        "days_late": late,
        "terminate_after_days": TERMINATE_AFTER_DAYS,
        "monthly_fee": monthly_fee,
        "penalty": penalty if allowed else ZERO,
    }
    if allowed:
        return Decision(
            value=penalty,
            clause="4.4",
            reason_bg=(
                f"Месечната такса по фактура {invoice.invoice_id} не е платена {late} дни след "
                f"срока (над 45): дружеството може да прекрати договора, да демонтира "
                f"оборудването и да търси неустойка по т. 8.1б: {penalty} EUR."
            ),
            reason_en=(
                f"The fee of invoice {invoice.invoice_id} is unpaid {late} days after its due "
                f"date (more than 45): the company may terminate, dismantle the equipment and "
                f"claim the penalty of 8.1b: {penalty} EUR."
            ),
            numbers=numbers,
        )
    return Decision(
        value=ZERO,
        clause="4.4",
        reason_bg=(
            f"Фактура {invoice.invoice_id}: {late} дни забава, не повече от 45; "
            "прекратяване по т. 4.4 не е допустимо."
        ),
        reason_en=(
            f"Invoice {invoice.invoice_id}: {late} day(s) late, not more than 45; "
            "termination under 4.4 is not allowed."
        ),
        allowed=False,
        numbers=numbers,
    )


def restoration_due(paid_on: dt.date, calendar: WorkingDays) -> Decision[dt.date]:
    """4.4: access is restored within 3 working days after the overdue debt is paid.

    ``paid_on`` is the day the *last* overdue fee of the contract was paid (the
    suspension lasts "until the overdue obligation is paid"); the deadline is the
    3rd working day after it.
    """
    deadline = calendar.add_working_days(paid_on, RESTORE_WITHIN_WORKING_DAYS)
    return Decision(
        value=deadline,
        clause="4.4",
        reason_bg=(
            f"Задължението е погасено на {paid_on.isoformat()}: достъпът се възстановява до "
            f"3 работни дни, т.е. до {deadline.isoformat()}."
        ),
        reason_en=(
            f"The debt was paid on {paid_on.isoformat()}: access is restored within 3 working "
            f"days, i.e. by {deadline.isoformat()}."
        ),
        numbers={"paid_on": paid_on, "working_days": 3, "restore_by": deadline},
    )
