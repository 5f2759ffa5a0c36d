"""Interruptions API (General Terms 3.2б, 3.2в, 5.1, 5.2, 5.3, 6.7, 7.5б).

Staff with ``interruptions`` open and change them; staff with ``contracts_read`` read
every one; a customer reads its own contracts' (another customer's answers 404, as
an unknown one). The service (portal_api/contracts/app/interruptions.py) does the
work; the checks and remedies are the domain's, explained.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from portal_api.contracts.app.interruptions import (
    InterruptionInput,
    open_interruption,
    update_interruption,
)
from portal_api.contracts.app.interruptions_views import (
    InterruptionError,
    InterruptionView,
    contract_interruptions,
    interruption_view,
    list_interruptions,
)
from portal_api.contracts.db.enums import InterruptionSource
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep, client_ip, require
from portal_api.web.schemas import Message
from portal_api.web.schemas_interruptions import (
    InterruptionDetailOut,
    InterruptionIn,
    InterruptionOut,
    InterruptionPatch,
    detail_out,
    interruption_out,
)
from portal_api.web.services import Services

router = APIRouter(tags=["interruptions"])

StaffPrincipal = Annotated[Principal, Depends(require(Permission.INTERRUPTIONS))]
_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Message},
    404: {"model": Message},
    409: {"model": Message},
}


def _http(error: InterruptionError) -> HTTPException:
    return HTTPException(error.status, error.reason_en)


def _reader_customer(principal: Principal) -> int | None:
    """None for staff who may read every contract; the customer's id for a customer;
    403 for staff without ``contracts_read``."""
    if principal.role is Role.CUSTOMER:
        if principal.customer_id is None or not principal.can(Permission.OWN_DATA):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Interruption not found")
        return principal.customer_id
    if not principal.can(Permission.CONTRACTS_READ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return None


def _detail(services: Services, interruption_id: int) -> InterruptionDetailOut:
    now = services.clock()
    with services.sessions() as session:
        view = interruption_view(session, interruption_id, calendar=services.calendar, now=now)
        summaries = contract_interruptions(
            session,
            calendar=services.calendar,
            now=now,
            contract_number=view.record.contract_number,
        )
        return detail_out(view, summaries[0] if summaries else None)


@router.post(
    "/interruptions",
    status_code=201,
    response_model=InterruptionDetailOut,
    responses=_ERRORS,
    summary="Open an interruption (5.1 planned, 5.2 unplanned); the notice due goes out",
)
def create(
    body: InterruptionIn, request: Request, principal: StaffPrincipal, services: ServicesDep
) -> InterruptionDetailOut:
    data = InterruptionInput(
        contract_number=body.contract_number,
        kind=body.kind,
        start=body.start,
        end=body.end if body.end is not None else body.planned_end,
        sites=tuple(body.sites or ()),
        company_fault=body.company_fault,
        customer_caused=body.customer_caused,
        customer_obstructed=body.customer_obstructed,
        notified_at=body.notified_at,
        detected_at=body.detected_at,
        reported_by_customer_at=body.reported_by_customer_at,
    )
    try:
        with services.sessions.begin() as session:
            view = open_interruption(
                session,
                data,
                user_id=principal.user_id,
                ip=client_ip(request),
                calendar=services.calendar,
                now=services.clock(),
            )
            new_id = view.id
    except InterruptionError as error:
        raise _http(error) from None
    return _detail(services, new_id)


@router.patch(
    "/interruptions/{interruption_id}",
    response_model=InterruptionDetailOut,
    responses=_ERRORS,
    summary="Change an interruption: end it, notice / detection / report times, fault flags",
)
def change(
    interruption_id: int,
    body: InterruptionPatch,
    request: Request,
    principal: StaffPrincipal,
    services: ServicesDep,
) -> InterruptionDetailOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for flag in ("company_fault", "customer_caused", "customer_obstructed"):
        if flag in changes and changes[flag] is None:
            raise HTTPException(400, f"{flag} is true or false")
    try:
        with services.sessions.begin() as session:
            update_interruption(
                session,
                interruption_id,
                changes,
                user_id=principal.user_id,
                ip=client_ip(request),
                calendar=services.calendar,
                now=services.clock(),
            )
    except InterruptionError as error:
        raise _http(error) from None
    return _detail(services, interruption_id)


@router.get(
    "/interruptions",
    response_model=list[InterruptionOut],
    summary="Interruptions by start (staff: all; a customer: its own contracts')",
)
def list_all(
    *,
    principal: CurrentPrincipal,
    services: ServicesDep,
    contract_number: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[Literal["planned", "unplanned"] | None, Query()] = None,
    source: Annotated[InterruptionSource | None, Query()] = None,
    lasting: Annotated[bool, Query(description="only those still lasting")] = False,
) -> list[InterruptionOut]:
    customer_id = _reader_customer(principal)
    with services.sessions() as session:
        views = list_interruptions(
            session,
            calendar=services.calendar,
            now=services.clock(),
            customer_id=customer_id,
            contract_number=contract_number,
            kind=kind,
            source=source,
            open_only=lasting,
        )
    return [interruption_out(v) for v in views]


def _visible(view: InterruptionView, customer_id: int | None) -> bool:
    return customer_id is None or view.customer_id == customer_id


@router.get(
    "/interruptions/{interruption_id}",
    response_model=InterruptionDetailOut,
    responses={404: {"model": Message}},
    summary="One interruption with every check explained and the contract's remedies",
)
def detail(
    interruption_id: int, principal: CurrentPrincipal, services: ServicesDep
) -> InterruptionDetailOut:
    customer_id = _reader_customer(principal)
    try:
        with services.sessions() as session:
            view = interruption_view(
                session, interruption_id, calendar=services.calendar, now=services.clock()
            )
    except InterruptionError:
        view = None
    if view is None or not _visible(view, customer_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Interruption not found")
    return _detail(services, interruption_id)
