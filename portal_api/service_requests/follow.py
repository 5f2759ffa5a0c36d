"""A MyEnergy request ordered online follows the life of the contract it created.

The contract engine audits every change of a contract (``contracts_common.audit``)
and calls :func:`contract_changed` in the same transaction, so the customer's
timeline, its e-mail and the contract change commit together or not at all:

- ``contract.sign`` -> signed (2.1);
- the visit agreed (1.4.2) -> installation scheduled;
- installed with the handover protocol (1.4.2, Appendix 2) -> installed, noting the
  protocol's date and the signatory's capacity (never a name or personal number);
- credentials given (1.6) -> credentials sent, noting the subscription start (2.3a);
- installation impossible (1.5) or the contract terminated before the service ran
  (7.x) -> rejected, with the reason.

The daily run records "active" (:func:`subscription_started`) once the subscription
has started (2.3a: the month after the credentials). A request only moves forward
along its service's steps: a postponed and re-booked visit, or a re-run of the daily
job, adds nothing twice, and a step never goes back. A contract that no request
ordered (drafted by staff, a renewal) moves nothing.

This module must not import ``portal_api.contracts.app`` (which imports it): the
engine's action names are repeated here, and a test keeps them equal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.domain.contract import ContractState
from portal_api.service_requests.catalogue import RequestState, ServiceKind, Step, definition
from portal_api.service_requests.models import ServiceRequestRow
from portal_api.service_requests.workflow import record_step

__all__ = [
    "CREDENTIALS",
    "IMPOSSIBLE",
    "INSTALLED",
    "SIGN",
    "TERMINATE",
    "VISIT_AGREED",
    "contract_changed",
    "request_of",
    "subscription_started",
]

# The contract engine's audit actions (contracts.app; a test checks they match).
SIGN = "contract.sign"
VISIT_AGREED = "contract.installation.visit_agreed"
INSTALLED = "contract.installation.installed"
CREDENTIALS = "contract.credentials"
IMPOSSIBLE = "contract.installation.impossible"
TERMINATE = "contract.terminate"

_STEP_OF: dict[str, Step] = {
    SIGN: Step.SIGNED,
    VISIT_AGREED: Step.INSTALLATION_SCHEDULED,
    INSTALLED: Step.INSTALLED,
    CREDENTIALS: Step.CREDENTIALS_SENT,
}
# States in which the contract has ended: the order did not lead to a running service.
_ENDED = (
    ContractState.TERMINATED,
    ContractState.DISMANTLED,
    ContractState.ENDED_INSTALLATION_IMPOSSIBLE,
)
_CAPACITY: dict[str, tuple[str, str]] = {
    "customer": ("клиента или негов представител", "the customer or its representative"),
    "proxy": ("упълномощено лице", "an authorised person"),
    "employee": ("служител на клиента", "an employee of the customer"),
}
_IMPOSSIBLE: dict[str, tuple[str, str]] = {
    "no_technical_way": (
        "няма техническа възможност за свързване на мултиметъра",
        "there is no technical way to connect the multimeter",
    ),
    "no_mobile_coverage": (
        "няма използваемо покритие на мобилната мрежа",
        "there is no usable mobile network coverage",
    ),
}


def request_of(session: Session, number: str) -> ServiceRequestRow | None:
    """The open MyEnergy request that ordered contract ``number`` (None: there is none)."""
    return session.scalars(
        select(ServiceRequestRow).where(
            ServiceRequestRow.contract_number == number,
            ServiceRequestRow.kind == ServiceKind.MYENERGY,
            ServiceRequestRow.state == RequestState.OPEN,
        )
    ).first()


def _forward(
    session: Session,
    row: ServiceRequestRow,
    step: Step,
    *,
    at: dt.datetime,
    actor_user_id: int | None,
    note: str,
) -> bool:
    """Record ``step`` if it lies ahead of the request's current step (never back, never twice)."""
    steps = definition(row.kind).steps
    if steps.index(step) <= steps.index(row.step):
        return False
    record_step(session, row, step, at=at, actor_user_id=actor_user_id, note=note)
    return True


