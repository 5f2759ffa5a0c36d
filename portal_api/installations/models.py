"""SQLAlchemy 2 tables of the installers' CLI (issue 7), in the portal's ``Base`` metadata.

- ``provisioning_codes``: one-time codes that let a technician register a module for
  one contract without a staff login (clause 1.4: the installation is the provider's
  job, the code only proves the technician was sent for that contract). Only a keyed
  SHA-256 of the code is kept (HMAC with the portal's pepper, so a database dump alone
  does not let anyone try the 32^10 codes offline); ``used_at`` makes it single use.
- ``installation_protocols``: the PDF of the handover protocol (Appendix 2) or of the
  statement of findings (Appendix 3) uploaded by the CLI, with the outcome it recorded
  in the contract engine. ``client_id`` is the UUID the CLI drew when it wrote the
  document, so a retried upload (lost answer, offline queue) finds its row again.

portal_api/db/models.py imports this module at its end, like the contract tables.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal_api.db.models import SHA256_HEX, Base, _enum, _utc

__all__ = ["InstallationProtocolRow", "ProtocolKind", "ProvisioningCodeRow"]


class ProtocolKind(StrEnum):
    HANDOVER = "handover"  # Appendix 2, clause 1.4.2
    FINDINGS = "findings"  # Appendix 3, clause 1.5


class ProvisioningCodeRow(Base):
    __tablename__ = "provisioning_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(SHA256_HEX), unique=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    # A code may be narrowed to one site of the contract; null: any of its sites.
    site_id: Mapped[str | None] = mapped_column(ForeignKey("sites.id"))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[dt.datetime] = _utc()
    expires_at: Mapped[dt.datetime] = _utc()
    used_at: Mapped[dt.datetime | None] = _utc(nullable=True)
    # The device the code registered: the audit trail from a code to a module.
    used_for_device: Mapped[str | None] = mapped_column(String(32))


class InstallationProtocolRow(Base):
    __tablename__ = "installation_protocols"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(
        ForeignKey("contracts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ProtocolKind] = mapped_column(_enum(ProtocolKind, "protocol_kind"))
    client_id: Mapped[str] = mapped_column(String(36), unique=True)  # the CLI's UUID
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(SHA256_HEX))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[dt.datetime] = _utc()
