"""PIKs of the Virtual Customer Service Centre (issue 6, seed 000).

- ``piks``: one personal identification code of a customer: its holder (the
  customer or an authorised person, by name and role), how it was asked for (in
  person, or a request signed with a qualified electronic signature, whose document,
  file name, SHA-256 and recorded signer are kept), the argon2 hash of the code (never
  the code), who issued and revoked it, the reissue chain and its lockout counters.
- ``auth_sessions.pik_id``: the PIK a session was opened with, so that every action
  of an authorised person carries the role it acts in.

The column is added with plain ALTER TABLE (see 0003 for why not batch mode); SQLite
accepts a REFERENCES clause on an added column whose default is NULL. PIK rows are
never deleted (revoked ones stay for the audit trail), so the reference needs no ON DELETE.

Revision ID: 0004_pik
Revises: 0003_billing
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest.registry.models import UTCDateTime

revision: str = "0004_pik"
down_revision: str | None = "0003_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "piks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("holder_role", sa.String(length=16), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("request_document", sa.LargeBinary(), nullable=True),
        sa.Column("request_filename", sa.String(length=200), nullable=True),
        sa.Column("request_sha256", sa.String(length=64), nullable=True),
        sa.Column("request_signer", sa.String(length=200), nullable=True),
        sa.Column("pik_hash", sa.String(length=255), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "holder_role IN ('customer', 'authorised')", name=op.f("ck_piks_holder_role")
        ),
        sa.CheckConstraint("channel IN ('in_person', 'qes_request')", name=op.f("ck_piks_channel")),
        sa.CheckConstraint(
            "channel <> 'qes_request' OR (request_document IS NOT NULL"
            " AND request_sha256 IS NOT NULL AND request_signer IS NOT NULL)",
            name=op.f("ck_piks_qes_document"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_piks_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"],
            ["users.id"],
            name=op.f("fk_piks_issued_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"],
            ["users.id"],
            name=op.f("fk_piks_revoked_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by"], ["piks.id"], name=op.f("fk_piks_replaced_by_piks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_piks")),
    )
    op.create_index(op.f("ix_piks_customer_id"), "piks", ["customer_id"], unique=False)
    if op.get_context().dialect.name == "sqlite":
        # Alembic would add the foreign key as a separate ALTER, which SQLite lacks;
        # SQLite takes it inline on an added column whose default is NULL.
        op.execute(
            "ALTER TABLE auth_sessions ADD COLUMN pik_id INTEGER"
            " CONSTRAINT fk_auth_sessions_pik_id_piks REFERENCES piks (id)"
        )
    else:
        op.add_column("auth_sessions", sa.Column("pik_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_auth_sessions_pik_id_piks"),
            "auth_sessions",
            "piks",
            ["pik_id"],
            ["id"],
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        # ALTER TABLE ... DROP COLUMN refuses a column with a REFERENCES clause on SQLite.
        with op.batch_alter_table("auth_sessions") as batch:
            batch.drop_column("pik_id")
    else:
        op.drop_constraint(
            op.f("fk_auth_sessions_pik_id_piks"), "auth_sessions", type_="foreignkey"
        )
        op.drop_column("auth_sessions", "pik_id")
    op.drop_index(op.f("ix_piks_customer_id"), table_name="piks")
    op.drop_table("piks")
