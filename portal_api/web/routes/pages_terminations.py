"""Termination pages: the customer's notice (7.2, 7.5c) and the staff's end of a contract.

- ``/contracts/{contract_number}/terminate`` (the customer, its own contract):
  what giving 14 days' notice (7.2, with 8.1b) or withdrawing (7.5c, ЗЗП art. 50)
  would cost, computed by the engine; POST sends it to staff as a proposal.
- ``/staff/contracts/{contract_number}/termination`` (CONTRACTS_MANAGE): choose a
  ground and its facts, read the quote (nothing changes), then apply it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.decisions import decisions
from portal_api.contracts.app.terminations import Applied, give_notice, quote, terminate
from portal_api.contracts.app.terminations_facts import CUSTOMER_GROUNDS, Ground
from portal_api.contracts.app.terminations_quote import Quote
from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.domain.dates import local_date
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import N_, Formatter
from portal_api.web.render import Renderer
from portal_api.web.routes.api_terminations import customer_of, notice_facts, own_contract
from portal_api.web.schemas_decisions import TerminationIn
from portal_api.web.services import Services

router = APIRouter(include_in_schema=False)

GROUND_LABELS = {
    Ground.EXPIRY: N_("Term expired (7.1a)"),
    Ground.MUTUAL_CONSENT: N_("Mutual consent (7.1b)"),
    Ground.FORCE_MAJEURE: N_("Force majeure over 60 days (7.1d)"),
    Ground.STATE_ACT: N_("Act of a state authority (7.1e)"),
    Ground.DEATH_OR_INCAPACITY: N_("Death or legal incapacity (7.1f)"),
    Ground.LIQUIDATION: N_("Liquidation or insolvency (7.1g)"),
    Ground.OWNERSHIP_CHANGE: N_("Change of ownership or use of sites (7.1h, 8.1c)"),
    Ground.CUSTOMER_EARLY: N_("Customer's notice, 14 days (7.2, 8.1b)"),
    Ground.COMPANY_EARLY: N_("Company's notice, 14 days (7.3, 8.2)"),
    Ground.WITHDRAWAL: N_("Withdrawal from an off-premises contract (7.5c)"),
    Ground.EQUIPMENT_DAMAGE: N_("Equipment damaged by the customer (5.3, 8.1a)"),
    Ground.DISMANTLING: N_("No access for dismantling (7.7, 8.1d)"),
}
NOTICE_STATES = {
    "proposed": N_("Waiting for confirmation"),
    "confirmed": N_("Confirmed"),
    "rejected": N_("Rejected"),
}
MONEY_LABELS = {
    "last_month_fee": N_("Fee of the last month"),
    "last_full_month_fee": N_("Fee of the last full month with access"),
    "costs_incurred": N_("Costs incurred"),
    "8.1a": N_("Penalty 8.1a"),
    "8.1b": N_("Penalty 8.1b"),
    "8.1c": N_("Penalty 8.1c"),
    "8.1d": N_("Penalty 8.1d"),
    "8.2": N_("Penalty 8.2 (owed by the company)"),
    "partial_month_invoice": N_("Credit of the invoice of the last, partial month"),
}


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def day(lang: str, value: dt.date | None) -> str:
    """A calendar day in the page's language (Formatter.date takes aware datetimes)."""
    return "–" if value is None else format_date(value, "long", locale=Formatter(lang).locale)


def _quote_view(found: Quote, lang: str) -> dict[str, Any]:
    refusal = found.refusal
    outcome = found.outcome
    return {
        "allowed": found.allowed,
        "ground": found.facts.ground.value,
        "reason": refusal.reason_bg if lang == "bg" else refusal.reason_en,
        "clause": refusal.clause,
        "ends_on": day(lang, outcome.ends_on),
        "monthly_fee": found.monthly_fee,
        "charges": [(MONEY_LABELS.get(w, w), a) for w, a in outcome.charges],
        "credits": [(MONEY_LABELS.get(w, w), a) for w, a in outcome.credits],
        "customer_owes": outcome.customer_owes,
        "company_owes": outcome.company_owes,
        "continues_for": outcome.continues_for,
        "new_monthly_fee": outcome.new_monthly_fee,
        "notes": found.note_texts(lang),
    }


# -- the customer's notice ------------------------------------------------------------


def _customer(request: Request, user: Principal, services: Services, number: str) -> None:
    if user.role is not Role.CUSTOMER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    own_contract(services, user, number)


