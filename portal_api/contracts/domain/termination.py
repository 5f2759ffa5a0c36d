"""How a contract ends by itself and what follows (General Terms 7.1, 7.6, 7.7 with 8.1в).

- 7.1 grounds: а) term expired; б) mutual consent; в) 1.5 impossible installation;
  г) force majeure lasting more than 60 days (Commerce Act art. 306); д) acts of
  state bodies limiting a party; е) death or interdiction of a natural person;
  ж) liquidation or insolvency, from the decision's entry into force;
  з) change of ownership or right of use of the sites: for some sites only, the
  contract goes on for the rest with the fee reduced by their part (8.1в).
- 7.6 / 7.7 the service stops; the customer gives access for dismantling (8.1г:
  ``penalties.no_dismantling_access_penalty``; 8.1а: ``penalties.equipment_damage_penalty``).

``Outcome`` (the end and the money each side owes) is shared with the early
ends of 7.2-7.4 (``early_termination``) and the customer's rights of 7.5
(``customer_termination_rights``; 7.5б is ``interruption_remedies.termination_right``).
The grounds are ``contract.TerminationGround``. Amounts are ``Decimal`` euro
(``money``). Readings of the open points: docs/contract-rules.md, sections
"7.1з" to "7.5в".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from portal_api.contracts.domain.contract import TerminationGround
from portal_api.contracts.domain.dates import first_of_next_month
from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.money import ZERO, cents, non_negative
from portal_api.contracts.domain.penalties import ownership_change_penalty

__all__ = [
    "FORCE_MAJEURE_DAYS",
    "Outcome",
    "after_termination",
    "ended_by",
    "ownership_change",
    "refused",
]

FORCE_MAJEURE_DAYS = 60  # 7.1г


@dataclass(frozen=True)
class Outcome:
    """A contract's end: its last day and the money each side owes because of it.

    ``charges``: (what, amount) owed by the customer (the fee of the last month,
    8.1а-г penalties, withdrawal costs); ``credits``: owed by the company (8.2).
    Fees of the months before the end stay due as usual (4.3) and are not here.
    For a partial 7.1з change the contract goes on: ``continues_for`` names the
    remaining sites, ``new_monthly_fee`` applies from ``fee_reduced_from``.
    """

    ends_on: dt.date | None
    charges: tuple[tuple[str, Decimal], ...] = ()
    credits: tuple[tuple[str, Decimal], ...] = ()
    continues_for: tuple[str, ...] = ()
    new_monthly_fee: Decimal | None = None
    fee_reduced_from: dt.date | None = None

    @property
    def customer_owes(self) -> Decimal:
        return cents(sum((amount for _, amount in self.charges), ZERO))

    @property
    def company_owes(self) -> Decimal:
        return cents(sum((amount for _, amount in self.credits), ZERO))


def refused(
    clause: str, reason_bg: str, reason_en: str, numbers: Mapping[str, Number]
) -> Decision[Outcome]:
    """The contract does not end on this ground (or not yet): ``allowed`` False, no money."""
    return Decision(
        value=Outcome(ends_on=None),
        clause=clause,
        reason_bg=reason_bg,
        reason_en=reason_en,
        allowed=False,
        numbers=dict(numbers),
    )


# ---------------------------------------------------------------- 7.1 а-ж


_GROUND_TEXT: dict[TerminationGround, tuple[str, str]] = {
    TerminationGround.TERM_EXPIRED: (
        "изтичане на срока на абонамента",
        "the subscription term expired",
    ),
    TerminationGround.MUTUAL_CONSENT: ("взаимно съгласие на страните", "mutual consent"),
    TerminationGround.IMPOSSIBLE_INSTALLATION: (
        "невъзможност за инсталация (т. 1.5, констативен протокол)",
        "installation impossible (1.5, statement of findings)",
    ),
    TerminationGround.FORCE_MAJEURE: (
        "непреодолима сила за повече от 60 дни (чл. 306 ТЗ)",
        "force majeure for more than 60 days (Commerce Act art. 306)",
    ),
    TerminationGround.STATE_ACT: (
        "акт на компетентен държавен орган, ограничаващ страна",
        "an act of a competent state body limiting a party",
    ),
    TerminationGround.DEATH_OR_INCAPACITY: (
        "смърт или поставяне под запрещение на потребителя - физическо лице",
        "death or interdiction of the customer, a natural person",
    ),
    TerminationGround.LIQUIDATION_OR_INSOLVENCY: (
        "ликвидация или несъстоятелност на страна, от влизане в сила на решението",
        "liquidation or insolvency of a party, from the decision's entry into force",
    ),
}


def ended_by(
    ground: TerminationGround,
    event_on: dt.date,
    *,
    natural_person: bool = True,
    force_majeure_ended_on: dt.date | None = None,
    as_of: dt.date | None = None,
) -> Decision[Outcome]:
    """7.1 а-ж: the contract ends on a ground of its own; no penalty on either side.

    ``event_on``: а the subscription's last day; б the agreed end; в the day the
    statement of findings (Appendix 3) was signed; г the first day of force
    majeure; д the act's entry into force; е the death, or the entry into force
    of the interdiction decision; ж the decision's entry into force.

    г: the 60 days count from the day after the first (ЗЗД art. 72(1)); force
    majeure still lasting on day 61 ends the contract on that day. Before that,
    or if it ended by day 60, ``allowed`` is False. е applies to natural persons only.
    """
    if ground not in _GROUND_TEXT:
        raise RuleError(f"7.1а-ж: {ground} is not a ground that ends the contract by itself")
    bg, en = _GROUND_TEXT[ground]
    numbers: dict[str, Number] = {"ground": str(ground), "event_on": event_on}
    ends_on = event_on
    if ground is TerminationGround.FORCE_MAJEURE:
        ends_on = event_on + dt.timedelta(days=FORCE_MAJEURE_DAYS + 1)
        numbers.update(
            {
                "days": FORCE_MAJEURE_DAYS,
                "ends_on_day_61": ends_on,
                "fm_ended_on": force_majeure_ended_on,
            }
        )
        over = force_majeure_ended_on is None or force_majeure_ended_on >= ends_on
        reached = as_of is None or as_of >= ends_on
        if force_majeure_ended_on is None and as_of is None:
            raise RuleError("force majeure still lasting: pass as_of")
        if not (over and reached):
            return refused(
                str(ground),
                f"Непреодолимата сила от {event_on.isoformat()} не е продължила повече "
                f"от 60 дни (договорът би се прекратил на {ends_on.isoformat()}).",
                f"The force majeure since {event_on.isoformat()} has not lasted more "
                f"than 60 days (the contract would end on {ends_on.isoformat()}).",
                numbers,
            )
    if ground is TerminationGround.DEATH_OR_INCAPACITY and not natural_person:
        return refused(
            str(ground),
            "Основанието по т. 7.1е се отнася само за потребител - физическо лице.",
            "The ground of 7.1е applies only to a customer who is a natural person.",
            numbers,
        )
    numbers["ends_on"] = ends_on
    return Decision(
        value=Outcome(ends_on=ends_on),
        clause=str(ground),
        reason_bg=f"Договорът се прекратява на {ends_on.isoformat()}: {bg}; без неустойки.",
        reason_en=f"The contract ends on {ends_on.isoformat()}: {en}; no penalties.",
        numbers=numbers,
    )


# ---------------------------------------------------------------- 7.1з / 8.1в


def ownership_change(
    changed_on: dt.date,
    leaving_sites: Iterable[str],
    site_fees: Mapping[str, Decimal],
    subscription_last_day: dt.date,
    *,
    ownership: bool = True,
) -> Decision[Outcome]:
    """7.1з with 8.1в: sites changed owner (or right of use) on ``changed_on``.

    All sites: the contract ends that day. Some: it goes on for the others; the
    fee is reduced by the leaving sites' part (``site_fees``: each site's part of
    the monthly fee with its additional devices, 4.1) from the month after the
    change, the month of the change being due in full (4.3). Penalty 8.1в: twice
    the leaving part (two monthly fees for all sites), only for a change of
    *ownership* before the subscription's end; a change of the right of use
    alone owes none (docs/contract-rules.md "7.1з / 8.1в").
    """
    leaving = sorted(set(leaving_sites))
    if not leaving:
        raise RuleError("name the site(s) that changed owner or user")
    unknown = [s for s in leaving if s not in site_fees]
    if unknown:
        raise RuleError(f"sites not in the contract: {', '.join(unknown)}")
    fees = {s: non_negative(f"the fee part of {s}", v) for s, v in site_fees.items()}
    whole = cents(sum(fees.values(), ZERO))
    part = cents(sum((fees[s] for s in leaving), ZERO))
    remaining = tuple(sorted(s for s in fees if s not in leaving))
    # 8.1в is computed once, in penalties (the pure rule); a change of the right of
    # use alone owes none, so the penalty is not even asked for then.
    penalty = (
        ownership_change_penalty(fees, leaving, changed_on, subscription_last_day).value
        if ownership
        else ZERO
    )
    charges = (("8.1c", penalty),) if penalty else ()
    numbers: dict[str, Number] = {
        "changed_on": changed_on,
        "sites": ", ".join(leaving),
        "monthly_fee": whole,
        "fee_part": part,
        "ownership": ownership,
        "subscription_last_day": subscription_last_day,
        "penalty_8_1c": penalty,
    }
    why_bg = (
        f"неустойка по т. 8.1в 2 × {part} = {penalty} EUR"
        if penalty
        else "без неустойка (т. 8.1в е само за смяна на собственост преди края на абонамента)"
    )
    why_en = (
        f"penalty under 8.1c 2 × {part} = {penalty} EUR"
        if penalty
        else "no penalty (8.1c is for a change of ownership before the subscription ends)"
    )
    if not remaining:
        numbers["ends_on"] = changed_on
        return Decision(
            value=Outcome(ends_on=changed_on, charges=charges),
            clause="7.1h",
            reason_bg=f"Промяна в собствеността/ползването на всички обекти: договорът се "
            f"прекратява на {changed_on.isoformat()}; {why_bg}.",
            reason_en=f"All sites changed owner or user: the contract ends on "
            f"{changed_on.isoformat()}; {why_en}.",
            numbers=numbers,
        )
    new_fee = cents(whole - part)
    from_month = first_of_next_month(changed_on)
    numbers.update({"new_monthly_fee": new_fee, "fee_reduced_from": from_month})
    return Decision(
        value=Outcome(
            ends_on=None,
            charges=charges,
            continues_for=remaining,
            new_monthly_fee=new_fee,
            fee_reduced_from=from_month,
        ),
        clause="7.1h",
        reason_bg=f"Промяна за част от обектите ({', '.join(leaving)}): договорът продължава "
        f"за останалите с месечна такса {whole} - {part} = {new_fee} EUR от "
        f"{from_month.strftime('%m.%Y')}; {why_bg}.",
        reason_en=f"Only some sites changed ({', '.join(leaving)}): the contract goes on for "
        f"the others with a monthly fee of {whole} - {part} = {new_fee} EUR from "
        f"{from_month.strftime('%Y-%m')}; {why_en}.",
        numbers=numbers,
    )


# ---------------------------------------------------------------- 7.6, 7.7


def after_termination(ends_on: dt.date) -> Decision[dt.date]:
    """7.6 / 7.7: the service stops after the contract's last day; the customer must give
    access for dismantling, and a handover protocol (Appendix 2) is signed."""
    stops = ends_on + dt.timedelta(days=1)
    return Decision(
        value=stops,
        clause="7.6",
        reason_bg=f"Услугата се преустановява от {stops.isoformat()}; потребителят осигурява "
        "достъп за демонтаж (т. 7.7), подписва се приемо-предавателен протокол (Приложение 2).",
        reason_en=f"The service stops from {stops.isoformat()}; the customer gives access for "
        "dismantling (7.7) and a handover protocol (Appendix 2) is signed.",
        numbers={"ends_on": ends_on, "service_stops_on": stops},
    )
