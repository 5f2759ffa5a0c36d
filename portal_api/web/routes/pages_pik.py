"""PIK pages (issue 6, seed 000): log in with "ЕИК/ЕГН" + PIK, and the operators'
issuing desk.

``POST /login/pik`` is the second form of /login. A foreigner types the birth date
as YYMMDD0000; static/js/pik-login.js shows the customer-number field at once, and
without JavaScript the server asks for it in a second round (the same form, the
field shown). ``/staff/piks`` (permission credential_requests: operators and
admins) finds a customer by number, lists its PIKs, issues, reissues and revokes.

The letter: issuing (or reissuing) answers with the letter page itself, the result
of that POST; there is no URL that could show the code again. Its "PDF" button is a
``data:`` link carrying the letter PDF rendered in the same response, so the code
is never kept server-side, not even hashed for a second request; the page is
``no-store``. Reloading the page re-posts the form and issues another PIK (audited).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from portal_api.accounts.errors import AccountError
from portal_api.accounts.pik import (
    DOCUMENT_MAX,
    Channel,
    HolderRole,
    IssuedPik,
    PikService,
    QesRequest,
)
from portal_api.accounts.pik_codes import looks_foreign
from portal_api.accounts.pik_letter import PikLetter, render_pik_letter
from portal_api.accounts.pik_login import refusal_error
from portal_api.db.enums import SessionKind
from portal_api.domain.roles import Permission
from portal_api.web.account_errors import message_for
from portal_api.web.deps import (
    PagePrincipal,
    PageUser,
    Principal,
    ServicesDep,
    check_form_csrf,
    client_ip,
)
from portal_api.web.i18n import Formatter
from portal_api.web.render import Renderer
from portal_api.web.routes.pages_auth import logged_in, safe_next
from portal_api.web.services import Services

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str, Form()]


def pik_service(services: Services) -> PikService:
    """The PIK service over the portal's database, clock, settings and password hasher."""
    accounts = services.accounts
    return PikService(services.sessions, services.clock, accounts.settings, accounts.passwords)


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


# -- login with EIK/EGN + PIK ----------------------------------------------------------------


def _login_page(
    request: Request,
    *,
    next_path: str,
    identifier: str,
    error: str,
    ask_number: bool,
    status_code: int,
) -> HTMLResponse:
    return _renderer(request).render(
        request,
        "login.html",
        {
            "title": _t(request, "Log in"),
            "next": safe_next(next_path),
            "username": "",
            "error": None,
            "pik_error": error,
            "pik_identifier": identifier,
            "pik_ask_number": ask_number,
        },
        status_code=status_code,
    )


@router.post("/login/pik", response_class=HTMLResponse)
def login_pik_submit(
    request: Request,
    *,
    principal: PagePrincipal,
    services: ServicesDep,
    csrf_token: CsrfField,
    identifier: Annotated[str, Form(max_length=32)] = "",
    pik: Annotated[str, Form(max_length=64)] = "",
    customer_number: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form()] = "/sites",
) -> Response:
    del principal  # the dependency sets the language and the CSRF token
    check_form_csrf(request, csrf_token)
    ask_number = looks_foreign(identifier)
    try:
        result = pik_service(services).login(
            identifier,
            pik,
            client_ip(request),
            customer_number=customer_number or None,
            kind=SessionKind.COOKIE,
            user_agent=request.headers.get("user-agent"),
        )
    except AccountError as error:
        return _login_page(
            request,
            next_path=next,
            identifier=identifier,
            error=message_for(error, request.state.lang),
            ask_number=ask_number,
            status_code=422,
        )
    if not result.ok or result.token is None:
        refused = refusal_error(result)
        return _login_page(
            request,
            next_path=next,
            identifier=identifier,
            error=message_for(refused, request.state.lang),
            ask_number=ask_number,
            status_code=429 if refused.code in ("locked", "throttled") else 401,
        )
    return logged_in(result, next, cookie_secure=services.config.security.cookie_secure)


# -- staff: the issuing desk -------------------------------------------------------------------


