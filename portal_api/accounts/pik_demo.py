"""PIKs for the demo customers (tests and a local stack that prints them).

Not part of ``portal_api/seed.py``: a PIK is shown once, so the caller gets the
codes back and decides whether to print them; nothing else keeps them.
"""

from __future__ import annotations

from portal_api.accounts.pik import HolderRole, PikService
from portal_api.seed import DEMO_CUSTOMERS


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


__all__ = ["seed_demo_piks"]
