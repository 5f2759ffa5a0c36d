"""Authorisation entries of the billing routes (issue 5), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
Invoices: the owner, staff with CONTRACTS_READ (installer too) or BILLING; payments:
the owner reads, staff with BILLING read and record; notices: the owner, staff with
CONTRACTS_READ. Another customer's contract or invoice is 404.
"""

from __future__ import annotations

from portal_api.contracts.app.billing import BillingService
from tests.portal.web.authz_common import OK, ParamGetter
from tests.portal.web.conftest import Portal

LOGIN = "login"
OWNER_CONTRACT = "MYE-2025-0001"


def _first_invoice(portal: Portal) -> str:
    """The ten-digit number of the owner's first invoice (the daily run issued it)."""
    services = portal.services
    service = BillingService(
        services.sessions, calendar=services.calendar, rates=services.rates, clock=services.clock
    )
    return service.invoices(OWNER_CONTRACT)[0].number


MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("GET", "/api/v1/contracts/{contract_number}/invoices"): (401, OK, 404, OK, OK, OK),
    ("GET", "/api/v1/invoices/{invoice_number}"): (401, OK, 404, OK, OK, OK),
    ("GET", "/api/v1/invoices/{invoice_number}.pdf"): (401, OK, 404, OK, OK, OK),
    ("GET", "/api/v1/contracts/{contract_number}/payments"): (401, OK, 404, OK, 403, OK),
    ("POST", "/api/v1/contracts/{contract_number}/payments"): (401, 403, 403, OK, 403, OK),
    ("GET", "/api/v1/contracts/{contract_number}/notices"): (401, OK, 404, OK, OK, OK),
    ("GET", "/invoices"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/invoices/{invoice_number}.pdf"): (LOGIN, OK, 404, OK, OK, OK),
    ("GET", "/notices"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/staff/payments"): (LOGIN, 403, 403, OK, 403, OK),
    ("POST", "/staff/payments"): (LOGIN, 403, 403, OK, 403, OK),
}
PARAMS: dict[str, ParamGetter] = {
    "contract_number": lambda portal: OWNER_CONTRACT,
    "invoice_number": _first_invoice,
}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    # Refused as invalid (no amount): authorisation passed, nothing is recorded.
    ("POST", "/api/v1/contracts/{contract_number}/payments"): {
        "json": {"paid_on": "2026-03-02", "reference": "AUTHZ-WALK"}
    },
}
