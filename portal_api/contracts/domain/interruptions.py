"""An interruption of the Service and its limits (General Terms 5.1, 5.2, 3.2, 6.7).

This module holds the value object, the limits of the General Terms and the
durations; the checks of one interruption are ``interruption_checks`` (notices,
length, fix time), what they give the customer is ``interruption_remedies``
(free months, the 7.5б right to terminate, 5.3 customer's fault).

The limits (below as constants): 5.1 / 3.2в planned: notice 1 working day
before, at most 2 working days long, at most 10 a year; 5.2 / 3.2б unplanned:
counted above 6 astronomical hours, notice within 1 working day, fixed within 5
working days, at most 20 a year by the company's fault; 5.1 / 5.2 / 7.5б: over 10
working days, or more than 5 of one kind in a calendar month, opens the right to
terminate. 5.3 / 6.7: ``customer_caused`` / ``customer_obstructed``.

Times are aware datetimes; days are Europe/Sofia local dates. Elapsed time is
measured in UTC (astronomical hours: the 25-hour 2026-10-25 really has 25).
Durations "in working days" are the elapsed time falling on working days, each
local day counted as one whole day whatever its length (23, 24 or 25 hours).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from portal_api.contracts.domain.dates import SOFIA, UTC, local_date
from portal_api.contracts.domain.decision import RuleError
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "PLANNED_MAX_PER_YEAR",
    "PLANNED_MAX_WORKING_DAYS",
    "PLANNED_NOTICE_WORKING_DAYS",
    "TERMINATION_MAX_PER_MONTH",
    "TERMINATION_MAX_WORKING_DAYS",
    "UNPLANNED_FIX_WORKING_DAYS",
    "UNPLANNED_MAX_PER_YEAR",
    "UNPLANNED_MIN_DURATION",
    "UNPLANNED_NOTICE_WORKING_DAYS",
    "Interruption",
    "Kind",
    "as_decimal",
    "astronomical_hours",
    "require_aware",
    "touched_working_days",
    "working_days_duration",
]

Kind = Literal["planned", "unplanned"]

PLANNED_NOTICE_WORKING_DAYS = 1  # 3.2в
PLANNED_MAX_WORKING_DAYS = 2  # 5.1
PLANNED_MAX_PER_YEAR = 10  # 5.1
UNPLANNED_MIN_DURATION = dt.timedelta(hours=6)  # 5.2, 3.2б: "more than 6 astronomical hours"
UNPLANNED_NOTICE_WORKING_DAYS = 1  # 3.2б
UNPLANNED_FIX_WORKING_DAYS = 5  # 5.2
UNPLANNED_MAX_PER_YEAR = 20  # 5.2, company's fault only
TERMINATION_MAX_WORKING_DAYS = 10  # 5.1, 5.2
TERMINATION_MAX_PER_MONTH = 5  # 5.1, 5.2


def require_aware(name: str, value: dt.datetime | None) -> None:
    """``RuleError`` unless ``value`` (when given) is an aware datetime."""
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise RuleError(f"{name} must be an aware datetime, got {value!r}")


def astronomical_hours(elapsed: dt.timedelta) -> Decimal:
    """Elapsed time in hours to the hundredth (5.2, 3.2б: "astronomical hours")."""
    return (Decimal(elapsed // dt.timedelta(seconds=1)) / Decimal(3600)).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Interruption:
    """One interruption of the Service for one contract.

    ``end`` is None while it lasts. ``notified_at``: the company's notice to the
    customer (3.2в in advance for planned ones, 3.2б for unplanned ones).
    ``detected_at``: when the company established an unplanned fault;
    ``reported_by_customer_at``: the customer's notice (5.2, 3.1г).
    ``company_fault``: the fault lies in the company's scope (5.2, 6.3);
    ``customer_caused``: 5.3 (then not the company's fault);
    ``customer_obstructed``: the customer withheld access or help to remove the
    cause (6.7). ``sites`` / ``device_id`` say what it touched.
    """

    kind: Kind
    start: dt.datetime
    end: dt.datetime | None
    notified_at: dt.datetime | None = None
    company_fault: bool = True
    sites: frozenset[str] = field(default_factory=frozenset)
    detected_at: dt.datetime | None = None
    reported_by_customer_at: dt.datetime | None = None
    customer_caused: bool = False
    customer_obstructed: bool = False
    device_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("planned", "unplanned"):
            raise RuleError(f"an interruption is planned or unplanned, not {self.kind!r}")
        for name in ("start", "end", "notified_at", "detected_at", "reported_by_customer_at"):
            require_aware(name, getattr(self, name))
        if self.end is not None and self.end < self.start:
            raise RuleError(f"the interruption ends ({self.end}) before it starts ({self.start})")
        if self.customer_caused and self.company_fault:
            raise RuleError(
                "an interruption caused by the customer (5.3) is not the company's fault"
            )
        if self.kind == "planned" and self.customer_caused:
            raise RuleError("a planned interruption is the company's own act, not the customer's")

    def until(self, as_of: dt.datetime | None) -> dt.datetime:
        """The end, or ``as_of`` while it lasts."""
        if self.end is not None:
            return self.end
        if as_of is None:
            raise RuleError("the interruption still lasts: pass as_of")
        require_aware("as_of", as_of)
        if as_of < self.start:
            raise RuleError("as_of is before the interruption started")
        return as_of

    def elapsed(self, as_of: dt.datetime | None = None) -> dt.timedelta:
        """Astronomical time, measured in UTC (DST-proof)."""
        return self.until(as_of).astimezone(UTC) - self.start.astimezone(UTC)


# ---------------------------------------------------------------- durations


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), SOFIA).astimezone(UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SOFIA).astimezone(UTC)
    return start, end


def _working_overlaps(
    start: dt.datetime, end: dt.datetime, calendar: WorkingDays
) -> Iterable[tuple[dt.date, dt.timedelta, dt.timedelta]]:
    """(working day, overlap with [start, end), length of that local day)."""
    require_aware("start", start)
    require_aware("end", end)
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    day, last = local_date(start), local_date(end)
    while day <= last:
        if calendar.is_working_day(day):
            lo, hi = _day_bounds(day)
            overlap = min(e, hi) - max(s, lo)
            if overlap > dt.timedelta(0):
                yield day, overlap, hi - lo
        day += dt.timedelta(days=1)


def working_days_duration(start: dt.datetime, end: dt.datetime, calendar: WorkingDays) -> Fraction:
    """The length of ``[start, end)`` in working days (5.1, 5.2; docs/contract-rules.md "5.1").

    Only time on Bulgarian working days counts; each working day counts as one
    whole day whatever its real length, so partial days count in proportion.
    """
    us = dt.timedelta(microseconds=1)
    return sum(
        (
            Fraction(overlap // us, length // us)
            for _, overlap, length in _working_overlaps(start, end, calendar)
        ),
        Fraction(0),
    )


def touched_working_days(start: dt.datetime, end: dt.datetime, calendar: WorkingDays) -> int:
    """How many working days the interruption touched at all (shown beside the duration)."""
    return sum(1 for _ in _working_overlaps(start, end, calendar))


def as_decimal(value: Fraction) -> Decimal:
    """A duration in working days, shown to four places."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"))
