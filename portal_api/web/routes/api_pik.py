"""``POST /auth/pik-token``: a bearer token for "ЕИК/ЕГН" + PIK (issue 6).

The form fields are ``identifier``, ``pik`` and, for a foreigner's YYMMDD0000,
``customer_number``. A number whose check digits fail, or a missing customer
number, is 422 before any lookup; a wrong identifier or PIK is the same 401 either
way; throttled or locked is 429 with Retry-After, as for ``/auth/token``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request

from portal_api.accounts.errors import AccountError
from portal_api.accounts.pik_login import refusal_error
from portal_api.db.enums import SessionKind
from portal_api.web.account_errors import status_for
from portal_api.web.deps import ServicesDep, client_ip
from portal_api.web.routes.pages_pik import pik_service
from portal_api.web.schemas import Message, TokenOut

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/pik-token",
    response_model=TokenOut,
    responses={401: {"model": Message}, 422: {"model": Message}, 429: {"model": Message}},
    summary="Log in with EIK/EGN and PIK and get a bearer token",
)
def create_pik_token(
    request: Request,
    services: ServicesDep,
    identifier: Annotated[str, Form(max_length=32)],
    pik: Annotated[str, Form(max_length=64)],
    customer_number: Annotated[str | None, Form(max_length=16)] = None,
) -> TokenOut:
    try:
        result = pik_service(services).login(
            identifier,
            pik,
            client_ip(request),
            customer_number=customer_number,
            kind=SessionKind.API,
            user_agent=request.headers.get("user-agent"),
        )
    except AccountError as error:
        raise HTTPException(status_for(error), error.message_en) from None
    if not result.ok or result.token is None:
        refused = refusal_error(result)
        headers = {"WWW-Authenticate": "Bearer"}
        if result.retry_after:
            headers["Retry-After"] = str(result.retry_after)
        raise HTTPException(status_for(refused), refused.message_en, headers=headers)
    return TokenOut(access_token=result.token, expires_in=result.expires_in or 0)
