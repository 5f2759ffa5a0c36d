"""Registry tables: devices and cloud service accounts.

Self-contained on purpose (no import of today's models): a revision must keep
creating the schema of its time however the models evolve. Timestamps are
``DateTime(timezone=True)``, the column type of models.UTCDateTime.

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_registry"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_device",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("meter_model", sa.String(length=32), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "suspended",
                "retired",
                name="device_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("broker_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(id) >= 3", name=op.f("ck_registry_device_id_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_device")),
    )
    op.create_index(
        op.f("ix_registry_device_site_id"), "registry_device", ["site_id"], unique=False
    )
    op.create_table(
        "registry_service_account",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "ingest",
                "portal",
                name="service_role",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("broker_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_registry_service_account")),
    )


def downgrade() -> None:
    op.drop_table("registry_service_account")
    op.drop_index(op.f("ix_registry_device_site_id"), table_name="registry_device")
    op.drop_table("registry_device")
