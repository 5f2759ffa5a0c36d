"""Contract engine API: the queue of proposals staff confirm or reject (issue 5, DECISIONS).

Where the General Terms say the company "may" (4.4 suspend / terminate, 5.2 open
an interruption, 8.1 charge a penalty), the engine proposes and staff decide here.
Confirming applies the proposal in one transaction with the answer and the audit
entry (``portal_api.contracts.app.decisions``). Customers see nothing of the queue.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.decisions import ConfirmContext, confirm, decisions, reject
from portal_api.contracts.app.decisions_store import decision_by_id
from portal_api.contracts.db.enums import DecisionState
from portal_api.domain.roles import Permission
from portal_api.web.deps import Principal, ServicesDep, client_ip, require
from portal_api.web.routes import api_terminations
from portal_api.web.schemas_decisions import DecisionOut, RefusalOut, decision_out, refusal_body

router = APIRouter(tags=["decisions"])

StaffPrincipal = Annotated[Principal, Depends(require(Permission.DECISIONS))]
StateFilter = Literal["proposed", "confirmed", "rejected", "all"]


def _refusal(error: ContractAppError) -> JSONResponse:
    return JSONResponse(refusal_body(error), status_code=error.status)


@router.get(
    "/decisions",
    response_model=list[DecisionOut],
    summary="Proposals and applied decisions, oldest first; open proposals by default",
)
def list_decisions(
    principal: StaffPrincipal,
    services: ServicesDep,
    state: Annotated[StateFilter, Query()] = "proposed",
    contract_number: Annotated[str | None, Query(max_length=32)] = None,
) -> list[DecisionOut]:
    del principal  # only for the permission check
    wanted = None if state == "all" else DecisionState(state)
    with services.sessions() as session:
        return [decision_out(d) for d in decisions(session, wanted, contract_number)]


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    responses={404: {"model": RefusalOut}},
    summary="One decision with its explanation (clause, reasons in both languages, numbers)",
)
def get_decision(
    decision_id: int, principal: StaffPrincipal, services: ServicesDep
) -> DecisionOut | JSONResponse:
    del principal
    try:
        with services.sessions() as session:
            return decision_out(decision_by_id(session, decision_id))
    except ContractAppError as error:
        return _refusal(error)


def _context(request: Request, principal: Principal, services: ServicesDep) -> ConfirmContext:
    return ConfirmContext(
        Actor(principal.user_id, client_ip(request)), services.clock(), services.calendar
    )


@router.post(
    "/decisions/{decision_id}/confirm",
    response_model=DecisionOut,
    responses={404: {"model": RefusalOut}, 409: {"model": RefusalOut}},
    summary="Confirm and apply a proposal (409: decided already, or its condition no longer holds)",
)
def confirm_decision(
    decision_id: int, request: Request, principal: StaffPrincipal, services: ServicesDep
) -> DecisionOut | JSONResponse:
    try:
        with services.sessions.begin() as session:
            done = confirm(session, decision_id, _context(request, principal, services))
            return decision_out(done)
    except ContractAppError as error:
        return _refusal(error)


@router.post(
    "/decisions/{decision_id}/reject",
    response_model=DecisionOut,
    responses={404: {"model": RefusalOut}, 409: {"model": RefusalOut}},
    summary="Reject a proposal: nothing is applied (409 when decided already)",
)
def reject_decision(
    decision_id: int, request: Request, principal: StaffPrincipal, services: ServicesDep
) -> DecisionOut | JSONResponse:
    try:
        with services.sessions.begin() as session:
            actor = Actor(principal.user_id, client_ip(request))
            return decision_out(reject(session, decision_id, actor, services.clock()))
    except ContractAppError as error:
        return _refusal(error)


# The terminations API (7.x, 8.x) is this area's too; included here so that app.py
# registers the area with its one module.
router.include_router(api_terminations.router)
