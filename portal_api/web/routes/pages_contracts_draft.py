"""The staff form that makes a draft contract (General Terms 1.1) with the facts of 1.2.

Posted from /staff/contracts by ``contracts_manage`` (operator, admin). Sites are
written as ``site-id`` or ``site-id:multimeters``, separated by commas or spaces;
their voltage is the recorded one. Success answers 303 to the new draft's page,
which shows the 1.2 grounds found; bad input or a refusal shows the list again
with the error and the values kept.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from portal_api.contracts.app.contracts import Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.domain.money import ZERO
from portal_api.domain.roles import Permission
from portal_api.web.deps import PageUser, ServicesDep, check_form_csrf, client_ip
from portal_api.web.form_money import euro_from_form
from portal_api.web.render import Renderer
from portal_api.web.routes.api_contracts import contract_service
from portal_api.web.routes.pages_contracts import staff_list, staff_only

__all__ = ["DraftForm", "parse_sites", "router"]

router = APIRouter(include_in_schema=False)

_SITE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,63})(?::(\d{1,2}))?$")


class DraftForm(BaseModel):
    """The draft form as posted (text; checked and converted afterwards)."""

    model_config = ConfigDict(extra="ignore")

    csrf_token: str = ""
    customer_number: Annotated[str, Field(max_length=20)] = ""
    sites: Annotated[str, Field(max_length=1000)] = ""
    period_months: Annotated[str, Field(max_length=4)] = ""
    contact_email: Annotated[str, Field(max_length=254)] = ""
    off_premises: Annotated[str, Field(max_length=4)] = ""
    signing_on: Annotated[str, Field(max_length=20)] = ""
    missing_documents: Annotated[str, Field(max_length=500)] = ""
    sites_without_operator_contract: Annotated[str, Field(max_length=500)] = ""
    equipment_misuse: Annotated[str, Field(max_length=4)] = ""
    supply_contract_active: Annotated[str, Field(max_length=4)] = ""
    supply_contract_ends_on: Annotated[str, Field(max_length=20)] = ""
    other_overdue_debt: Annotated[str, Field(max_length=20)] = ""


def parse_sites(text: str) -> tuple[DraftSite, ...] | None:
    """``varna-0001:2, dobrich-0001`` -> the sites with their multimeters; None if malformed."""
    sites = []
    for part in re.split(r"[,\s;]+", text.strip()):
        if not part:
            continue
        found = _SITE.match(part)
        if found is None or found.group(2) == "0":
            return None
        sites.append(DraftSite(found.group(1), int(found.group(2) or 1)))
    return tuple(sites) or None


def _list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.split(r"[,;\n]+", text) if item.strip())


def _day(text: str) -> dt.date | None:
    """The date, None when empty; ValueError when malformed."""
    return dt.date.fromisoformat(text.strip()) if text.strip() else None


@router.post("/staff/contracts", response_class=HTMLResponse)
def make_draft(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    form: Annotated[DraftForm, Form()],
) -> Response:
    check_form_csrf(request, form.csrf_token)
    staff_only(user, Permission.CONTRACTS_MANAGE)
    renderer: Renderer = request.app.state.renderer
    lang = request.state.lang
    values = form.model_dump(exclude={"csrf_token"})
    sites = parse_sites(form.sites)
    try:
        signing_on, ends_on = _day(form.signing_on), _day(form.supply_contract_ends_on)
        dates_ok = True
    except ValueError:
        signing_on = ends_on = None
        dates_ok = False
    debt = euro_from_form(form.other_overdue_debt) if form.other_overdue_debt.strip() else ZERO
    error: str | None = None
    if not form.customer_number.strip() or sites is None or form.period_months not in ("12", "24"):
        error = renderer.gettext(
            lang, "Enter the customer number, the sites and the subscription period."
        )
    elif not dates_ok:
        error = renderer.gettext(lang, "Enter a valid date (day, month and year).")
    elif debt is None:
        error = renderer.gettext(lang, "Enter every price in euro, e.g. 14.90.")
    else:
        draft = Draft(
            customer_number=form.customer_number,
            sites=sites,
            period_months=int(form.period_months),
            contact_email=form.contact_email,
            off_premises=bool(form.off_premises),
            signing_on=signing_on,
            missing_documents=_list(form.missing_documents),
            sites_without_operator_contract=_list(form.sites_without_operator_contract),
            equipment_misuse=bool(form.equipment_misuse),
            supply_contract_active=bool(form.supply_contract_active),
            supply_contract_ends_on=ends_on,
            other_overdue_debt=debt,
        )
        try:
            result = contract_service(services).create_draft(
                draft, Actor(user.user_id, client_ip(request))
            )
        except ContractAppError as refused:
            error = refused.reason(lang)
        else:
            return RedirectResponse(
                f"/staff/contracts/{result.detail.number}?done=drafted", status_code=303
            )
    return staff_list(request, user, services, values=values, error=error, status_code=422)
