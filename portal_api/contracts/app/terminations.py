"""Ending a contract and charging for its end (General Terms 7.1-7.7, 8.1, 8.2; ЗЗП art. 50).

- :func:`quote` — what ending on a ground would do and cost; changes nothing.
- :func:`terminate` — staff (CONTRACTS_MANAGE) apply it: the life cycle moves
  (``lifecycle.apply``), the end and its money are logged as applied decisions
  (a TERMINATION record with the rule's explanation; a PENALTY record with the
  charges the customer owes and the credits the company owes, 8.1 / 8.2), all
  audited, in the caller's transaction. An end later than today (7.2 / 7.3: the
  14 days' notice) is logged as *scheduled*; the daily run applies it on its day
  (``daily_terminations``), so the customer keeps the service until then.
- :func:`give_notice` — the customer's own 7.2 notice or 7.5c withdrawal, logged
  as a TERMINATION proposal with its quote: staff confirm it in the queue
  (``decisions.confirm``), which calls :func:`terminate` with the stored facts.
- :func:`terminate_for_non_payment` — the confirmed 4.4 / 7.4 proposal with 8.1b.

A "may" of the company is never applied without a staff member's act; only
7.1a (the term ran out) is applied by the engine (``daily_terminations``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from portal_api.contracts.app.contracts_common import Actor, ContractAppError, refused
from portal_api.contracts.app.decisions_store import audit_contract, record_applied
from portal_api.contracts.app.terminations_facts import (
    CUSTOMER_GROUNDS,
    ENDED_BY,
    Facts,
    Ground,
    facts_numbers,
)
from portal_api.contracts.app.terminations_quote import (
    ContractContext,
    Quote,
    fee_on,
    load_context,
    quote_for,
)
from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import TerminationGround
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.decision import Decision, Number
from portal_api.contracts.domain.early_termination import company_termination_without_penalty
from portal_api.contracts.domain.lifecycle import Event, Terminate, apply
from portal_api.contracts.domain.termination import Outcome
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "Applied",
    "apply_termination_on",
    "give_notice",
    "quote",
    "terminate",
    "terminate_for_non_payment",
]

G = TerminationGround
# The life cycle's ground for each staff ground that ends the contract.
_LIFECYCLE: dict[Ground, TerminationGround] = {
    **ENDED_BY,
    Ground.OWNERSHIP_CHANGE: G.CHANGE_OF_OWNERSHIP,
    Ground.CUSTOMER_EARLY: G.CUSTOMER_EARLY,
    Ground.COMPANY_EARLY: G.COMPANY_EARLY,
    Ground.WITHDRAWAL: G.OFF_PREMISES_WITHDRAWAL,
    Ground.EQUIPMENT_DAMAGE: G.CUSTOMER_DAMAGE,
}


@dataclass(frozen=True)
class Applied:
    """What :func:`terminate` did: the quote it applied and the decisions it logged."""

    quote: Quote
    state: str
    scheduled: bool
    termination_id: int | None
    penalty_id: int | None


def quote(
    session: Session, contract_number: str, facts: Facts, *, today: dt.date, calendar: WorkingDays
) -> Quote:
    """What ending ``contract_number`` on ``facts`` would do and cost; nothing changes."""
    context = load_context(session, contract_number)
    return quote_for(session, context, facts, today=today, calendar=calendar)


def _charges_decision(rule: Decision[Outcome], subject_clause: str) -> Decision[Decimal]:
    """The money of an end as one decision: its charges, credits and the rule's reasons."""
    outcome = rule.value
    numbers: dict[str, Number] = {f"charge_{what}": amount for what, amount in outcome.charges}
    numbers.update({f"credit_{what}": amount for what, amount in outcome.credits})
    numbers.update(
        customer_owes=outcome.customer_owes,
        company_owes=outcome.company_owes,
        clauses=", ".join(w for w, _ in (*outcome.charges, *outcome.credits)),
        of=subject_clause,
    )
    return Decision(
        value=outcome.customer_owes,
        clause=rule.clause,
        reason_bg=rule.reason_bg,
        reason_en=rule.reason_en,
        numbers=numbers,
    )