def _staff(user: Principal) -> None:
    if not user.can(Permission.CREDENTIAL_REQUESTS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _desk(
    request: Request,
    services: Services,
    number: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    service = pik_service(services)
    customer = service.find_customer(number) if number.strip() else None
    piks = service.list_for(customer.id) if customer is not None else []
    if number.strip() and customer is None and error is None:
        error = _t(request, "No customer has this customer number.")
        status_code = 404 if status_code == 200 else status_code
    fmt = Formatter(request.state.lang)
    context: dict[str, Any] = {
        "title": _t(request, "PIKs"),
        "nav": "staff_piks",
        "number": number.strip(),
        "customer": customer,
        "piks": [
            {
                "view": p,
                "issued": fmt.datetime(p.issued_at),
                "revoked": fmt.datetime(p.revoked_at) if p.revoked_at else None,
                "locked": p.locked_until is not None and p.locked_until > services.clock(),
            }
            for p in piks
        ],
        "error": error,
        "notice": notice,
        "form": form or {"holder_role": "customer", "holder_name": "", "channel": "in_person"},
    }
    return _renderer(request).render(request, "staff_piks.html", context, status_code=status_code)


@router.get("/staff/piks", response_class=HTMLResponse)
def piks_page(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    customer: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    _staff(user)
    return _desk(request, services, customer)


def _letter(request: Request, services: Services, issued: IssuedPik) -> HTMLResponse:
    """The letter page: the code in clear, once, and the PDF in the same response."""
    letter = PikLetter(
        portal_address=services.config.http.base_url,
        customer_number=issued.customer.number,
        customer_name=issued.customer.name,
        holder_name=issued.pik.holder_name,
        holder_role=issued.pik.holder_role.value,
        code=issued.code,
        issued_on=issued.pik.issued_at.astimezone(Formatter(request.state.lang).tz).date(),
    )
    pdf = render_pik_letter(letter)
    fmt = Formatter(request.state.lang)
    return _renderer(request).render(
        request,
        "staff_pik_letter.html",
        {
            "title": _t(request, "PIK letter"),
            "nav": "staff_piks",
            "letter": letter,
            "address": letter.portal_address.split("://", 1)[-1].rstrip("/"),
            "issued": fmt.date(dt.datetime.combine(letter.issued_on, dt.time(12), tzinfo=fmt.tz)),
            "pdf_href": "data:application/pdf;base64," + base64.b64encode(pdf).decode("ascii"),
            "pdf_name": f"pik-{issued.customer.number}.pdf",
        },
    )


@router.post("/staff/piks", response_class=HTMLResponse)
async def issue_pik(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: CsrfField,
    customer: Annotated[str, Form(max_length=16)] = "",
    holder_role: Annotated[str, Form(max_length=16)] = "customer",
    holder_name: Annotated[str, Form(max_length=200)] = "",
    channel: Annotated[str, Form(max_length=16)] = "in_person",
    signer: Annotated[str, Form(max_length=200)] = "",
    document: Annotated[UploadFile | None, File()] = None,
) -> Response:
    _staff(user)
    check_form_csrf(request, csrf_token)
    form = {"holder_role": holder_role, "holder_name": holder_name, "channel": channel}
    service = pik_service(services)
    found = await run_in_threadpool(service.find_customer, customer)
    if found is None:
        return await run_in_threadpool(
            _desk,
            request,
            services,
            customer,
            error=_t(request, "No customer has this customer number."),
            form=form,
            status_code=422,
        )
    if holder_role not in set(HolderRole) or channel not in set(Channel):
        return await run_in_threadpool(
            _desk,
            request,
            services,
            customer,
            error=_t(request, "Choose the holder and the channel."),
            form=form,
            status_code=422,
        )
    qes: QesRequest | None = None
    if channel == Channel.QES_REQUEST and document is not None:
        content = await document.read(DOCUMENT_MAX + 1)
        qes = QesRequest(content, document.filename or "request", signer)
    try:
        issued = await run_in_threadpool(
            lambda: service.issue(
                found.id,
                holder_role=holder_role,
                holder_name=holder_name,
                channel=channel,
                qes=qes,
                actor_user_id=user.user_id,
                ip=client_ip(request),
            )
        )
    except AccountError as error:
        return await run_in_threadpool(
            _desk,
            request,
            services,
            customer,
            error=message_for(error, request.state.lang),
            form=form,
            status_code=422,
        )
    return await run_in_threadpool(_letter, request, services, issued)


def _pik_id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


@router.post("/staff/piks/reissue", response_class=HTMLResponse)
def reissue_pik(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: CsrfField,
    customer: Annotated[str, Form(max_length=16)] = "",
    pik_id: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    _staff(user)
    check_form_csrf(request, csrf_token)
    number = _pik_id(pik_id)
    if number is None:
        return _desk(
            request, services, customer, error=_t(request, "Choose a PIK."), status_code=422
        )
    try:
        issued = pik_service(services).reissue(
            number, actor_user_id=user.user_id, ip=client_ip(request)
        )
    except AccountError as error:
        return _desk(
            request,
            services,
            customer,
            error=message_for(error, request.state.lang),
            status_code=422,
        )
    return _letter(request, services, issued)


@router.post("/staff/piks/revoke", response_class=HTMLResponse)
def revoke_pik(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: CsrfField,
    customer: Annotated[str, Form(max_length=16)] = "",
    pik_id: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    _staff(user)
    check_form_csrf(request, csrf_token)
    number = _pik_id(pik_id)
    if number is None:
        return _desk(
            request, services, customer, error=_t(request, "Choose a PIK."), status_code=422
        )
    try:
        pik_service(services).revoke(number, actor_user_id=user.user_id, ip=client_ip(request))
    except AccountError as error:
        return _desk(
            request,
            services,
            customer,
            error=message_for(error, request.state.lang),
            status_code=422,
        )
    return _desk(request, services, customer, notice=_t(request, "The PIK has been revoked."))
