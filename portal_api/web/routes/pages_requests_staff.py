"""Staff pages of the Virtual CSC's request queue (issue 6): filter, assign, advance, reject.

``/staff/requests`` is the queue (a GET form, so a filter is a URL one can share),
oldest first, with the wait of each open request in working days since its last
step. ``/staff/requests/{number}`` shows the whole request, the timeline the
customer sees, and the actions as CSRF-checked forms that answer with a 303 back
to the page and a notice, or with the page and the refusal (400, 409).

Advancing names the step it reaches in a hidden ``expected`` field: a double click
or a page left open while a colleague moved the request gets 409 instead of a
skipped step. A MyEnergy request follows its contract: no advance button, a link
to the contract, and a rejection that the MyEnergy service refuses once signed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal_api.domain.roles import Permission, Role
from portal_api.service_requests.catalogue import CATALOGUE, ServiceKind, Step, step_title
from portal_api.service_requests.forms import FORMS, display_fields
from portal_api.service_requests.workflow import REASON_MAX, RequestError, RequestView
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import N_
from portal_api.web.render import Renderer
from portal_api.web.requests_access import request_service
from portal_api.web.routes.api_requests_staff import (
    ASSIGNED_PATTERN,
    StateFilter,
    attachment_response,
    queue_entries,
    queue_filter,
    reject_request,
    state_counts,
    waiting_days,
)
from portal_api.web.services import Services

router = APIRouter(include_in_schema=False)

# The filter's choices (plural: which requests) and the state of one request.
STATE_LABELS = {
    "open": N_("Requests in progress"),
    "completed": N_("Completed requests"),
    "rejected": N_("Rejected requests"),
    "all": N_("All"),
}
STATE_OF_ONE = {
    "open": N_("The request is in progress"),
    "completed": N_("The request is completed"),
    "rejected": N_("The request is rejected"),
}
_DONE = {
    "assigned": N_("The request was assigned."),
    "released": N_("The request was released: nobody is working on it now."),
    "advanced": N_("The request moved to its next step; the customer was sent an e-mail."),
    "rejected": N_("The request was rejected; the customer was sent the reason by e-mail."),
}


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def staff_page_user(user: PageUser) -> Principal:
    """A queue page: logged in (login otherwise) with ``service_requests`` (403 otherwise).

    A dependency, so a customer gets 403 before a form's fields are even read."""
    if user.role is Role.CUSTOMER or not user.can(Permission.SERVICE_REQUESTS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return user


StaffUser = Annotated[Principal, Depends(staff_page_user)]


# -- the queue ---------------------------------------------------------------------------------


@router.get("/staff/requests", response_class=HTMLResponse)
def queue_page(
    request: Request,
    *,
    user: StaffUser,
    services: ServicesDep,
    kind: Annotated[ServiceKind | None, Query()] = None,
    state: Annotated[StateFilter, Query()] = "open",
    assigned: Annotated[str, Query(pattern=ASSIGNED_PATTERN)] = "",
    customer_number: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    lang = request.state.lang
    wanted = queue_filter(kind, state, assigned, customer_number)
    entries = queue_entries(services, wanted, user.user_id)
    chosen = {
        "kind": kind.value if kind else "",
        "state": state,
        "assigned": assigned,
        "customer_number": wanted.customer_number,
    }
    # The counts keep the other criteria, and so do their links.
    state_links = {
        value: "/staff/requests?" + urlencode({**chosen, "state": value}) for value in STATE_LABELS
    }
    context = {
        "title": _t(request, "Service requests"),
        "nav": "staff_requests",
        "entries": entries,
        "capped": len(entries) >= wanted.limit,
        "limit": wanted.limit,
        "counts": state_counts(services, wanted, user.user_id),
        "states": STATE_LABELS,
        "state_links": state_links,
        "kinds": [(k.value, d.title(lang)) for k, d in CATALOGUE.items()],
        "step_titles": {s.value: step_title(s, lang) for s in Step},
        "staff": request_service(services).staff_members(),
        "chosen": chosen,
    }
    return _renderer(request).render(request, "staff_requests.html", context)


# -- one request -------------------------------------------------------------------------------


def _documents(view: RequestView, lang: str) -> list[dict[str, Any]]:
    """The attachments with the form's title of each document (its label otherwise)."""
    form = FORMS.get(view.kind)
    titles = {d.label: d.title(lang) for d in form.documents} if form is not None else {}
    return [
        {"item": a, "title": titles.get(a.label, a.label), "kib": max(1, round(a.size / 1024))}
        for a in view.attachments
    ]


def _detail(
    request: Request,
    user: Principal,
    services: Services,
    number: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = request.state.lang
    try:
        view = request_service(services).one(number)
    except RequestError as refusal:
        raise HTTPException(refusal.status, refusal.message_en) from None
    last = view.steps[-1].at if view.steps else view.submitted_at
    next_step = view.next_step
    context = {
        "title": _t(request, "Request no.") + " " + view.number,
        "nav": "staff_requests",
        "request_view": view,
        "service_title": view.service.title(lang),
        "company": view.service.provider_name(lang),
        "step_title": step_title(view.step, lang),
        "state_label": STATE_OF_ONE[view.state.value],
        "waiting": waiting_days(services, view, last),
        "fields": display_fields(view.kind, view.fields, lang),
        "documents": _documents(view, lang),
        "staff": request_service(services).staff_members(),
        "next_step": next_step,
        "next_title": step_title(next_step, lang) if next_step is not None else "",
        "notice": notice,
        "error": error,
        "field_errors": field_errors or {},
        "values": values or {},
        "reason_max": REASON_MAX,
    }
    return _renderer(request).render(
        request, "staff_request_detail.html", context, status_code=status_code
    )


def _done(request: Request, done: str) -> str | None:
    return _t(request, _DONE[done]) if done in _DONE else None


@router.get("/staff/requests/{request_number}", response_class=HTMLResponse)
def request_page(
    request: Request,
    request_number: str,
    user: StaffUser,
    services: ServicesDep,
    done: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    return _detail(request, user, services, request_number, notice=_done(request, done))


@router.get("/staff/requests/{request_number}/attachments/{attachment_id}")
def attachment(
    request_number: str, attachment_id: int, user: StaffUser, services: ServicesDep
) -> Response:
    del user  # only for the permission check
    try:
        return attachment_response(services, request_number, attachment_id)
    except RequestError as refusal:
        raise HTTPException(refusal.status, refusal.message_en) from None


def _back(number: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/staff/requests/{quote(number, safe='')}?" + urlencode({"done": done}), status_code=303
    )


def _refused(
    request: Request,
    user: Principal,
    *,
    services: Services,
    number: str,
    refusal: RequestError,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page again with the refusal (its status: 400 input, 404 gone, 409 stale)."""
    lang = request.state.lang
    fields = {name: bg if lang == "bg" else en for name, (bg, en) in refusal.fields.items()}
    if refusal.status == status.HTTP_404_NOT_FOUND:
        raise HTTPException(refusal.status, refusal.message_en)
    return _detail(
        request,
        user,
        services,
        number,
        error=refusal.message(lang),
        field_errors=fields,
        values=values,
        status_code=refusal.status,
    )


@router.post("/staff/requests/{request_number}/assign", response_model=None)
def assign(
    request: Request,
    *,
    request_number: str,
    user: StaffUser,
    services: ServicesDep,
    assignee: Annotated[str, Form(pattern=r"^(me|none|\d{1,9})$")],
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """``assignee``: "me" (the button), "none" (release) or a colleague's id (the select)."""
    check_form_csrf(request, csrf_token)
    target: int | None
    if assignee == "me":
        target = user.user_id
    elif assignee == "none":
        target = None
    else:
        target = int(assignee)
    try:
        request_service(services).assign(request_number, target, actor_user_id=user.user_id)
    except RequestError as refusal:
        return _refused(request, user, services=services, number=request_number, refusal=refusal)
    return _back(request_number, "released" if target is None else "assigned")


@router.post("/staff/requests/{request_number}/advance", response_model=None)
def advance(
    request: Request,
    *,
    request_number: str,
    user: StaffUser,
    services: ServicesDep,
    expected: Annotated[Step, Form()],
    note: Annotated[str, Form(max_length=REASON_MAX)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    check_form_csrf(request, csrf_token)
    try:
        request_service(services).advance(
            request_number, actor_user_id=user.user_id, expected=expected, note=note
        )
    except RequestError as refusal:
        return _refused(
            request,
            user,
            services=services,
            number=request_number,
            refusal=refusal,
            values={"note": note},
        )
    return _back(request_number, "advanced")


@router.post("/staff/requests/{request_number}/reject", response_model=None)
def reject(
    request: Request,
    *,
    request_number: str,
    user: StaffUser,
    services: ServicesDep,
    reason: Annotated[str, Form(max_length=REASON_MAX)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    check_form_csrf(request, csrf_token)
    try:
        reject_request(
            services,
            request_number,
            actor_user_id=user.user_id,
            reason=reason,
            ip=client_ip(request),
        )
    except RequestError as refusal:
        return _refused(
            request,
            user,
            services=services,
            number=request_number,
            refusal=refusal,
            values={"reason": reason},
        )
    return _back(request_number, "rejected")