def _record_money(
    session: Session,
    number: str,
    rule: Decision[Outcome],
    subject: str,
    on: dt.date,
    *,
    at: dt.datetime,
    user_id: int | None,
) -> int | None:
    """8.1 / 8.2: the charges and credits of an end, logged as a confirmed PENALTY decision."""
    outcome = rule.value
    if not outcome.charges and not outcome.credits:
        return None
    if outcome.customer_owes == 0 and outcome.company_owes == 0:
        return None
    return record_applied(
        session,
        number,
        DecisionKind.PENALTY_PROPOSED,
        subject,
        on=on,
        decision=_charges_decision(rule, subject),
        at=at,
        user_id=user_id,
    )


def apply_termination_on(
    session: Session, record: ContractRecord, ground: TerminationGround, ends_on: dt.date
) -> Decision[Any]:
    """``lifecycle.apply(Terminate(ground))`` on ``ends_on`` and save; the life cycle's answer."""
    moved = apply(record.contract, Terminate(ground), ends_on)
    if moved.allowed:
        ContractRepository(session).save_contract(
            ContractRecord(
                moved.value,
                record.customer_id,
                price_list_id=record.price_list_id,
                free_months=record.free_months,
                left_on=record.left_on,
                id=record.id,
            )
        )
    return moved


def _leave_sites(session: Session, context: ContractContext, quote: Quote) -> None:
    """7.1з, some sites: they leave on the day of the change; the fee drops from next month."""
    record = context.record
    leaving = set(record.contract.sites) - set(
        s for s in record.contract.sites if s.site_id in quote.outcome.continues_for
    )
    left_on = dict(record.left_on)
    for site in leaving:
        left_on.setdefault(site.site_id, quote.facts.on)
    ContractRepository(session).save_contract(
        ContractRecord(
            record.contract,
            record.customer_id,
            price_list_id=record.price_list_id,
            free_months=record.free_months,
            left_on=left_on,
            id=record.id,
        )
    )


def terminate(
    session: Session,
    contract_number: str,
    facts: Facts,
    *,
    actor: Actor,
    now: dt.datetime,
    calendar: WorkingDays,
) -> Applied:
    """Staff apply the end of ``facts`` (see the module docstring); 409 when a rule refuses."""
    today = local_date(now)
    context = load_context(session, contract_number)
    found = quote_for(session, context, facts, today=today, calendar=calendar)
    if not found.allowed:
        raise refused(found.refusal)
    record = context.record
    ends_on = found.ends_on
    scheduled = False
    subject = f"{facts.ground.value}:{facts.on.isoformat()}"
    if facts.ground is Ground.DISMANTLING:
        if facts.access_given_on is not None:
            moved = apply(record.contract, Event.DISMANTLED, facts.access_given_on)
            if not moved.allowed:
                raise refused(moved)
            ContractRepository(session).save_contract(
                ContractRecord(
                    moved.value,
                    record.customer_id,
                    price_list_id=record.price_list_id,
                    free_months=record.free_months,
                    left_on=record.left_on,
                    id=record.id,
                )
            )
    elif facts.ground is Ground.OWNERSHIP_CHANGE and ends_on is None:
        _leave_sites(session, context, found)
    elif ends_on is not None and facts.ground in _LIFECYCLE:
        if ends_on > today:
            scheduled = True  # 7.2 / 7.3: the service goes on until the notice runs out
        else:
            moved = apply_termination_on(session, record, _LIFECYCLE[facts.ground], ends_on)
            if not moved.allowed:
                raise refused(moved)
    numbers: dict[str, Number] = {
        **found.rule.numbers,
        **facts_numbers(facts),
        "scheduled": scheduled,
        "ends_on": ends_on,
        "lifecycle_ground": (
            _LIFECYCLE[facts.ground].value if facts.ground in _LIFECYCLE else None
        ),
    }
    logged = Decision(
        value=ends_on,
        clause=found.rule.clause,
        reason_bg=found.rule.reason_bg,
        reason_en=found.rule.reason_en,
        numbers=numbers,
    )
    kind = (
        DecisionKind.PENALTY_PROPOSED
        if facts.ground is Ground.DISMANTLING
        or (facts.ground is Ground.EQUIPMENT_DAMAGE and not facts.terminate)
        else DecisionKind.TERMINATION_PROPOSED
    )
    termination_id = None
    if kind is DecisionKind.TERMINATION_PROPOSED:
        termination_id = record_applied(
            session,
            contract_number,
            kind,
            subject,
            on=today,
            decision=logged,
            at=now,
            user_id=actor.user_id,
        )
        if termination_id is None:
            raise ContractAppError(
                409,
                "Това прекратяване вече е записано.",
                "This termination is already recorded.",
            )
    penalty_id = _record_money(
        session,
        contract_number,
        found.rule,
        f"money:{subject}",
        today,
        at=now,
        user_id=actor.user_id,
    )
    audit_contract(
        session,
        at=now,
        actor=actor,
        action=(
            "contract.terminate"
            if termination_id is not None
            else "contract.dismantling"
            if facts.ground is Ground.DISMANTLING
            else "contract.charge"
        ),
        number=contract_number,
        detail={
            "ground": facts.ground.value,
            "clause": found.rule.clause,
            "ends_on": None if ends_on is None else ends_on.isoformat(),
            "scheduled": scheduled,
            "customer_owes": str(found.outcome.customer_owes),
            "company_owes": str(found.outcome.company_owes),
        },
    )
    state = ContractRepository(session).contract(contract_number)
    assert state is not None
    return Applied(found, state.contract.state.value, scheduled, termination_id, penalty_id)


