"""Penalties (неустойки) of the General Terms 8.1 and 8.2, with their grounds.

8.1 the customer owes the company:
  a) 200 % of the value of the damaged equipment plus all replacement costs
     (cases of 1.4.3 and 5.3);
  b) two monthly fees on termination under 4.4 (late payment) and 7.2
     (customer's early termination);
  c) two monthly fees on termination before the end of the subscription because
     the site(s) changed owner; when only some of several sites change owner,
     the penalty follows the part of the fee formed by the initial and additional
     devices of those sites: twice that part;
  d) 200 % of the value of the equipment if no access for dismantling (7.7) is
     given within 14 calendar days of the company's written request sent to the
     contract's e-mail.
8.2 the company owes the customer two monthly fees in the case of 7.3 (company's
early termination).
8.3 penalties do not bar claims for damages beyond them (not computed here).

"Monthly fee" is the contract's fee fixed for its term (4.2), reduced if sites
already left it (7.1з); callers pass it in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from portal_api.contracts.domain.dates import next_working_day_if_off
from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.fees import FeeBreakdown
from portal_api.contracts.domain.money import ZERO, cents, non_negative
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "DISMANTLING_ACCESS_DAYS",
    "company_termination_penalty",
    "dismantling_access_deadline",
    "equipment_damage_penalty",
    "no_dismantling_access_penalty",
    "ownership_change_penalty",
    "termination_penalty",
]

TWO = Decimal(2)
DISMANTLING_ACCESS_DAYS = 14
_B_GROUNDS = {
    "4.4": ("забава в плащането", "late payment"),
    "7.2": ("предсрочно прекратяване от потребителя", "the customer's early termination"),
}


def equipment_damage_penalty(
    equipment_value: Decimal, replacement_costs: Decimal, ground: str = "5.3"
) -> Decision[Decimal]:
    """8.1a: 200 % of the damaged equipment's value plus all replacement costs (1.4.3, 5.3)."""
    if ground not in ("1.4.3", "5.3"):
        raise RuleError(f"8.1a applies in the cases of 1.4.3 and 5.3, not {ground}")
    value = non_negative("the equipment value", equipment_value)
    costs = non_negative("the replacement costs", replacement_costs)
    penalty = cents(TWO * value + costs)
    return Decision(
        value=penalty,
        clause="8.1a",
        reason_bg=(
            f"Увредено оборудване (т. {ground}): 200% от стойността му {value} EUR плюс "
            f"разходите по подмяна {costs} EUR = {penalty} EUR."
        ),
        reason_en=(
            f"Damaged equipment ({ground}): 200% of its value {value} EUR plus the "
            f"replacement costs {costs} EUR = {penalty} EUR."
        ),
        numbers={
            "ground": ground,
            "equipment_value": value,
            "percent": 200,
            "replacement_costs": costs,
            "penalty": penalty,
        },
    )


def termination_penalty(monthly_fee: Decimal, ground: str) -> Decision[Decimal]:
    """8.1b: two monthly fees when the contract ends under 4.4 or 7.2; nothing otherwise."""
    fee = non_negative("the monthly fee", monthly_fee)
    if ground not in _B_GROUNDS:
        return Decision(
            value=ZERO,
            clause="8.1b",
            reason_bg=f"Неустойка по т. 8.1б се дължи само при прекратяване по т. 4.4 и 7.2, "
            f"не по т. {ground}.",
            reason_en=f"The penalty of 8.1b is owed only on termination under 4.4 and 7.2, "
            f"not under {ground}.",
            allowed=False,
            numbers={"ground": ground, "monthly_fee": fee, "penalty": ZERO},
        )
    bg, en = _B_GROUNDS[ground]
    penalty = cents(TWO * fee)
    return Decision(
        value=penalty,
        clause="8.1b",
        reason_bg=f"Прекратяване поради {bg} (т. {ground}): неустойка две месечни такси "
        f"2 × {fee} = {penalty} EUR.",
        reason_en=f"Termination for {en} ({ground}): penalty of two monthly fees "
        f"2 × {fee} = {penalty} EUR.",
        numbers={"ground": ground, "monthly_fee": fee, "fees": 2, "penalty": penalty},
    )


