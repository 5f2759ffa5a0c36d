"""Request and response bodies of the interruptions API (General Terms 3.2, 5.1-5.3, 6.7, 7.5б).

Times are ISO 8601 with their UTC offset; a time without one is refused with 400 by
the service (pydantic alone would accept it as naive). A check is the domain's
``Decision.explain()``: clause, allowed, value, reasons in both languages, numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.contracts.app.interruptions_checks import Remedies
from portal_api.contracts.app.interruptions_views import ContractInterruptions, InterruptionView
from portal_api.contracts.domain.decision import Decision

__all__ = [
    "CheckOut",
    "InterruptionDetailOut",
    "InterruptionIn",
    "InterruptionOut",
    "InterruptionPatch",
    "RemediesOut",
    "check_out",
    "detail_out",
    "interruption_out",
]

_OFFSET = "ISO 8601 with its UTC offset, e.g. 2026-03-02T08:00:00+02:00"


class InterruptionIn(BaseModel):
    """Open an interruption (staff, permission ``interruptions``)."""

    model_config = ConfigDict(extra="forbid")

    contract_number: str = Field(max_length=32)
    kind: Literal["planned", "unplanned"]
    start: dt.datetime = Field(description=_OFFSET)
    end: dt.datetime | None = Field(
        None, description="planned: the planned end; unplanned: the end if it is over. " + _OFFSET
    )
    planned_end: dt.datetime | None = Field(
        None, description="same as end for a planned interruption (either may be given)"
    )
    sites: list[str] | None = Field(
        None, description="the contract's sites touched; omitted or empty: the whole contract"
    )
    company_fault: bool | None = Field(None, description="5.2, 6.3; default: not customer_caused")
    customer_caused: bool = Field(False, description="5.3")
    customer_obstructed: bool = Field(False, description="6.7")
    notified_at: dt.datetime | None = Field(None, description="3.2б / 3.2в. " + _OFFSET)
    detected_at: dt.datetime | None = Field(None, description="5.2: established. " + _OFFSET)
    reported_by_customer_at: dt.datetime | None = Field(None, description="5.2, 3.1г. " + _OFFSET)


class InterruptionPatch(BaseModel):
    """Change an interruption; only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    end: dt.datetime | None = Field(None, description="end it. " + _OFFSET)
    notified_at: dt.datetime | None = None
    detected_at: dt.datetime | None = None
    reported_by_customer_at: dt.datetime | None = None
    company_fault: bool | None = None
    customer_caused: bool | None = None
    customer_obstructed: bool | None = None
    sites: list[str] | None = None


class CheckOut(BaseModel):
    """One rule applied: the clause, whether it holds, why (bg, en) and its numbers."""

    clause: str
    allowed: bool
    value: Any
    reason: dict[str, str]
    numbers: dict[str, Any]


class InterruptionOut(BaseModel):
    id: int
    contract_number: str
    kind: str
    source: str
    start: dt.datetime
    end: dt.datetime | None
    lasting: bool
    whole_contract: bool
    sites: list[str]
    device_id: str | None
    company_fault: bool
    customer_caused: bool
    customer_obstructed: bool
    notified_at: dt.datetime | None
    detected_at: dt.datetime | None
    reported_by_customer_at: dt.datetime | None
    hours: str = Field(description="astronomical hours, to the hundredth (so far, if lasting)")
    working_days: str = Field(description="length in working days (5.1, 5.2)")
    touched_working_days: int
    notice_queued_at: dt.datetime | None = Field(description="the e-mail notice (3.2б / 3.2в)")
    free_month_granted: bool = Field(description="its own breach earned a free month (5.1/5.2)")
    checks: list[CheckOut]


class RemediesOut(BaseModel):
    """What the contract's interruptions give its customer."""

    free_months_granted: int
    subscription_end: dt.date | None
    free_months: CheckOut = Field(description="5.1 / 5.2: breaches as of now")
    termination_right: CheckOut = Field(description="7.5б: the customer may terminate")


class InterruptionDetailOut(InterruptionOut):
    contract: RemediesOut | None = Field(description="None before the subscription started")


def check_out(decision: Decision[Any]) -> CheckOut:
    plain = decision.explain()
    reason = plain["reason"]
    numbers = plain["numbers"]
    assert isinstance(reason, dict) and isinstance(numbers, dict)
    return CheckOut(
        clause=decision.clause,
        allowed=decision.allowed,
        value=plain["value"],
        reason={k: str(v) for k, v in reason.items()},
        numbers=numbers,
    )


def interruption_out(view: InterruptionView) -> InterruptionOut:
    item = view.item
    return InterruptionOut(
        id=view.id,
        contract_number=view.record.contract_number,
        kind=item.kind,
        source=view.record.source.value,
        start=item.start,
        end=item.end,
        lasting=item.end is None,
        whole_contract=not item.sites,
        sites=sorted(item.sites),
        device_id=item.device_id,
        company_fault=item.company_fault,
        customer_caused=item.customer_caused,
        customer_obstructed=item.customer_obstructed,
        notified_at=item.notified_at,
        detected_at=item.detected_at,
        reported_by_customer_at=item.reported_by_customer_at,
        hours=str(view.measures.hours),
        working_days=str(view.measures.working_days),
        touched_working_days=view.measures.touched_working_days,
        notice_queued_at=None if view.notice is None else view.notice.created_at,
        free_month_granted=view.free_month is not None,
        checks=[check_out(c) for c in view.checks],
    )


def _remedies(summary: ContractInterruptions, remedies: Remedies) -> RemediesOut:
    return RemediesOut(
        free_months_granted=summary.contract.free_months,
        subscription_end=summary.contract.contract.subscription_end,
        free_months=check_out(remedies.free_months),
        termination_right=check_out(remedies.termination),
    )


def detail_out(
    view: InterruptionView, summary: ContractInterruptions | None
) -> InterruptionDetailOut:
    base = interruption_out(view).model_dump()
    remedies = None
    if summary is not None and summary.remedies is not None:
        remedies = _remedies(summary, summary.remedies)
    return InterruptionDetailOut(**base, contract=remedies)
