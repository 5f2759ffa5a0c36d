"""What the repository returns: a domain value plus what only the database knows.

The domain's dataclasses say nothing of row ids, foreign keys or staff answers;
a record pairs the domain value with them. Plain frozen dataclasses, like the
domain's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from portal_api.contracts.db.enums import (
    DecisionKind,
    DecisionState,
    InterruptionSource,
    InvoiceState,
    NoticeKind,
)
from portal_api.contracts.domain.billing import AppliedPart, Invoice, Payment
from portal_api.contracts.domain.contract import Contract, Site
from portal_api.contracts.domain.interruptions import Interruption

__all__ = [
    "ContractRecord",
    "DecisionRecord",
    "InterruptionRecord",
    "InvoiceRecord",
    "NoticeRecord",
    "PaymentRecord",
]


@dataclass(frozen=True)
class ContractRecord:
    """A contract with its customer, the price list it keeps (4.2) and its free months.

    ``left_on`` maps a site id to the day it left the contract (7.1з: change of
    owner or user of some sites); the site stays in ``contract.sites`` so the fee
    history remains explainable.
    """

    contract: Contract
    customer_id: int
    price_list_id: int | None = None
    free_months: int = 0  # 5.1 / 5.2 compensation granted
    left_on: Mapping[str, dt.date] = field(default_factory=dict)
    id: int | None = None

    def __post_init__(self) -> None:
        known = {site.site_id for site in self.contract.sites}
        unknown = sorted(set(self.left_on) - known)
        if unknown:
            raise ValueError(f"left_on names sites not in the contract: {', '.join(unknown)}")
        if self.free_months < 0:
            raise ValueError("free months cannot be negative")
        object.__setattr__(self, "left_on", MappingProxyType(dict(self.left_on)))

    def sites_on(self, day: dt.date) -> tuple[Site, ...]:
        """The sites still in the contract on ``day`` (7.1з: not from the day they left)."""
        return tuple(
            site
            for site in self.contract.sites
            if site.site_id not in self.left_on or day < self.left_on[site.site_id]
        )


@dataclass(frozen=True)
class InvoiceRecord:
    """An issued monthly invoice (4.3); the PDF is fetched on its own (it is large)."""

    invoice: Invoice
    issued_on: dt.date
    state: InvoiceState = InvoiceState.ISSUED
    id: int | None = None


@dataclass(frozen=True)
class PaymentRecord:
    """A payment of a contract and how it was allocated (ЗЗД art. 76)."""

    contract_number: str
    payment: Payment
    applied: tuple[AppliedPart, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class InterruptionRecord:
    interruption: Interruption
    contract_number: str
    source: InterruptionSource = InterruptionSource.STAFF
    id: int | None = None


@dataclass(frozen=True)
class DecisionRecord:
    """A proposal of the engine and the staff's answer; ``explanation`` is Decision.explain()."""

    contract_number: str
    kind: DecisionKind
    subject: str
    clause: str
    proposed_on: dt.date
    explanation: Mapping[str, object]
    state: DecisionState = DecisionState.PROPOSED
    decided_by: int | None = None
    decided_at: dt.datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class NoticeRecord:
    contract_number: str
    kind: NoticeKind
    subject: str
    due_on: dt.date
    created_at: dt.datetime
    outbox_id: int | None = None
    id: int | None = None