def give_notice(
    session: Session,
    contract_number: str,
    facts: Facts,
    *,
    user_id: int,
    now: dt.datetime,
    calendar: WorkingDays,
) -> tuple[int, Quote]:
    """7.2 / 7.5c: the customer's notice, logged as a proposal staff confirm; 409 if refused.

    The caller has checked that the contract is the customer's own (OWN_DATA).
    """
    if facts.ground not in CUSTOMER_GROUNDS:
        raise ContractAppError(
            400,
            "Клиентът може да даде само предизвестие (т. 7.2) или отказ (т. 7.5в).",
            "A customer may only give notice (7.2) or withdraw (7.5c).",
        )
    today = local_date(now)
    found = quote(session, contract_number, facts, today=today, calendar=calendar)
    if not found.allowed:
        raise refused(found.refusal)
    proposal = Decision(
        value=found.ends_on,
        clause=found.rule.clause,
        reason_bg=found.rule.reason_bg,
        reason_en=found.rule.reason_en,
        numbers={**found.rule.numbers, **facts_numbers(facts), "notice": True},
    )
    decision_id = EventRepository(session).propose(
        contract_number,
        DecisionKind.TERMINATION_PROPOSED,
        f"notice:{facts.ground.value}:{facts.on.isoformat()}",
        today,
        proposal,
    )
    if decision_id is None:
        raise ContractAppError(
            409,
            "Вече сте подали такова уведомление днес.",
            "You have already given this notice today.",
        )
    audit_contract(
        session,
        at=now,
        actor=Actor(user_id),
        action="contract.termination_notice",
        number=contract_number,
        detail={"ground": facts.ground.value, "decision_id": decision_id},
    )
    return decision_id, found


def terminate_for_non_payment(
    session: Session,
    contract_number: str,
    invoice_number: str,
    *,
    actor: Actor,
    now: dt.datetime,
) -> Decision[Outcome]:
    """4.4 / 7.4 with 8.1b: the confirmed proposal ends the contract today, the penalty owed.

    The caller re-checked that the invoice is still more than 45 days late.
    """
    today = local_date(now)
    context = load_context(session, contract_number)
    fee = fee_on(session, context, today).total
    rule = company_termination_without_penalty("4.4", fee)
    moved = apply_termination_on(session, context.record, G.NON_PAYMENT, today)
    if not moved.allowed:
        raise refused(moved)
    rule = Decision(
        value=Outcome(ends_on=today, charges=rule.value.charges),
        clause=rule.clause,
        reason_bg=rule.reason_bg,
        reason_en=rule.reason_en,
        numbers={**rule.numbers, "invoice": invoice_number, "ends_on": today},
    )
    _record_money(
        session,
        contract_number,
        rule,
        f"money:non_payment:{invoice_number}",
        today,
        at=now,
        user_id=actor.user_id,
    )
    audit_contract(
        session,
        at=now,
        actor=actor,
        action="contract.terminate",
        number=contract_number,
        detail={"ground": "non_payment", "clause": "7.4", "invoice": invoice_number},
    )
    return rule
