"""Staff pages of the price list (4.1, 4.2): the versions, and the admin's publish form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from portal_api.contracts.app.contracts_common import ContractAppError
from portal_api.contracts.app.contracts_prices import PriceListDraft
from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS, VoltageLevel
from portal_api.domain.roles import Permission
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf
from portal_api.web.form_money import euro_from_form
from portal_api.web.routes.api_contracts import contract_service, price_service
from portal_api.web.routes.pages_contracts import (
    _actor,
    _bad_date,
    _base,
    _date,
    _done,
    _renderer,
    _t,
    staff_only,
)
from portal_api.web.services import Services

router = APIRouter(include_in_schema=False)


class PriceListForm(BaseModel):
    """The price list form as posted (text; amounts are parsed with a decimal comma too)."""

    model_config = ConfigDict(extra="ignore")

    csrf_token: str = ""
    name: Annotated[str, Field(max_length=40)] = ""
    effective_from: Annotated[str, Field(max_length=20)] = ""
    additional_device: Annotated[str, Field(max_length=20)] = ""
    lv_12: Annotated[str, Field(max_length=20)] = ""
    lv_24: Annotated[str, Field(max_length=20)] = ""
    mv_12: Annotated[str, Field(max_length=20)] = ""
    mv_24: Annotated[str, Field(max_length=20)] = ""
    hv_12: Annotated[str, Field(max_length=20)] = ""
    hv_24: Annotated[str, Field(max_length=20)] = ""


_PRICE_FIELDS = tuple(
    (f"{level.value.lower()}_{months}", level, months)
    for level in VoltageLevel
    for months in SUBSCRIPTION_PERIODS
)


def _price_page(
    request: Request,
    user: Principal,
    services: Services,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = _base(request, _t(request, "Price lists"), "staff_contracts")
    context.update(
        versions=price_service(services).versions(),
        may_publish=user.can(Permission.PRICE_LISTS),
        price_fields=[(name, level.value, months) for name, level, months in _PRICE_FIELDS],
        values=values or {},
        error=error,
        notice=notice,
        tomorrow=(contract_service(services).today() + dt.timedelta(days=1)).isoformat(),
    )
    return _renderer(request).render(
        request, "staff_price_lists.html", context, status_code=status_code
    )


@router.get("/staff/price-lists", response_class=HTMLResponse)
def price_lists(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    staff_only(user, Permission.CONTRACTS_READ)
    return _price_page(request, user, services, notice=_done(request, done))


@router.post("/staff/price-lists", response_class=HTMLResponse)
def publish_price_list(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    form: Annotated[PriceListForm, Form()],
) -> Response:
    check_form_csrf(request, form.csrf_token)
    staff_only(user, Permission.PRICE_LISTS)
    values = {k: v.strip() for k, v in form.model_dump(exclude={"csrf_token"}).items()}
    day = _date(values["effective_from"])
    prices = {
        (level, months): euro_from_form(values[name]) for name, level, months in _PRICE_FIELDS
    }
    extra = euro_from_form(values["additional_device"])
    error: str | None = None
    if day is None:
        error = _bad_date(request)
    elif extra is None or any(p is None for p in prices.values()):
        error = _t(request, "Enter every price in euro, e.g. 14.90.")
    else:
        draft = PriceListDraft(
            name=values["name"],
            effective_from=day,
            unit_prices={k: p for k, p in prices.items() if p is not None},
            additional_device=extra,
        )
        try:
            price_service(services).publish(draft, _actor(request, user))
        except ContractAppError as refused:
            error = refused.reason(request.state.lang)
        else:
            return RedirectResponse("/staff/price-lists?done=published", status_code=303)
    return _price_page(request, user, services, values=values, error=error, status_code=422)
