"""GET /me (the caller: user, role, customer) and POST /me/password."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from portal_api.accounts.errors import AccountError
from portal_api.web.account_errors import status_for
from portal_api.web.deps import CurrentPrincipal, ServicesDep, client_ip
from portal_api.web.schemas import CustomerOut, MeOut, Message, PasswordChangeIn, UserOut

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MeOut, summary="The caller: user, role and customer")
def me(principal: CurrentPrincipal, services: ServicesDep) -> MeOut:
    customer = (
        services.directory.customer(principal.customer_id)
        if principal.customer_id is not None
        else None
    )
    return MeOut(
        user=UserOut(
            id=principal.user_id,
            username=principal.username,
            display_name=principal.display_name,
            email=principal.email,
            language=principal.language,
        ),
        role=principal.role.value,
        customer=None
        if customer is None
        else CustomerOut(
            id=customer.id, number=customer.number, name=customer.name, kind=customer.kind
        ),
    )


@router.post(
    "/me/password",
    response_model=Message,
    responses={400: {"model": Message}, 422: {"model": Message}},
    summary="Change the own password; the caller's other sessions end",
)
def change_password(
    body: PasswordChangeIn, request: Request, principal: CurrentPrincipal, services: ServicesDep
) -> Message:
    try:
        services.accounts.change_password(
            principal.user_id,
            body.current_password,
            body.new_password,
            keep_token=principal.token,
            ip=client_ip(request),
        )
    except AccountError as error:
        raise HTTPException(status_for(error), error.message_en) from None
    return Message(detail="The password has been changed.")
