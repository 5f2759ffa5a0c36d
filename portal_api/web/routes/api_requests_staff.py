"""Staff API of the Virtual CSC's request queue (issue 6): filter, assign, advance, reject.

Thin: parse, authorise (``service_requests``: operators and admins), call the
workflow (``service_requests.workflow.RequestService``), answer. A refusal is 4xx
with ``{"detail": {"bg", "en", "fields"}}``. A MyEnergy request is rejected by
the MyEnergy service together with its draft contract (it refuses once the
contract is signed); its steps follow the contract, so it is never advanced here.

The staff pages (``pages_requests_staff``) share the helpers of this module: the
queue with the time of each request's last step and its wait in working days,
the counts per state, and the rejection that picks the right service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select

from portal_api.domain.roles import Permission
from portal_api.service_requests.catalogue import RequestState, ServiceKind
from portal_api.service_requests.models import ServiceRequestRow, ServiceRequestStepRow
from portal_api.service_requests.workflow import QueueFilter, RequestError, RequestView
from portal_api.web.deps import Principal, ServicesDep, client_ip, require
from portal_api.web.i18n import SOFIA
from portal_api.web.requests_access import myenergy_service, request_service
from portal_api.web.schemas_requests import RequestRefusalOut, error_body
from portal_api.web.schemas_requests_staff import (
    AdvanceIn,
    AssignIn,
    QueueOut,
    RejectIn,
    RequestOut,
    queue_item_out,
    request_out,
)
from portal_api.web.services import Services

__all__ = [
    "QueueEntry",
    "attachment_response",
    "queue_entries",
    "reject_request",
    "router",
    "state_counts",
    "waiting_days",
]

router = APIRouter(tags=["service requests (staff)"])

Staff = Annotated[Principal, Depends(require(Permission.SERVICE_REQUESTS))]
StateFilter = Literal["open", "completed", "rejected", "all"]
# "" all, "me" the caller's, "none" unassigned, or a colleague's user id.
ASSIGNED_PATTERN = r"^(|me|none|\d{1,9})$"
_REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"model": RequestRefusalOut},
    404: {"model": RequestRefusalOut},
    409: {"model": RequestRefusalOut},
}


# -- shared with the pages -----------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    """A queue row: the request, when its last step was reached, how long it has waited."""

    view: RequestView
    last_step_at: dt.datetime
    waiting: int | None  # working days since the last step; None once closed


def waiting_days(services: Services, view: RequestView, last_step_at: dt.datetime) -> int | None:
    """Working days (Bulgarian calendar, Sofia dates) since the last step of an open request."""
    if not view.open:
        return None
    since = last_step_at.astimezone(SOFIA).date()
    today = services.clock().astimezone(SOFIA).date()
    return max(0, services.calendar.working_days_between(since, today))


def _last_steps(services: Services, numbers: Sequence[str]) -> dict[str, dt.datetime]:
    """The time of each request's last step (the queue views carry no timeline)."""
    if not numbers:
        return {}
    statement = (
        select(ServiceRequestRow.number, func.max(ServiceRequestStepRow.at))
        .join(ServiceRequestStepRow, ServiceRequestStepRow.request_id == ServiceRequestRow.id)
        .where(ServiceRequestRow.number.in_(numbers))
        .group_by(ServiceRequestRow.number)
    )
    with services.sessions() as session:
        found: dict[str, dt.datetime] = {}
        for number, at in session.execute(statement):
            # SQLite gives the aggregate back naive: the column holds UTC.
            found[number] = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
        return found


def queue_entries(services: Services, wanted: QueueFilter, staff_user_id: int) -> list[QueueEntry]:
    """The filtered queue, oldest first, each with its last step and wait."""
    views = request_service(services).queue(wanted, staff_user_id=staff_user_id)
    last = _last_steps(services, [v.number for v in views])
    entries = []
    for view in views:
        at = last.get(view.number, view.submitted_at)
        entries.append(QueueEntry(view, at, waiting_days(services, view, at)))
    return entries


def state_counts(services: Services, wanted: QueueFilter, staff_user_id: int) -> dict[str, int]:
    """How many requests each state holds under the filter's other criteria."""
    return request_service(services).state_counts(wanted, staff_user_id=staff_user_id)


def queue_filter(
    kind: ServiceKind | None, state: StateFilter, assigned: str, customer_number: str
) -> QueueFilter:
    return QueueFilter(
        kind=kind,
        state=None if state == "all" else RequestState(state),
        assigned=assigned,
        customer_number=customer_number.strip(),
    )


