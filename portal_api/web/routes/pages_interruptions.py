"""Interruption pages: the customer's history (/interruptions) and the staff's desk
(/staff/interruptions: list, open form, silent-device proposals; a detail page with
every check and the end / update form). General Terms 3.2, 5.1-5.3, 6.7, 7.5б.

Forms give times as Europe/Sofia wall-clock time (the ``datetime-local`` input has no
zone); an ISO time with an offset is taken as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from portal_api.contracts.app.interruptions import (
    InterruptionInput,
    open_from_proposal,
    open_interruption,
    update_interruption,
)
from portal_api.contracts.app.interruptions_views import (
    ContractInterruptions,
    InterruptionError,
    InterruptionView,
    contract_interruptions,
    interruption_view,
    list_interruptions,
    pending_proposals,
)
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.decision import Decision
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import N_, SOFIA
from portal_api.web.render import Renderer
from portal_api.web.services import Services

router = APIRouter(include_in_schema=False)

_KIND = {"planned": N_("planned"), "unplanned": N_("unplanned")}
_SOURCE = {"staff": N_("staff"), "device_silence": N_("silent device")}
_NOTICE_CLAUSES = ("3.2b", "3.2c")
# What a check's line says, beside its reason: a breach of a duty, or whether a
# provision applies at all (5.3, 6.7) or the problem counts (5.2, over 6 hours).
_OUTCOME = {
    "holds": N_("holds"),
    "breached": N_("breached"),
    "applies": N_("applies"),
    "not_applicable": N_("does not apply"),
    "counts": N_("counts (over 6 hours)"),
    "not_counted": N_("not counted (6 hours or less)"),
}
_LETTERS = str.maketrans("abcdefg", "абвгдеж")  # the domain's "3.2b" is the Terms' "3.2б"


def _clause(lang: str, clause: str) -> str:
    """A clause as the reader's language writes it (the Bulgarian original: 7.5б)."""
    return clause.translate(_LETTERS) if lang == "bg" else clause


def _outcome(decision: Decision[Any]) -> str:
    if decision.clause == "5.3":
        return "applies" if decision.allowed else "not_applicable"
    if decision.clause == "6.7":
        return "applies" if decision.value is True else "not_applicable"
    if "limit_hours" in decision.numbers:  # 5.2: does the problem count at all?
        return "counts" if decision.value is True else "not_counted"
    held = decision.value if isinstance(decision.value, bool) else decision.allowed
    return "holds" if held else "breached"


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _reason(request: Request, decision: Decision[Any]) -> str:
    return decision.reason_bg if request.state.lang == "bg" else decision.reason_en


def _staff(user: Principal, permission: Permission) -> None:
    if user.role is Role.CUSTOMER or not user.can(permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _form_time(value: str) -> dt.datetime | None:
    """A form's time: empty -> None; without an offset it is Sofia wall-clock time."""
    text = value.strip()
    if not text:
        return None
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=SOFIA)
    return moment


def _line(request: Request, decision: Decision[Any]) -> dict[str, Any]:
    outcome = _outcome(decision)
    return {
        "clause": _clause(request.state.lang, decision.clause),
        "allowed": decision.allowed,
        "value": decision.value,
        "outcome": outcome,
        "outcome_text": _t(request, _OUTCOME[outcome]),
        "good": outcome in ("holds", "counts", "not_applicable"),
        "reason": _reason(request, decision),
    }


def _row(request: Request, view: InterruptionView) -> dict[str, Any]:
    item = view.item
    notice = next((c for c in view.checks if c.clause in _NOTICE_CLAUSES), None)
    return {
        "id": view.id,
        "contract": view.record.contract_number,
        "kind": _t(request, _KIND[item.kind]),
        "source": _t(request, _SOURCE[view.record.source.value]),
        "start": item.start,
        "end": item.end,
        "sites": sorted(item.sites),
        "device_id": item.device_id,
        "hours": view.measures.hours,
        "working_days": view.measures.working_days,
        "touched": view.measures.touched_working_days,
        "notice": None if notice is None else _line(request, notice),
        "notice_queued_at": None if view.notice is None else view.notice.created_at,
        "free_month": view.free_month is not None,
        "checks": [_line(request, c) for c in view.checks],
        "company_fault": item.company_fault,
        "customer_caused": item.customer_caused,
        "customer_obstructed": item.customer_obstructed,
        "notified_at": item.notified_at,
        "detected_at": item.detected_at,
        "reported_by_customer_at": item.reported_by_customer_at,
    }


