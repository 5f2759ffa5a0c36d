"""The installation documents the installers' CLI uploads (1.4.2 Appendix 2, 1.5 Appendix 3).

An upload is the signed PDF plus the outcome it documents. Storing the document and
recording the outcome in the contract engine happen in ONE database transaction:
either the contract moved (``installation -> active`` for a handover protocol,
``-> ended_installation_impossible`` for a statement of findings) and the PDF is
kept, or neither (the engine refused -- e.g. no visit booked -- and its reason is
the answer). The engine (``InstallationService``) opens its own session; it is
handed a session factory bound to this transaction's connection that never commits
on its own (``join_transaction_mode="rollback_only"``), so its work commits with the
document or not at all.

``client_id`` is the UUID the CLI drew when it made the document: the same upload
again (the CLI's ``sync`` after a lost answer) finds the stored row and answers it
again, without recording the outcome twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.contracts_common import Actor, ContractAppError, RuleLine, audit
from portal_api.contracts.app.contracts_installation import (
    Impossible,
    InstallationService,
    Installed,
    Outcome,
)
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.domain.installation import ImpossibleReason, SignatoryCapacity
from portal_api.domain.workdays import WorkingDays
from portal_api.installations.models import InstallationProtocolRow, ProtocolKind

__all__ = [
    "MAX_PDF_BYTES",
    "PDF_MAGIC",
    "InstallationProtocols",
    "ProtocolOutcome",
    "ProtocolView",
    "UploadResult",
]

MAX_PDF_BYTES = 5 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class ProtocolOutcome:
    """What the document records. ``installed_on``: the visit day (installation or finding)."""

    client_id: str
    kind: ProtocolKind
    installed_on: dt.date
    site_id: str
    technician: str
    signatory_name: str
    signatory_capacity: SignatoryCapacity = SignatoryCapacity.CUSTOMER
    signatory_position: str = ""
    protocols_signed_on: dt.date | None = None  # handover; defaults to installed_on
    reason: ImpossibleReason | None = None  # findings (1.5)
    note: str = ""

    def command(self) -> Outcome:
        """The contract engine's command for this document."""
        if self.kind is ProtocolKind.HANDOVER:
            return Installed(
                installed_on=self.installed_on,
                protocols_signed_on=self.protocols_signed_on or self.installed_on,
                technician=self.technician,
                signatory_name=self.signatory_name,
                signatory_capacity=self.signatory_capacity,
                signatory_position=self.signatory_position,
            )
        if self.reason is None:
            raise ContractAppError(
                400,
                "Констативният протокол посочва причината по т. 1.5.",
                "A statement of findings gives the 1.5 reason.",
            )
        return Impossible(self.installed_on, self.site_id, self.reason, self.note)

    def as_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "kind": self.kind.value,
            "installed_on": self.installed_on.isoformat(),
            "protocols_signed_on": (
                (self.protocols_signed_on or self.installed_on).isoformat()
                if self.kind is ProtocolKind.HANDOVER
                else None
            ),
            "site_id": self.site_id,
            "technician": self.technician,
            "signatory_name": self.signatory_name,
            "signatory_capacity": self.signatory_capacity.value,
            "signatory_position": self.signatory_position,
            "reason": None if self.reason is None else self.reason.value,
            "note": self.note,
        }


@dataclass(frozen=True)
class ProtocolView:
    id: int
    contract_number: str
    kind: ProtocolKind
    client_id: str
    filename: str
    sha256: str
    size: int
    uploaded_at: dt.datetime
    outcome: dict[str, Any]


@dataclass(frozen=True)
class UploadResult:
    protocol: ProtocolView
    created: bool  # False: the same client_id was uploaded before (idempotent replay)


def _view(row: InstallationProtocolRow, number: str) -> ProtocolView:
    return ProtocolView(
        id=row.id,
        contract_number=number,
        kind=row.kind,
        client_id=row.client_id,
        filename=row.filename,
        sha256=row.sha256,
        size=len(row.content),
        uploaded_at=row.uploaded_at,
        outcome=dict(row.outcome),
    )


def _rule_json(rule: RuleLine) -> dict[str, Any]:
    return {
        "clause": rule.clause,
        "allowed": rule.allowed,
        "reason_bg": rule.reason_bg,
        "reason_en": rule.reason_en,
    }


