"""Authorisation entries of the contracts routes (issue 5), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
Contracts: the owner reads its own (another customer 404), staff read with
CONTRACTS_READ (installer too); drafting, signing, credentials and renewal need
CONTRACTS_MANAGE (operator, admin); installation outcomes INSTALLATION (installer
too); price lists are read with CONTRACTS_READ and published with PRICE_LISTS
(admin). The walk's POSTs carry no valid body, so they are refused as invalid
input (422) once authorised: nothing changes.
"""

from __future__ import annotations

from tests.portal.web.authz_common import OK, ParamGetter
from tests.portal.web.conftest import Portal

LOGIN = "login"
OWNER_CONTRACT = "MYE-2025-0001"


def _demo_price_list(portal: Portal) -> str:
    """The id of the demo price list (DEMO-2025) the seed published."""
    from portal_api.contracts.app.contracts_prices import PriceListService

    services = portal.services
    versions = PriceListService(services.sessions, services.clock).versions()
    return str(next(v.id for v in versions if v.name == "DEMO-2025"))


_STAFF_READ = (401, 403, 403, OK, OK, OK)
_MANAGE = (401, 403, 403, OK, 403, OK)
_INSTALL = (401, 403, 403, OK, OK, OK)
MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    # -- API: price lists (4.1, 4.2)
    ("GET", "/api/v1/price-lists"): _STAFF_READ,
    ("GET", "/api/v1/price-lists/{price_list_id}"): _STAFF_READ,
    ("POST", "/api/v1/price-lists"): (401, 403, 403, 403, 403, OK),
    # -- API: contracts
    ("GET", "/api/v1/contracts"): (401, OK, OK, OK, OK, OK),
    ("POST", "/api/v1/contracts"): _MANAGE,
    ("GET", "/api/v1/contracts/{contract_number}"): (401, OK, 404, OK, OK, OK),
    ("POST", "/api/v1/contracts/{contract_number}/sign"): _MANAGE,
    ("POST", "/api/v1/contracts/{contract_number}/installation"): _INSTALL,
    ("POST", "/api/v1/contracts/{contract_number}/credentials"): _MANAGE,
    ("POST", "/api/v1/contracts/{contract_number}/renew"): _MANAGE,
    # -- pages: the customer's contract (staff are sent on to the staff pages)
    ("GET", "/contracts"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/contracts/{contract_number}"): (LOGIN, OK, 404, OK, OK, OK),
    # -- pages: staff
    ("GET", "/staff/contracts"): (LOGIN, 403, 403, OK, OK, OK),
    ("POST", "/staff/contracts"): (LOGIN, 403, 403, OK, 403, OK),
    ("GET", "/staff/contracts/{contract_number}"): (LOGIN, 403, 403, OK, OK, OK),
    ("POST", "/staff/contracts/{contract_number}/sign"): (LOGIN, 403, 403, OK, 403, OK),
    ("POST", "/staff/contracts/{contract_number}/installation"): (LOGIN, 403, 403, OK, OK, OK),
    ("POST", "/staff/contracts/{contract_number}/credentials"): (LOGIN, 403, 403, OK, 403, OK),
    ("POST", "/staff/contracts/{contract_number}/renew"): (LOGIN, 403, 403, OK, 403, OK),
    ("GET", "/staff/price-lists"): (LOGIN, 403, 403, OK, OK, OK),
    ("POST", "/staff/price-lists"): (LOGIN, 403, 403, 403, 403, OK),
}
PARAMS: dict[str, ParamGetter] = {
    "contract_number": lambda portal: OWNER_CONTRACT,
    "price_list_id": _demo_price_list,
}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {}
