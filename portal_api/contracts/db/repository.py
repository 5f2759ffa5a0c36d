"""Price lists (4.1, 4.2) and contracts with their sites (1.1, 2.x, 7.1з).

Row <-> domain translation is mapping.py's; the transaction is the caller's
(base.py). Billing is billing_repository.py, interruptions, the decision log and
the notices are events_repository.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from portal_api.contracts.db import mapping
from portal_api.contracts.db.base import NotFoundError, RepositoryBase
from portal_api.contracts.db.models import (
    ContractRow,
    ContractSiteRow,
    PriceListItemRow,
    PriceListRow,
)
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.domain.contract import ContractState
from portal_api.contracts.domain.prices import PriceBook, PriceList
from portal_api.db.models import Customer

__all__ = ["ContractRepository", "NotFoundError"]


class ContractRepository(RepositoryBase):
    # -- price lists (4.1, 4.2) -----------------------------------------------------

    def add_price_list(self, prices: PriceList) -> int:
        row, items = mapping.price_list_rows(prices)
        self.session.add(row)
        self.session.flush()
        for item in items:
            item.price_list_id = row.id
        self.session.add_all(items)
        self.session.flush()
        return row.id

    def price_list(self, price_list_id: int) -> PriceList:
        row = self.session.get(PriceListRow, price_list_id)
        if row is None:
            raise NotFoundError(f"price list {price_list_id}")
        items = self.session.scalars(
            select(PriceListItemRow).where(PriceListItemRow.price_list_id == row.id)
        )
        return mapping.price_list(row, items)

    def price_list_id(self, prices: PriceList) -> int:
        """The row of a version (found by its date: one version per day)."""
        found: int = self._one(
            select(PriceListRow.id).where(PriceListRow.effective_from == prices.effective_from),
            f"price list of {prices.effective_from}",
        )
        return found

    def price_book(self) -> PriceBook:
        """Every version (4.2: ``contract_prices(book, signed_on)`` picks a contract's)."""
        ids = self.session.scalars(select(PriceListRow.id).order_by(PriceListRow.effective_from))
        return PriceBook([self.price_list(i) for i in ids])

    # -- contracts (1.1, 2.x, 7.1з) -------------------------------------------------

    def save_contract(self, record: ContractRecord) -> ContractRecord:
        """Insert or update the contract of ``record.contract.number`` and its sites.

        The customer's kind must be the contract's (preamble). A site leaves a
        signed contract through ``left_on`` (7.1з), never by being dropped: only
        a draft may lose sites.
        """
        customer = self.session.get(Customer, record.customer_id)
        if customer is None:
            raise NotFoundError(f"customer {record.customer_id}")
        if mapping.CUSTOMER_KIND[customer.kind] != record.contract.customer_kind:
            raise ValueError(
                f"contract {record.contract.number}: customer {customer.number} is "
                f"{customer.kind}, the contract says {record.contract.customer_kind}"
            )
        row = self.session.scalars(
            select(ContractRow).where(ContractRow.number == record.contract.number)
        ).one_or_none()
        if row is None:
            row = ContractRow()
            self.session.add(row)
        mapping.write_contract(record, row)
        self.session.flush()
        existing = {
            s.site_id: s
            for s in self.session.scalars(
                select(ContractSiteRow).where(ContractSiteRow.contract_id == row.id)
            )
        }
        wanted = {site.site_id for site in record.contract.sites}
        dropped = set(existing) - wanted
        if dropped and record.contract.state is not ContractState.DRAFT:
            raise ValueError(
                f"contract {record.contract.number}: sites leave a signed contract with "
                f"left_on (7.1з), not by removal: {', '.join(sorted(dropped))}"
            )
        for site_id in dropped:
            self.session.delete(existing[site_id])
        for site in record.contract.sites:
            values = mapping.site_values(site, record.left_on.get(site.site_id))
            site_row = existing.get(site.site_id)
            if site_row is None:
                self.session.add(ContractSiteRow(contract_id=row.id, **values))
            else:
                for name, value in values.items():
                    setattr(site_row, name, value)
        self.session.flush()
        return self._contract_record(row)

    def _contract_record(self, row: ContractRow) -> ContractRecord:
        sites = self.session.scalars(
            select(ContractSiteRow).where(ContractSiteRow.contract_id == row.id)
        )
        kind = self.session.scalars(
            select(Customer.kind).where(Customer.id == row.customer_id)
        ).one()
        return mapping.contract_record(row, sites, kind)

    def contract(self, number: str) -> ContractRecord | None:
        row = self.session.scalars(
            select(ContractRow).where(ContractRow.number == number)
        ).one_or_none()
        return None if row is None else self._contract_record(row)

    def contracts(self, states: Iterable[ContractState] | None = None) -> list[ContractRecord]:
        """Contracts by number, optionally only those in ``states`` (the daily run's list)."""
        statement = select(ContractRow).order_by(ContractRow.number)
        if states is not None:
            statement = statement.where(ContractRow.state.in_(list(states)))
        return [self._contract_record(row) for row in self.session.scalars(statement)]
