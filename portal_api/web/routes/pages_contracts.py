"""Contract pages: the customer's contract and fee breakdown; staff contracts, installation
outcomes, credentials, renewal and price lists (General Terms 1.x, 2.x, 4.1, 4.2).

Forms post with the page's CSRF token; success answers 303 back to the page with
a message, refused or bad input renders the page again with the error beside the
form and the values entered kept. Permissions are those of the API
(routes/api_contracts.py): a customer's foreign contract is 404, a staff role
without the permission 403.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from babel.dates import format_date
from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.contracts_views import ContractDetail
from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS, ContractState
from portal_api.contracts.domain.installation import (
    AccessProblem,
    ImpossibleReason,
    MismatchKind,
    SignatoryCapacity,
)
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import N_, Formatter
from portal_api.web.render import Renderer
from portal_api.web.requests_access import myenergy_service
from portal_api.web.routes.api_contracts import (
    contract_service,
    contract_visible,
    installation_service,
    outcome_of,
)
from portal_api.web.schemas_contracts import InstallationIn
from portal_api.web.services import Services

__all__ = ["router", "staff_list", "staff_only"]

router = APIRouter(include_in_schema=False)

STATE_LABELS = {
    ContractState.DRAFT: N_("draft"),
    ContractState.SIGNED: N_("signed"),
    ContractState.INSTALLATION: N_("installation visit agreed"),
    ContractState.ACTIVE: N_("active"),
    ContractState.SUSPENDED: N_("access suspended"),
    ContractState.TERMINATED: N_("terminated"),
    ContractState.DISMANTLED: N_("terminated, equipment dismantled"),
    ContractState.ENDED_INSTALLATION_IMPOSSIBLE: N_("ended: installation impossible"),
}
OUTCOMES = {
    "visit_agreed": N_("Visit agreed"),
    "postponed": N_("Postponed for a mismatch"),
    "access_problem": N_("Access refused or no MV/HV connection"),
    "installed": N_("Installed, handover protocol signed"),
    "impossible": N_("Installation impossible (statement of findings)"),
}
MISMATCHES = {
    MismatchKind.SITE_COUNT: N_("number of sites"),
    MismatchKind.VOLTAGE_LEVEL: N_("voltage level"),
    MismatchKind.OTHER: N_("other"),
}
PROBLEMS = {
    AccessProblem.REFUSED_APPOINTMENT: N_("the customer refuses to book a visit"),
    AccessProblem.NO_ACCESS: N_("no access at the agreed time"),
    AccessProblem.MV_HV_NO_CONNECTION: N_("MV/HV site without a technical connection"),
}
IMPOSSIBLE = {
    ImpossibleReason.NO_TECHNICAL_WAY: N_("no technical way to connect the multimeter"),
    ImpossibleReason.NO_MOBILE_COVERAGE: N_("no usable mobile network coverage"),
}
CAPACITIES = {
    SignatoryCapacity.CUSTOMER: N_("the customer or its representative"),
    SignatoryCapacity.PROXY: N_("an authorised person"),
    SignatoryCapacity.EMPLOYEE: N_("an employee present (legal entity)"),
}
DONE = {
    "drafted": N_("The draft is recorded. Check the 1.2 grounds below before signing."),
    "signed": N_("The contract is signed. Its prices are kept for the whole term."),
    "installation": N_("The installation outcome is recorded."),
    "proposal": N_("A termination proposal is recorded for staff to decide."),
    "credentials": N_("The credentials are recorded; the subscription dates are set."),
    "credentials_late": N_(
        "The credentials are recorded, after the 1.6 due date; the subscription dates are set."
    ),
    "renewed": N_("The renewal contract is signed."),
    "published": N_("The price list version is published."),
}
_INSTALLATION = TypeAdapter(InstallationIn)


class InstallationForm(BaseModel):
    """The installation form as posted: every field text, checked per outcome afterwards."""

    model_config = ConfigDict(extra="ignore")

    csrf_token: str = ""
    outcome: Annotated[str, Field(max_length=32)] = ""
    on: Annotated[str, Field(max_length=20)] = ""
    mismatch: Annotated[str, Field(max_length=32)] = ""
    note: Annotated[str, Field(max_length=500)] = ""
    problem: Annotated[str, Field(max_length=32)] = ""
    site_id: Annotated[str, Field(max_length=64)] = ""
    installed_on: Annotated[str, Field(max_length=20)] = ""
    protocols_signed_on: Annotated[str, Field(max_length=20)] = ""
    technician: Annotated[str, Field(max_length=200)] = ""
    signatory_name: Annotated[str, Field(max_length=200)] = ""
    signatory_capacity: Annotated[str, Field(max_length=32)] = ""
    signatory_position: Annotated[str, Field(max_length=200)] = ""
    reason: Annotated[str, Field(max_length=32)] = ""


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _labels(request: Request, table: dict[Any, str]) -> dict[str, str]:
    return {str(getattr(k, "value", k)): _t(request, v) for k, v in table.items()}


def staff_only(user: Principal, permission: Permission) -> None:
    """A staff page: 403 for a customer or a role without ``permission``."""
    if user.role is Role.CUSTOMER or not user.can(permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _actor(request: Request, user: Principal) -> Actor:
    return Actor(user.user_id, client_ip(request))


def _day_format(lang: str) -> Callable[[dt.date | None], str]:
    """Calendar days (Europe/Sofia) in the page's language: the Formatter's are instants."""
    locale = Formatter(lang).locale

    def day(value: dt.date | None) -> str:
        return "–" if value is None else format_date(value, "long", locale=locale)

    return day


def _base(request: Request, title: str, nav: str) -> dict[str, Any]:
    return {
        "title": title,
        "nav": nav,
        "state_labels": _labels(request, STATE_LABELS),
        "day": _day_format(request.state.lang),
    }


def _done(request: Request, done: str | None) -> str | None:
    return _t(request, DONE[done]) if done in DONE else None


# -- customer pages -------------------------------------------------------------------------


@router.get("/contracts", response_class=HTMLResponse)
def my_contracts(request: Request, user: PageUser, services: ServicesDep) -> Response:
    if user.role is not Role.CUSTOMER:
        return RedirectResponse("/staff/contracts", status_code=303)
    views = []
    if user.customer_id is not None and user.can(Permission.OWN_DATA):
        service = contract_service(services)
        views = service.summaries(customer_id=user.customer_id, signed_only=True)
        # A draft the customer ordered online is shown (awaiting signature); other drafts
        # stay the service centre's working papers (2.1).
        ordered = myenergy_service(services).ordered_drafts(user.customer_id)
        if ordered:
            drafts = service.summaries(customer_id=user.customer_id, state=ContractState.DRAFT)
            views = sorted(
                views + [v for v in drafts if v.number in ordered], key=lambda v: v.number
            )
    if len(views) == 1:  # one contract: show it at once
        return _customer_detail(request, _customer_visible(services, user, views[0].number))
    context = _customer_base(request, _t(request, "My contracts"))
    context["contracts"] = views
    return _renderer(request).render(request, "contracts.html", context)


@router.get("/contracts/{contract_number}", response_class=HTMLResponse)
def my_contract(
    request: Request, contract_number: str, user: PageUser, services: ServicesDep
) -> Response:
    if user.role is not Role.CUSTOMER:
        return RedirectResponse(
            f"/staff/contracts/{quote(contract_number, safe='')}", status_code=303
        )
    return _customer_detail(request, _customer_visible(services, user, contract_number))


def _customer_visible(services: Services, user: Principal, number: str) -> ContractDetail:
    """``contract_visible``, and also a draft this customer ordered online (MyEnergy)."""
    try:
        return contract_visible(services, user, number)
    except HTTPException as error:
        if error.status_code != status.HTTP_404_NOT_FOUND or user.customer_id is None:
            raise
        if not myenergy_service(services).ordered_draft(user.customer_id, number):
            raise
    view = contract_service(services).detail(number)
    if view.customer_id != user.customer_id or view.state is not ContractState.DRAFT:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found")
    return view


def _customer_base(request: Request, title: str) -> dict[str, Any]:
    context = _base(request, title, "contracts")
    # The customer's own draft is ordered and waits for the centre to sign it.
    context["state_labels"][ContractState.DRAFT.value] = _t(request, "draft — awaiting signature")
    return context


def _customer_detail(request: Request, view: ContractDetail) -> HTMLResponse:
    context = _customer_base(request, _t(request, "Contract") + " " + view.number)
    context["c"] = view
    return _renderer(request).render(request, "contracts_detail.html", context)


# -- staff: contracts -------------------------------------------------------------------------


@router.get("/staff/contracts", response_class=HTMLResponse)
def staff_contracts(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    state: Annotated[str, Query(max_length=40)] = "",
    customer_number: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    staff_only(user, Permission.CONTRACTS_READ)
    return staff_list(request, user, services, state=state, customer_number=customer_number)


def staff_list(
    request: Request,
    user: Principal,
    services: Services,
    *,
    state: str = "",
    customer_number: str = "",
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The staff list with its filters and, for ``contracts_manage``, the draft form."""
    chosen = ContractState(state) if state in {s.value for s in ContractState} else None
    views = contract_service(services).summaries(
        state=chosen, customer_number=customer_number or None
    )
    context = _base(request, _t(request, "Contracts"), "staff_contracts")
    context.update(
        contracts=views,
        state=chosen.value if chosen else "",
        customer_number=customer_number,
        may_manage=user.can(Permission.CONTRACTS_MANAGE),
        periods=SUBSCRIPTION_PERIODS,
        values=values or {"supply_contract_active": "on"},
        error=error,
    )
    return _renderer(request).render(
        request, "staff_contracts.html", context, status_code=status_code
    )


