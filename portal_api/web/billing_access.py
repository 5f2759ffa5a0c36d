"""Who may reach a contract's billing (decision 0004): the owner, or staff with a permission.

A customer reaches only its own contracts and invoices (OWN_DATA); another
customer's, like an unknown one, is 404 so its existence is not revealed. Staff
need one of the permissions the route names (403 otherwise). The service is built
per request from the portal's services: it holds no state of its own.
"""

from __future__ import annotations

from fastapi import HTTPException, status

from portal_api.contracts.app.billing import BillingService
from portal_api.contracts.app.billing_views import InvoiceSummary
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import Principal
from portal_api.web.services import Services

__all__ = ["billing_service", "contract_for", "invoice_for", "require_any"]


def billing_service(services: Services) -> BillingService:
    return BillingService(
        services.sessions, calendar=services.calendar, rates=services.rates, clock=services.clock
    )


def require_any(principal: Principal, *permissions: Permission) -> None:
    """Staff hold one of ``permissions`` (403 otherwise); customers are checked per object."""
    if principal.role is Role.CUSTOMER:
        return
    if not any(principal.can(p) for p in permissions):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


def _owns(principal: Principal, customer_id: int) -> bool:
    return principal.can(Permission.OWN_DATA) and principal.customer_id == customer_id


def contract_for(
    service: BillingService, principal: Principal, number: str, *staff: Permission
) -> str:
    """The contract number if ``principal`` may reach it (see the module docstring)."""
    require_any(principal, *staff)
    owner = service.contract_owner(number)
    if owner is None or (principal.role is Role.CUSTOMER and not _owns(principal, owner)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found")
    return number


def invoice_for(
    service: BillingService, principal: Principal, number: str, *staff: Permission
) -> InvoiceSummary:
    """The invoice with ten-digit ``number`` if ``principal`` may reach it."""
    require_any(principal, *staff)
    invoice = service.invoice(number) if number.isascii() and number.isdigit() else None
    if invoice is None or (
        principal.role is Role.CUSTOMER and not _owns(principal, invoice.customer_id)
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Invoice not found")
    return invoice
