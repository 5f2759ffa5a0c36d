"""Service requests of the Virtual Customer Service Centre (issue 6, seed 000).

- ``service_requests``: a customer's request for a service of the catalogue (the
  network operator's connections and contract, the supplier's contract, MyEnergy),
  its validated form fields, contact e-mail, current step and state, who submitted
  it, the staff member it is assigned to and, for MyEnergy, the contract it created.
- ``service_request_steps``: the timeline (step, time, who acted and in what
  capacity, note); rows are only added.
- ``service_request_attachments``: the form's documents with their SHA-256.

Revision ID: 0005_requests
Revises: 0004_pik
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ingest.registry.models import UTCDateTime

revision: str = "0005_requests"
down_revision: str | None = "0004_pik"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "connect_consumer",
                "connect_producer",
                "network_contract",
                "supply_contract",
                "myenergy",
                name="service_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "completed",
                "rejected",
                name="service_request_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "step",
            sa.Enum(
                "received",
                "documents_checked",
                "connection_conditions",
                "connection_study",
                "connection_contract",
                "connected",
                "contract_concluded",
                "supply_started",
                "signed",
                "installation_scheduled",
                "installed",
                "credentials_sent",
                "active",
                "rejected",
                name="service_step",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("contract_number", sa.String(length=32), nullable=True),
        sa.Column("portal_url", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_to"],
            ["users.id"],
            name=op.f("fk_service_requests_assigned_to_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_service_requests_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by"],
            ["users.id"],
            name=op.f("fk_service_requests_submitted_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_service_requests_number")),
    )
    op.create_index(
        op.f("ix_service_requests_assigned_to"), "service_requests", ["assigned_to"], unique=False
    )
    op.create_index(
        op.f("ix_service_requests_contract_number"),
        "service_requests",
        ["contract_number"],
        unique=False,
    )
    op.create_index(
        op.f("ix_service_requests_customer_id"), "service_requests", ["customer_id"], unique=False
    )
    op.create_index(
        "ix_service_requests_queue", "service_requests", ["state", "kind"], unique=False
    )

    op.create_table(
        "service_request_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_service_request_attachments_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_attachments")),
    )
    op.create_index(
        op.f("ix_service_request_attachments_request_id"),
        "service_request_attachments",
        ["request_id"],
        unique=False,
    )

    op.create_table(
        "service_request_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column(
            "step",
            sa.Enum(
                "received",
                "documents_checked",
                "connection_conditions",
                "connection_study",
                "connection_contract",
                "connected",
                "contract_concluded",
                "supply_started",
                "signed",
                "installation_scheduled",
                "installed",
                "credentials_sent",
                "active",
                "rejected",
                name="service_step",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_service_request_steps_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_requests.id"],
            name=op.f("fk_service_request_steps_request_id_service_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request_steps")),
    )
    op.create_index(
        op.f("ix_service_request_steps_request_id"),
        "service_request_steps",
        ["request_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_service_request_steps_request_id"), table_name="service_request_steps")

    op.drop_table("service_request_steps")
    op.drop_index(
        op.f("ix_service_request_attachments_request_id"), table_name="service_request_attachments"
    )

    op.drop_table("service_request_attachments")
    op.drop_index("ix_service_requests_queue", table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_customer_id"), table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_contract_number"), table_name="service_requests")
    op.drop_index(op.f("ix_service_requests_assigned_to"), table_name="service_requests")

    op.drop_table("service_requests")
