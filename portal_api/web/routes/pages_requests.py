"""Customer pages of the service requests (issue 6): catalogue, forms, requests, timelines.

``/services`` lists the services of the three companies as the seed does, MyEnergy
live (its order page is routes/pages_myenergy.py); any logged-in user may read it,
only a customer gets the links to request. ``/services/{kind}/new`` renders the
form from its one definition (service_requests/forms.py); its multipart POST is
checked whole (every field and document) and either answers 303 to the new
request or the same form again (400) with every message beside its field and the
values kept. ``/requests`` and ``/requests/{number}`` show the customer's own
requests only: another customer's number answers 404 exactly like an unknown one.
Staff have no customer of their own and work the requests on /staff/requests:
the customer pages answer them 403.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal_api.domain.roles import Role
from portal_api.service_requests.catalogue import (
    CATALOGUE,
    Provider,
    RequestState,
    ServiceKind,
    Step,
    step_title,
)
from portal_api.service_requests.forms import FORMS, display_fields, form_for
from portal_api.service_requests.workflow import RequestError
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf
from portal_api.web.i18n import N_
from portal_api.web.render import Renderer
from portal_api.web.requests_access import request_service, submit_form
from portal_api.web.routes.api_requests import (
    AttachmentId,
    RequestNumber,
    ServiceKindPath,
    download,
    read_submission,
)

__all__ = ["STATE_LABELS", "router"]

router = APIRouter(include_in_schema=False)

STATE_LABELS = {
    RequestState.OPEN: N_("In progress"),
    RequestState.COMPLETED: N_("Completed"),
    RequestState.REJECTED: N_("Refused"),
}
PROVIDERS = (Provider.NETWORK, Provider.SUPPLIER, Provider.ENERGY_SERVICES)
MYENERGY_PAGE = "/services/myenergy"


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _step_titles(request: Request) -> dict[str, str]:
    return {step.value: step_title(step, request.state.lang) for step in Step}


def _customer(user: Principal) -> int:
    """The caller's customer: the customer pages are for customers only (403 for staff)."""
    if user.role is not Role.CUSTOMER or user.customer_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return user.customer_id


def _not_found(error: RequestError) -> HTTPException:
    return HTTPException(error.status, error.message_en)


# -- catalogue and forms ------------------------------------------------------------------


@router.get("/services", response_class=HTMLResponse)
def services_page(request: Request, user: PageUser) -> HTMLResponse:
    groups = [
        (provider, [d for d in CATALOGUE.values() if d.provider is provider])
        for provider in PROVIDERS
    ]
    return _renderer(request).render(
        request,
        "services.html",
        {
            "title": _t(request, "Online services"),
            "nav": "requests",
            "groups": groups,
            "forms": FORMS,
            "is_customer": user.role is Role.CUSTOMER and user.customer_id is not None,
            "myenergy_page": MYENERGY_PAGE,
            "step_titles": _step_titles(request),
        },
    )


def _form_page(
    request: Request,
    kind: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, tuple[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    definition = form_for(kind)
    service = CATALOGUE[definition.kind]
    return _renderer(request).render(
        request,
        "service_form.html",
        {
            "title": service.title(request.state.lang),
            "nav": "requests",
            "service": service,
            "form": definition,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/services/{service_kind}/new", response_class=HTMLResponse)
def service_form(request: Request, user: PageUser, service_kind: ServiceKindPath) -> Response:
    _customer(user)
    if service_kind == ServiceKind.MYENERGY:
        return RedirectResponse(MYENERGY_PAGE, status.HTTP_303_SEE_OTHER)
    try:
        return _form_page(request, service_kind)
    except RequestError as error:
        raise _not_found(error) from None


@router.post("/services/{service_kind}", response_class=HTMLResponse)
async def submit_request(
    request: Request, user: PageUser, services: ServicesDep, service_kind: ServiceKindPath
) -> Response:
    customer_id = _customer(user)
    if service_kind == ServiceKind.MYENERGY:
        return RedirectResponse(MYENERGY_PAGE, status.HTTP_303_SEE_OTHER)
    try:
        form_for(service_kind)
    except RequestError as error:
        raise _not_found(error) from None
    raw, parts = await read_submission(request)
    check_form_csrf(request, raw.get("csrf_token"))
    try:
        view = await submit_form(
            services,
            customer_id=customer_id,
            actor_user_id=user.user_id,
            kind=service_kind,
            raw=raw,
            parts=parts,
        )
    except RequestError as error:
        errors = dict(error.fields) or {"": (error.message_bg, error.message_en)}
        return _form_page(request, service_kind, values=raw, errors=errors, status_code=400)
    return RedirectResponse(f"/requests/{view.number}?submitted=1", status.HTTP_303_SEE_OTHER)


# -- the customer's requests ----------------------------------------------------------------


@router.get("/requests", response_class=HTMLResponse)
def requests_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    views = request_service(services).for_customer(_customer(user))
    return _renderer(request).render(
        request,
        "requests.html",
        {
            "title": _t(request, "My requests"),
            "nav": "requests",
            "requests": views,
            "step_titles": _step_titles(request),
            "state_labels": {k.value: _t(request, v) for k, v in STATE_LABELS.items()},
        },
    )


@router.get("/requests/{request_number}", response_class=HTMLResponse)
def request_page(
    request: Request, user: PageUser, services: ServicesDep, request_number: RequestNumber
) -> HTMLResponse:
    customer_id = _customer(user)
    try:
        view = request_service(services).one(request_number, customer_id=customer_id)
    except RequestError as error:
        raise _not_found(error) from None
    lang = request.state.lang
    documents = FORMS[view.kind].documents if view.kind in FORMS else ()
    context: dict[str, Any] = {
        "title": f"{_t(request, 'Request')} {view.number}",
        "nav": "requests",
        "request_view": view,
        "fields": display_fields(view.kind, view.fields, lang) if view.kind in FORMS else [],
        "document_titles": {d.label: d.title(lang) for d in documents},
        "state_labels": {k.value: _t(request, v) for k, v in STATE_LABELS.items()},
        "submitted": request.query_params.get("submitted") == "1",
    }
    return _renderer(request).render(request, "request_detail.html", context)


@router.get("/requests/{request_number}/attachments/{attachment_id}")
def request_attachment(
    user: PageUser,
    services: ServicesDep,
    request_number: RequestNumber,
    attachment_id: AttachmentId,
) -> Response:
    customer_id = _customer(user)
    try:
        item, content = request_service(services).attachment(
            request_number, attachment_id, customer_id=customer_id
        )
    except RequestError as error:
        raise _not_found(error) from None
    return download(item, content)