def _day(value: object) -> tuple[str, str]:
    """An ISO day of an audit detail as Bulgarian and English text ("" when absent)."""
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        return "", ""
    return f"{day:%d.%m.%Y}", day.isoformat()


def _both(bg: str, en: str) -> str:
    # One note for both languages: the e-mail and the timeline show it as it is.
    return f"{bg} / {en}"


def _note(action: str, number: str, detail: Mapping[str, object]) -> str:
    if action == SIGN:
        bg, en = _day(detail.get("signed_on"))
        return _both(f"Договор {number}, подписан на {bg}", f"Contract {number}, signed on {en}")
    if action == VISIT_AGREED:
        bg, en = _day(detail.get("on"))
        return _both(
            f"Посещението на техник е договорено на {bg} (т. 1.4.2)",
            f"The technician's visit was agreed on {en} (1.4.2)",
        )
    if action == INSTALLED:
        bg, en = _day(detail.get("protocols_signed_on"))
        who_bg, who_en = _CAPACITY.get(
            str(detail.get("signatory_capacity", "")), ("клиента", "the customer")
        )
        return _both(
            f"Приемо-предавателният протокол е подписан на {bg} от {who_bg} (Приложение 2)",
            f"The handover protocol was signed on {en} by {who_en} (Appendix 2)",
        )
    if action == CREDENTIALS:
        bg, en = _day(detail.get("subscription_start"))
        return _both(
            f"Абонаментът започва на {bg} (т. 2.3а)",
            f"The subscription starts on {en} (2.3a)",
        )
    return ""


def _ending_reason(action: str, detail: Mapping[str, object]) -> str:
    if action == IMPOSSIBLE:
        why_bg, why_en = _IMPOSSIBLE.get(
            str(detail.get("reason", "")), ("инсталацията е невъзможна", "installation impossible")
        )
        return _both(
            f"Инсталацията е невъзможна: {why_bg}; договорът се счита за прекратен без "
            "неустойки (т. 1.5)",
            f"Installation is impossible: {why_en}; the contract is deemed terminated with "
            "no penalties (1.5)",
        )
    clause = str(detail.get("clause", "7")) or "7"
    return _both(
        f"Договорът е прекратен преди услугата да започне (т. {clause})",
        f"The contract was terminated before the service started ({clause})",
    )


def contract_changed(
    session: Session,
    *,
    action: str,
    number: str,
    at: dt.datetime,
    actor_user_id: int | None,
    detail: Mapping[str, object] | None = None,
) -> Step | None:
    """Move the request that ordered contract ``number`` on ``action``; the step recorded."""
    if action not in _STEP_OF and action not in (IMPOSSIBLE, TERMINATE):
        return None
    row = request_of(session, number)
    if row is None:
        return None
    facts = detail or {}
    if action in _STEP_OF:
        step = _STEP_OF[action]
        moved = _forward(
            session,
            row,
            step,
            at=at,
            actor_user_id=actor_user_id,
            note=_note(action, number, facts),
        )
        return step if moved else None
    state = session.scalar(select(ContractRow.state).where(ContractRow.number == number))
    if state not in _ENDED:
        return None  # a termination scheduled for later (7.2): the contract still runs
    record_step(
        session,
        row,
        Step.REJECTED,
        at=at,
        actor_user_id=actor_user_id,
        note=_ending_reason(action, facts),
    )
    return Step.REJECTED


def subscription_started(
    session: Session,
    *,
    number: str,
    state: ContractState,
    subscription_start: dt.date | None,
    on: dt.date,
    at: dt.datetime,
) -> bool:
    """The daily run: "active" once the subscription has started (2.3a); the system acts."""
    if state is not ContractState.ACTIVE or subscription_start is None or subscription_start > on:
        return False
    row = request_of(session, number)
    if row is None:
        return False
    bg, en = f"{subscription_start:%d.%m.%Y}", subscription_start.isoformat()
    return _forward(
        session,
        row,
        Step.ACTIVE,
        at=at,
        actor_user_id=None,
        note=_both(
            f"Абонаментът започна на {bg} (т. 2.3а)",
            f"The subscription started on {en} (2.3a)",
        ),
    )
