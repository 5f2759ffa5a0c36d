"""Interruptions of the Service and what they give the customer (General Terms 5.1-5.3, 3.2, 6.7).

- 5.1 / 3.2в planned interruptions: notice not later than 1 working day before;
  each at most 2 working days long; at most 10 a year.
- 5.2 / 3.2б unplanned interruptions: only a problem that blocks normal use for
  more than 6 *astronomical* hours counts; the company notifies within 1 working
  day; faults in its scope are fixed within 5 working days of the day they were
  established (or reported by the customer); at most 20 a year by its fault.
- 5.1 / 5.2 compensation: one free month added to the subscription per breach:
  per interruption that is too long (5.1) or fixed too late (5.2), and per
  subscription year whose count exceeds the limit (docs/contract-rules.md, "5.1").
- 5.1 / 5.2 / 7.5б: one interruption over 10 working days, or more than 5 of one
  kind in one calendar month, lets the customer terminate without penalty.
- 5.3 customer's fault: the company may refuse help, terminate (7.4) and
  dismantle; if it repairs, the customer pays 200 % of the damaged equipment's
  value plus all costs (8.1a, computed by ``penalties``).
- 6.7 the company is not answerable for duration and frequency when the customer
  withheld access or help to remove the cause (``customer_obstructed``).

Times are aware datetimes; days are Europe/Sofia local dates. Elapsed time is
measured in UTC (astronomical hours: the 25-hour 2026-10-25 really has 25).
Durations "in working days" are the elapsed time falling on working days, each
local day counted as one whole day whatever its length (23, 24 or 25 hours).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.penalties import equipment_damage_penalty
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "PLANNED_MAX_PER_YEAR",
    "PLANNED_MAX_WORKING_DAYS",
    "SOFIA",
    "TERMINATION_MAX_PER_MONTH",
    "TERMINATION_MAX_WORKING_DAYS",
    "UNPLANNED_FIX_WORKING_DAYS",
    "UNPLANNED_MAX_PER_YEAR",
    "UNPLANNED_MIN_DURATION",
    "Interruption",
    "Kind",
    "compensated_term_end",
    "counts_as_unplanned",
    "customer_fault_repair_charge",
    "customer_fault_rights",
    "fix_deadline",
    "free_months",
    "planned_duration_check",
    "planned_notice_check",
    "proposed_from_silence",
    "subscription_years",
    "termination_right",
    "touched_working_days",
    "unplanned_notice_check",
    "working_days_duration",
]

SOFIA = ZoneInfo("Europe/Sofia")
UTC = dt.UTC
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

_KIND_BG = {"planned": "планирано", "unplanned": "непланирано"}
_KIND_BG_PLURAL = {"planned": "планирани", "unplanned": "непланирани"}
_KIND_EN = {"planned": "planned", "unplanned": "unplanned"}


def _aware(name: str, value: dt.datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise RuleError(f"{name} must be an aware datetime, got {value!r}")


def _local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SOFIA).date()


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
            _aware(name, getattr(self, name))
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
        _aware("as_of", as_of)
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
    _aware("start", start)
    _aware("end", end)
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    day, last = _local_date(start), _local_date(end)
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


def _dec(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"))


# ---------------------------------------------------------------- 5.1 planned


def planned_notice_check(item: Interruption, calendar: WorkingDays) -> Decision[bool]:
    """3.2в / 5.1: the notice must come not later than 1 working day before the start.

    The notice is in time when given on or before the working day preceding the
    local day the interruption starts (the hour of the notice does not matter).
    ``value``: the notice was in time.
    """
    if item.kind != "planned":
        raise RuleError("3.2в is about planned interruptions")
    start_day = _local_date(item.start)
    latest = calendar.add_working_days(start_day, -PLANNED_NOTICE_WORKING_DAYS)
    numbers: dict[str, Number] = {
        "start": item.start,
        "start_day": start_day,
        "notice_by": latest,
        "notified_at": item.notified_at,
    }
    if item.notified_at is None:
        return Decision(
            value=False,
            clause="3.2c",
            reason_bg=f"Не е изпратено уведомление за планираното прекъсване; срокът беше "
            f"до {latest.isoformat()} (1 работен ден преди).",
            reason_en=f"No notice of the planned interruption was given; it was due by "
            f"{latest.isoformat()} (1 working day before).",
            numbers=numbers,
        )
    on = _local_date(item.notified_at)
    ok = on <= latest and item.notified_at <= item.start
    numbers["notified_on"] = on
    return Decision(
        value=ok,
        clause="3.2c",
        reason_bg=(
            f"Уведомлението от {on.isoformat()} е "
            + ("в срок" if ok else "закъсняло")
            + f": планираното прекъсване започва на {start_day.isoformat()}, уведомление "
            f"най-късно на {latest.isoformat()}."
        ),
        reason_en=(
            f"The notice of {on.isoformat()} was "
            + ("in time" if ok else "late")
            + f": the planned interruption starts on {start_day.isoformat()}, notice due "
            f"by {latest.isoformat()}."
        ),
        numbers=numbers,
    )


def planned_duration_check(
    item: Interruption, calendar: WorkingDays, as_of: dt.datetime | None = None
) -> Decision[bool]:
    """5.1: a planned interruption lasts at most 2 working days. ``value``: within the limit."""
    if item.kind != "planned":
        raise RuleError("5.1 limits planned interruptions")
    end = item.until(as_of)
    length = working_days_duration(item.start, end, calendar)
    ok = length <= PLANNED_MAX_WORKING_DAYS
    return Decision(
        value=ok,
        clause="5.1",
        reason_bg=(
            f"Планираното прекъсване е продължило {_dec(length)} работни дни "
            + ("(до 2 допустими)." if ok else "(над допустимите 2): право на компенсация.")
        ),
        reason_en=(
            f"The planned interruption lasted {_dec(length)} working days "
            + ("(2 allowed)." if ok else "(over the 2 allowed): compensation is due.")
        ),
        numbers={
            "start": item.start,
            "end": end,
            "working_days": _dec(length),
            "touched_working_days": touched_working_days(item.start, end, calendar),
            "limit_working_days": PLANNED_MAX_WORKING_DAYS,
        },
    )


# ---------------------------------------------------------------- 5.2 unplanned


def counts_as_unplanned(item: Interruption, as_of: dt.datetime | None = None) -> Decision[bool]:
    """5.2 / 3.2б: an unplanned problem counts only if it lasts more than 6 astronomical hours."""
    if item.kind != "unplanned":
        raise RuleError("5.2 is about unplanned interruptions")
    elapsed = item.elapsed(as_of)
    counts = elapsed > UNPLANNED_MIN_DURATION
    hours = Decimal(elapsed // dt.timedelta(seconds=1)) / Decimal(3600)
    hours = hours.quantize(Decimal("0.01"))
    return Decision(
        value=counts,
        clause="5.2",
        reason_bg=(
            f"Неизправността е продължила {hours} астрономически часа: "
            + ("повече от 6, прекъсване по т. 5.2." if counts else "не повече от 6, не се отчита.")
        ),
        reason_en=(
            f"The fault lasted {hours} astronomical hours: "
            + ("more than 6, an interruption under 5.2." if counts else "6 or fewer, not counted.")
        ),
        numbers={
            "start": item.start,
            "end": item.until(as_of),
            "hours": hours,
            "limit_hours": 6,
        },
    )


def _established(item: Interruption) -> dt.datetime:
    """When the fault was established: the earlier of the company's finding and the
    customer's report; the start when neither is known (the company's own
    monitoring sees a silent device from its first minute)."""
    known = [t for t in (item.detected_at, item.reported_by_customer_at) if t is not None]
    return min(known, key=lambda t: t.astimezone(UTC)) if known else item.start


def unplanned_notice_check(item: Interruption, calendar: WorkingDays) -> Decision[bool]:
    """3.2б: the company notifies within 1 working day of establishing a problem over 6 hours.

    The duty arises when the problem is known *and* has lasted 6 hours; the
    notice is due by the end of the next working day after that local day.
    ``value``: notified in time (a problem of 6 hours or less needs no notice).
    """
    if item.kind != "unplanned":
        raise RuleError("3.2б is about unplanned interruptions")
    long_enough = item.start.astimezone(UTC) + UNPLANNED_MIN_DURATION
    arises = max(_established(item).astimezone(UTC), long_enough)
    due = calendar.add_working_days(_local_date(arises), UNPLANNED_NOTICE_WORKING_DAYS)
    numbers: dict[str, Number] = {
        "duty_arises": arises,
        "notice_by": due,
        "notified_at": item.notified_at,
    }
    if item.end is not None and item.elapsed() <= UNPLANNED_MIN_DURATION:
        return Decision(
            value=True,
            clause="3.2b",
            reason_bg="Проблемът не е траял повече от 6 часа: уведомление не се дължи.",
            reason_en="The problem lasted no more than 6 hours: no notice was due.",
            numbers=numbers,
        )
    ok = item.notified_at is not None and _local_date(item.notified_at) <= due
    return Decision(
        value=ok,
        clause="3.2b",
        reason_bg=("Потребителят е уведомен в срок" if ok else "Потребителят не е уведомен в срок")
        + f" (до {due.isoformat()}, 1 работен ден).",
        reason_en=(
            "The customer was notified in time" if ok else "The customer was not notified in time"
        )
        + f" (by {due.isoformat()}, 1 working day).",
        numbers=numbers,
    )


def fix_deadline(
    item: Interruption, calendar: WorkingDays, as_of: dt.datetime | None = None
) -> Decision[dt.date]:
    """5.2: a fault in the company's scope is fixed within 5 working days of the day it was
    established or reported (that day not counted). ``value``: the last local day;
    ``allowed`` False when the fix came (or, still open at ``as_of``, will come) late."""
    if item.kind != "unplanned":
        raise RuleError("5.2 is about unplanned interruptions")
    established = _established(item)
    due = calendar.add_working_days(_local_date(established), UNPLANNED_FIX_WORKING_DAYS)
    end = item.until(as_of)
    late = _local_date(end) > due
    numbers: dict[str, Number] = {
        "established": established,
        "working_days": UNPLANNED_FIX_WORKING_DAYS,
        "fix_by": due,
        "fixed_at": item.end,
        "as_of": as_of,
        "company_fault": item.company_fault,
    }
    if not item.company_fault:
        return Decision(
            value=due,
            clause="5.2",
            reason_bg="Неизправността не е в обхвата на отговорност на дружеството: срокът "
            "от 5 работни дни не се прилага.",
            reason_en="The fault is not in the company's scope: the 5-working-day fix time "
            "does not apply.",
            numbers=numbers,
        )
    fixed = "отстранена" if item.end is not None else "неотстранена към момента"
    fixed_en = "fixed" if item.end is not None else "not fixed yet"
    return Decision(
        value=due,
        clause="5.2",
        reason_bg=f"Срок за отстраняване до {due.isoformat()} (5 работни дни от "
        f"{_local_date(established).isoformat()}); неизправността е {fixed}"
        + (" след срока." if late else " в срока."),
        reason_en=f"Fix due by {due.isoformat()} (5 working days after "
        f"{_local_date(established).isoformat()}); the fault was {fixed_en}"
        + (" after the deadline." if late else " within the deadline."),
        allowed=not late,
        numbers=numbers,
    )


def proposed_from_silence(
    device_id: str,
    silent_since: dt.datetime,
    now: dt.datetime,
    sites: Iterable[str] = (),
) -> Decision[Interruption | None]:
    """5.2: a device silent for more than 6 astronomical hours -> a proposed unplanned
    interruption (staff confirm it and its cause).

    Fed by ingest's ``DeviceStateStore.interruption_candidates`` (epoch seconds:
    the adapter turns them into aware datetimes). The fault is presumed to be the
    company's (its equipment; ЗЗД art. 81 presumes the debtor's fault) until
    staff find a cause outside its scope (6.6ж mobile network, 5.3 customer).
    The company's monitoring sees the silence from its start: it is established then.
    """
    _aware("silent_since", silent_since)
    _aware("now", now)
    silent = now.astimezone(UTC) - silent_since.astimezone(UTC)
    hours = (Decimal(silent // dt.timedelta(seconds=1)) / Decimal(3600)).quantize(Decimal("0.01"))
    numbers: dict[str, Number] = {
        "device_id": device_id,
        "silent_since": silent_since,
        "now": now,
        "hours": hours,
        "limit_hours": 6,
    }
    if silent <= UNPLANNED_MIN_DURATION:
        return Decision(
            value=None,
            clause="5.2",
            reason_bg=f"Устройството мълчи {hours} часа: не повече от 6, не е прекъсване.",
            reason_en=f"The device has been silent {hours} hours: 6 or fewer, no interruption.",
            allowed=False,
            numbers=numbers,
        )
    proposal = Interruption(
        kind="unplanned",
        start=silent_since,
        end=None,
        company_fault=True,
        sites=frozenset(sites),
        detected_at=silent_since,
        device_id=device_id,
    )
    return Decision(
        value=proposal,
        clause="5.2",
        reason_bg=f"Устройството мълчи {hours} часа (повече от 6): предлага се непланирано "
        "прекъсване от началото на мълчанието; служител потвърждава причината.",
        reason_en=f"The device has been silent {hours} hours (more than 6): an unplanned "
        "interruption from the start of the silence is proposed; staff confirm the cause.",
        numbers=numbers,
    )


# ---------------------------------------------------------------- compensation


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, 1)


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
        lo = _add_months(subscription_start, 12 * k)
        hi = _add_months(subscription_start, min(12 * (k + 1), term_months))
        years.append((lo, hi))
        k += 1
    return years


def _year_of(item: Interruption, years: Sequence[tuple[dt.date, dt.date]]) -> int | None:
    day = _local_date(item.start)
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
    first = last_month.replace(day=1)
    new_last = _add_months(first, months)
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
        day = _local_date(i.start)
        months[(i.kind, day.year, day.month)] += 1
    busy = sorted(k for k, n in months.items() if n > TERMINATION_MAX_PER_MONTH)
    too_long = longest is not None and longest[0] > TERMINATION_MAX_WORKING_DAYS
    numbers: dict[str, Number] = {
        "counted": len(items),
        "longest_working_days": _dec(longest[0]) if longest else None,
        "limit_working_days": TERMINATION_MAX_WORKING_DAYS,
        "limit_per_month": TERMINATION_MAX_PER_MONTH,
        "months_over_limit": ", ".join(f"{k} {y:04d}-{m:02d}" for k, y, m in busy),
    }
    if too_long and longest is not None:
        kind = longest[1].kind
        return Decision(
            value=True,
            clause="7.5b",
            reason_bg=f"{_KIND_BG[kind].capitalize()} прекъсване е продължило {_dec(longest[0])} "
            f"работни дни (над 10): потребителят може да прекрати договора без неустойка.",
            reason_en=f"A {_KIND_EN[kind]} interruption lasted {_dec(longest[0])} working days "
            f"(over 10): the customer may terminate without penalty.",
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
