"""Ordering MyEnergy online (issue 6): the order form, its eligibility and price, the order.

- ``GET /services/myenergy``: the customer's sites (those in a contract in force
  shown as not available, with the contract), multimeters, period, e-mail, the 1.2
  declarations and today's prices;
- ``POST /services/myenergy/quote``: the quote page (every 1.2 ground, the fee per
  site and in total, the term, the dates), or the form again (400) when a field is
  wrong; with ``change`` the form filled with the order, to edit it;
- ``POST /services/myenergy``: the order, validated and quoted again, creates the
  draft contract and the request; 303 to the request's page.

Customers only (staff draft contracts on the contracts pages: 403). Every post
carries the page's CSRF token. The fields are named per site (``multimeters_<id>``,
``operator_contract_<id>``), so the form is read whole and parsed here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from portal_api.domain.roles import Permission, Role
from portal_api.service_requests.catalogue import ServiceKind, definition
from portal_api.service_requests.myenergy import (
    MAX_MULTIMETERS,
    MyEnergyService,
    Order,
    OrderSite,
    Supply,
)
from portal_api.service_requests.workflow import RequestError
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.i18n import Formatter
from portal_api.web.render import Renderer
from portal_api.web.requests_access import myenergy_service

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FORM = "/services/myenergy"
MAX_SITES = 50
FieldErrors = dict[str, tuple[str, str]]


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _day_format(lang: str) -> Callable[[dt.date | None], str]:
    """Calendar days in the page's language (as the contract pages show them)."""
    locale = Formatter(lang).locale

    def day(value: dt.date | None) -> str:
        return "–" if value is None else format_date(value, "long", locale=locale)

    return day


def _customer_id(user: Principal) -> int:
    """Only a customer orders for itself (403 for staff, as on the API)."""
    if user.role is not Role.CUSTOMER or user.customer_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Only a customer orders MyEnergy")
    if not user.can(Permission.OWN_DATA):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return user.customer_id


def _text(form: FormData, name: str, limit: int = 254) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _parse(form: FormData) -> tuple[Order, dict[str, Any], FieldErrors]:
    """The order as posted, the values to show again, and what could not be read."""
    errors: FieldErrors = {}
    chosen: list[str] = []
    for value in form.getlist("site")[:MAX_SITES]:
        if isinstance(value, str) and value.strip() and value.strip() not in chosen:
            chosen.append(value.strip()[:64])
    sites = []
    multimeters: dict[str, str] = {}
    operator: dict[str, bool] = {}
    for name in {k.removeprefix("multimeters_") for k in form if k.startswith("multimeters_")}:
        multimeters[name] = _text(form, f"multimeters_{name}", 8)
    for name in {
        k.removeprefix("operator_contract_") for k in form if k.startswith("operator_contract_")
    }:
        operator[name] = _text(form, f"operator_contract_{name}", 8) == "on"
    for site_id in chosen:
        raw = multimeters.get(site_id, "1") or "1"
        count = int(raw) if raw.isdigit() else 0  # the service names a wrong count
        sites.append(OrderSite(site_id, count, operator.get(site_id, False)))
    period_text = _text(form, "period_months", 4)
    supply_text = _text(form, "supply_contract", 16)
    try:
        supply = Supply(supply_text)
    except ValueError:
        supply = Supply.NONE
        errors["supply_contract"] = (
            "Посочете дали имате договор за доставка на електрическа енергия.",
            "Say whether you have an electricity supply contract.",
        )
    ends_text = _text(form, "supply_contract_ends_on", 10)
    ends_on: dt.date | None = None
    if supply is Supply.UNTIL and ends_text:
        try:
            ends_on = dt.date.fromisoformat(ends_text)
        except ValueError:
            errors["supply_contract_ends_on"] = (
                "Въведете дата във вида ГГГГ-ММ-ДД.",
                "Enter a date as YYYY-MM-DD.",
            )
    order = Order(
        sites=tuple(sites),
        period_months=int(period_text) if period_text.isdigit() else 0,
        contact_email=_text(form, "contact_email"),
        supply=supply,
        supply_ends_on=ends_on,
    )
    values = {
        "sites": set(chosen),
        "multimeters": multimeters,
        "operator": operator,
        "period_months": period_text,
        "contact_email": order.contact_email,
        "supply_contract": supply_text,
        "supply_contract_ends_on": ends_text,
    }
    return order, values, errors


