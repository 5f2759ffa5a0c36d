"""Authorisation entries of the installations routes (issue 7), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
A provisioning code is issued by staff with INSTALLATION or CONTRACTS_MANAGE (the
walk's demo contract is active: refused as 409 once authorised, nothing issued).
Provisioning takes a staff token with INSTALLATION or, without a token, a code in
the body: anonymous passes authorisation and is refused as invalid input (422, no
body); a customer's token is 403. The first-upload check is for staff with
INSTALLATION (or the device's own Basic login, tested in test_installations_api.py).
"""

from __future__ import annotations

from tests.portal.web.authz_common import OK, ParamGetter

_INSTALL = (401, 403, 403, OK, OK, OK)
MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("POST", "/api/v1/contracts/{contract_number}/provisioning-codes"): _INSTALL,
    ("POST", "/api/v1/installations/provision"): (OK, 403, 403, OK, OK, OK),
    ("GET", "/api/v1/installations/{device_id}/first-upload"): _INSTALL,
}
# contract_number and device_id come from the other areas (the owner's contract, METER).
PARAMS: dict[str, ParamGetter] = {}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {}
