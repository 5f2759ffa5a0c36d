"""Authorisation entries of the quality routes (issue 5), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
Clause 6.5's import is staff work (permission ``quality``: operator, admin); the
walk's bodies carry no file, so an authorised caller gets 422: still "ok".
"""

from __future__ import annotations

from tests.portal.web.authz_common import OK, ParamGetter

LOGIN = "login"

MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    ("POST", "/api/v1/quality/imports"): (401, 403, 403, OK, 403, OK),
    ("GET", "/staff/quality"): (LOGIN, 403, 403, OK, 403, OK),
    ("POST", "/staff/quality"): (LOGIN, 403, 403, OK, 403, OK),
}
PARAMS: dict[str, ParamGetter] = {}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {}
