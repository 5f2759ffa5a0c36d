"""SQLAlchemy 2 tables of the service requests (issue 6), in the portal's ``Base`` metadata.

- ``service_requests``: one request of a customer for a service of the catalogue:
  its number (``SR-<year>-<nnnnnn>``, ASCII so it travels in URLs and subjects),
  the form's validated fields (JSON), the contact e-mail each step is mailed to,
  the current step and state, who submitted it and the staff member it is
  assigned to. A MyEnergy request names the draft contract
  it created by number (a refused draft is deleted, the request keeps its number).
- ``service_request_steps``: the timeline, one row per step reached, with the time,
  the user who acted and in what capacity (the customer, a person the customer
  authorised with a PIK, staff, or the system), a snapshot of the name shown, and
  a note (the reason of a rejection). Rows are only ever added.
- ``service_request_attachments``: the files sent with the form, kept in the
  database (a few MiB each, checked by content) with their SHA-256.

portal_api/db/models.py imports this module at its end, like the contract tables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db.models import EMAIL, SHA256_HEX, Base, _enum, _utc
from portal_api.service_requests.catalogue import RequestState, ServiceKind, Step

__all__ = ["ServiceRequestAttachmentRow", "ServiceRequestRow", "ServiceRequestStepRow"]


class ServiceRequestRow(Base):
    __tablename__ = "service_requests"
    __table_args__ = (Index("ix_service_requests_queue", "state", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[ServiceKind] = mapped_column(_enum(ServiceKind, "service_kind", 24))
    state: Mapped[RequestState] = mapped_column(_enum(RequestState, "service_request_state"))
    step: Mapped[Step] = mapped_column(_enum(Step, "service_step", 32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    contact_email: Mapped[str] = mapped_column(String(EMAIL))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[dt.datetime] = _utc()
    updated_at: Mapped[dt.datetime] = _utc()
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    contract_number: Mapped[str | None] = mapped_column(String(32), index=True)
    # The portal address the request was made at: the links in its step e-mails.
    portal_url: Mapped[str] = mapped_column(String(200))


class ServiceRequestStepRow(Base):
    __tablename__ = "service_request_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[Step] = mapped_column(_enum(Step, "service_step", 32))
    at: Mapped[dt.datetime] = _utc()
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # customer | authorised | staff | system: who the customer sees acting
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(200))  # never a personal number
    note: Mapped[str] = mapped_column(Text)


class ServiceRequestAttachmentRow(Base):
    __tablename__ = "service_request_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(32))  # which document of the form it is
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(SHA256_HEX))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = _utc()
