"""Provisioning codes and installation protocols of the installers' CLI (issue 7).

- ``provisioning_codes``: one-time codes a staff member issues for a signed contract
  (clause 1.4); the CLI trades one for a module's MQTT credentials. Only a keyed
  SHA-256 of the code, its contract (and optionally one site), who issued it, when it
  expires and when it was used (single use) with the device it registered.
- ``installation_protocols``: the uploaded PDF of the handover protocol (Appendix 2,
  clause 1.4.2) or of the statement of findings (Appendix 3, clause 1.5), its SHA-256,
  the outcome it recorded, and the CLI's UUID (unique: a re-upload is idempotent).

Revision ID: 0006_install
Revises: 0005_requests
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest.registry.models import UTCDateTime

revision: str = "0006_install"
down_revision: str | None = "0005_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installation_protocols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "handover",
                "findings",
                name="protocol_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_installation_protocols_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_installation_protocols_uploaded_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation_protocols")),
        sa.UniqueConstraint("client_id", name=op.f("uq_installation_protocols_client_id")),
    )
    op.create_index(
        op.f("ix_installation_protocols_contract_id"),
        "installation_protocols",
        ["contract_id"],
        unique=False,
    )

    op.create_table(
        "provisioning_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("used_for_device", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_provisioning_codes_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"],
            ["users.id"],
            name=op.f("fk_provisioning_codes_issued_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_provisioning_codes_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_provisioning_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_provisioning_codes_contract_id"),
        "provisioning_codes",
        ["contract_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_provisioning_codes_contract_id"), table_name="provisioning_codes")
    op.drop_table("provisioning_codes")
    op.drop_index(
        op.f("ix_installation_protocols_contract_id"), table_name="installation_protocols"
    )
    op.drop_table("installation_protocols")
