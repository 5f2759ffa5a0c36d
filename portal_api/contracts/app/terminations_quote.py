"""What ending a contract on a ground would cost, and whether it may end so (7.1-7.7, 8.1, 8.2).

A :class:`Quote` changes nothing: it joins the money rule of the ground (the
domain's ``termination``, ``early_termination``, ``customer_termination_rights``
and ``penalties``) with the life cycle's check of the contract's state
(``lifecycle.transition``), so that staff read the cost before they confirm and
a customer reads it before giving notice. The monthly fee is the contract's fee
for its sites on the day (4.1, fixed for the term, 4.2; sites that left under
7.1з no longer count). A month already invoiced is not charged again as the
"last month" of 7.2 / 7.3: its fee is owed through its invoice (4.3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from portal_api.contracts.app.contracts_common import ContractAppError
from portal_api.contracts.app.terminations_facts import ENDED_BY, Facts, Ground
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.enums import InvoiceState
from portal_api.contracts.db.mapping import explanation
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import ContractState, CustomerKind, TerminationGround
from portal_api.contracts.domain.customer_termination_rights import off_premises_withdrawal
from portal_api.contracts.domain.dates import first_of_month
from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.early_termination import (
    company_early_termination,
    company_termination_without_penalty,
    customer_early_termination,
)
from portal_api.contracts.domain.fees import FeeBreakdown, monthly_fee
from portal_api.contracts.domain.lifecycle import Event, Terminate, transition
from portal_api.contracts.domain.money import ZERO, cents
from portal_api.contracts.domain.penalties import no_dismantling_access_penalty
from portal_api.contracts.domain.term import subscription_end
from portal_api.contracts.domain.termination import Outcome, ended_by, ownership_change, refused
from portal_api.domain.workdays import WorkingDays

__all__ = ["ContractContext", "Quote", "load_context", "quote_for"]

G = TerminationGround


@dataclass(frozen=True)
class ContractContext:
    """A contract with what its end depends on: the fee, the term, the invoiced months."""

    record: ContractRecord
    prices_id: int
    subscription_last_day: dt.date | None
    invoiced_months: frozenset[dt.date]

    @property
    def number(self) -> str:
        return self.record.contract.number


def load_context(session: Session, contract_number: str) -> ContractContext:
    """The contract ``contract_number``; a 404 refusal when there is none."""
    record = ContractRepository(session).contract(contract_number)
    if record is None:
        raise ContractAppError(
            404, f"Няма договор {contract_number}.", f"There is no contract {contract_number}."
        )
    if record.price_list_id is None:
        raise ContractAppError(
            409,
            "Договорът няма ценоразпис (т. 4.2): таксата не може да се изчисли.",
            "The contract keeps no price list (4.2): its fee cannot be computed.",
        )
    contract = record.contract
    last_day = contract.subscription_end
    if contract.subscription_start is not None:
        # 2.2 with the free months of 5.1 / 5.2, like the daily run's expiry notice.
        last_day = subscription_end(
            contract.subscription_start, contract.period_months, record.free_months
        ).value
    invoiced = frozenset(
        item.invoice.month
        for item in BillingRepository(session).invoices(contract_number)
        if item.state is not InvoiceState.CANCELLED
    )
    return ContractContext(record, record.price_list_id, last_day, invoiced)


def fee_on(session: Session, context: ContractContext, day: dt.date) -> FeeBreakdown:
    """4.1: the monthly fee of the sites still in the contract on ``day`` (7.1з)."""
    prices = ContractRepository(session).price_list(context.prices_id)
    sites = context.record.sites_on(day)
    if not sites:
        raise ContractAppError(
            409, "По договора не остават обекти.", "No sites remain in the contract."
        )
    return monthly_fee(sites, context.record.contract.period_months, prices).value


@dataclass(frozen=True)
class Quote:
    """The money rule of the ground and the life cycle's answer, not yet applied.

    ``rule.value`` is the Outcome (end, charges, credits); ``state`` is the
    transition the contract would take (None where no state changes: some sites
    only under 7.1з, 8.1a without ending, 8.1d without access given).
    """

    contract_number: str
    facts: Facts
    rule: Decision[Outcome]
    state: Decision[ContractState] | None
    monthly_fee: Decimal
    notes: tuple[tuple[str, str], ...] = ()  # (bg, en): what the rule's text does not say

    def note_texts(self, lang: str) -> list[str]:
        return [bg if lang == "bg" else en for bg, en in self.notes]

    @property
    def allowed(self) -> bool:
        return self.rule.allowed and (self.state is None or self.state.allowed)

    @property
    def outcome(self) -> Outcome:
        return self.rule.value

    @property
    def ends_on(self) -> dt.date | None:
        return self.rule.value.ends_on

    @property
    def refusal(self) -> Decision[Any]:
        """The decision that said no: the contract's state first (nothing else matters when
        the contract cannot take that step), then the money rule; the rule when both agree."""
        if self.state is not None and not self.state.allowed:
            return self.state
        return self.rule

    def explain(self) -> dict[str, Any]:
        """JSON-able: the rule and state explanations, the sums each side owes."""
        outcome = self.outcome
        return {
            "contract_number": self.contract_number,
            "ground": self.facts.ground.value,
            "allowed": self.allowed,
            "ends_on": None if outcome.ends_on is None else outcome.ends_on.isoformat(),
            "monthly_fee": str(self.monthly_fee),
            "charges": [{"what": w, "amount": str(a)} for w, a in outcome.charges],
            "credits": [{"what": w, "amount": str(a)} for w, a in outcome.credits],
            "customer_owes": str(outcome.customer_owes),
            "company_owes": str(outcome.company_owes),
            "continues_for": list(outcome.continues_for),
            "new_monthly_fee": (
                None if outcome.new_monthly_fee is None else str(outcome.new_monthly_fee)
            ),
            "rule": explanation(self.rule),
            "state": None if self.state is None else explanation(self.state),
            "notes": [{"bg": bg, "en": en} for bg, en in self.notes],
        }


def _needs(value: object, what_bg: str, what_en: str) -> None:
    if value is None:
        raise ContractAppError(400, f"Липсва {what_bg}.", f"Missing {what_en}.")


def _last_day(context: ContractContext) -> dt.date:
    if context.subscription_last_day is None:
        raise ContractAppError(
            409,
            "Абонаментът на договора още не е започнал (т. 2.3).",
            "The contract's subscription has not started yet (2.3).",
        )
    return context.subscription_last_day


def _ended_by(context: ContractContext, facts: Facts, today: dt.date) -> Decision[Outcome]:
    ground = ENDED_BY[facts.ground]
    contract = context.record.contract
    if facts.ground is Ground.EXPIRY:
        last = _last_day(context)
        if today <= last:
            return refused(
                G.TERM_EXPIRED.value,
                f"Абонаментът изтича на {last.isoformat()}: срокът още не е изтекъл.",
                f"The subscription runs until {last.isoformat()}: the term has not run out.",
                {"subscription_last_day": last, "today": today},
            )
        return ended_by(ground, last)
    return ended_by(
        ground,
        facts.on,
        natural_person=contract.customer_kind is not CustomerKind.LEGAL_ENTITY,
        force_majeure_ended_on=facts.ended_on,
        as_of=today,
    )


def _billed(context: ContractContext, day: dt.date, today: dt.date) -> bool:
    """The fee of ``day``'s month is on its regular invoice (4.3): issued already, or a later
    month, which the daily run invoices on its 1st while the contract is still in service
    (an end after today is applied on its day, not before)."""
    month = first_of_month(day)
    first = context.record.contract.subscription_start
    if first is not None and month < first_of_month(first):
        return False  # 4.3: a free month has no invoice
    return month in context.invoiced_months or month > first_of_month(today)


def _billed_note(month: dt.date) -> tuple[str, str]:
    """Why the rule shows the month's fee as settled: it is owed through its invoice (4.3)."""
    return (
        f"Таксата за {month:%m.%Y} е по месечната фактура (т. 4.3) и не се начислява "
        "още веднъж при прекратяването.",
        f"The fee for {month:%Y-%m} is on the monthly invoice (4.3) and is not charged "
        "a second time on termination.",
    )


