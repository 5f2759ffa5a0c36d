"""What the contract repositories share: the caller's session and idempotent inserts.

No repository commits: each adds, flushes and queries inside the caller's
transaction (the unit of work), e.g. ``with sessions.begin() as session:
contracts = ContractRepository(session); billing = BillingRepository(session)``.

Idempotent writes for the daily run (``INSERT ... ON CONFLICT DO NOTHING`` on the
key of a unique constraint, SQLite and PostgreSQL alike) answer ``None`` (or
``False``) when the row already exists, instead of failing the transaction.
Claim first, then do the costly or visible work (render the PDF, queue the
e-mail) only when the claim was yours: a concurrent run waits on the claimed key
and then skips it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal_api.contracts.db.models import ContractRow, InvoiceRow

__all__ = ["NotFoundError", "RepositoryBase"]


class NotFoundError(LookupError):
    """No row for the contract, invoice, price list or decision named."""


class RepositoryBase:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- helpers --------------------------------------------------------------------

    def _insert_absent(
        self, model: type[Any], values: Mapping[str, Any], key: Sequence[str]
    ) -> int | None:
        """Insert unless a row with the same ``key`` exists; the new id, or None."""
        self.session.flush()
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(model.id)
        )
        found: int | None = self.session.execute(statement).scalar_one_or_none()
        return found

    def _one(self, statement: Select[Any], what: str) -> Any:
        row = self.session.execute(statement).scalar_one_or_none()
        if row is None:
            raise NotFoundError(what)
        return row

    def _contract_row(self, number: str) -> ContractRow:
        row: ContractRow = self._one(
            select(ContractRow).where(ContractRow.number == number), f"contract {number}"
        )
        return row

    def _invoice_row(self, number: str) -> InvoiceRow:
        row: InvoiceRow = self._one(
            select(InvoiceRow).where(InvoiceRow.number == number), f"invoice {number}"
        )
        return row
