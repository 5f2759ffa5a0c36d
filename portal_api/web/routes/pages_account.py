"""The account page: the user's profile and the change of password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from portal_api.accounts.errors import AccountError
from portal_api.web.account_errors import message_for
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.render import Renderer
from portal_api.web.services import Services

router = APIRouter(include_in_schema=False)


def _render(
    request: Request,
    user: Principal,
    services: Services,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    renderer: Renderer = request.app.state.renderer
    customer = (
        services.directory.customer(user.customer_id) if user.customer_id is not None else None
    )
    context: dict[str, Any] = {
        "title": renderer.gettext(request.state.lang, "Account"),
        "nav": "account",
        "customer": customer,
        "error": error,
        "notice": notice,
    }
    return renderer.render(request, "account.html", context, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return _render(request, user, services)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()],
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    check_form_csrf(request, csrf_token)
    renderer: Renderer = request.app.state.renderer
    lang = request.state.lang
    if new_password != confirm_password:
        return _render(
            request,
            user,
            services,
            error=renderer.gettext(lang, "The two new passwords differ."),
            status_code=422,
        )
    try:
        services.accounts.change_password(
            user.user_id,
            current_password,
            new_password,
            keep_token=user.token,
            ip=client_ip(request),
        )
    except AccountError as error:
        return _render(request, user, services, error=message_for(error, lang), status_code=422)
    return _render(
        request,
        user,
        services,
        notice=renderer.gettext(
            lang, "Your password has been changed. Your other sessions have been ended."
        ),
    )