def _site_parts(fees: FeeBreakdown | Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Each site's part of the monthly fee (4.1: its unit price and additional devices)."""
    if isinstance(fees, FeeBreakdown):
        return {item.site_id: item.total for item in fees.sites}
    return {site: non_negative(f"the fee part of {site}", v) for site, v in fees.items()}


def ownership_change_penalty(
    breakdown: FeeBreakdown | Mapping[str, Decimal],
    site_ids: Iterable[str],
    ends_on: dt.date,
    subscription_end: dt.date,
) -> Decision[Decimal]:
    """8.1c: change of ownership of the site(s) ending the contract before its term.

    All sites: two monthly fees. Some of several sites: twice the part of the fee
    formed by the initial and additional devices of those sites (the contract
    goes on for the others, 7.1з). Ending on or after ``subscription_end`` (the
    last day of the subscription) is not early: no penalty.

    ``breakdown`` is the fee's breakdown (4.1) or, equally, each site's part of the
    fee by site id. The one computation of 8.1c: ``termination.ownership_change``
    (7.1з) calls it too (docs/contract-rules.md "7.1з / 8.1в").
    """
    leaving = sorted(set(site_ids))
    if not leaving:
        raise RuleError("name the site(s) that changed owner")
    parts = _site_parts(breakdown)
    unknown = [s for s in leaving if s not in parts]
    if unknown:
        raise RuleError(f"sites not in the contract: {', '.join(unknown)}")
    part = cents(sum((parts[s] for s in leaving), ZERO))
    whole = len(leaving) == len(parts)
    numbers: dict[str, Decimal | int | dt.date | str | bool | None] = {
        "sites": ", ".join(leaving),
        "all_sites": whole,
        "monthly_fee": cents(sum(parts.values(), ZERO)),
        "fee_part": part,
        "ends_on": ends_on,
        "subscription_end": subscription_end,
    }
    if ends_on >= subscription_end:
        numbers["penalty"] = ZERO
        return Decision(
            value=ZERO,
            clause="8.1c",
            reason_bg="Смяната на собственост не прекратява договора преди изтичане на "
            "абонамента: неустойка по т. 8.1в не се дължи.",
            reason_en="The change of ownership does not end the contract before its "
            "subscription expires: no penalty under 8.1c.",
            allowed=False,
            numbers=numbers,
        )
    penalty = cents(TWO * part)
    numbers["penalty"] = penalty
    if whole:
        bg = f"Смяна на собствеността на всички обекти: две месечни такси 2 × {part} = "
        en = f"All sites changed owner: two monthly fees 2 × {part} = "
    else:
        bg = (
            f"Смяна на собствеността на част от обектите ({', '.join(leaving)}): два пъти "
            f"частта от таксата, формирана от техните устройства, 2 × {part} = "
        )
        en = (
            f"Only some sites changed owner ({', '.join(leaving)}): twice the part of the fee "
            f"formed by their devices, 2 × {part} = "
        )
    return Decision(
        value=penalty,
        clause="8.1c",
        reason_bg=bg + f"{penalty} EUR.",
        reason_en=en + f"{penalty} EUR.",
        numbers=numbers,
    )


def dismantling_access_deadline(request_sent_on: dt.date, calendar: WorkingDays) -> dt.date:
    """8.1d / 7.7: the last day to give access: 14 calendar days after the request was sent.

    Counted from the day after sending (ЗЗД art. 72(1)); a last day that is not a
    working day moves to the next working day (docs/contract-rules.md, "8.1d").
    """
    last = request_sent_on + dt.timedelta(days=DISMANTLING_ACCESS_DAYS)
    return next_working_day_if_off(last, calendar)


def no_dismantling_access_penalty(
    equipment_value: Decimal,
    request_sent_on: dt.date,
    today: dt.date,
    calendar: WorkingDays,
    access_given_on: dt.date | None = None,
) -> Decision[Decimal]:
    """8.1d: 200 % of the equipment value if access for dismantling came too late or never."""
    value = non_negative("the equipment value", equipment_value)
    deadline = dismantling_access_deadline(request_sent_on, calendar)
    numbers: dict[str, Decimal | int | dt.date | str | bool | None] = {
        "request_sent_on": request_sent_on,
        "days": DISMANTLING_ACCESS_DAYS,
        "deadline": deadline,
        "access_given_on": access_given_on,
        "today": today,
        "equipment_value": value,
    }
    late = access_given_on > deadline if access_given_on is not None else today > deadline
    if not late:
        numbers["penalty"] = ZERO
        given = access_given_on is not None
        return Decision(
            value=ZERO,
            clause="8.1d",
            reason_bg=(
                f"Достъпът за демонтаж е осигурен в срок (до {deadline.isoformat()})."
                if given
                else f"Срокът за достъп за демонтаж тече до {deadline.isoformat()}."
            ),
            reason_en=(
                f"Access for dismantling was given in time (by {deadline.isoformat()})."
                if given
                else f"The time to give access for dismantling runs until {deadline.isoformat()}."
            ),
            allowed=False,
            numbers=numbers,
        )
    penalty = cents(TWO * value)
    numbers["penalty"] = penalty
    return Decision(
        value=penalty,
        clause="8.1d",
        reason_bg=(
            f"Не е осигурен достъп за демонтаж в 14-дневния срок до {deadline.isoformat()}: "
            f"неустойка 200% от стойността на оборудването {value} EUR = {penalty} EUR."
        ),
        reason_en=(
            f"No access for dismantling within the 14 days ending {deadline.isoformat()}: "
            f"penalty of 200% of the equipment value {value} EUR = {penalty} EUR."
        ),
        numbers=numbers,
    )


def company_termination_penalty(monthly_fee: Decimal) -> Decision[Decimal]:
    """8.2: the company owes the customer two monthly fees when it terminates early (7.3)."""
    fee = non_negative("the monthly fee", monthly_fee)
    penalty = cents(TWO * fee)
    return Decision(
        value=penalty,
        clause="8.2",
        reason_bg=f"Предсрочно прекратяване от дружеството (т. 7.3): дружеството дължи на "
        f"потребителя две месечни такси 2 × {fee} = {penalty} EUR.",
        reason_en=f"Early termination by the company (7.3): the company owes the customer "
        f"two monthly fees 2 × {fee} = {penalty} EUR.",
        numbers={"ground": "7.3", "monthly_fee": fee, "fees": 2, "penalty": penalty},
    )