def _summary(request: Request, summary: ContractInterruptions) -> dict[str, Any]:
    remedies = summary.remedies
    return {
        "number": summary.contract.contract.number,
        "subscription_end": summary.contract.contract.subscription_end,
        "free_months_granted": summary.contract.free_months,
        "free_months": None if remedies is None else _line(request, remedies.free_months),
        "termination": None if remedies is None else _line(request, remedies.termination),
        "rows": [_row(request, v) for v in reversed(summary.items)],
    }


# -- the customer's history --------------------------------------------------------------


@router.get("/interruptions", response_class=HTMLResponse)
def history_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    """A customer's interruptions per contract; staff who read contracts see all."""
    if user.role is Role.CUSTOMER:
        # -1 matches no contract: a customer login without its customer sees nothing.
        own = user.customer_id if user.can(Permission.OWN_DATA) else None
        customer_id: int | None = -1 if own is None else own
    else:
        _staff(user, Permission.CONTRACTS_READ)
        customer_id = None
    with services.sessions() as session:
        summaries = contract_interruptions(
            session, calendar=services.calendar, now=services.clock(), customer_id=customer_id
        )
    return _renderer(request).render(
        request,
        "interruptions.html",
        {
            "title": _t(request, "Interruptions"),
            "nav": "interruptions",
            "contracts": [_summary(request, s) for s in summaries],
        },
    )


# -- the staff's desk ------------------------------------------------------------------------


