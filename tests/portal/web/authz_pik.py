"""Authorisation entries of the PIK routes (issue 6), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
Logging in with EIK/EGN + PIK is public (the walk's bodies carry no identifier,
so the answer is 422, nothing happens); the issuing desk needs
credential_requests (operators and admins). The walk's desk POSTs name no
customer or PIK, so they are refused as invalid input once authorised.
"""

from __future__ import annotations

from tests.portal.web.authz_common import OK, PUBLIC, ParamGetter

LOGIN = "login"
_DESK = (LOGIN, 403, 403, OK, 403, OK)
MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("POST", "/api/v1/auth/pik-token"): PUBLIC,
    ("POST", "/login/pik"): PUBLIC,
    ("GET", "/staff/piks"): _DESK,
    ("POST", "/staff/piks"): _DESK,
    ("POST", "/staff/piks/reissue"): _DESK,
    ("POST", "/staff/piks/revoke"): _DESK,
}
PARAMS: dict[str, ParamGetter] = {}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/auth/pik-token"): {"data": {"identifier": "12345", "pik": "ABCDEFGH"}},
}
