"""Gapless invoice numbers, VAT per invoice and the buyer's address (issue 5, billing).

- ``invoice_number_series``: one row (id 1) with the last number of the one series
  of invoice numbers (ЗДДС art. 114(1)(2), ППЗДДС: ten digits, no gap, no repeat).
- ``invoices.tax_number``: the invoice's ten-digit number, unique; ``invoices.vat``:
  the VAT charged on the tax base ``amount`` (the customer owes amount + vat).
- ``customers.address``: the buyer's postal address (ЗДДС art. 114(1)(5)).

Existing invoices are numbered 1..N in the order they were issued (issue date,
then row id) and the series continues from N; their VAT is 20 % of the tax base
(ЗДДС art. 66(1)), rounded half-up, as the PDF printed it.

Columns are added with plain ALTER TABLE on both backends, never in batch mode:
SQLite's table copy would drop ``invoices`` while payments and accruals reference
it (foreign keys are enforced). That is why ``tax_number`` is nullable in the
schema (SQLite adds a NOT NULL column only with a default) and its uniqueness is a
unique index; the repository always writes it.

Revision ID: 0003_billing
Revises: 0002_contracts
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003_billing"
down_revision: str | None = "0002_contracts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VAT_RATE = Decimal("0.20")  # ЗДДС art. 66(1), the rate the PDFs were printed with
_CENT = Decimal("0.01")


def upgrade() -> None:
    op.create_table(
        "invoice_number_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "last_number >= 0 AND last_number <= 9999999999",
            name=op.f("ck_invoice_number_series_last_number"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_number_series")),
    )
    op.add_column("invoices", sa.Column("tax_number", sa.String(length=10), nullable=True))
    op.add_column(
        "invoices",
        sa.Column(
            "vat", sa.Numeric(precision=12, scale=2), server_default=sa.text("0"), nullable=False
        ),
    )
    op.add_column("customers", sa.Column("address", sa.String(length=300), nullable=True))

    series = sa.table(
        "invoice_number_series",
        sa.column("id", sa.Integer()),
        sa.column("last_number", sa.Integer()),
    )
    if context.is_offline_mode():
        # SQL for a DBA (``alembic upgrade --sql``) cannot read the invoices it would number:
        # it is meant for a new database, so the series starts at 0. A database that already
        # has invoices is upgraded online, which numbers them below.
        op.execute(series.insert().values(id=1, last_number=0))
    else:
        _number_existing_invoices(op.get_bind(), series)
    op.create_index(op.f("ix_invoices_tax_number"), "invoices", ["tax_number"], unique=True)


def _number_existing_invoices(bind: sa.engine.Connection, series: sa.TableClause) -> None:
    """Number the invoices issued before this revision 1..N in issue order, 20 % VAT."""
    invoices = sa.table(
        "invoices",
        sa.column("id", sa.Integer()),
        sa.column("issued_on", sa.Date()),
        sa.column("amount", sa.Numeric(12, 2)),
        sa.column("tax_number", sa.String(10)),
        sa.column("vat", sa.Numeric(12, 2)),
    )
    rows = bind.execute(
        sa.select(invoices.c.id, invoices.c.amount).order_by(invoices.c.issued_on, invoices.c.id)
    ).all()
    for number, (row_id, amount) in enumerate(rows, start=1):
        vat = (Decimal(str(amount)) * _VAT_RATE).quantize(_CENT, rounding=ROUND_HALF_UP)
        bind.execute(
            invoices.update()
            .where(invoices.c.id == row_id)
            .values(tax_number=f"{number:010d}", vat=vat)
        )
    bind.execute(series.insert().values(id=1, last_number=len(rows)))


def downgrade() -> None:
    op.drop_index(op.f("ix_invoices_tax_number"), table_name="invoices")
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): no table copy, as in upgrade().
    op.drop_column("customers", "address")
    op.drop_column("invoices", "vat")
    op.drop_column("invoices", "tax_number")
    op.drop_table("invoice_number_series")
