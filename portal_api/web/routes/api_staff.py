"""Service centre work queue: lost-credential requests of clause 5.4 (operator, admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from portal_api.accounts.errors import AccountError
from portal_api.accounts.views import CredentialRequestView
from portal_api.db.enums import RequestState
from portal_api.domain.roles import Permission
from portal_api.web.account_errors import status_for
from portal_api.web.deps import Principal, ServicesDep, client_ip, require
from portal_api.web.schemas import CredentialRequestOut, Message

router = APIRouter(tags=["staff"])

StaffPrincipal = Annotated[Principal, Depends(require(Permission.CREDENTIAL_REQUESTS))]


def _out(view: CredentialRequestView) -> CredentialRequestOut:
    return CredentialRequestOut(
        id=view.id,
        customer_id=view.customer_id,
        contact_email=view.contact_email,
        note=view.note,
        received_at=view.received_at,
        due_at=view.due_at,
        state=view.state.value,
        handled_by=view.handled_by,
        handled_at=view.handled_at,
    )


@router.get(
    "/staff/credential-requests",
    response_model=list[CredentialRequestOut],
    summary="Lost-credential requests (5.4), oldest first; open ones by default",
)
def list_requests(
    principal: StaffPrincipal,
    services: ServicesDep,
    state: Annotated[RequestState | None, Query()] = RequestState.OPEN,
) -> list[CredentialRequestOut]:
    del principal  # only for the permission check
    return [_out(v) for v in services.accounts.list_credential_requests(state)]


@router.post(
    "/staff/credential-requests/{request_id}/fulfil",
    response_model=CredentialRequestOut,
    responses={404: {"model": Message}, 409: {"model": Message}},
    summary="Send new credentials to the customer of the request (5.4)",
)
def fulfil_request(
    request_id: int,
    request: Request,
    principal: StaffPrincipal,
    services: ServicesDep,
    customer_id: Annotated[int | None, Query(description="for an unmatched request")] = None,
) -> CredentialRequestOut:
    try:
        view = services.accounts.fulfil_credential_request(
            request_id,
            principal.user_id,
            services.config.http.base_url,
            customer_id=customer_id,
            ip=client_ip(request),
        )
    except AccountError as error:
        raise HTTPException(status_for(error), error.message_en) from None
    return _out(view)
