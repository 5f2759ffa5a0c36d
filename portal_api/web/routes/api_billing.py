"""Contract engine API: invoices, payments and notices (4.3, 4.4, ЗЗД art. 76).

Customers read their own contracts' invoices, payments and notices; staff read
with CONTRACTS_READ (invoices, notices) or BILLING (invoices, payments) and
record payments with BILLING. A foreign contract or invoice answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from portal_api.contracts.app.billing import BillingError, PaymentInput
from portal_api.domain.roles import Permission
from portal_api.web.billing_access import billing_service, contract_for, invoice_for
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep, client_ip, require
from portal_api.web.schemas_billing import (
    InvoiceOut,
    NoticeOut,
    PaymentIn,
    PaymentOut,
    PaymentRecordedOut,
    invoice_out,
    notice_out,
    outcome_out,
    payment_out,
)

router = APIRouter(tags=["billing"])

INVOICE_READERS = (Permission.CONTRACTS_READ, Permission.BILLING)
# A dependency, so the 403 comes before the body is validated (a 422 would say more).
BillingStaff = Annotated[Principal, Depends(require(Permission.BILLING))]


def pdf_url(number: str) -> str:
    return f"/api/v1/invoices/{number}.pdf"


def _http(error: BillingError, lang: str) -> HTTPException:
    return HTTPException(error.status, error.reason(lang))


@router.get(
    "/contracts/{contract_number}/invoices",
    response_model=list[InvoiceOut],
    summary="The contract's invoices (4.3) with VAT, payments, interest (4.4) and what is open",
)
def list_invoices(
    contract_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> list[InvoiceOut]:
    service = billing_service(services)
    contract_for(service, principal, contract_number, *INVOICE_READERS)
    return [invoice_out(i, pdf_url(i.number)) for i in service.invoices(contract_number)]


# Registered before /invoices/{invoice_number}: that one would take "….pdf" as a number.
@router.get(
    "/invoices/{invoice_number}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The invoice document (PDF)",
)
def invoice_document(
    invoice_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> Response:
    service = billing_service(services)
    invoice_for(service, principal, invoice_number, *INVOICE_READERS)
    pdf = service.invoice_pdf(invoice_number)
    if pdf is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "The invoice has no document yet")
    return pdf_response(pdf, invoice_number)


def pdf_response(pdf: bytes, number: str) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="invoice-{number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/invoices/{invoice_number}", response_model=InvoiceOut, summary="One invoice by its number"
)
def get_invoice(
    invoice_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> InvoiceOut:
    service = billing_service(services)
    invoice = invoice_for(service, principal, invoice_number, *INVOICE_READERS)
    return invoice_out(invoice, pdf_url(invoice.number))


@router.get(
    "/contracts/{contract_number}/payments",
    response_model=list[PaymentOut],
    summary="The contract's payments and how each was allocated (ЗЗД art. 76)",
)
def list_payments(
    contract_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> list[PaymentOut]:
    service = billing_service(services)
    contract_for(service, principal, contract_number, Permission.BILLING)
    return [payment_out(p) for p in service.payments(contract_number)]


@router.post(
    "/contracts/{contract_number}/payments",
    response_model=PaymentRecordedOut,
    summary="Record a payment (staff): allocated to costs, interest, fee (ЗЗД art. 76)",
    responses={
        200: {"description": "The reference was recorded before: nothing added"},
        201: {"description": "Recorded and allocated"},
    },
)
def record_payment(
    request: Request,
    contract_number: str,
    *,
    body: PaymentIn,
    principal: BillingStaff,
    services: ServicesDep,
    response: Response,
) -> PaymentRecordedOut:
    service = billing_service(services)
    contract_for(service, principal, contract_number, Permission.BILLING)
    data = PaymentInput(body.amount, body.paid_on, body.reference, body.invoice_number)
    try:
        outcome = service.record_payment(
            contract_number, data, actor_user_id=principal.user_id, ip=client_ip(request)
        )
    except BillingError as error:
        raise _http(error, principal.language) from None
    response.status_code = status.HTTP_201_CREATED if outcome.recorded else status.HTTP_200_OK
    return outcome_out(outcome, principal.language)


@router.get(
    "/contracts/{contract_number}/notices",
    response_model=list[NoticeOut],
    summary="Notices sent about the contract (2.5, 3.2, 4.3) and whether the e-mail went out",
)
def list_notices(
    contract_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> list[NoticeOut]:
    service = billing_service(services)
    contract_for(service, principal, contract_number, Permission.CONTRACTS_READ)
    return [notice_out(n) for n in service.notices(contract_number)]
