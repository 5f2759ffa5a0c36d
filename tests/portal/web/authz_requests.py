"""Authorisation entries of the requests routes (issue 6), merged by test_authorisation.py.

Callers in order: anonymous, owner, other customer, operator, installer, admin.
"""

from __future__ import annotations

from tests.portal.web.authz_common import ParamGetter

MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {}
PARAMS: dict[str, ParamGetter] = {}
QUERIES: dict[str, str] = {}
BODIES: dict[tuple[str, str], dict[str, object]] = {}
