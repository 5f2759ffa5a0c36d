"""What the contract services share: the refusal they raise, the staff actor, rule lines.

A refusal carries its reason in Bulgarian and English (the domain's Decision
reasons, or the service's own), an HTTP-like status (400 bad input, 404 no such
object, 409 the General Terms or the contract's state refuse) and, when a rule
refused, that rule's explanation (clause, reasons, numbers). Routes translate
it; nothing here knows FastAPI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal_api.accounts.audit import write_audit
from portal_api.contracts.db.mapping import explanation
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.domain.decision import Decision
from portal_api.db.models import AuditEntry
from portal_api.service_requests.follow import contract_changed

__all__ = [
    "Actor",
    "ContractAppError",
    "RuleLine",
    "audit",
    "next_contract_number",
    "refused",
]

Status = Literal[400, 404, 409]


class ContractAppError(Exception):
    """A refused operation: ``status`` says whose fault, the reasons say why (bg, en)."""

    def __init__(
        self,
        status: Status,
        reason_bg: str,
        reason_en: str,
        *,
        explanation: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(reason_en)
        self.status = status
        self.reason_bg = reason_bg
        self.reason_en = reason_en
        self.explanation = dict(explanation) if explanation is not None else None

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


def refused(decision: Decision[Any], status: Status = 409) -> ContractAppError:
    """The error for a rule that said no (``allowed=False``), with its explanation."""
    return ContractAppError(
        status, decision.reason_bg, decision.reason_en, explanation=explanation(decision)
    )


@dataclass(frozen=True)
class Actor:
    """The staff member acting (audit log) and where from; never a personal number."""

    user_id: int
    ip: str | None = None


@dataclass(frozen=True)
class RuleLine:
    """One line of a contract's account: a rule's value with its clause and reasons."""

    clause: str
    value: object
    reason_bg: str
    reason_en: str
    allowed: bool = True
    numbers: Mapping[str, Any] = field(default_factory=dict)
    plain_value: object = None  # ``value`` as JSON (dates ISO, amounts text, enums their value)

    @classmethod
    def of(cls, decision: Decision[Any]) -> RuleLine:
        plain = explanation(decision)
        return cls(
            clause=decision.clause,
            value=decision.value,
            reason_bg=decision.reason_bg,
            reason_en=decision.reason_en,
            allowed=decision.allowed,
            numbers=plain["numbers"],
            plain_value=plain["value"],
        )

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


def audit(
    session: Session,
    *,
    at: dt.datetime,
    actor: Actor,
    action: str,
    number: str,
    detail: Mapping[str, object],
) -> None:
    """Every staff change of a contract is audited (who, when, from where, what); the
    request that ordered the contract online takes the step the change means (``follow``)."""
    write_audit(
        session,
        at,
        action,
        actor_user_id=actor.user_id,
        object_type="contract",
        object_id=number,
        ip=actor.ip,
        detail=detail,
    )
    # A MyEnergy request ordered online follows its contract's life (issue 6).
    contract_changed(
        session, action=action, number=number, at=at, actor_user_id=actor.user_id, detail=detail
    )


def next_contract_number(session: Session, year: int) -> str:
    """``MYE-<year>-<nnnn>``: the year's next number never used (unique constraint backs it)."""
    prefix = f"MYE-{year}-"
    last_kept = session.scalar(
        select(func.max(ContractRow.number)).where(ContractRow.number.like(prefix + "%"))
    )
    # A refused draft is deleted (1.2, 2.1) but its number was given out (the customer's
    # request and e-mails name it): the audit log of drafts remembers every number used.
    last_drafted = session.scalar(
        select(func.max(AuditEntry.object_id)).where(
            AuditEntry.object_type == "contract",
            AuditEntry.action == "contract.draft",
            AuditEntry.object_id.like(prefix + "%"),
        )
    )
    used = [n for n in (last_kept, last_drafted) if n]
    sequence = max(int(n.removeprefix(prefix)) for n in used) + 1 if used else 1
    return f"{prefix}{sequence:04d}"
