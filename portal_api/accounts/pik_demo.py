"""PIKs for the demo customers (tests and a local stack that prints them).

Not part of ``portal_api/seed.py``: a PIK is shown once, so the caller gets the
codes back and decides whether to print them; nothing else keeps them. The demo
identities are invented (valid check digits, no real person), which is why a
local stack may print the EGN/EIK a demo customer logs in with.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal_api.accounts.pik import HolderRole, PikService
from portal_api.seed import DEMO_CUSTOMERS

__all__ = ["DemoPik", "refresh_demo_piks", "seed_demo_piks"]


@dataclass(frozen=True)
class DemoPik:
    """What a demo customer types on /login: "ЕИК/ЕГН" and the PIK."""

    customer_number: str
    identifier: str
    name: str
    code: str


def seed_demo_piks(service: PikService, *, actor_user_id: int | None = None) -> dict[str, str]:
    """Issue one PIK (holder: the customer, in person) to each demo customer that exists.

    Returns {customer number: PIK}.
    """
    codes: dict[str, str] = {}
    for demo in DEMO_CUSTOMERS:
        customer = service.find_customer(demo.number)
        if customer is not None:
            issued = service.issue(
                customer.id, holder_role=HolderRole.CUSTOMER, actor_user_id=actor_user_id
            )
            codes[demo.number] = issued.code
    return codes


def refresh_demo_piks(service: PikService) -> list[DemoPik]:
    """A fresh PIK for each demo customer, replacing the one a previous start issued.

    The codes are hashed, so a restarted stack cannot show the old ones again: it
    reissues the customer's own active PIK (revoking it) or issues the first one.
    PIKs of authorised persons are left alone.
    """
    out: list[DemoPik] = []
    for demo in DEMO_CUSTOMERS:
        customer = service.find_customer(demo.number)
        if customer is None:
            continue
        own = [
            pik
            for pik in service.list_for(customer.id)
            if pik.active and pik.holder_role is HolderRole.CUSTOMER
        ]
        issued = (
            service.reissue(own[0].id, actor_user_id=None)
            if own
            else service.issue(customer.id, holder_role=HolderRole.CUSTOMER, actor_user_id=None)
        )
        for extra in own[1:]:
            service.revoke(extra.id, actor_user_id=None)
        out.append(DemoPik(demo.number, demo.identifier, demo.name, issued.code))
    return out