def _staff_detail(
    request: Request,
    user: Principal,
    services: Services,
    number: str,
    *,
    form: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = contract_visible(services, user, number)
    today = contract_service(services).today()
    context = _base(request, _t(request, "Contract") + " " + view.number, "staff_contracts")
    context.update(
        c=view,
        today=today.isoformat(),
        form=form,
        values=values or {},
        error=error,
        notice=notice,
        may_manage=user.can(Permission.CONTRACTS_MANAGE),
        may_install=user.can(Permission.INSTALLATION),
        outcomes=_labels(request, OUTCOMES),
        mismatches=_labels(request, MISMATCHES),
        problems=_labels(request, PROBLEMS),
        impossible=_labels(request, IMPOSSIBLE),
        capacities=_labels(request, CAPACITIES),
        periods=SUBSCRIPTION_PERIODS,
    )
    return _renderer(request).render(
        request, "staff_contracts_detail.html", context, status_code=status_code
    )


@router.get("/staff/contracts/{contract_number}", response_class=HTMLResponse)
def staff_contract(
    request: Request,
    contract_number: str,
    user: PageUser,
    services: ServicesDep,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    staff_only(user, Permission.CONTRACTS_READ)
    return _staff_detail(request, user, services, contract_number, notice=_done(request, done))


def _back(number: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/staff/contracts/{quote(number, safe='')}?" + urlencode({"done": done}),
        status_code=303,
    )


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _bad_date(request: Request) -> str:
    return _t(request, "Enter a valid date (day, month and year).")


@router.post("/staff/contracts/{contract_number}/sign", response_class=HTMLResponse)
def sign(
    request: Request,
    *,
    contract_number: str,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    signed_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_form_csrf(request, csrf_token)
    staff_only(user, Permission.CONTRACTS_MANAGE)
    values = {"signed_on": signed_on}
    day = _date(signed_on)
    error: str | None = None
    if day is None:
        error = _bad_date(request)
    else:
        try:
            contract_service(services).sign(contract_number, day, _actor(request, user))
        except ContractAppError as refused:
            if refused.status == 404:
                raise HTTPException(status.HTTP_404_NOT_FOUND) from None
            error = refused.reason(request.state.lang)
        else:
            return _back(contract_number, "signed")
    return _staff_detail(
        request,
        user,
        services,
        contract_number,
        form="sign",
        values=values,
        error=error,
        status_code=422,
    )


@router.post("/staff/contracts/{contract_number}/installation", response_class=HTMLResponse)
def installation(
    request: Request,
    contract_number: str,
    user: PageUser,
    services: ServicesDep,
    form: Annotated[InstallationForm, Form()],
) -> Response:
    check_form_csrf(request, form.csrf_token)
    staff_only(user, Permission.INSTALLATION)
    values = form.model_dump(exclude={"csrf_token"})
    chosen = _FIELDS_OF.get(form.outcome, ("outcome",))
    error: str | None = None
    try:
        body = _INSTALLATION.validate_python(
            {k: v.strip() for k, v in values.items() if k in chosen and v.strip()}
        )
    except ValidationError as invalid:
        error = _invalid(request, invalid)
    else:
        try:
            result = installation_service(services).record_outcome(
                contract_number, outcome_of(body), _actor(request, user)
            )
        except ContractAppError as refused:
            if refused.status == 404:
                raise HTTPException(status.HTTP_404_NOT_FOUND) from None
            error = refused.reason(request.state.lang)
        else:
            return _back(contract_number, "proposal" if result.proposal_id else "installation")
    return _staff_detail(
        request,
        user,
        services,
        contract_number,
        form="installation",
        values=values,
        error=error,
        status_code=422,
    )


_FIELDS_OF: dict[str, tuple[str, ...]] = {
    "visit_agreed": ("outcome", "on"),
    "postponed": ("outcome", "on", "mismatch", "note"),
    "access_problem": ("outcome", "on", "problem", "site_id"),
    "installed": (
        "outcome",
        "installed_on",
        "protocols_signed_on",
        "technician",
        "signatory_name",
        "signatory_capacity",
        "signatory_position",
    ),
    "impossible": ("outcome", "on", "site_id", "reason", "note"),
}
_FIELD_LABELS = {
    "outcome": N_("Outcome"),
    "on": N_("Date"),
    "mismatch": N_("Mismatch"),
    "problem": N_("Problem"),
    "site_id": N_("Site"),
    "installed_on": N_("Installed on"),
    "protocols_signed_on": N_("Protocols signed on"),
    "technician": N_("Technician"),
    "signatory_name": N_("Signed for the customer by"),
    "signatory_capacity": N_("Capacity"),
    "reason": N_("Reason"),
}


def _invalid(request: Request, invalid: ValidationError) -> str:
    """Which fields to correct, by their labels in the page's language."""
    names: list[str] = []
    for problem in invalid.errors():
        for part in problem["loc"]:
            label = _FIELD_LABELS.get(str(part))
            if label is not None and _t(request, label) not in names:
                names.append(_t(request, label))
    message = _t(request, "Please check the fields of the form.")
    return f"{message} ({', '.join(names)})" if names else message


@router.post("/staff/contracts/{contract_number}/credentials", response_class=HTMLResponse)
def credentials(
    request: Request,
    *,
    contract_number: str,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    given_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    check_form_csrf(request, csrf_token)
    staff_only(user, Permission.CONTRACTS_MANAGE)
    day = _date(given_on)
    error: str | None = None
    if day is None:
        error = _bad_date(request)
    else:
        try:
            result = installation_service(services).credentials_given(
                contract_number, day, _actor(request, user)
            )
        except ContractAppError as refused:
            if refused.status == 404:
                raise HTTPException(status.HTTP_404_NOT_FOUND) from None
            error = refused.reason(request.state.lang)
        else:
            return _back(contract_number, "credentials" if result.in_time else "credentials_late")
    return _staff_detail(
        request,
        user,
        services,
        contract_number,
        form="credentials",
        values={"given_on": given_on},
        error=error,
        status_code=422,
    )


@router.post("/staff/contracts/{contract_number}/renew", response_class=HTMLResponse)
def renew(
    request: Request,
    *,
    contract_number: str,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()] = "",
    signed_on: Annotated[str, Form(max_length=20)] = "",
    period_months: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    check_form_csrf(request, csrf_token)
    staff_only(user, Permission.CONTRACTS_MANAGE)
    values = {"renew_signed_on": signed_on, "period_months": period_months}
    day = _date(signed_on)
    period = int(period_months) if period_months in {"12", "24"} else None
    error: str | None = None
    if day is None:
        error = _bad_date(request)
    else:
        try:
            view, _rule = contract_service(services).renew(
                contract_number, day, _actor(request, user), period_months=period
            )
        except ContractAppError as refused:
            if refused.status == 404:
                raise HTTPException(status.HTTP_404_NOT_FOUND) from None
            error = refused.reason(request.state.lang)
        else:
            return _back(view.number, "renewed")
    return _staff_detail(
        request,
        user,
        services,
        contract_number,
        form="renew",
        values=values,
        error=error,
        status_code=422,
    )


# -- staff: price lists (4.1, 4.2) ------------------------------------------------------------
