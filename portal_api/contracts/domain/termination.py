"""How a contract ends and what each side then owes (General Terms 7.1-7.7 with 8.1, 8.2).

- 7.1 grounds: а) term expired; б) mutual consent; в) 1.5 impossible installation;
  г) force majeure lasting more than 60 days (Commerce Act art. 306); д) acts of
  state bodies limiting a party; е) death or interdiction of a natural person;
  ж) liquidation or insolvency, from the decision's entry into force;
  з) change of ownership or right of use of the sites: for some sites only, the
  contract goes on for the rest with the fee reduced by their part (8.1в).
- 7.2 the customer ends early with 14 days' written notice: the full fee of the
  month the contract ends in plus 8.1б (two monthly fees).
- 7.3 the company ends early with 14 days' written notice: it owes 8.2 (two
  monthly fees); the customer owes the fee of the last full month it had access,
  if unpaid.
- 7.4 the company ends without owing a penalty in the cases of 1.4.2, 4.4, 5.3.
- 7.5 the customer ends without penalty: а) amended General Terms, within one
  month of their entry into force (not for statutory or favourable changes);
  б) interruptions under 5.1 / 5.2 (``interruptions.termination_right``);
  в) a natural person within 14 days of an off-premises contract (Consumer
  Protection Act art. 50), paying the costs incurred if the service had started.
- 7.6 / 7.7 the service stops; the customer gives access for dismantling (8.1г).

Amounts are ``Decimal`` euro (``money``); penalties come from ``penalties``.
Monthly fee and per-site fee parts are inputs (the contract's fixed fee, 4.2).
Readings of the open points: docs/contract-rules.md, sections "7.1з" to "7.5в".
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.interruptions import Interruption, termination_right
from portal_api.contracts.domain.money import ZERO, cents
from portal_api.contracts.domain.penalties import (
    company_termination_penalty,
    equipment_damage_penalty,
    no_dismantling_access_penalty,
    termination_penalty,
)
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "FORCE_MAJEURE_DAYS",
    "NOTICE_DAYS",
    "WITHDRAWAL_DAYS",
    "Ground",
    "Outcome",
    "after_termination",
    "amended_terms_termination",
    "company_early_termination",
    "company_termination_without_penalty",
    "customer_early_termination",
    "dismantling_access_penalty",
    "ended_by",
    "equipment_damage",
    "interruptions_termination",
    "off_premises_withdrawal",
    "ownership_change",
]

NOTICE_DAYS = 14  # 7.2, 7.3
WITHDRAWAL_DAYS = 14  # 7.5в, Consumer Protection Act art. 50
FORCE_MAJEURE_DAYS = 60  # 7.1г
TWO = Decimal(2)


class Ground(StrEnum):
    """The grounds of 7.1 that end the contract by themselves (з is ``ownership_change``)."""

    TERM_EXPIRED = "7.1a"
    MUTUAL_CONSENT = "7.1b"
    IMPOSSIBLE_INSTALLATION = "7.1c"
    FORCE_MAJEURE = "7.1d"
    STATE_ACT = "7.1e"
    DEATH_OR_INCAPACITY = "7.1f"
    LIQUIDATION_OR_INSOLVENCY = "7.1g"


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


def _fee(what: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise RuleError(f"{what} is a non-negative Decimal amount, got {value!r}")
    return value


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=_calendar.monthrange(day.year, day.month)[1])


def _add_months(day: dt.date, months: int) -> dt.date:
    """ЗЗД art. 72(2): the same day of the month ``months`` later, or that month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _act_deadline(last: dt.date, calendar: WorkingDays) -> dt.date:
    """ЗЗД art. 72(3): a period for an act ending on a non-working day ends on the next
    working day (docs/contract-rules.md "7.5")."""
    return last if calendar.is_working_day(last) else calendar.next_working_day(last)


# ---------------------------------------------------------------- 7.1 а-ж


_GROUND_TEXT: dict[Ground, tuple[str, str]] = {
    Ground.TERM_EXPIRED: ("изтичане на срока на абонамента", "the subscription term expired"),
    Ground.MUTUAL_CONSENT: ("взаимно съгласие на страните", "mutual consent"),
    Ground.IMPOSSIBLE_INSTALLATION: (
        "невъзможност за инсталация (т. 1.5, констативен протокол)",
        "installation impossible (1.5, statement of findings)",
    ),
    Ground.FORCE_MAJEURE: (
        "непреодолима сила за повече от 60 дни (чл. 306 ТЗ)",
        "force majeure for more than 60 days (Commerce Act art. 306)",
    ),
    Ground.STATE_ACT: (
        "акт на компетентен държавен орган, ограничаващ страна",
        "an act of a competent state body limiting a party",
    ),
    Ground.DEATH_OR_INCAPACITY: (
        "смърт или поставяне под запрещение на потребителя - физическо лице",
        "death or interdiction of the customer, a natural person",
    ),
    Ground.LIQUIDATION_OR_INSOLVENCY: (
        "ликвидация или несъстоятелност на страна, от влизане в сила на решението",
        "liquidation or insolvency of a party, from the decision's entry into force",
    ),
}