def _desk(
    request: Request,
    services: Services,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = services.clock()
    with services.sessions() as session:
        views = list_interruptions(session, calendar=services.calendar, now=now)
        proposals = pending_proposals(session)
        numbers = [c.contract.number for c in ContractRepository(session).contracts()]
    lang = request.state.lang
    rows = [_row(request, v) for v in reversed(views)]
    proposal_rows = []
    for p in proposals:
        reason = p.explanation.get("reason")
        numbers_of = p.explanation.get("numbers")
        proposal_rows.append(
            {
                "id": p.id,
                "contract": p.contract_number,
                "proposed_on": p.proposed_on,
                "reason": reason.get(lang, "") if isinstance(reason, dict) else "",
                "device_id": numbers_of.get("device_id") if isinstance(numbers_of, dict) else "",
            }
        )
    return _renderer(request).render(
        request,
        "staff_interruptions.html",
        {
            "title": _t(request, "Interruptions"),
            "nav": "staff_interruptions",
            "rows": rows,
            "proposals": proposal_rows,
            "contract_numbers": numbers,
            "error": error,
            "form": form or {},
            "notice": _t(request, "The interruption was recorded.")
            if request.query_params.get("done")
            else None,
        },
        status_code=status_code,
    )


@router.get("/staff/interruptions", response_class=HTMLResponse)
def desk_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    _staff(user, Permission.INTERRUPTIONS)
    return _desk(request, services)


@router.post("/staff/interruptions", response_class=HTMLResponse)
def open_form(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()],
    contract_number: Annotated[str, Form(max_length=32)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    start: Annotated[str, Form(max_length=40)] = "",
    end: Annotated[str, Form(max_length=40)] = "",
    sites: Annotated[str, Form(max_length=500)] = "",
    notified_at: Annotated[str, Form(max_length=40)] = "",
    reported_by_customer_at: Annotated[str, Form(max_length=40)] = "",
    customer_caused: Annotated[str, Form(max_length=8)] = "",
    customer_obstructed: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    check_form_csrf(request, csrf_token)
    _staff(user, Permission.INTERRUPTIONS)
    form = {
        "contract_number": contract_number,
        "kind": kind,
        "start": start,
        "end": end,
        "sites": sites,
        "notified_at": notified_at,
        "reported_by_customer_at": reported_by_customer_at,
    }
    try:
        begins = _form_time(start)
        if kind not in ("planned", "unplanned") or not contract_number or begins is None:
            raise ValueError("missing")
        data = InterruptionInput(
            contract_number=contract_number,
            kind="planned" if kind == "planned" else "unplanned",
            start=begins,
            end=_form_time(end),
            sites=tuple(s.strip() for s in sites.split(",") if s.strip()),
            customer_caused=bool(customer_caused),
            customer_obstructed=bool(customer_obstructed),
            notified_at=_form_time(notified_at),
            reported_by_customer_at=_form_time(reported_by_customer_at),
        )
    except ValueError:
        message = _t(request, "Choose the contract and the kind and give the start time.")
        return _desk(request, services, error=message, form=form, status_code=422)
    try:
        with services.sessions.begin() as session:
            view = open_interruption(
                session,
                data,
                user_id=user.user_id,
                ip=client_ip(request),
                calendar=services.calendar,
                now=services.clock(),
            )
            new_id = view.id
    except InterruptionError as error:
        return _desk(
            request, services, error=error.reason(request.state.lang), form=form, status_code=422
        )
    return RedirectResponse(f"/staff/interruptions/{new_id}?done=1", status_code=303)


@router.post("/staff/interruptions/proposals/{decision_id}/confirm", response_class=HTMLResponse)
def confirm_proposal(
    request: Request,
    decision_id: int,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()],
) -> Response:
    """5.2: staff confirm a silent-device proposal; the unplanned interruption opens."""
    check_form_csrf(request, csrf_token)
    _staff(user, Permission.INTERRUPTIONS)
    try:
        with services.sessions.begin() as session:
            record = open_from_proposal(
                session,
                decision_id,
                user.user_id,
                services.clock(),
                calendar=services.calendar,
                ip=client_ip(request),
            )
    except InterruptionError as error:
        return _desk(request, services, error=error.reason(request.state.lang), status_code=409)
    return RedirectResponse(f"/staff/interruptions/{record.id}?done=1", status_code=303)


def _detail(
    request: Request,
    services: Services,
    interruption_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = services.clock()
    try:
        with services.sessions() as session:
            view = interruption_view(session, interruption_id, calendar=services.calendar, now=now)
            summaries = contract_interruptions(
                session,
                calendar=services.calendar,
                now=now,
                contract_number=view.record.contract_number,
            )
    except InterruptionError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Interruption not found") from None
    return _renderer(request).render(
        request,
        "staff_interruptions_detail.html",
        {
            "title": _t(request, "Interruption") + f" {interruption_id}",
            "nav": "staff_interruptions",
            "row": _row(request, view),
            "contract": _summary(request, summaries[0]) if summaries else None,
            "error": error,
            "notice": _t(request, "The interruption was recorded.")
            if request.query_params.get("done")
            else None,
        },
        status_code=status_code,
    )


@router.get("/staff/interruptions/{interruption_id}", response_class=HTMLResponse)
def detail_page(
    request: Request, interruption_id: int, user: PageUser, services: ServicesDep
) -> HTMLResponse:
    _staff(user, Permission.INTERRUPTIONS)
    return _detail(request, services, interruption_id)


@router.post("/staff/interruptions/{interruption_id}", response_class=HTMLResponse)
def update_form(
    request: Request,
    interruption_id: int,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()],
    end: Annotated[str, Form(max_length=40)] = "",
    notified_at: Annotated[str, Form(max_length=40)] = "",
    detected_at: Annotated[str, Form(max_length=40)] = "",
    reported_by_customer_at: Annotated[str, Form(max_length=40)] = "",
    flags: Annotated[str, Form(max_length=8)] = "",
    company_fault: Annotated[str, Form(max_length=8)] = "",
    customer_caused: Annotated[str, Form(max_length=8)] = "",
    customer_obstructed: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """End the interruption or correct its times and flags; an empty time is unchanged.
    The check boxes count only when the form carries them (``flags``): a post without
    them never clears a flag."""
    check_form_csrf(request, csrf_token)
    _staff(user, Permission.INTERRUPTIONS)
    changes: dict[str, object] = {}
    try:
        for name, value in (
            ("end", end),
            ("notified_at", notified_at),
            ("detected_at", detected_at),
            ("reported_by_customer_at", reported_by_customer_at),
        ):
            moment = _form_time(value)
            if moment is not None:
                changes[name] = moment
    except ValueError:
        message = _t(request, "A time is not valid: use the date and time fields.")
        return _detail(request, services, interruption_id, error=message, status_code=422)
    if flags:
        changes["company_fault"] = bool(company_fault)
        changes["customer_caused"] = bool(customer_caused)
        changes["customer_obstructed"] = bool(customer_obstructed)
    try:
        with services.sessions.begin() as session:
            update_interruption(
                session,
                interruption_id,
                changes,
                user_id=user.user_id,
                ip=client_ip(request),
                calendar=services.calendar,
                now=services.clock(),
            )
    except InterruptionError as error:
        if error.status == 404:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Interruption not found") from None
        return _detail(
            request,
            services,
            interruption_id,
            error=error.reason(request.state.lang),
            status_code=422,
        )
    return RedirectResponse(f"/staff/interruptions/{interruption_id}?done=1", status_code=303)