def _form_page(
    request: Request,
    service: MyEnergyService,
    customer_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: FieldErrors | None = None,
    message: tuple[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    form = service.form(customer_id)
    free = [s.site_id for s in form.sites if s.free]
    shown = values or {
        "sites": set(free) if len(free) == 1 else set(),  # the one free site: chosen
        "multimeters": {},
        "operator": {},
        "period_months": str(form.periods[0]),
        "contact_email": form.customer_email,
        "supply_contract": "",
        "supply_contract_ends_on": "",
    }
    return _renderer(request).render(
        request,
        "myenergy_order.html",
        {
            "title": _t(request, "Order MyEnergy"),
            "nav": "requests",
            "service": definition(ServiceKind.MYENERGY),
            "form": form,
            "values": shown,
            "errors": errors or {},
            "message": message,
            "max_multimeters": MAX_MULTIMETERS,
            "day": _day_format(request.state.lang),
        },
        status_code=status_code,
    )


@router.get(FORM, response_class=HTMLResponse)
async def order_form(request: Request, user: PageUser, services: ServicesDep) -> Response:
    customer_id = _customer_id(user)
    service = myenergy_service(services)
    return await run_in_threadpool(_form_page, request, service, customer_id)


async def _read(request: Request) -> tuple[Order, dict[str, Any], FieldErrors, bool]:
    form = await request.form()
    try:
        field = form.get("csrf_token")
        check_form_csrf(request, field if isinstance(field, str) else None)
        order, values, errors = _parse(form)
        return order, values, errors, bool(_text(form, "change", 4))
    finally:
        await form.close()


def _refused(
    request: Request,
    service: MyEnergyService,
    customer_id: int,
    values: dict[str, Any],
    error: RequestError,
) -> HTMLResponse:
    return _form_page(
        request,
        service,
        customer_id,
        values=values,
        errors=error.fields,
        message=(error.message_bg, error.message_en),
        status_code=error.status,
    )


@router.post(f"{FORM}/quote", response_class=HTMLResponse)
async def order_quote(request: Request, user: PageUser, services: ServicesDep) -> Response:
    customer_id = _customer_id(user)
    order, values, errors, change = await _read(request)
    service = myenergy_service(services)
    if change:  # "Change" on the quote page: the form with the order in it
        return await run_in_threadpool(_form_page, request, service, customer_id, values=values)
    if errors:
        return await run_in_threadpool(
            _refused, request, service, customer_id, values, _bad_input(errors)
        )
    try:
        quote = await run_in_threadpool(
            service.quote, customer_id, order, actor_user_id=user.user_id
        )
    except RequestError as error:
        return await run_in_threadpool(_refused, request, service, customer_id, values, error)
    return _renderer(request).render(
        request,
        "myenergy_quote.html",
        {
            "title": _t(request, "Your MyEnergy order: eligibility and price"),
            "nav": "requests",
            "service": definition(ServiceKind.MYENERGY),
            "quote": quote,
            "c": {"fee": quote.fee},  # the contract pages' fee table reads ``c.fee``
            "values": values,
            "day": _day_format(request.state.lang),
        },
    )


@router.post(FORM, response_class=HTMLResponse)
async def place_order(request: Request, user: PageUser, services: ServicesDep) -> Response:
    customer_id = _customer_id(user)
    order, values, errors, _change = await _read(request)
    service = myenergy_service(services)
    if errors:
        return await run_in_threadpool(
            _refused, request, service, customer_id, values, _bad_input(errors)
        )
    try:
        view = await run_in_threadpool(
            service.order, customer_id, user.user_id, order, ip=client_ip(request)
        )
    except RequestError as error:
        return await run_in_threadpool(_refused, request, service, customer_id, values, error)
    return RedirectResponse(f"/requests/{view.number}", status_code=303)


def _bad_input(errors: FieldErrors) -> RequestError:
    return RequestError(
        400,
        "Поръчката има грешки: поправете отбелязаните полета.",
        "The order has errors: correct the fields marked.",
        errors,
    )