def ended_by(
    ground: Ground,
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
    bg, en = _GROUND_TEXT[ground]
    numbers: dict[str, Number] = {"ground": str(ground), "event_on": event_on}
    ends_on = event_on
    if ground is Ground.FORCE_MAJEURE:
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
            return Decision(
                value=Outcome(ends_on=None),
                clause=str(ground),
                reason_bg=f"Непреодолимата сила от {event_on.isoformat()} не е продължила повече "
                f"от 60 дни (договорът би се прекратил на {ends_on.isoformat()}).",
                reason_en=f"The force majeure since {event_on.isoformat()} has not lasted more "
                f"than 60 days (the contract would end on {ends_on.isoformat()}).",
                allowed=False,
                numbers=numbers,
            )
    if ground is Ground.DEATH_OR_INCAPACITY and not natural_person:
        return Decision(
            value=Outcome(ends_on=None),
            clause=str(ground),
            reason_bg="Основанието по т. 7.1е се отнася само за потребител - физическо лице.",
            reason_en="The ground of 7.1е applies only to a customer who is a natural person.",
            allowed=False,
            numbers=numbers,
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
    fees = {s: _fee(f"the fee part of {s}", v) for s, v in site_fees.items()}
    whole = cents(sum(fees.values(), ZERO))
    part = cents(sum((fees[s] for s in leaving), ZERO))
    remaining = tuple(sorted(s for s in fees if s not in leaving))
    early = changed_on < subscription_last_day
    penalty = cents(TWO * part) if ownership and early else ZERO
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
    from_month = _next_month(changed_on)
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


# ---------------------------------------------------------------- 7.2, 7.3


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
    fee = _fee("the monthly fee", monthly_fee)
    ends_on = notice_received_on + dt.timedelta(days=NOTICE_DAYS)
    if requested_end is not None and requested_end > ends_on:
        ends_on = requested_end
    if ends_on >= subscription_last_day:
        return _not_early(ends_on, subscription_last_day, "7.2")
    month = _month(ends_on)
    free = first_fee_month is not None and month < _month(first_fee_month)
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
    fee = _fee("the monthly fee", monthly_fee)
    ends_on = notice_received_on + dt.timedelta(days=NOTICE_DAYS)
    if ends_on >= subscription_last_day:
        return _not_early(ends_on, subscription_last_day, "7.3")
    access = access_until if access_until is not None else ends_on
    full = (
        _month(access)
        if access == _month_end(access)
        else _month(_month(access) - dt.timedelta(days=1))
    )
    free = first_fee_month is not None and full < _month(first_fee_month)
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
    fee = _fee("the monthly fee", monthly_fee)
    if basis not in _WITHOUT_PENALTY:
        return Decision(
            value=Outcome(ends_on=None),
            clause="7.4",
            reason_bg=f"Т. 7.4 обхваща само т. 1.4.2, 4.4 и 5.3, не т. {basis}: предсрочното "
            "прекратяване от дружеството е по т. 7.3 с неустойка по т. 8.2.",
            reason_en=f"7.4 covers only 1.4.2, 4.4 and 5.3, not {basis}: an early end by the "
            "company falls under 7.3 with the penalty of 8.2.",
            allowed=False,
            numbers={"basis": basis},
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


# ---------------------------------------------------------------- 7.5


def amended_terms_termination(
    in_force_on: dt.date,
    requested_on: dt.date,
    calendar: WorkingDays,
    *,
    statutory_or_authority: bool = False,
    favourable_or_not_affecting: bool = False,
) -> Decision[Outcome]:
    """7.5а and the preamble: a customer who disagrees with amended General Terms may end
    the contract without penalty by a written request within one month of their
    entry into force; not for changes required by law or an authority, or more
    favourable or not affecting the use of the Service.

    The month ends on the same day of the next month (ЗЗД art. 72(2); 31 January
    -> 28/29 February), moved to the next working day if that is a day off (art. 72(3)).
    """
    last = _act_deadline(_add_months(in_force_on, 1), calendar)
    numbers: dict[str, Number] = {
        "in_force_on": in_force_on,
        "requested_on": requested_on,
        "deadline": last,
        "statutory_or_authority": statutory_or_authority,
        "favourable_or_not_affecting": favourable_or_not_affecting,
    }
    if statutory_or_authority or favourable_or_not_affecting:
        return Decision(
            value=Outcome(ends_on=None),
            clause="7.5a",
            reason_bg="Промените произтичат от закона или акт на орган, или са по-благоприятни/"
            "не засягат ползването: няма право на прекратяване без неустойка.",
            reason_en="The changes come from the law or an authority, or are favourable / do "
            "not affect the use: no right to end without penalty.",
            allowed=False,
            numbers=numbers,
        )
    if requested_on < in_force_on or requested_on > last:
        return Decision(
            value=Outcome(ends_on=None),
            clause="7.5a",
            reason_bg=f"Искането от {requested_on.isoformat()} е извън срока от "
            f"{in_force_on.isoformat()} до {last.isoformat()}.",
            reason_en=f"The request of {requested_on.isoformat()} is outside the period from "
            f"{in_force_on.isoformat()} to {last.isoformat()}.",
            allowed=False,
            numbers=numbers,
        )
    return Decision(
        value=Outcome(ends_on=requested_on),
        clause="7.5a",
        reason_bg=f"Несъгласие с изменените Общи условия, заявено в срок (до {last.isoformat()}): "
        "прекратяване без неустойки и санкции.",
        reason_en=f"Disagreement with the amended General Terms, stated in time (by "
        f"{last.isoformat()}): the contract ends without penalty.",
        numbers=numbers,
    )


def interruptions_termination(
    interruptions: Iterable[Interruption],
    calendar: WorkingDays,
    as_of: dt.datetime | None = None,
) -> Decision[bool]:
    """7.5б: the customer may end without penalty in the cases of 5.1 and 5.2, having
    notified the company of the interruptions (see ``interruptions.termination_right``)."""
    return termination_right(interruptions, calendar, as_of)


def off_premises_withdrawal(
    signed_on: dt.date,
    notice_sent_on: dt.date,
    calendar: WorkingDays,
    *,
    natural_person: bool,
    off_premises: bool,
    service_started: bool,
    costs_incurred: Decimal = ZERO,
) -> Decision[Outcome]:
    """7.5в, Consumer Protection Act art. 50: a natural person who signed outside the
    company's service centres may withdraw within 14 days of signing (the day of
    signing not counted; a last day off moves to the next working day, ЗЗД
    art. 72(3)), by written notice sent by post or e-mail; the notice counts when
    sent. If the service had started, the costs incurred until then are owed.
    """
    costs = _fee("the costs incurred", costs_incurred)
    last = _act_deadline(signed_on + dt.timedelta(days=WITHDRAWAL_DAYS), calendar)
    numbers: dict[str, Number] = {
        "signed_on": signed_on,
        "notice_sent_on": notice_sent_on,
        "deadline": last,
        "natural_person": natural_person,
        "off_premises": off_premises,
        "service_started": service_started,
    }
    if not (natural_person and off_premises):
        return Decision(
            value=Outcome(ends_on=None),
            clause="7.5c",
            reason_bg="Правото на отказ по т. 7.5в е само за физическо лице с договор, сключен "
            "извън центровете за обслужване.",
            reason_en="The withdrawal right of 7.5c is only for a natural person whose contract "
            "was signed outside the service centres.",
            allowed=False,
            numbers=numbers,
        )
    if notice_sent_on < signed_on or notice_sent_on > last:
        return Decision(
            value=Outcome(ends_on=None),
            clause="7.5c",
            reason_bg=f"Уведомлението от {notice_sent_on.isoformat()} е след 14-дневния срок "
            f"(до {last.isoformat()}).",
            reason_en=f"The notice of {notice_sent_on.isoformat()} is after the 14-day period "
            f"(until {last.isoformat()}).",
            allowed=False,
            numbers=numbers,
        )
    owed = cents(costs) if service_started else ZERO
    numbers["costs_owed"] = owed
    outcome = Outcome(ends_on=notice_sent_on, charges=(("costs_incurred", owed),) if owed else ())
    return Decision(
        value=outcome,
        clause="7.5c",
        reason_bg=f"Отказ в 14-дневния срок (до {last.isoformat()}) по чл. 50 ЗЗП: без неустойка"
        + (f"; дължат се възникналите разходи {owed} EUR." if service_started else "."),
        reason_en=f"Withdrawal within the 14 days (until {last.isoformat()}) under Consumer "
        "Protection Act art. 50: no penalty"
        + (f"; the costs incurred {owed} EUR are owed." if service_started else "."),
        numbers=numbers,
    )


# ---------------------------------------------------------------- 7.6, 7.7, 8.1а, 8.1г


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


def dismantling_access_penalty(
    equipment_value: Decimal,
    request_sent_on: dt.date,
    today: dt.date,
    calendar: WorkingDays,
    access_given_on: dt.date | None = None,
) -> Decision[Decimal]:
    """7.7 / 8.1г: no access for dismantling within 14 calendar days of the written request
    -> 200 % of the equipment's value (``penalties.no_dismantling_access_penalty``)."""
    return no_dismantling_access_penalty(
        equipment_value, request_sent_on, today, calendar, access_given_on
    )


def equipment_damage(damaged_value: Decimal, replacement_costs: Decimal) -> Decision[Decimal]:
    """8.1а (1.4.3): damaged equipment -> 200 % of its value plus all replacement costs."""
    return equipment_damage_penalty(damaged_value, replacement_costs, ground="1.4.3")