class InstallationProtocols:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        calendar: WorkingDays,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar

    # -- reading ----------------------------------------------------------------------

    @staticmethod
    def _contract(session: Session, number: str) -> ContractRow:
        row = session.scalars(select(ContractRow).where(ContractRow.number == number)).first()
        if row is None:
            raise ContractAppError(404, "Няма такъв договор.", "No such contract.")
        return row

    def list(self, number: str) -> list[ProtocolView]:
        with self.sessions() as session:
            contract = self._contract(session, number)
            rows = session.scalars(
                select(InstallationProtocolRow)
                .where(InstallationProtocolRow.contract_id == contract.id)
                .order_by(InstallationProtocolRow.id)
            ).all()
            return [_view(row, number) for row in rows]

    def document(self, number: str, protocol_id: int) -> tuple[ProtocolView, bytes]:
        with self.sessions() as session:
            contract = self._contract(session, number)
            row = session.get(InstallationProtocolRow, protocol_id)
            if row is None or row.contract_id != contract.id:
                raise ContractAppError(404, "Няма такъв протокол.", "No such protocol.")
            return _view(row, number), bytes(row.content)

    def _replay(self, number: str, client_id: str) -> UploadResult | None:
        with self.sessions() as session:
            row = session.scalars(
                select(InstallationProtocolRow).where(
                    InstallationProtocolRow.client_id == client_id
                )
            ).first()
            if row is None:
                return None
            contract = session.get(ContractRow, row.contract_id)
            if contract is None or contract.number != number:
                raise ContractAppError(
                    409,
                    "Този идентификатор на документ е използван за друг договор.",
                    "This document id (client_id) was used for another contract.",
                )
            return UploadResult(_view(row, number), created=False)

    # -- the upload -------------------------------------------------------------------

    def upload(
        self,
        number: str,
        outcome: ProtocolOutcome,
        pdf: bytes,
        filename: str,
        actor: Actor,
    ) -> UploadResult:
        """Store ``pdf`` and record ``outcome`` in one transaction; a replay answers again."""
        if not pdf.startswith(PDF_MAGIC):
            raise ContractAppError(400, "Файлът не е PDF.", "The file is not a PDF.")
        if len(pdf) > MAX_PDF_BYTES:
            raise ContractAppError(400, "Файлът е над 5 MiB.", "The file is larger than 5 MiB.")
        client_id = str(uuid.UUID(outcome.client_id))
        earlier = self._replay(number, client_id)
        if earlier is not None:
            return earlier
        command = outcome.command()
        engine = self.sessions.kw["bind"]
        assert isinstance(engine, Engine)
        try:
            with engine.connect() as connection, connection.begin():
                joined = sessionmaker(
                    bind=connection,
                    join_transaction_mode="rollback_only",
                    expire_on_commit=False,
                )
                result = InstallationService(joined, self.clock, self.calendar).record_outcome(
                    number, command, actor
                )
                with joined() as session:
                    contract = self._contract(session, number)
                    digest = hashlib.sha256(pdf).hexdigest()
                    row = InstallationProtocolRow(
                        contract_id=contract.id,
                        kind=outcome.kind,
                        client_id=client_id,
                        filename=_safe_name(filename, outcome.kind, number),
                        sha256=digest,
                        content=pdf,
                        outcome={
                            **outcome.as_json(),
                            "client_id": client_id,
                            "state": result.detail.contract.state.value,
                            "rule": _rule_json(result.rule),
                        },
                        uploaded_by=actor.user_id,
                        uploaded_at=self.clock(),
                    )
                    session.add(row)
                    audit(
                        session,
                        at=self.clock(),
                        actor=actor,
                        action="contract.installation.protocol",
                        number=number,
                        detail={"kind": outcome.kind.value, "sha256": digest, "client": client_id},
                    )
                    session.flush()
                    view = _view(row, number)
        except IntegrityError:
            # Two uploads of one client_id at once: the other one won; answer with it.
            again = self._replay(number, client_id)
            if again is None:
                raise
            return again
        return UploadResult(view, created=True)


def _safe_name(filename: str, kind: ProtocolKind, number: str) -> str:
    """A plain file name for the download (no path, no quotes), ``.pdf`` at the end."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isalnum() or ch in "-_.")[:120]
    if not base.lower().endswith(".pdf") or base == ".pdf":
        base = f"{kind.value}-{number}.pdf"
    return base