def _customer_early(
    context: ContractContext, facts: Facts, fee: Decimal, today: dt.date
) -> Decision[Outcome]:
    """7.2: the month of the end in full, through its invoice when it has (or will get) one."""
    contract = context.record.contract
    last = _last_day(context)
    first = contract.subscription_start
    rule = customer_early_termination(
        facts.on, fee, last, first_fee_month=first, requested_end=facts.requested_end
    )
    ends_on = rule.value.ends_on
    if rule.allowed and ends_on is not None and _billed(context, ends_on, today):
        rule = customer_early_termination(
            facts.on,
            fee,
            last,
            first_fee_month=first,
            requested_end=facts.requested_end,
            last_month_paid=True,
        )
    return rule


def _company_early(
    context: ContractContext, facts: Facts, fee: Decimal, today: dt.date
) -> Decision[Outcome]:
    """7.3: the last full month with access through its invoice; the month the contract ends
    in, if not whole, is not owed: its invoice (if any) is credited back."""
    contract = context.record.contract
    last = _last_day(context)
    first = contract.subscription_start
    rule = company_early_termination(facts.on, fee, last, first_fee_month=first)
    full = rule.numbers.get("last_full_month")
    if rule.allowed and isinstance(full, dt.date) and _billed(context, full, today):
        rule = company_early_termination(
            facts.on, fee, last, first_fee_month=first, last_full_month_paid=True
        )
    ends_on = rule.value.ends_on
    if (
        rule.allowed
        and ends_on is not None
        and isinstance(full, dt.date)
        and first_of_month(ends_on) != full
        and _billed(context, ends_on, today)
    ):
        outcome = replace(
            rule.value, credits=(*rule.value.credits, ("partial_month_invoice", cents(fee)))
        )
        numbers = {**rule.numbers, "partial_month_invoice": cents(fee)}
        rule = replace(rule, value=outcome, numbers=numbers)
    return rule


