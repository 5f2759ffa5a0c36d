"""Pages before login: log in and out, lost credentials (5.4), password reset; the
language switch (every page has it)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal_api.accounts.errors import AccountError
from portal_api.accounts.views import LoginResult
from portal_api.db.enums import SessionKind
from portal_api.web.account_errors import message_for
from portal_api.web.deps import (
    SESSION_COOKIE,
    PagePrincipal,
    ServicesDep,
    check_form_csrf,
    client_ip,
)
from portal_api.web.i18n import LANG_COOKIE, LANGUAGES, Formatter
from portal_api.web.render import Renderer

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str, Form()]
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def safe_next(target: str | None) -> str:
    """A local path to return to; anything else (another site, //host) goes to /sites."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/sites"
    return target


# -- log in / out --------------------------------------------------------------------------


def logged_in(result: LoginResult, next_path: str, *, cookie_secure: bool) -> Response:
    """After any login form (password or PIK): the session cookie, then on to ``next_path``."""
    assert result.token is not None
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=result.expires_in,
        httponly=True,
        secure=cookie_secure,
        samesite="lax",
        path="/",
    )
    if result.user is not None:
        # The user's own language setting wins from now on; keep the cookie in step.
        response.set_cookie(
            LANG_COOKIE, result.user.language.value, max_age=LANG_COOKIE_MAX_AGE, samesite="lax"
        )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    principal: PagePrincipal,
    next: Annotated[str | None, Query()] = None,
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _renderer(request).render(
        request,
        "login.html",
        {"title": _t(request, "Log in"), "next": safe_next(next), "username": "", "error": None},
    )


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    *,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf_token: CsrfField,
    username: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "/sites",
) -> Response:
    del principal  # the dependency sets the language and the CSRF token
    check_form_csrf(request, csrf_token)
    result = services.accounts.login(
        username,
        password,
        client_ip(request),
        SessionKind.COOKIE,
        user_agent=request.headers.get("user-agent"),
    )
    if not result.ok or result.token is None:
        error = result.error()
        status_code = 429 if error.code in ("locked", "throttled") else 401
        return _renderer(request).render(
            request,
            "login.html",
            {
                "title": _t(request, "Log in"),
                "next": safe_next(next),
                "username": username,
                "error": message_for(error, request.state.lang),
            },
            status_code=status_code,
        )
    return logged_in(result, next, cookie_secure=services.config.security.cookie_secure)


@router.post("/logout")
def logout(
    request: Request, principal: PagePrincipal, services: ServicesDep, csrf_token: CsrfField
) -> Response:
    check_form_csrf(request, csrf_token)
    if principal is not None:
        services.accounts.logout(principal.token, ip=client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- language switch ------------------------------------------------------------------------


@router.post("/lang")
def switch_language(
    request: Request,
    *,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf_token: CsrfField,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_form_csrf(request, csrf_token)
    if lang not in LANGUAGES:
        lang = request.state.lang
    if principal is not None:
        services.directory.set_language(principal.user_id, lang)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_MAX_AGE, samesite="lax", path="/")
    return response


# -- lost credentials (5.4) ------------------------------------------------------------------


def _message(request: Request, title: str, message: str) -> HTMLResponse:
    return _renderer(request).render(
        request,
        "message.html",
        {
            "title": title,
            "message": message,
            "back_href": "/login",
            "back_label": _t(request, "Back to log in"),
        },
    )


@router.get("/lost-credentials", response_class=HTMLResponse)
def lost_credentials_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    del principal
    return _renderer(request).render(
        request,
        "lost_credentials.html",
        {
            "title": _t(request, "Request new credentials"),
            "form": {"customer_number": "", "contact_email": "", "note": ""},
            "error": None,
        },
    )


@router.post("/lost-credentials", response_class=HTMLResponse)
def lost_credentials_submit(
    request: Request,
    *,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf_token: CsrfField,
    contact_email: Annotated[str, Form(max_length=254)] = "",
    customer_number: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    del principal
    check_form_csrf(request, csrf_token)
    try:
        view = services.accounts.open_credential_request(
            contact_email.strip(),
            note.strip(),
            customer_number=customer_number.strip() or None,
            ip=client_ip(request),
        )
    except AccountError as error:
        return _renderer(request).render(
            request,
            "lost_credentials.html",
            {
                "title": _t(request, "Request new credentials"),
                "form": {
                    "customer_number": customer_number,
                    "contact_email": contact_email,
                    "note": note,
                },
                "error": message_for(error, request.state.lang),
            },
            status_code=422,
        )
    fmt = Formatter(request.state.lang)
    return _message(
        request,
        _t(request, "Request received"),
        _t(request, "We will send new credentials by %(date)s to the e-mail of your contract.")
        # due_at is the midnight after the last working day: show that day.
        % {"date": fmt.date(view.due_at - dt.timedelta(seconds=1))},
    )


# -- password reset ---------------------------------------------------------------------------


@router.get("/reset-request", response_class=HTMLResponse)
def reset_request_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    del principal
    return _renderer(request).render(
        request, "reset_request.html", {"title": _t(request, "Reset your password")}
    )


@router.post("/reset-request", response_class=HTMLResponse)
def reset_request_submit(
    request: Request,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf_token: CsrfField,
    login: Annotated[str, Form(max_length=254)] = "",
) -> HTMLResponse:
    del principal
    check_form_csrf(request, csrf_token)
    if login.strip():
        services.accounts.request_reset(
            login.strip(), services.config.http.base_url, ip=client_ip(request)
        )
    return _message(
        request,
        _t(request, "Check your e-mail"),
        _t(
            request,
            "If the username or e-mail address belongs to an account, a link to set a new "
            "password is on its way. The link is valid for one hour.",
        ),
    )


@router.get("/reset", response_class=HTMLResponse)
def reset_page(
    request: Request, principal: PagePrincipal, token: Annotated[str, Query(max_length=256)] = ""
) -> HTMLResponse:
    del principal
    return _renderer(request).render(
        request,
        "reset.html",
        {"title": _t(request, "Set a new password"), "token": token, "error": None},
    )


@router.post("/reset", response_class=HTMLResponse)
def reset_submit(
    request: Request,
    *,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf_token: CsrfField,
    token: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    del principal
    check_form_csrf(request, csrf_token)
    error: str | None = None
    if new_password != confirm_password:
        error = _t(request, "The two new passwords differ.")
    else:
        try:
            services.accounts.reset_password(token, new_password, ip=client_ip(request))
        except AccountError as exc:
            error = message_for(exc, request.state.lang)
    if error is not None:
        return _renderer(request).render(
            request,
            "reset.html",
            {"title": _t(request, "Set a new password"), "token": token, "error": error},
            status_code=422,
        )
    return _message(
        request,
        _t(request, "Password changed"),
        _t(request, "Your new password is set. You can log in with it now."),
    )