def reject_request(
    services: Services, number: str, *, actor_user_id: int, reason: str, ip: str | None = None
) -> RequestView:
    """Reject an open request with ``reason``. A MyEnergy request goes through the MyEnergy
    service, which refuses its draft contract with it (and refuses once it is signed)."""
    view = request_service(services).one(number)
    if view.service.follows_contract:
        return myenergy_service(services).reject(
            number, actor_user_id=actor_user_id, reason=reason, ip=ip
        )
    return request_service(services).reject(number, actor_user_id=actor_user_id, reason=reason)


def attachment_response(services: Services, number: str, attachment_id: int) -> Response:
    """A document of the request as a download (never shown inline: the customer sent it)."""
    item, content = request_service(services).attachment(number, attachment_id)
    name = item.filename or f"document-{item.id}"
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        content,
        media_type=item.media_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


# -- routes ----------------------------------------------------------------------------------


def _refusal(error: RequestError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)


def _full(services: Services, view: RequestView) -> RequestOut:
    last = view.steps[-1].at if view.steps else view.submitted_at
    return request_out(view, waiting_days(services, view, last), "/api/v1")


@router.get(
    "/staff/service-requests",
    response_model=QueueOut,
    summary="The queue of service requests, oldest first (open ones by default), with counts",
)
def list_requests(
    *,
    principal: Staff,
    services: ServicesDep,
    kind: Annotated[ServiceKind | None, Query()] = None,
    state: Annotated[StateFilter, Query()] = "open",
    assigned: Annotated[
        str,
        Query(pattern=ASSIGNED_PATTERN, description='"me", "none", a user id; empty for all'),
    ] = "",
    customer_number: Annotated[str, Query(max_length=10)] = "",
) -> QueueOut:
    wanted = queue_filter(kind, state, assigned, customer_number)
    entries = queue_entries(services, wanted, principal.user_id)
    return QueueOut(
        counts=state_counts(services, wanted, principal.user_id),
        requests=[queue_item_out(e.view, e.last_step_at, e.waiting) for e in entries],
    )


@router.get(
    "/staff/service-requests/{request_number}",
    response_model=RequestOut,
    responses={404: {"model": RequestRefusalOut}},
    summary="One request: customer, contact, fields, documents, timeline, the next step",
)
def get_request(
    request_number: str, principal: Staff, services: ServicesDep
) -> RequestOut | JSONResponse:
    del principal  # only for the permission check
    try:
        return _full(services, request_service(services).one(request_number))
    except RequestError as error:
        return _refusal(error)


@router.get(
    "/staff/service-requests/{request_number}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}, "image/*": {}}},
        404: {"model": RequestRefusalOut},
    },
    summary="A document sent with the request (as a download)",
)
def get_attachment(
    request_number: str, attachment_id: int, principal: Staff, services: ServicesDep
) -> Response:
    del principal
    try:
        return attachment_response(services, request_number, attachment_id)
    except RequestError as error:
        return _refusal(error)


@router.post(
    "/staff/service-requests/{request_number}/assign",
    response_model=RequestOut,
    responses=_REFUSALS,
    summary="Assign the request to an operator or admin, or release it (null)",
)
def assign_request(
    request_number: str, body: AssignIn, principal: Staff, services: ServicesDep
) -> RequestOut | JSONResponse:
    try:
        view = request_service(services).assign(
            request_number, body.assignee, actor_user_id=principal.user_id
        )
    except RequestError as error:
        return _refusal(error)
    return _full(services, view)


@router.post(
    "/staff/service-requests/{request_number}/advance",
    response_model=RequestOut,
    responses=_REFUSALS,
    summary="Move the request to its next step (409 when `expected` is not that step any more)",
)
def advance_request(
    request_number: str, body: AdvanceIn, principal: Staff, services: ServicesDep
) -> RequestOut | JSONResponse:
    try:
        view = request_service(services).advance(
            request_number, actor_user_id=principal.user_id, expected=body.expected, note=body.note
        )
    except RequestError as error:
        return _refusal(error)
    return _full(services, view)


@router.post(
    "/staff/service-requests/{request_number}/reject",
    response_model=RequestOut,
    responses=_REFUSALS,
    summary="Reject the request with a reason the customer reads (MyEnergy: while a draft)",
)
def reject(
    request: Request,
    request_number: str,
    body: RejectIn,
    principal: Staff,
    services: ServicesDep,
) -> RequestOut | JSONResponse:
    try:
        view = reject_request(
            services,
            request_number,
            actor_user_id=principal.user_id,
            reason=body.reason,
            ip=client_ip(request),
        )
    except RequestError as error:
        return _refusal(error)
    return _full(services, view)
