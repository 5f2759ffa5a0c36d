"""Billing pages: the customer's invoices and notices, the staff's payments (4.3, 4.4).

/invoices        the customer's invoices (tax base, VAT, total, paid, interest,
                 outstanding, PDF); staff with CONTRACTS_READ or BILLING pick a contract
/invoices/{n}.pdf  the invoice document with the page session
/notices         notices sent (2.5, 3.2, 4.3) and whether the e-mail went out
/staff/payments  find a contract, record a payment (BILLING), see its allocation
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from babel.dates import format_date
from fastapi import APIRouter, Form, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from portal_api.contracts.app.billing import BillingError, BillingService, PaymentInput
from portal_api.contracts.app.billing_views import InvoiceSummary, PaymentOutcome
from portal_api.domain.roles import Permission, Role
from portal_api.web.billing_access import (
    billing_service,
    contract_for,
    invoice_for,
    require_any,
)
from portal_api.web.deps import PageUser, Principal, ServicesDep, check_form_csrf, client_ip
from portal_api.web.form_money import euro_from_form
from portal_api.web.i18n import Formatter
from portal_api.web.render import Renderer
from portal_api.web.routes.api_billing import INVOICE_READERS, pdf_response
from portal_api.web.routes.pages_contracts import STATE_LABELS

router = APIRouter(include_in_schema=False)


def _renderer(request: Request) -> Renderer:
    renderer: Renderer = request.app.state.renderer
    return renderer


def _t(request: Request, message: str) -> str:
    return _renderer(request).gettext(request.state.lang, message)


def _dates(lang: str) -> dict[str, Any]:
    """Date helpers for the templates (the Formatter's own take aware datetimes)."""
    locale = Formatter(lang).locale

    def day(value: dt.date | None) -> str:
        return "–" if value is None else format_date(value, "medium", locale=locale)

    def month(value: dt.date) -> str:
        return format_date(value, "LLLL y", locale=locale)

    return {"day": day, "month": month}


def _contracts_of(
    service: BillingService, user: Principal, contract: str | None, *staff: Permission
) -> list[str]:
    """The customer's own contracts, or the one a staff member asked for (if reachable)."""
    require_any(user, *staff)
    if user.role is Role.CUSTOMER:
        if user.customer_id is None or not user.can(Permission.OWN_DATA):
            return []
        own = service.customer_contracts(user.customer_id)
        return [c for c in own if contract in (None, "", c)]
    if not contract:
        return []
    return [contract_for(service, user, contract.strip(), *staff)]


def _due_now(invoices: list[InvoiceSummary]) -> Decimal:
    return sum((i.outstanding for i in invoices if i.status in ("open", "overdue")), Decimal(0))


@router.get("/invoices", response_class=HTMLResponse)
def invoices_page(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    contract: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    service = billing_service(services)
    numbers = _contracts_of(service, user, contract, *INVOICE_READERS)
    groups = [(n, service.invoices(n)) for n in numbers]
    every = [i for _, group in groups for i in group]
    context = {
        "title": _t(request, "Invoices"),
        "nav": "invoices",
        "groups": groups,
        "due_now": _due_now(every),
        "overdue": any(i.status == "overdue" for i in every),
        "interest": sum((i.interest_charged - i.interest_paid for i in every), Decimal(0)),
        "staff": user.role is not Role.CUSTOMER,
        "contract": contract or "",
        **_dates(request.state.lang),
    }
    return _renderer(request).render(request, "invoices.html", context)


@router.get("/invoices/{invoice_number}.pdf")
def invoice_pdf_page(invoice_number: str, user: PageUser, services: ServicesDep) -> Response:
    service = billing_service(services)
    invoice_for(service, user, invoice_number, *INVOICE_READERS)
    pdf = service.invoice_pdf(invoice_number)
    if pdf is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The invoice has no document yet")
    return pdf_response(pdf, invoice_number)


@router.get("/notices", response_class=HTMLResponse)
def notices_page(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    contract: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    service = billing_service(services)
    numbers = _contracts_of(service, user, contract, Permission.CONTRACTS_READ)
    notices = [(n, notice) for n in numbers for notice in service.notices(n)]
    notices.sort(key=lambda pair: pair[1].created_at, reverse=True)
    context = {
        "title": _t(request, "Notices"),
        "nav": "notices",
        "notices": notices,
        "staff": user.role is not Role.CUSTOMER,
        "contract": contract or "",
        **_dates(request.state.lang),
    }
    return _renderer(request).render(request, "notices.html", context)


# -- staff: payments ------------------------------------------------------------------


def _require_billing(user: Principal) -> None:
    if not user.can(Permission.BILLING):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _payments_page(
    request: Request,
    service: BillingService,
    user: Principal,
    *,
    query: str = "",
    contract: str = "",
    outcome: PaymentOutcome | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    selected = contract.strip()
    if selected:
        contract_for(service, user, selected, Permission.BILLING)
    invoices = service.invoices(selected) if selected else []
    context = {
        "title": _t(request, "Payments"),
        "nav": "staff_payments",
        "query": query,
        "hits": service.find_contracts(query) if query.strip() or not selected else [],
        "state_labels": {state.value: _t(request, label) for state, label in STATE_LABELS.items()},
        "contract": selected,
        "invoices": invoices,
        "due_now": _due_now(invoices),
        "payments": service.payments(selected) if selected else [],
        "outcome": outcome,
        "outcome_reason": None if outcome is None else outcome.reason(request.state.lang),
        "error": error,
        "form": form or {"paid_on": service.today().isoformat()},
        **_dates(request.state.lang),
    }
    return _renderer(request).render(
        request, "staff_payments.html", context, status_code=status_code
    )


@router.get("/staff/payments", response_class=HTMLResponse)
def payments_page(
    request: Request,
    user: PageUser,
    services: ServicesDep,
    q: Annotated[str, Query(max_length=100)] = "",
    contract: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    _require_billing(user)
    return _payments_page(request, billing_service(services), user, query=q, contract=contract)


def _parse(
    request: Request, amount: str, paid_on: str, reference: str, invoice_number: str
) -> PaymentInput | str:
    """The form's payment, or the message saying what is wrong with it."""
    value = euro_from_form(amount)
    if value is None or value == 0:
        return _t(request, "Enter the amount in euro, e.g. 88.44.")
    try:
        day = dt.date.fromisoformat(paid_on.strip())
    except ValueError:
        return _t(request, "Enter the payment date.")
    if not reference.strip():
        return _t(request, "Enter the bank reference of the payment.")
    named = invoice_number.strip() or None
    if named is not None and not (len(named) == 10 and named.isascii() and named.isdigit()):
        return _t(request, "An invoice number has ten digits.")
    return PaymentInput(value, day, reference.strip(), named)


@router.post("/staff/payments", response_class=HTMLResponse)
def record_payment_page(
    request: Request,
    *,
    user: PageUser,
    services: ServicesDep,
    csrf_token: Annotated[str, Form()],
    contract_number: Annotated[str, Form(max_length=32)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    paid_on: Annotated[str, Form(max_length=10)] = "",
    reference: Annotated[str, Form(max_length=64)] = "",
    invoice_number: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    _require_billing(user)
    check_form_csrf(request, csrf_token)
    service = billing_service(services)
    form = {
        "amount": amount,
        "paid_on": paid_on,
        "reference": reference,
        "invoice_number": invoice_number,
    }
    number = contract_number.strip()
    if not number or service.contract_owner(number) is None:
        return _payments_page(
            request,
            service,
            user,
            error=_t(request, "Choose a contract first."),
            form=form,
            status_code=422,
        )
    parsed = _parse(request, amount, paid_on, reference, invoice_number)
    if isinstance(parsed, str):
        return _payments_page(
            request, service, user, contract=number, error=parsed, form=form, status_code=422
        )
    try:
        outcome = service.record_payment(
            number, parsed, actor_user_id=user.user_id, ip=client_ip(request)
        )
    except BillingError as refused:
        return _payments_page(
            request,
            service,
            user,
            contract=number,
            error=refused.reason(request.state.lang),
            form=form,
            status_code=422 if refused.status == 400 else 409,
        )
    return _payments_page(request, service, user, contract=number, outcome=outcome)
