"""Contract engine pages: the staff's queue of proposals (/staff/decisions, DECISIONS).

Each proposal shows the engine's explanation in the page's language (the clause,
the reason, the numbers it used) with confirm / reject buttons (CSRF-checked
forms). A confirm that the General Terms no longer allow (e.g. the invoice was
paid since) shows why and leaves the proposal open. Customers never see this
page. The termination pages (staff and the customer's notice) are
``pages_terminations``, included here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.decisions import ConfirmContext, confirm, decisions, reject
from portal_api.contracts.db.enums import DecisionKind, DecisionState
from portal_api.contracts.db.records import DecisionRecord
from portal_api.domain.roles import Permission
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import N_
from portal_api.web.render import Renderer
from portal_api.web.routes import pages_terminations

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    DecisionKind.SUSPENSION_PROPOSED: N_("Suspend the service (late payment)"),
    DecisionKind.TERMINATION_PROPOSED: N_("Terminate the contract"),
    DecisionKind.RESTORATION_DUE: N_("Restore the service (paid)"),
    DecisionKind.INTERRUPTION_PROPOSED: N_("Open an interruption (silent device)"),
    DecisionKind.FREE_MONTH_GRANTED: N_("Free month granted"),
    DecisionKind.PENALTY_PROPOSED: N_("Penalty or charge"),
}
STATE_LABELS = {
    "proposed": N_("Open proposals"),
    "confirmed": N_("Confirmed"),
    "rejected": N_("Rejected"),
    "all": N_("All"),
}
_DONE = {
    "confirmed": N_("The proposal was confirmed and applied."),
    "rejected": N_("The proposal was rejected; nothing was applied."),
}


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _staff(user: Principal) -> None:
    if not user.can(Permission.DECISIONS):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _row(record: DecisionRecord, lang: str) -> dict[str, Any]:
    reason = record.explanation.get("reason")
    numbers = record.explanation.get("numbers")
    text = ""
    if isinstance(reason, dict):
        text = str(reason.get("bg" if lang == "bg" else "en", ""))
    return {
        "id": record.id,
        "contract_number": record.contract_number,
        "kind": record.kind.value,
        "kind_label": KIND_LABELS.get(record.kind, record.kind.value),
        "subject": record.subject,
        "clause": record.clause,
        "proposed_on": pages_terminations.day(lang, record.proposed_on),
        "state": record.state.value,
        "reason": text,
        "numbers": sorted(numbers.items()) if isinstance(numbers, dict) else [],
        "decided_at": record.decided_at,
    }


def _render(
    request: Request,
    services: ServicesDep,
    *,
    state: str,
    kind: str,
    error: str | None = None,
    error_id: int | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = request.state.lang
    wanted = None if state == "all" else DecisionState(state)
    with services.sessions() as session:
        found = decisions(session, wanted)
    rows = [_row(d, lang) for d in found if not kind or d.kind.value == kind]
    context = {
        "title": _t(request, "Proposals"),
        "nav": "staff_decisions",
        "rows": rows,
        "state": state,
        "kind": kind,
        "states": STATE_LABELS,
        "kinds": {k.value: v for k, v in KIND_LABELS.items()},
        "error": error,
        "error_id": error_id,
        "notice": notice,
    }
    return _renderer(request).render(
        request, "staff_decisions.html", context, status_code=status_code
    )


StateQuery = Annotated[str, Query(pattern="^(proposed|confirmed|rejected|all)$")]
KindQuery = Annotated[str, Query(max_length=32)]


@router.get("/staff/decisions", response_class=HTMLResponse)
def decisions_page(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    state: StateQuery = "proposed",
    kind: KindQuery = "",
    done: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    _staff(user)
    notice = _t(request, _DONE[done]) if done in _DONE else None
    return _render(request, services, state=state, kind=kind, notice=notice)


def _decide(
    request: Request,
    user: Principal,
    services: ServicesDep,
    decision_id: int,
    csrf_token: str,
    *,
    confirmed: bool,
) -> HTMLResponse | RedirectResponse:
    _staff(user)
    check_form_csrf(request, csrf_token)
    actor = Actor(user.user_id, client_ip(request))
    try:
        with services.sessions.begin() as session:
            if confirmed:
                confirm(
                    session, decision_id, ConfirmContext(actor, services.clock(), services.calendar)
                )
            else:
                reject(session, decision_id, actor, services.clock())
    except ContractAppError as error:
        return _render(
            request,
            services,
            state="proposed",
            kind="",
            error=error.reason(request.state.lang),
            error_id=decision_id,
            status_code=error.status,
        )
    done = "confirmed" if confirmed else "rejected"
    return RedirectResponse("/staff/decisions?" + urlencode({"done": done}), status_code=303)


@router.post("/staff/decisions/{decision_id}/confirm", response_model=None)
def confirm_form(
    request: Request,
    decision_id: int,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    return _decide(request, user, services, decision_id, csrf_token, confirmed=True)


@router.post("/staff/decisions/{decision_id}/reject", response_model=None)
def reject_form(
    request: Request,
    decision_id: int,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    return _decide(request, user, services, decision_id, csrf_token, confirmed=False)


router.include_router(pages_terminations.router)
