"""Roles, permissions and the role matrix of docs/decisions/0004.

Object checks (a customer sees only its own sites, otherwise 404) live in
``portal_api/web/deps.py``; this module answers only "may this role do that".
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    OPERATOR = "operator"  # customer service centre staff
    INSTALLER = "installer"
    ADMIN = "admin"


class Permission(StrEnum):
    OWN_DATA = "own_data"  # own sites, devices, consumption, live
    ALL_CONSUMPTION = "all_consumption"  # any site's consumption and live
    ALL_SITES = "all_sites"  # any customer, site or device record
    DEVICE_STATUS = "device_status"  # any device's status
    CREDENTIAL_REQUESTS = "credential_requests"  # list and fulfil clause 5.4 requests
    MANAGE_USERS = "manage_users"  # create users, reset passwords, unlock
    AUDIT = "audit"  # read the audit log
    # -- the contract engine (issue 5); a customer reaches its own through OWN_DATA
    CONTRACTS_READ = "contracts_read"  # any contract, its invoices, notices, interruptions
    CONTRACTS_MANAGE = "contracts_manage"  # draft, sign, renew, terminate contracts
    INSTALLATION = "installation"  # record installation visits and handover (1.3-1.5)
    PRICE_LISTS = "price_lists"  # publish a new price list version (4.1, 4.2)
    BILLING = "billing"  # record payments, read every invoice (4.3, 4.4)
    INTERRUPTIONS = "interruptions"  # open, update and close interruptions (5.1, 5.2)
    DECISIONS = "decisions"  # confirm or reject the engine's proposals ("may" rights)
    QUALITY = "quality"  # import the network operator's measurements (6.5)
    # -- the Virtual Customer Service Centre (issue 6)
    SERVICE_REQUESTS = "service_requests"  # work the queue: read, assign, advance, reject


STAFF_ROLES = frozenset({Role.OPERATOR, Role.INSTALLER, Role.ADMIN})

# The table of 0004, row by row; anything not listed is refused.
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER: frozenset({Permission.OWN_DATA}),
    Role.OPERATOR: frozenset(
        {
            Permission.ALL_CONSUMPTION,
            Permission.ALL_SITES,
            Permission.DEVICE_STATUS,
            Permission.CREDENTIAL_REQUESTS,
            Permission.SERVICE_REQUESTS,
            Permission.CONTRACTS_READ,
            Permission.CONTRACTS_MANAGE,
            Permission.INSTALLATION,
            Permission.BILLING,
            Permission.INTERRUPTIONS,
            Permission.DECISIONS,
            Permission.QUALITY,
        }
    ),
    Role.INSTALLER: frozenset(
        {
            Permission.ALL_SITES,
            Permission.DEVICE_STATUS,
            Permission.CONTRACTS_READ,
            Permission.INSTALLATION,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.ALL_CONSUMPTION,
            Permission.ALL_SITES,
            Permission.DEVICE_STATUS,
            Permission.CREDENTIAL_REQUESTS,
            Permission.SERVICE_REQUESTS,
            Permission.MANAGE_USERS,
            Permission.AUDIT,
            Permission.CONTRACTS_READ,
            Permission.CONTRACTS_MANAGE,
            Permission.INSTALLATION,
            Permission.PRICE_LISTS,
            Permission.BILLING,
            Permission.INTERRUPTIONS,
            Permission.DECISIONS,
            Permission.QUALITY,
        }
    ),
}


def can(role: Role | str, permission: Permission | str) -> bool:
    """True when ``role`` holds ``permission``; unknown roles or permissions hold nothing."""
    try:
        return Permission(permission) in MATRIX[Role(role)]
    except ValueError:
        return False


__all__ = ["MATRIX", "STAFF_ROLES", "Permission", "Role", "can"]
