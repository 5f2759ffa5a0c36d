"""Demo contracts for the demo customers of portal_api/seed.py (the stack and the tests).

A price list in force from 2025-01-01 (invented prices, clearly a demo) and one
active contract per demo customer, signed three months before ``now`` and
installed, with credentials given, so that the daily run has invoices to issue.
Dates follow ``now`` so the demo is current whenever it is seeded; adding is
idempotent (a contract or price list already there is left alone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.contracts.db.mapping import CUSTOMER_KIND
from portal_api.contracts.db.models import PriceListRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import (
    Contract,
    ContractState,
    Site,
    VoltageLevel,
)
from portal_api.contracts.domain.dates import add_months, first_of_month, local_date
from portal_api.contracts.domain.prices import PriceList
from portal_api.contracts.domain.term import subscription_end, subscription_start
from portal_api.db.models import Customer

__all__ = ["DEMO_CONTRACTS", "DEMO_PRICE_LIST", "DemoContract", "seed_demo_contracts"]

_E = Decimal
DEMO_PRICE_LIST = PriceList(
    effective_from=dt.date(2025, 1, 1),
    items={
        (VoltageLevel.LV, 12): _E("14.90"),
        (VoltageLevel.LV, 24): _E("12.90"),
        (VoltageLevel.MV, 12): _E("39.00"),
        (VoltageLevel.MV, 24): _E("34.00"),
        (VoltageLevel.HV, 12): _E("89.00"),
        (VoltageLevel.HV, 24): _E("79.00"),
    },
    additional_device=_E("4.50"),
    name="DEMO-2025",
)


@dataclass(frozen=True)
class DemoContract:
    number: str
    customer_number: str
    sites: tuple[Site, ...]
    period_months: int
    email: str
    off_premises: bool = False


DEMO_CONTRACTS: tuple[DemoContract, ...] = (
    DemoContract(
        "MYE-2025-0001",
        "3100000017",
        (Site("varna-0001", VoltageLevel.LV), Site("dobrich-0001", VoltageLevel.LV)),
        12,
        "ivan.georgiev@example.bg",
        off_premises=True,
    ),
    DemoContract(
        "MYE-2025-0002",
        "3100000033",
        (Site("shumen-0001", VoltageLevel.LV),),
        24,
        "hlebna.kashta@example.bg",
    ),
    DemoContract(
        "MYE-2025-0003",
        "3100000041",
        (Site("dobrich-0002", VoltageLevel.MV, multimeters=2),),
        24,
        "energy@dobrudzha-agro.example.bg",
    ),
)


def _contract(demo: DemoContract, customer: Customer, today: dt.date) -> Contract:
    signed = first_of_month(add_months(today, -3)) + dt.timedelta(days=4)
    installed = signed + dt.timedelta(days=11)
    credentials = installed + dt.timedelta(days=2)
    start = subscription_start(credentials).value
    return Contract(
        number=demo.number,
        customer_kind=CUSTOMER_KIND[customer.kind],
        sites=demo.sites,
        period_months=demo.period_months,
        email=demo.email,
        off_premises=demo.off_premises,
        state=ContractState.ACTIVE,
        signed_on=signed,
        installed_on=installed,
        protocols_signed_on=installed,
        credentials_given_on=credentials,
        subscription_start=start,
        subscription_end=subscription_end(start, demo.period_months).value,
    )


def seed_demo_contracts(session: Session, now: dt.datetime) -> int:
    """Add the demo price list and contracts that are missing; the number of contracts added."""
    repository = ContractRepository(session)
    price_row = session.scalar(
        select(PriceListRow).where(PriceListRow.effective_from == DEMO_PRICE_LIST.effective_from)
    )
    price_list_id = (
        repository.add_price_list(DEMO_PRICE_LIST) if price_row is None else price_row.id
    )
    today = local_date(now)
    added = 0
    for demo in DEMO_CONTRACTS:
        if repository.contract(demo.number) is not None:
            continue
        customer = session.scalars(
            select(Customer).where(Customer.number == demo.customer_number)
        ).one()
        contract = _contract(demo, customer, today)
        repository.save_contract(ContractRecord(contract, customer.id, price_list_id=price_list_id))
        added += 1
    return added
