"""Authorisation entries of the myenergy routes (issue 6), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
Ordering MyEnergy is a customer's own business (its own sites, OWN_DATA): staff are
403 (they draft contracts on the contracts pages). The walk's orders name varna-0001,
which is in contract MYE-2025-0001 (the owner's) and not the other customer's: both
are refused as bad input (400) once authorised, so the walk creates nothing.
"""

from __future__ import annotations

from tests.portal.web.authz_common import OK, ParamGetter

LOGIN = "login"
_PAGE = (LOGIN, OK, OK, 403, 403, 403)
_API = (401, OK, OK, 403, 403, 403)
_ORDER: dict[str, object] = {
    "json": {
        "sites": [{"site_id": "varna-0001", "multimeters": 1, "operator_contract": True}],
        "period_months": 12,
        "contact_email": "someone@example.bg",
        "supply_contract": "indefinite",
    }
}
MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("GET", "/services/myenergy"): _PAGE,
    ("POST", "/services/myenergy/quote"): _PAGE,
    ("POST", "/services/myenergy"): _PAGE,
    ("POST", "/api/v1/myenergy/quote"): _API,
    ("POST", "/api/v1/myenergy/orders"): _API,
}
PARAMS: dict[str, ParamGetter] = {}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/myenergy/quote"): _ORDER,
    ("POST", "/api/v1/myenergy/orders"): _ORDER,
}
