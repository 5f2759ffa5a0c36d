"""The role matrix of docs/decisions/0004, cell by cell."""

from __future__ import annotations

import pytest

from portal_api.domain.roles import MATRIX, Permission, Role, can

P = Permission
# (permission, customer, operator, installer, admin) exactly as the table in 0004
TABLE = [
    (P.OWN_DATA, True, False, False, False),
    (P.ALL_CONSUMPTION, False, True, False, True),
    (P.ALL_SITES, False, True, True, True),
    (P.DEVICE_STATUS, False, True, True, True),
    (P.CREDENTIAL_REQUESTS, False, True, False, True),
    (P.SERVICE_REQUESTS, False, True, False, True),
    (P.MANAGE_USERS, False, False, False, True),
    (P.AUDIT, False, False, False, True),
    (P.CONTRACTS_READ, False, True, True, True),
    (P.CONTRACTS_MANAGE, False, True, False, True),
    (P.INSTALLATION, False, True, True, True),
    (P.PRICE_LISTS, False, False, False, True),
    (P.BILLING, False, True, False, True),
    (P.INTERRUPTIONS, False, True, False, True),
    (P.DECISIONS, False, True, False, True),
    (P.QUALITY, False, True, False, True),
]
ROLES = [Role.CUSTOMER, Role.OPERATOR, Role.INSTALLER, Role.ADMIN]


@pytest.mark.parametrize(
    ("permission", "customer", "operator", "installer", "admin"), TABLE, ids=str
)
def test_matrix_matches_the_decision(
    permission: Permission, customer: bool, operator: bool, installer: bool, admin: bool
) -> None:
    allowed = (customer, operator, installer, admin)
    for role, expected in zip(ROLES, allowed, strict=True):
        assert can(role, permission) is expected, (role, permission)


def test_every_permission_and_role_is_in_the_table() -> None:
    assert {row[0] for row in TABLE} == set(Permission)
    assert set(MATRIX) == set(Role)


def test_strings_and_unknown_values() -> None:
    assert can("admin", "audit")
    assert not can("root", "audit")
    assert not can("admin", "launch_missiles")
