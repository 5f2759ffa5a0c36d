"""A signed contract shared by the contract persistence tests."""

from __future__ import annotations

import datetime as dt

from portal_api.contracts.domain.contract import (
    Contract,
    ContractState,
    CustomerKind,
    Site,
    VoltageLevel,
)

D = dt.date
NUMBER = "MYE-2026-0001"


def signed_contract(number: str = NUMBER) -> Contract:
    """Signed on Good Friday 2026 (2026-04-10, a public holiday), installed after Easter."""
    return Contract(
        number=number,
        customer_kind=CustomerKind.LEGAL_ENTITY,
        sites=(Site("varna-0001", VoltageLevel.LV, 3), Site("varna-0002", VoltageLevel.MV, 1)),
        period_months=24,
        email="office@example.bg",
        off_premises=True,
        state=ContractState.ACTIVE,
        signed_on=D(2026, 4, 10),
        installed_on=D(2026, 4, 14),
        protocols_signed_on=D(2026, 4, 14),
        credentials_given_on=D(2026, 4, 28),
        subscription_start=D(2026, 5, 1),
        subscription_end=D(2028, 4, 30),
    )