def _damage(facts: Facts, fee: Decimal) -> Decision[Outcome]:
    _needs(facts.amount, "стойността на оборудването", "the equipment value")
    rule = company_termination_without_penalty(
        "5.3", fee, damaged_equipment_value=facts.amount, damage_costs=facts.replacement_costs
    )
    ends_on = facts.on if facts.terminate else None
    return replace(rule, value=replace(rule.value, ends_on=ends_on))


def _dismantling(
    context: ContractContext, facts: Facts, today: dt.date, calendar: WorkingDays
) -> Decision[Outcome]:
    _needs(facts.amount, "стойността на оборудването", "the equipment value")
    assert facts.amount is not None
    penalty = no_dismantling_access_penalty(
        facts.amount, facts.on, today, calendar, access_given_on=facts.access_given_on
    )
    charges = (("8.1d", penalty.value),) if penalty.allowed else ()
    # Something to do: the equipment came down (7.7) or the 14 days ran out (8.1d).
    allowed = penalty.allowed or facts.access_given_on is not None
    return Decision(
        value=Outcome(ends_on=context.record.contract.terminated_on, charges=charges),
        clause=penalty.clause,
        reason_bg=penalty.reason_bg,
        reason_en=penalty.reason_en,
        allowed=allowed,
        numbers=dict(penalty.numbers),
    )


def quote_for(
    session: Session,
    context: ContractContext,
    facts: Facts,
    *,
    today: dt.date,
    calendar: WorkingDays,
) -> Quote:
    """What ending ``context``'s contract on ``facts`` would do and cost, as of ``today``."""
    contract = context.record.contract
    fee_day = min(facts.on, today) if facts.ground is not Ground.EXPIRY else today
    fee = fee_on(session, context, fee_day).total
    state: Decision[ContractState] | None
    try:
        if facts.ground in ENDED_BY:
            rule = _ended_by(context, facts, today)
            end = rule.value.ends_on or facts.on
            state = transition(contract, Terminate(ENDED_BY[facts.ground]), end)
        elif facts.ground is Ground.OWNERSHIP_CHANGE:
            parts = {s.site_id: s.total for s in fee_on(session, context, facts.on).sites}
            leaving = facts.sites or tuple(parts)
            rule = ownership_change(
                facts.on, leaving, parts, _last_day(context), ownership=facts.ownership
            )
            # Some sites only: no state change, but only a contract in force loses sites.
            state = transition(contract, Terminate(G.CHANGE_OF_OWNERSHIP), facts.on)
        elif facts.ground is Ground.CUSTOMER_EARLY:
            rule = _customer_early(context, facts, fee, today)
            state = transition(
                contract, Terminate(G.CUSTOMER_EARLY), rule.value.ends_on or facts.on
            )
        elif facts.ground is Ground.COMPANY_EARLY:
            rule = _company_early(context, facts, fee, today)
            state = transition(contract, Terminate(G.COMPANY_EARLY), rule.value.ends_on or facts.on)
        elif facts.ground is Ground.WITHDRAWAL:
            if contract.signed_on is None:
                raise ContractAppError(
                    409, "Договорът не е подписан.", "The contract has not been signed."
                )
            rule = off_premises_withdrawal(
                contract.signed_on,
                facts.on,
                calendar,
                natural_person=contract.customer_kind is CustomerKind.NATURAL_PERSON,
                off_premises=contract.off_premises,
                # The service had started once the equipment was installed (1.4.2).
                service_started=contract.installed_on is not None
                and contract.installed_on <= facts.on,
                costs_incurred=facts.amount if facts.amount is not None else ZERO,
            )
            state = transition(contract, Terminate(G.OFF_PREMISES_WITHDRAWAL), facts.on)
        elif facts.ground is Ground.EQUIPMENT_DAMAGE:
            rule = _damage(facts, fee)
            state = (
                transition(contract, Terminate(G.CUSTOMER_DAMAGE), facts.on)
                if facts.terminate
                else None
            )
        else:  # Ground.DISMANTLING
            rule = _dismantling(context, facts, today, calendar)
            state = (
                transition(contract, Event.DISMANTLED, facts.access_given_on)
                if facts.access_given_on is not None
                else None
            )
            if state is None and contract.state is not ContractState.TERMINATED:
                state = transition(contract, Event.DISMANTLED, today)  # says why not
    except RuleError as error:
        raise ContractAppError(400, str(error), str(error)) from None
    notes: tuple[tuple[str, str], ...] = ()
    month = rule.numbers.get("last_month", rule.numbers.get("last_full_month"))
    if rule.allowed and isinstance(month, dt.date) and _billed(context, month, today):
        notes = (_billed_note(month),)
    if "partial_month_invoice" in rule.numbers and rule.value.ends_on is not None:
        partial = first_of_month(rule.value.ends_on)
        notes += (
            (
                f"Договорът не е ползван през целия {partial:%m.%Y}: дружеството кредитира "
                "фактурата за този месец (т. 7.3).",
                f"The contract was not used for the whole of {partial:%Y-%m}: the company "
                "credits that month's invoice (7.3).",
            ),
        )
    return Quote(context.number, facts, rule, state, fee, notes)
