"""Authentication API: bearer tokens, self-service password reset, lost credentials (5.4).

``POST /auth/token`` takes the OAuth2 password form and answers the standard
token object; every refusal is the same 401 for a wrong name or a wrong
password (no account enumeration), 429 when throttled or locked. The reset
request and the 5.4 request always answer 202, whether or not anything matched.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from portal_api.accounts.errors import AccountError
from portal_api.db.enums import SessionKind
from portal_api.web.account_errors import status_for
from portal_api.web.deps import CurrentPrincipal, ServicesDep, client_ip
from portal_api.web.schemas import CredentialRequestIn, Message, ResetIn, ResetRequestIn, TokenOut

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/token",
    response_model=TokenOut,
    responses={401: {"model": Message}, 429: {"model": Message}},
    summary="Log in (OAuth2 password form) and get a bearer token",
)
def create_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    services: ServicesDep,
) -> TokenOut:
    result = services.accounts.login(
        form.username, form.password, client_ip(request), SessionKind.API
    )
    if not result.ok or result.token is None:
        error = result.error()
        headers = {"WWW-Authenticate": "Bearer"}
        if result.retry_after:
            headers["Retry-After"] = str(result.retry_after)
        raise HTTPException(status_for(error), error.message_en, headers=headers)
    return TokenOut(access_token=result.token, expires_in=result.expires_in or 0)


@router.delete(
    "/auth/token",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke the token (or end the page session) of this request",
)
def revoke_token(principal: CurrentPrincipal, services: ServicesDep) -> None:
    services.accounts.logout(principal.token)


@router.post(
    "/auth/reset-request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    summary="Mail a password reset link if the username or e-mail matches (no enumeration)",
)
def reset_request(body: ResetRequestIn, services: ServicesDep) -> Message:
    services.accounts.request_reset(body.login, services.config.http.base_url)
    return Message(detail="If the account exists, a reset link has been sent to its e-mail.")


@router.post(
    "/auth/reset",
    response_model=Message,
    responses={400: {"model": Message}, 422: {"model": Message}},
    summary="Set a new password with the token of a reset link",
)
def reset(body: ResetIn, services: ServicesDep) -> Message:
    try:
        services.accounts.reset_password(body.token, body.new_password)
    except AccountError as error:
        raise HTTPException(status_for(error), error.message_en) from None
    return Message(detail="The password has been changed.")


@router.post(
    "/credential-requests",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Message,
    summary="Lost credentials (clause 5.4): new ones within 3 working days",
)
def credential_request(
    body: CredentialRequestIn, request: Request, services: ServicesDep
) -> Message:
    try:
        services.accounts.open_credential_request(
            customer_number=body.customer_number,
            contact_email=body.contact_email,
            note=body.note,
            ip=client_ip(request),
        )
    except AccountError as error:
        raise HTTPException(status_for(error), error.message_en) from None
    return Message(detail="Request received: new credentials within 3 working days.")
