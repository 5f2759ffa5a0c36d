"""Contract engine API: ending a contract and its money (7.1-7.7, 8.1, 8.2; ЗЗП art. 50).

- ``GET .../termination/quote``: what an end on a ground would do and cost, changing
  nothing. Staff (CONTRACTS_MANAGE) for any ground; a customer for its own contract
  and the grounds it may invoke (7.2, 7.5c).
- ``POST .../termination``: staff apply it (``app.terminations.terminate``).
- ``POST .../termination-notice``: the customer's 7.2 notice or 7.5c withdrawal,
  a proposal staff confirm in the decisions queue.

A customer asking about another customer's contract gets 404, as for an unknown one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.terminations import give_notice, quote, terminate
from portal_api.contracts.app.terminations_facts import CUSTOMER_GROUNDS, Facts, Ground
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.dates import local_date
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep, client_ip, require
from portal_api.web.schemas_decisions import (
    NoticeIn,
    NoticeOut,
    QuoteOut,
    RefusalOut,
    TerminationIn,
    TerminationOut,
    quote_out,
    refusal_body,
    termination_out,
)
from portal_api.web.services import Services

router = APIRouter(tags=["terminations"])

ManagerPrincipal = Annotated[Principal, Depends(require(Permission.CONTRACTS_MANAGE))]
_NOT_FOUND = "Contract not found"


def _refusal(error: ContractAppError) -> JSONResponse:
    return JSONResponse(refusal_body(error), status_code=error.status)


def customer_of(services: Services, contract_number: str) -> int | None:
    """The customer id of contract ``contract_number`` (None: no such contract)."""
    with services.sessions() as session:
        record = ContractRepository(session).contract(contract_number)
    return None if record is None else record.customer_id


def own_contract(services: Services, principal: Principal, contract_number: str) -> None:
    """A customer's own contract (OWN_DATA); 404 for a foreign or unknown one."""
    owner = customer_of(services, contract_number)
    if (
        principal.role is not Role.CUSTOMER
        or not principal.can(Permission.OWN_DATA)
        or owner is None
        or owner != principal.customer_id
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND)


def customer_contract(
    contract_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> Principal:
    """Dependency: a customer acting on its own contract (403 staff, 404 foreign or unknown).

    A dependency, so that it answers before the body is validated: a foreign
    contract is 404 whatever was sent."""
    if principal.role is not Role.CUSTOMER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    own_contract(services, principal, contract_number)
    return principal


CustomerPrincipal = Annotated[Principal, Depends(customer_contract)]


@router.get(
    "/contracts/{contract_number}/termination/quote",
    response_model=QuoteOut,
    responses={404: {"model": RefusalOut}, 400: {"model": RefusalOut}},
    summary="What ending the contract on a ground would do and cost; nothing changes",
)
def termination_quote(
    contract_number: str,
    principal: CurrentPrincipal,
    services: ServicesDep,
    facts: Annotated[TerminationIn, Query()],
) -> QuoteOut | JSONResponse:
    if principal.role is Role.CUSTOMER:
        own_contract(services, principal, contract_number)
        if facts.ground not in CUSTOMER_GROUNDS:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    elif not principal.can(Permission.CONTRACTS_MANAGE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    today = local_date(services.clock())
    try:
        with services.sessions() as session:
            found = quote(
                session,
                contract_number,
                facts.facts(today),
                today=today,
                calendar=services.calendar,
            )
    except ContractAppError as error:
        if error.status == 404:
            raise HTTPException(status.HTTP_404_NOT_FOUND, _NOT_FOUND) from None
        return _refusal(error)
    return quote_out(found)


@router.post(
    "/contracts/{contract_number}/termination",
    response_model=TerminationOut,
    responses={404: {"model": RefusalOut}, 409: {"model": RefusalOut}},
    summary="End the contract (or charge for its end) on a ground with its facts",
)
def apply_termination(
    contract_number: str,
    body: TerminationIn,
    request: Request,
    principal: ManagerPrincipal,
    services: ServicesDep,
) -> TerminationOut | JSONResponse:
    now = services.clock()
    try:
        with services.sessions.begin() as session:
            applied = terminate(
                session,
                contract_number,
                body.facts(local_date(now)),
                actor=Actor(principal.user_id, client_ip(request)),
                now=now,
                calendar=services.calendar,
            )
            return termination_out(applied)
    except ContractAppError as error:
        return _refusal(error)


def notice_facts(ground: str, requested_end: dt.date | None, today: dt.date) -> Facts:
    """The customer's notice counts from the day it is given (received by the portal)."""
    return Facts(Ground(ground), today, requested_end=requested_end)


@router.post(
    "/contracts/{contract_number}/termination-notice",
    response_model=NoticeOut,
    status_code=201,
    responses={404: {"model": RefusalOut}, 409: {"model": RefusalOut}},
    summary="The customer's 14 days' notice (7.2) or withdrawal (7.5c), for staff to confirm",
)
def termination_notice(
    contract_number: str,
    body: NoticeIn,
    principal: CustomerPrincipal,
    services: ServicesDep,
) -> NoticeOut | JSONResponse:
    now = services.clock()
    try:
        with services.sessions.begin() as session:
            decision_id, found = give_notice(
                session,
                contract_number,
                notice_facts(body.ground, body.requested_end, local_date(now)),
                user_id=principal.user_id,
                now=now,
                calendar=services.calendar,
            )
            return NoticeOut(decision_id=decision_id, quote=quote_out(found))
    except ContractAppError as error:
        return _refusal(error)