def _render_notice(
    request: Request,
    services: Services,
    number: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = request.state.lang
    today = local_date(services.clock())
    quotes = []
    with services.sessions() as session:
        for ground in CUSTOMER_GROUNDS:
            try:
                found = quote(
                    session,
                    number,
                    notice_facts(ground.value, None, today),
                    today=today,
                    calendar=services.calendar,
                )
            except ContractAppError:
                continue
            quotes.append({**_quote_view(found, lang), "label": GROUND_LABELS[ground]})
        given = [
            {
                "on": day(lang, d.proposed_on),
                "state": NOTICE_STATES[d.state.value],
                "label": GROUND_LABELS[Ground(d.subject.split(":")[1])],
            }
            for d in decisions(session, None, number)
            if d.kind is DecisionKind.TERMINATION_PROPOSED and d.subject.startswith("notice:")
        ]
    context = {
        "title": _t(request, "End the contract"),
        "nav": "contracts",
        "contract_number": number,
        "quotes": quotes,
        "given": given,
        "today": today,
        "error": error,
        "notice": notice,
    }
    return _renderer(request).render(request, "terminate.html", context, status_code=status_code)


@router.get("/contracts/{contract_number}/terminate", response_class=HTMLResponse)
def notice_page(
    request: Request, contract_number: str, user: PageUser, services: ServicesDep
) -> HTMLResponse:
    _customer(request, user, services, contract_number)
    return _render_notice(request, services, contract_number)


@router.post("/contracts/{contract_number}/terminate", response_class=HTMLResponse)
def notice_form(
    request: Request,
    contract_number: str,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    ground: Annotated[str, Form(max_length=32)] = "",
    requested_end: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    _customer(request, user, services, contract_number)
    check_form_csrf(request, csrf_token)
    if ground not in {g.value for g in CUSTOMER_GROUNDS}:
        return _render_notice(
            request,
            services,
            contract_number,
            error=_t(request, "Choose how you want to end the contract."),
            status_code=422,
        )
    try:
        end = dt.date.fromisoformat(requested_end) if requested_end else None
    except ValueError:
        return _render_notice(
            request,
            services,
            contract_number,
            error=_t(request, "The date is not valid."),
            status_code=422,
        )
    now = services.clock()
    try:
        with services.sessions.begin() as session:
            give_notice(
                session,
                contract_number,
                notice_facts(ground, end, local_date(now)),
                user_id=user.user_id,
                now=now,
                calendar=services.calendar,
            )
    except ContractAppError as error:
        return _render_notice(
            request,
            services,
            contract_number,
            error=error.reason(request.state.lang),
            status_code=error.status,
        )
    return _render_notice(
        request,
        services,
        contract_number,
        notice=_t(request, "Your notice was received. Our staff will confirm it."),
    )


# -- staff: end a contract on a ground -------------------------------------------------


def _staff(user: Principal) -> None:
    if not user.can(Permission.CONTRACTS_MANAGE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _facts_in(fields: dict[str, str]) -> TerminationIn:
    """The form's fields (text) as the API's body; empty fields are left out."""
    data: dict[str, Any] = {k: v for k, v in fields.items() if v not in ("", None)}
    if "sites" in data:
        data["sites"] = [s.strip() for s in str(data["sites"]).split(",") if s.strip()]
    for flag in ("ownership", "terminate"):
        if flag in data:
            data[flag] = data[flag] in ("1", "true", "on", "yes")
    return TerminationIn.model_validate(data)


def _render_staff(
    request: Request,
    services: Services,
    number: str,
    fields: dict[str, str],
    *,
    applied: Applied | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if customer_of(services, number) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found")
    lang = request.state.lang
    today = local_date(services.clock())
    view = None
    if applied is not None:
        view = _quote_view(applied.quote, lang)
    elif fields.get("ground") and error is None:
        try:
            facts = _facts_in(fields).facts(today)
            with services.sessions() as session:
                view = _quote_view(
                    quote(session, number, facts, today=today, calendar=services.calendar), lang
                )
        except ValidationError:
            error, status_code = _t(request, "Some of the facts are not valid."), 422
        except ContractAppError as refusal:
            if refusal.status == 404:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found") from None
            error, status_code = refusal.reason(lang), refusal.status
    context = {
        "title": _t(request, "End the contract"),
        "nav": "staff_contracts",
        "contract_number": number,
        "grounds": {g.value: label for g, label in GROUND_LABELS.items()},
        "fields": fields,
        "quote": view,
        "applied": applied,
        "error": error,
    }
    return _renderer(request).render(
        request, "terminate_staff.html", context, status_code=status_code
    )


_FIELDS = (
    "ground",
    "on",
    "requested_end",
    "sites",
    "ownership",
    "amount",
    "replacement_costs",
    "access_given_on",
    "ended_on",
    "terminate",
)


@router.get("/staff/contracts/{contract_number}/termination", response_class=HTMLResponse)
def staff_termination_page(
    request: Request, contract_number: str, user: PageUser, services: ServicesDep
) -> HTMLResponse:
    _staff(user)
    fields = {k: str(request.query_params.get(k, ""))[:64] for k in _FIELDS}
    return _render_staff(request, services, contract_number, fields)


@router.post("/staff/contracts/{contract_number}/termination", response_class=HTMLResponse)
async def staff_termination_form(
    request: Request, contract_number: str, user: PageUser, services: ServicesDep
) -> HTMLResponse:
    _staff(user)
    form = await request.form()
    check_form_csrf(request, str(form.get("csrf_token", "")))
    fields = {k: str(form.get(k, ""))[:64] for k in _FIELDS}
    try:
        body = _facts_in(fields)
    except ValidationError:
        return _render_staff(
            request,
            services,
            contract_number,
            fields,
            error=_t(request, "Some of the facts are not valid."),
            status_code=422,
        )
    now = services.clock()
    try:
        with services.sessions.begin() as session:
            applied = terminate(
                session,
                contract_number,
                body.facts(local_date(now)),
                actor=Actor(user.user_id, client_ip(request)),
                now=now,
                calendar=services.calendar,
            )
    except ContractAppError as refusal:
        if refusal.status == 404:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found") from None
        return _render_staff(
            request,
            services,
            contract_number,
            fields,
            error=refusal.reason(request.state.lang),
            status_code=refusal.status,
        )
    return _render_staff(request, services, contract_number, fields, applied=applied)
