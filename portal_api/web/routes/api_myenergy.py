"""API for ordering MyEnergy online (issue 6): quote (eligibility and price) and order.

Customers only (their own sites, OWN_DATA); staff draft contracts through the
contracts API instead, so a staff caller is 403. A wrong order is 400 with one
message per field; the quote writes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse

from portal_api.domain.roles import Permission, Role
from portal_api.service_requests.workflow import RequestError
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep, client_ip
from portal_api.web.requests_access import myenergy_service
from portal_api.web.schemas_myenergy import (
    OrderIn,
    OrderOut,
    QuoteOut,
    order_of,
    order_out,
    quote_out,
)
from portal_api.web.schemas_requests import RequestRefusalOut, error_body

__all__ = ["router"]

router = APIRouter(tags=["MyEnergy"])


def _customer(principal: CurrentPrincipal) -> Principal:
    """The caller orders for itself: a customer with its own data (403 for staff)."""
    if (
        principal.role is not Role.CUSTOMER
        or principal.customer_id is None
        or not principal.can(Permission.OWN_DATA)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only a customer orders MyEnergy")
    return principal


Customer = Annotated[Principal, Depends(_customer)]
_REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"model": RequestRefusalOut},
    409: {"model": RequestRefusalOut},
}


def _refusal(error: RequestError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)


@router.post(
    "/myenergy/quote",
    response_model=QuoteOut,
    responses=_REFUSALS,
    summary="Quote an order: every 1.2 ground, the fee per site and in total (4.1), the term",
)
def quote_order(
    body: OrderIn, principal: Customer, services: ServicesDep
) -> QuoteOut | JSONResponse:
    assert principal.customer_id is not None
    try:
        quote = myenergy_service(services).quote(
            principal.customer_id, order_of(body), actor_user_id=principal.user_id
        )
    except RequestError as error:
        return _refusal(error)
    return quote_out(quote)


@router.post(
    "/myenergy/orders",
    response_model=OrderOut,
    status_code=201,
    responses=_REFUSALS,
    summary="Order MyEnergy: a draft contract and a request that follows it",
)
def place_order(
    body: OrderIn, request: Request, principal: Customer, services: ServicesDep
) -> OrderOut | JSONResponse:
    assert principal.customer_id is not None
    try:
        view = myenergy_service(services).order(
            principal.customer_id, principal.user_id, order_of(body), ip=client_ip(request)
        )
    except RequestError as error:
        return _refusal(error)
    return order_out(view)
