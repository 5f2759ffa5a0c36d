"""Interruptions (5.1, 5.2), the log of proposals and decisions, the notices (2.5, 3.2, 4.3).

Idempotent for the daily run (base.py): an interruption per silent device and
start, a proposal or a notice per contract, kind and subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from portal_api.contracts.db import mapping
from portal_api.contracts.db.base import NotFoundError, RepositoryBase
from portal_api.contracts.db.enums import (
    DecisionKind,
    DecisionState,
    InterruptionSource,
    NoticeKind,
)
from portal_api.contracts.db.models import (
    ContractRow,
    DecisionRow,
    InterruptionRow,
    InterruptionSiteRow,
    NoticeRow,
)
from portal_api.contracts.db.records import DecisionRecord, InterruptionRecord, NoticeRecord
from portal_api.contracts.domain.decision import Decision
from portal_api.contracts.domain.interruptions import Interruption

__all__ = ["EventRepository"]


class EventRepository(RepositoryBase):
    # -- interruptions (5.1, 5.2) ---------------------------------------------------

    def add_interruption(
        self,
        contract_number: str,
        interruption: Interruption,
        source: InterruptionSource = InterruptionSource.STAFF,
    ) -> int | None:
        """Open an interruption; None when this device's silence from that start is known."""
        contract = self._contract_row(contract_number)
        values = mapping.interruption_values(interruption)
        values.update(contract_id=contract.id, source=source)
        found = self._insert_absent(
            InterruptionRow, values, ("contract_id", "device_id", "started_at")
        )
        if found is not None:
            self._set_interruption_sites(found, interruption.sites)
        return found

    def save_interruption(self, interruption_id: int, interruption: Interruption) -> None:
        """Update an interruption (its end, notice, fault, sites ...)."""
        row = self.session.get(InterruptionRow, interruption_id)
        if row is None:
            raise NotFoundError(f"interruption {interruption_id}")
        for name, value in mapping.interruption_values(interruption).items():
            setattr(row, name, value)
        self._set_interruption_sites(interruption_id, interruption.sites)

    def _set_interruption_sites(self, interruption_id: int, site_ids: Iterable[str]) -> None:
        current = {
            row.site_id: row
            for row in self.session.scalars(
                select(InterruptionSiteRow).where(
                    InterruptionSiteRow.interruption_id == interruption_id
                )
            )
        }
        wanted = set(site_ids)
        for site_id in set(current) - wanted:
            self.session.delete(current[site_id])
        for site_id in sorted(wanted - set(current)):
            self.session.add(InterruptionSiteRow(interruption_id=interruption_id, site_id=site_id))
        self.session.flush()

    def interruptions(
        self,
        contract_number: str | None = None,
        *,
        device_id: str | None = None,
        open_only: bool = False,
    ) -> list[InterruptionRecord]:
        """Interruptions by start: of a contract, of a device, optionally only those lasting."""
        statement = (
            select(InterruptionRow, ContractRow.number)
            .join(ContractRow, ContractRow.id == InterruptionRow.contract_id)
            .order_by(InterruptionRow.started_at, InterruptionRow.id)
        )
        if contract_number is not None:
            statement = statement.where(ContractRow.number == contract_number)
        if device_id is not None:
            statement = statement.where(InterruptionRow.device_id == device_id)
        if open_only:
            statement = statement.where(InterruptionRow.ended_at.is_(None))
        records = []
        for row, number in self.session.execute(statement):
            sites = self.session.scalars(
                select(InterruptionSiteRow.site_id).where(
                    InterruptionSiteRow.interruption_id == row.id
                )
            )
            records.append(mapping.interruption_record(row, sites, number))
        return records

    # -- the decision log -----------------------------------------------------------

    def propose(
        self,
        contract_number: str,
        kind: DecisionKind,
        subject: str,
        proposed_on: dt.date,
        decision: Decision[Any],
    ) -> int | None:
        """Log a proposal with its explanation; None when one exists for the subject."""
        contract = self._contract_row(contract_number)
        values = {
            "contract_id": contract.id,
            "clause": decision.clause,
            "kind": kind,
            "subject": subject,
            "proposed_on": proposed_on,
            "state": DecisionState.PROPOSED,
            "explanation": mapping.explanation(decision),
        }
        return self._insert_absent(DecisionRow, values, ("contract_id", "kind", "subject"))

    def decide(
        self, decision_id: int, *, confirmed: bool, user_id: int, at: dt.datetime
    ) -> DecisionRecord:
        """Staff confirm or reject a proposal; a decided one cannot be decided again."""
        row = self.session.get(DecisionRow, decision_id)
        if row is None:
            raise NotFoundError(f"decision {decision_id}")
        if row.state is not DecisionState.PROPOSED:
            raise ValueError(f"decision {decision_id} is already {row.state}")
        row.state = DecisionState.CONFIRMED if confirmed else DecisionState.REJECTED
        row.decided_by = user_id
        row.decided_at = at
        self.session.flush()
        return mapping.decision_record(
            row, self.session.get_one(ContractRow, row.contract_id).number
        )

    def decisions(
        self, contract_number: str | None = None, state: DecisionState | None = None
    ) -> list[DecisionRecord]:
        statement = (
            select(DecisionRow, ContractRow.number)
            .join(ContractRow, ContractRow.id == DecisionRow.contract_id)
            .order_by(DecisionRow.proposed_on, DecisionRow.id)
        )
        if contract_number is not None:
            statement = statement.where(ContractRow.number == contract_number)
        if state is not None:
            statement = statement.where(DecisionRow.state == state)
        return [
            mapping.decision_record(row, number) for row, number in self.session.execute(statement)
        ]

    # -- notices (2.5, 3.2, 4.3) ----------------------------------------------------

    def claim_notice(
        self,
        contract_number: str,
        kind: NoticeKind,
        subject: str,
        due_on: dt.date,
        created_at: dt.datetime,
    ) -> int | None:
        """Claim the notice of (contract, kind, subject); None when it was claimed before.

        Queue the e-mail only after a successful claim, then :meth:`attach_outbox`.
        """
        contract = self._contract_row(contract_number)
        values = {
            "contract_id": contract.id,
            "kind": kind,
            "subject": subject,
            "due_on": due_on,
            "created_at": created_at,
        }
        return self._insert_absent(NoticeRow, values, ("contract_id", "kind", "subject"))

    def attach_outbox(self, notice_id: int, outbox_id: int) -> None:
        row = self.session.get(NoticeRow, notice_id)
        if row is None:
            raise NotFoundError(f"notice {notice_id}")
        row.outbox_id = outbox_id
        self.session.flush()

    def notices(self, contract_number: str) -> list[NoticeRecord]:
        contract = self._contract_row(contract_number)
        rows = self.session.scalars(
            select(NoticeRow)
            .where(NoticeRow.contract_id == contract.id)
            .order_by(NoticeRow.due_on, NoticeRow.id)
        )
        return [mapping.notice_record(row, contract_number) for row in rows]

    # -- single rows and applied decisions (interruptions area, issue 5) ---------------

    def interruption(self, interruption_id: int) -> InterruptionRecord | None:
        """One interruption with its sites and contract number; None when unknown."""
        found = self.session.execute(
            select(InterruptionRow, ContractRow.number)
            .join(ContractRow, ContractRow.id == InterruptionRow.contract_id)
            .where(InterruptionRow.id == interruption_id)
        ).first()
        if found is None:
            return None
        row, number = found
        sites = self.session.scalars(
            select(InterruptionSiteRow.site_id).where(InterruptionSiteRow.interruption_id == row.id)
        )
        return mapping.interruption_record(row, sites, number)

    def decision(self, decision_id: int) -> DecisionRecord | None:
        """One entry of the decision log; None when unknown."""
        found = self.session.execute(
            select(DecisionRow, ContractRow.number)
            .join(ContractRow, ContractRow.id == DecisionRow.contract_id)
            .where(DecisionRow.id == decision_id)
        ).first()
        return None if found is None else mapping.decision_record(found[0], found[1])

    def record_applied(
        self,
        contract_number: str,
        kind: DecisionKind,
        subject: str,
        on: dt.date,
        decision: Decision[Any],
        *,
        at: dt.datetime,
        user_id: int | None = None,
    ) -> int | None:
        """Log what was applied at once, stored confirmed at ``at``: by the engine itself
        (a customer's right, e.g. a 5.1 / 5.2 free month; 7.1a expiry: ``user_id`` None) or
        by staff acting on a right (``user_id``). None when one exists for the subject (so a
        re-run applies nothing twice)."""
        contract = self._contract_row(contract_number)
        values = {
            "contract_id": contract.id,
            "clause": decision.clause,
            "kind": kind,
            "subject": subject,
            "proposed_on": on,
            "state": DecisionState.CONFIRMED,
            "decided_by": user_id,
            "decided_at": at,
            "explanation": mapping.explanation(decision),
        }
        return self._insert_absent(DecisionRow, values, ("contract_id", "kind", "subject"))

    def notice(self, contract_number: str, kind: NoticeKind, subject: str) -> NoticeRecord | None:
        """The notice of (contract, kind, subject) if it was claimed."""
        contract = self._contract_row(contract_number)
        row = self.session.scalars(
            select(NoticeRow).where(
                NoticeRow.contract_id == contract.id,
                NoticeRow.kind == kind,
                NoticeRow.subject == subject,
            )
        ).one_or_none()
        return None if row is None else mapping.notice_record(row, contract_number)
