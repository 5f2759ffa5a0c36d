"""API shapes of the decisions queue and of terminations (4.4, 7.1-7.7, 8.1, 8.2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.contracts.app.contracts_common import ContractAppError
from portal_api.contracts.app.terminations import Applied
from portal_api.contracts.app.terminations_facts import Facts, Ground
from portal_api.contracts.app.terminations_quote import Quote
from portal_api.contracts.db.records import DecisionRecord
from portal_api.contracts.domain.money import ZERO

__all__ = [
    "DecisionOut",
    "NoticeIn",
    "NoticeOut",
    "QuoteOut",
    "Reasons",
    "RefusalOut",
    "TerminationIn",
    "TerminationOut",
    "decision_out",
    "quote_out",
    "refusal_body",
]

Euro = Decimal


class Reasons(BaseModel):
    bg: str
    en: str


class RefusalOut(BaseModel):
    """Why the General Terms or the contract's state refuse: both languages, the rule's numbers."""

    detail: str
    reason: Reasons
    explanation: dict[str, Any] | None = None


def refusal_body(error: ContractAppError) -> dict[str, object]:
    return RefusalOut(
        detail=error.reason_en,
        reason=Reasons(bg=error.reason_bg, en=error.reason_en),
        explanation=error.explanation,
    ).model_dump(mode="json")


class DecisionOut(BaseModel):
    """A proposal (or an applied record) with the engine's explanation in both languages."""

    id: int
    contract_number: str
    kind: str
    subject: str
    clause: str
    proposed_on: dt.date
    state: str
    reason: Reasons
    numbers: dict[str, Any]
    explanation: dict[str, Any]
    decided_by: int | None
    decided_at: dt.datetime | None


def decision_out(record: DecisionRecord) -> DecisionOut:
    explanation: dict[str, Any] = dict(record.explanation)
    reason = explanation.get("reason")
    numbers = explanation.get("numbers")
    reason = reason if isinstance(reason, dict) else {}
    numbers = numbers if isinstance(numbers, dict) else {}
    assert record.id is not None
    return DecisionOut(
        id=record.id,
        contract_number=record.contract_number,
        kind=record.kind.value,
        subject=record.subject,
        clause=record.clause,
        proposed_on=record.proposed_on,
        state=record.state.value,
        reason=Reasons(bg=str(reason.get("bg", "")), en=str(reason.get("en", ""))),
        numbers=dict(numbers),
        explanation=explanation,
        decided_by=record.decided_by,
        decided_at=record.decided_at,
    )


class TerminationIn(BaseModel):
    """A ground and its facts (see ``app.terminations_facts`` for what ``on`` means per ground)."""

    model_config = ConfigDict(extra="forbid")

    ground: Ground
    on: dt.date | None = Field(None, description="the ground's day; today when left out")
    requested_end: dt.date | None = Field(None, description="7.2: a later end asked for")
    sites: list[str] = Field(default_factory=list, description="7.1з: the sites that changed")
    ownership: bool = Field(True, description="7.1з: owner changed (8.1c) or only the user")
    amount: Euro | None = Field(
        None, ge=0, max_digits=12, decimal_places=2, description="7.5c costs; 8.1a/d value"
    )
    replacement_costs: Euro = Field(ZERO, ge=0, max_digits=12, decimal_places=2)
    access_given_on: dt.date | None = Field(None, description="7.7 / 8.1d")
    ended_on: dt.date | None = Field(None, description="7.1d: force majeure ended")
    terminate: bool = Field(True, description="5.3: end the contract too (7.4)")

    def facts(self, today: dt.date) -> Facts:
        return Facts(
            ground=self.ground,
            on=self.on or today,
            requested_end=self.requested_end,
            sites=tuple(self.sites),
            ownership=self.ownership,
            amount=self.amount,
            replacement_costs=self.replacement_costs,
            access_given_on=self.access_given_on,
            ended_on=self.ended_on,
            terminate=self.terminate,
        )


class Money(BaseModel):
    what: str
    amount: Euro


class QuoteOut(BaseModel):
    """What the end would do and cost; ``rule``/``state`` are the explanations behind it."""

    contract_number: str
    ground: str
    allowed: bool
    ends_on: dt.date | None
    monthly_fee: Euro
    charges: list[Money]
    credits: list[Money]
    customer_owes: Euro
    company_owes: Euro
    continues_for: list[str]
    new_monthly_fee: Euro | None
    reason: Reasons
    notes: list[Reasons]
    rule: dict[str, Any]
    state: dict[str, Any] | None


def quote_out(quote: Quote) -> QuoteOut:
    plain = quote.explain()
    outcome = quote.outcome
    refusal = quote.refusal
    return QuoteOut(
        contract_number=quote.contract_number,
        ground=quote.facts.ground.value,
        allowed=quote.allowed,
        ends_on=outcome.ends_on,
        monthly_fee=quote.monthly_fee,
        charges=[Money(what=w, amount=a) for w, a in outcome.charges],
        credits=[Money(what=w, amount=a) for w, a in outcome.credits],
        customer_owes=outcome.customer_owes,
        company_owes=outcome.company_owes,
        continues_for=list(outcome.continues_for),
        new_monthly_fee=outcome.new_monthly_fee,
        reason=Reasons(bg=refusal.reason_bg, en=refusal.reason_en),
        notes=[Reasons(bg=bg, en=en) for bg, en in quote.notes],
        rule=plain["rule"],
        state=plain["state"],
    )


class TerminationOut(BaseModel):
    quote: QuoteOut
    contract_state: str
    scheduled: bool = Field(description="the end is later than today: applied on its day")
    termination_id: int | None
    penalty_id: int | None


def termination_out(applied: Applied) -> TerminationOut:
    return TerminationOut(
        quote=quote_out(applied.quote),
        contract_state=applied.state,
        scheduled=applied.scheduled,
        termination_id=applied.termination_id,
        penalty_id=applied.penalty_id,
    )


class NoticeIn(BaseModel):
    """The customer's 14 days' notice (7.2) or withdrawal (7.5c), counted from today."""

    model_config = ConfigDict(extra="forbid")

    ground: Literal["customer_early", "withdrawal"]
    requested_end: dt.date | None = None


class NoticeOut(BaseModel):
    decision_id: int
    quote: QuoteOut
