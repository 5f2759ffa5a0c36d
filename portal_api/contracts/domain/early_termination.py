"""Early termination and its money (General Terms 7.2, 7.3, 7.4 with 8.1а, 8.1б, 8.2).

- 7.2 the customer ends early with 14 days' written notice: the full fee of the
  month the contract ends in plus 8.1б (two monthly fees).
- 7.3 the company ends early with 14 days' written notice: it owes 8.2 (two
  monthly fees); the customer owes the fee of the last full month it had access,
  if unpaid.
- 7.4 the company ends without owing a penalty in the cases of 1.4.2, 4.4, 5.3.

A notice running out on or after the subscription's last day is no early end:
the contract expires under 7.1а. Monthly fees are inputs (the contract's fixed
fee, 4.2); penalties come from ``penalties``; the result is a ``termination.Outcome``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal_api.contracts.domain.dates import first_of_month, month_end
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.money import ZERO, cents, non_negative
from portal_api.contracts.domain.penalties import (
    company_termination_penalty,
    equipment_damage_penalty,
    termination_penalty,
)
from portal_api.contracts.domain.termination import Outcome, refused

__all__ = [
    "NOTICE_DAYS",
    "company_early_termination",
    "company_termination_without_penalty",
    "customer_early_termination",
]

NOTICE_DAYS = 14  # 7.2, 7.3


def _not_early(ends_on: dt.date, last_day: dt.date, clause: str) -> Decision[Outcome]:
    return Decision(
        value=Outcome(ends_on=last_day),
        clause=clause,
        reason_bg=f"Предизвестието изтича на {ends_on.isoformat()}, след края на абонамента "
        f"{last_day.isoformat()}: договорът изтича по т. 7.1а, без неустойка.",
        reason_en=f"The notice runs out on {ends_on.isoformat()}, after the subscription ends "
        f"on {last_day.isoformat()}: the contract expires under 7.1a, no penalty.",
        allowed=False,
        numbers={"notice_ends": ends_on, "subscription_last_day": last_day},
    )


def customer_early_termination(
    notice_received_on: dt.date,
    monthly_fee: Decimal,
    subscription_last_day: dt.date,
    *,
    first_fee_month: dt.date | None = None,
    last_month_paid: bool = False,
    requested_end: dt.date | None = None,
) -> Decision[Outcome]:
    """7.2 with 8.1б: the customer ends early with 14 days' written notice.

    The contract ends when the notice runs out: 14 days after the day it was
    received (that day not counted, ЗЗД art. 72(1)), or on a later day the
    customer asked for. The customer owes the fee of the month it ends in, in
    full (none if that month is still free under 4.3: before ``first_fee_month``;
    none again if already paid), and 8.1б, two monthly fees.
    """
    fee = non_negative("the monthly fee", monthly_fee)
    ends_on = notice_received_on + dt.timedelta(days=NOTICE_DAYS)
    if requested_end is not None and requested_end > ends_on:
        ends_on = requested_end
    if ends_on >= subscription_last_day:
        return _not_early(ends_on, subscription_last_day, "7.2")
    month = first_of_month(ends_on)
    free = first_fee_month is not None and month < first_of_month(first_fee_month)
    last_fee = ZERO if free or last_month_paid else cents(fee)
    penalty = termination_penalty(fee, "7.2").value
    charges = (("last_month_fee", last_fee), ("8.1b", penalty))
    outcome = Outcome(ends_on=ends_on, charges=charges)
    fee_note_bg = (
        "безплатен месец (т. 4.3)"
        if free
        else "вече платена"
        if last_month_paid
        else f"{last_fee} EUR"
    )
    fee_note_en = (
        "a free month (4.3)" if free else "already paid" if last_month_paid else f"{last_fee} EUR"
    )
    return Decision(
        value=outcome,
        clause="7.2",
        reason_bg=f"Предизвестие, получено на {notice_received_on.isoformat()}: договорът се "
        f"прекратява на {ends_on.isoformat()}. Такса за {month.strftime('%m.%Y')}: "
        f"{fee_note_bg}; неустойка по т. 8.1б 2 × {fee} = {penalty} EUR; общо "
        f"{outcome.customer_owes} EUR.",
        reason_en=f"Notice received on {notice_received_on.isoformat()}: the contract ends on "
        f"{ends_on.isoformat()}. Fee for {month.strftime('%Y-%m')}: {fee_note_en}; penalty "
        f"under 8.1b 2 × {fee} = {penalty} EUR; in all {outcome.customer_owes} EUR.",
        numbers={
            "notice_received_on": notice_received_on,
            "notice_days": NOTICE_DAYS,
            "ends_on": ends_on,
            "last_month": month,
            "last_month_fee": last_fee,
            "monthly_fee": fee,
            "penalty_8_1b": penalty,
            "customer_owes": outcome.customer_owes,
        },
    )


def company_early_termination(
    notice_received_on: dt.date,
    monthly_fee: Decimal,
    subscription_last_day: dt.date,
    *,
    access_until: dt.date | None = None,
    first_fee_month: dt.date | None = None,
    last_full_month_paid: bool = False,
) -> Decision[Outcome]:
    """7.3 with 8.2: the company ends early with 14 days' written notice.

    The company owes two monthly fees (8.2). The customer owes the fee of the
    last *full* calendar month it had access (``access_until``, by default the
    last day of the contract) unless paid; the days of a last partial month are
    not charged. Both sums are shown; setting one off against the other is a
    separate act (ЗЗД art. 103).
    """
    fee = non_negative("the monthly fee", monthly_fee)
    ends_on = notice_received_on + dt.timedelta(days=NOTICE_DAYS)
    if ends_on >= subscription_last_day:
        return _not_early(ends_on, subscription_last_day, "7.3")
    access = access_until if access_until is not None else ends_on
    full = (
        first_of_month(access)
        if access == month_end(access)
        else first_of_month(first_of_month(access) - dt.timedelta(days=1))
    )
    free = first_fee_month is not None and full < first_of_month(first_fee_month)
    last_fee = ZERO if free or last_full_month_paid else cents(fee)
    penalty = company_termination_penalty(fee).value
    outcome = Outcome(
        ends_on=ends_on,
        charges=(("last_full_month_fee", last_fee),),
        credits=(("8.2", penalty),),
    )
    return Decision(
        value=outcome,
        clause="7.3",
        reason_bg=f"Предизвестие от дружеството, получено на {notice_received_on.isoformat()}: "
        f"договорът се прекратява на {ends_on.isoformat()}. Дружеството дължи неустойка по "
        f"т. 8.2 2 × {fee} = {penalty} EUR; потребителят дължи таксата за последния пълен "
        f"месец с достъп {full.strftime('%m.%Y')}: {last_fee} EUR.",
        reason_en=f"The company's notice received on {notice_received_on.isoformat()}: the "
        f"contract ends on {ends_on.isoformat()}. The company owes the penalty of 8.2 "
        f"2 × {fee} = {penalty} EUR; the customer owes the fee of the last full month with "
        f"access {full.strftime('%Y-%m')}: {last_fee} EUR.",
        numbers={
            "notice_received_on": notice_received_on,
            "ends_on": ends_on,
            "access_until": access,
            "last_full_month": full,
            "last_full_month_fee": last_fee,
            "monthly_fee": fee,
            "penalty_8_2": penalty,
        },
    )


# ---------------------------------------------------------------- 7.4


_WITHOUT_PENALTY = {
    "1.4.2": (
        "отказан достъп за инсталиране или липсва връзка СН/ВН",
        "no access to install or no MV/HV connection",
    ),
    "4.4": (
        "неплащане повече от 45 дни след падежа",
        "unpaid more than 45 days after the due date",
    ),
    "5.3": ("повреда по вина на потребителя", "damage caused by the customer"),
}


def company_termination_without_penalty(
    basis: str,
    monthly_fee: Decimal,
    *,
    damaged_equipment_value: Decimal | None = None,
    damage_costs: Decimal | None = None,
) -> Decision[Outcome]:
    """7.4: the company may end the contract without owing 8.2 in the cases of 1.4.2, 4.4, 5.3.

    The customer then owes 8.1б under 4.4, 8.1а under 5.3 (when the damage is
    valued), nothing under 1.4.2. Any other basis is 7.3 (the company owes 8.2).
    The company *may*: staff confirm; this only says what follows.
    """
    fee = non_negative("the monthly fee", monthly_fee)
    if basis not in _WITHOUT_PENALTY:
        return refused(
            "7.4",
            f"Т. 7.4 обхваща само т. 1.4.2, 4.4 и 5.3, не т. {basis}: предсрочното "
            "прекратяване от дружеството е по т. 7.3 с неустойка по т. 8.2.",
            f"7.4 covers only 1.4.2, 4.4 and 5.3, not {basis}: an early end by the "
            "company falls under 7.3 with the penalty of 8.2.",
            {"basis": basis},
        )
    charges: tuple[tuple[str, Decimal], ...] = ()
    if basis == "4.4":
        charges = (("8.1b", termination_penalty(fee, "4.4").value),)
    elif basis == "5.3" and damaged_equipment_value is not None:
        costs = damage_costs if damage_costs is not None else ZERO
        charges = (("8.1a", equipment_damage_penalty(damaged_equipment_value, costs, "5.3").value),)
    outcome = Outcome(ends_on=None, charges=charges)
    bg, en = _WITHOUT_PENALTY[basis]
    return Decision(
        value=outcome,
        clause="7.4",
        reason_bg=f"Дружеството може да прекрати договора без неустойка (т. {basis}: {bg}); "
        f"потребителят дължи {outcome.customer_owes} EUR.",
        reason_en=f"The company may end the contract without a penalty ({basis}: {en}); the "
        f"customer owes {outcome.customer_owes} EUR.",
        numbers={
            "basis": basis,
            "monthly_fee": fee,
            "customer_owes": outcome.customer_owes,
            "company_owes": ZERO,
        },
    )
