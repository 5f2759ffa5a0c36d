"""Installation outcomes (1.3, 1.4.2, 1.5, Appendices 2 and 3) and credentials (1.6, 2.2, 2.3a).

Outcomes of a technician's visit, recorded by installers or the service centre:

- visit agreed (1.4.2): ``signed -> installation``; it also settles a mismatch
  still open, which ends that postponement (the 1.3 deadline is extended by it);
- postponed for a mismatch (1.4.2): ``installation -> signed``; the 1.3 deadline
  has no date while the mismatch is open;
- booking refused, no access, MV/HV site without a technical connection (1.4.2):
  the company MAY terminate (7.4): a proposal staff confirm, the contract is not
  touched;
- installed (1.4.2, Appendix 2): the handover protocol must be duly made
  (three copies, signatory rules); ``installation -> active``;
- impossible (1.5, Appendix 3): the statement of findings ends the contract with
  no penalties for either side (``ended_installation_impossible``).

Credentials (1.6): the day they were sent to the contract's e-mail; it fixes the
subscription start (2.3a) and end (2.2). Whether they went out in time is judged
against ``term.credentials_due`` and reported; a late day is still recorded (it
happened, and the customer's subscription starts from it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.contracts_common import (
    Actor,
    ContractAppError,
    RuleLine,
    audit,
    refused,
)
from portal_api.contracts.app.contracts_postponements import (
    POSTPONED,
    VISIT_AGREED,
    postponements,
)
from portal_api.contracts.app.contracts_views import ContractDetail, build_detail
from portal_api.contracts.db.enums import DecisionKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import Contract, Site, TerminationGround
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.installation import (
    AccessProblem,
    HandoverProtocol,
    ImpossibleReason,
    MismatchKind,
    Signatory,
    SignatoryCapacity,
    StatementOfFindings,
    access_problem,
    handover,
    installation_deadline,
    installation_impossible,
)
from portal_api.contracts.domain.lifecycle import Event, Terminate, apply, transition
from portal_api.contracts.domain.term import credentials_due, subscription_end, subscription_start
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "AccessRefused",
    "CredentialsResult",
    "Impossible",
    "InstallationService",
    "Installed",
    "Outcome",
    "OutcomeResult",
    "Postponed",
    "VisitAgreed",
]


@dataclass(frozen=True)
class VisitAgreed:
    on: dt.date


@dataclass(frozen=True)
class Postponed:
    on: dt.date
    mismatch: MismatchKind
    note: str = ""


@dataclass(frozen=True)
class AccessRefused:
    """1.4.2: ``problem`` at ``site_id`` on ``on`` (refused booking, no access, no MV/HV link)."""

    on: dt.date
    problem: AccessProblem
    site_id: str


@dataclass(frozen=True)
class Installed:
    """1.4.2, Appendix 2: the handover protocol signed before the technician leaves."""

    installed_on: dt.date
    protocols_signed_on: dt.date
    technician: str
    signatory_name: str
    signatory_capacity: SignatoryCapacity = SignatoryCapacity.CUSTOMER
    signatory_position: str = ""


@dataclass(frozen=True)
class Impossible:
    """1.5, Appendix 3: the statement of findings."""

    on: dt.date
    site_id: str
    reason: ImpossibleReason
    note: str = ""


Outcome = VisitAgreed | Postponed | AccessRefused | Installed | Impossible


@dataclass(frozen=True)
class OutcomeResult:
    detail: ContractDetail
    rule: RuleLine  # the rule that decided (the transition, 1.3, 1.4.2 proposal, 1.5)
    proposal_id: int | None = None  # 1.4.2: the proposal staff are to confirm


@dataclass(frozen=True)
class CredentialsResult:
    detail: ContractDetail
    due: RuleLine  # 1.6
    in_time: bool
    start: RuleLine  # 2.3a
    end: RuleLine  # 2.2


class InstallationService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        calendar: WorkingDays,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar

    def today(self) -> dt.date:
        return local_date(self.clock())

    def _load(self, session: Session, number: str) -> ContractRecord:
        record = ContractRepository(session).contract(number)
        if record is None:
            raise ContractAppError(404, "Няма такъв договор.", "No such contract.")
        return record

    def _not_future(self, *days: dt.date) -> None:
        today = self.today()
        for day in days:
            if day > today:
                raise ContractAppError(
                    400,
                    f"Датата не може да е в бъдещето ({day:%d.%m.%Y}).",
                    f"The date cannot be in the future ({day.isoformat()}).",
                )

    @staticmethod
    def _save(session: Session, record: ContractRecord, contract: Contract) -> None:
        ContractRepository(session).save_contract(
            ContractRecord(
                contract,
                record.customer_id,
                price_list_id=record.price_list_id,
                free_months=record.free_months,
                left_on=record.left_on,
            )
        )

    def _site(self, record: ContractRecord, site_id: str) -> Site:
        for site in record.contract.sites:
            if site.site_id == site_id:
                return site
        raise ContractAppError(
            400,
            f"Обект {site_id} не е в договора.",
            f"Site {site_id} is not in the contract.",
        )

    # -- outcomes -----------------------------------------------------------------------

    def record_outcome(self, number: str, outcome: Outcome, actor: Actor) -> OutcomeResult:
        day = outcome.installed_on if isinstance(outcome, Installed) else outcome.on
        self._not_future(day)
        with self.sessions.begin() as session:
            record = self._load(session, number)
            rule, proposal_id, detail = self._outcome(session, record, outcome)
            audit(
                session,
                at=self.clock(),
                actor=actor,
                action=_ACTION[type(outcome)],
                number=number,
                detail=detail,
            )
            view = build_detail(session, self._load(session, number), self.today(), self.calendar)
        return OutcomeResult(view, rule, proposal_id)

    def _outcome(
        self, session: Session, record: ContractRecord, outcome: Outcome
    ) -> tuple[RuleLine, int | None, dict[str, object]]:
        contract = record.contract
        if isinstance(outcome, VisitAgreed | Postponed):
            event = (
                Event.INSTALLATION_BOOKED
                if isinstance(outcome, VisitAgreed)
                else (Event.VISIT_POSTPONED)
            )
            moved = apply(contract, event, outcome.on)
            if not moved.allowed:
                raise refused(moved)
            self._save(session, record, moved.value)
            detail: dict[str, object] = {"on": outcome.on.isoformat()}
            if isinstance(outcome, Postponed):
                detail.update(mismatch=outcome.mismatch.value, note=outcome.note[:200])
            return RuleLine.of(moved), None, detail
        if isinstance(outcome, AccessRefused):
            return self._access(session, record, outcome)
        if isinstance(outcome, Installed):
            return self._installed(session, record, outcome)
        return self._impossible(session, record, outcome)

    def _access(
        self, session: Session, record: ContractRecord, outcome: AccessRefused
    ) -> tuple[RuleLine, int | None, dict[str, object]]:
        """1.4.2 / 7.4: a proposal to terminate; the contract itself is not changed."""
        site = self._site(record, outcome.site_id)
        # Only while the ground can arise (before installation, 7.4 with 1.4.2).
        may = transition(
            record.contract, Terminate(TerminationGround.NO_INSTALLATION_ACCESS), outcome.on
        )
        if not may.allowed:
            raise refused(may)
        proposal = access_problem(outcome.problem, site, outcome.on)
        if not proposal.allowed:
            raise refused(proposal)
        subject = f"1.4.2:{outcome.problem.value}:{site.site_id}:{outcome.on.isoformat()}"
        proposal_id = EventRepository(session).propose(
            record.contract.number,
            DecisionKind.TERMINATION_PROPOSED,
            subject,
            outcome.on,
            proposal,
        )
        if proposal_id is None:
            raise ContractAppError(
                409,
                "Това предложение вече е записано.",
                "This proposal was already recorded.",
            )
        detail: dict[str, object] = {
            "on": outcome.on.isoformat(),
            "problem": outcome.problem.value,
            "site": site.site_id,
            "proposal_id": proposal_id,
        }
        return RuleLine.of(proposal), proposal_id, detail

    def _installed(
        self, session: Session, record: ContractRecord, outcome: Installed
    ) -> tuple[RuleLine, int | None, dict[str, object]]:
        """1.4.2, Appendix 2: the protocol must be duly made before the contract is active."""
        self._not_future(outcome.protocols_signed_on)
        contract = record.contract
        if outcome.protocols_signed_on < outcome.installed_on:
            raise ContractAppError(
                400,
                "Протоколът се подписва в деня на инсталацията или след него.",
                "The handover protocol is signed on or after the installation day.",
            )
        protocol = HandoverProtocol(
            contract_number=contract.number,
            site_ids=tuple(s.site_id for s in contract.sites),
            signed_on=outcome.protocols_signed_on,
            technician=outcome.technician,
            signatory=Signatory(
                full_name=outcome.signatory_name,
                capacity=outcome.signatory_capacity,
                position=outcome.signatory_position,
            ),
        )
        valid = handover(protocol, contract.customer_kind)
        if not valid.allowed:
            raise refused(valid, 400)
        moved = apply(contract, Event.INSTALLED, outcome.installed_on)
        if not moved.allowed:
            raise refused(moved)
        self._save(
            session, record, moved.value.with_(protocols_signed_on=outcome.protocols_signed_on)
        )
        detail: dict[str, object] = {
            "installed_on": outcome.installed_on.isoformat(),
            "protocols_signed_on": outcome.protocols_signed_on.isoformat(),
            "technician": outcome.technician[:100],
            "signatory_capacity": outcome.signatory_capacity.value,
        }
        return RuleLine.of(moved), None, detail

    def _impossible(
        self, session: Session, record: ContractRecord, outcome: Impossible
    ) -> tuple[RuleLine, int | None, dict[str, object]]:
        """1.5 / 7.1c: deemed terminated, no penalties (0.00 / 0.00), nothing to dismantle."""
        site = self._site(record, outcome.site_id)
        moved = apply(record.contract, Event.IMPOSSIBLE, outcome.on)
        if not moved.allowed:
            raise refused(moved)
        statement = installation_impossible(
            StatementOfFindings(
                contract_number=record.contract.number,
                site_id=site.site_id,
                found_on=outcome.on,
                reason=outcome.reason,
                detail=outcome.note,
            )
        )
        self._save(session, record, moved.value)
        detail: dict[str, object] = {
            "on": outcome.on.isoformat(),
            "site": site.site_id,
            "reason": outcome.reason.value,
            "penalty_customer": "0.00",
            "penalty_company": "0.00",
        }
        return RuleLine.of(statement), None, detail

    # -- 1.6 credentials --------------------------------------------------------------

    def credentials_given(self, number: str, given_on: dt.date, actor: Actor) -> CredentialsResult:
        """1.6: record the day; 2.3a: the subscription starts the month after; 2.2: its end."""
        self._not_future(given_on)
        with self.sessions.begin() as session:
            record = self._load(session, number)
            contract = record.contract
            if contract.installed_on is None or contract.protocols_signed_on is None:
                raise ContractAppError(
                    409,
                    "Достъп се предоставя след инсталация и подписани протоколи (т. 1.6).",
                    "Credentials are given after installation and the signed protocols (1.6).",
                )
            if contract.credentials_given_on is not None:
                raise ContractAppError(
                    409,
                    f"Достъпът вече е предоставен на {contract.credentials_given_on:%d.%m.%Y}.",
                    "Credentials were already given on "
                    f"{contract.credentials_given_on.isoformat()}.",
                )
            if contract.renewal_of is not None:
                raise ContractAppError(
                    409,
                    "Подновеният договор започва по т. 2.3б, не с нов достъп.",
                    "A renewal starts under 2.3b, not with new credentials.",
                )
            if given_on < contract.protocols_signed_on:
                raise ContractAppError(
                    400,
                    "Достъпът не може да е предоставен преди подписването на протоколите.",
                    "Credentials cannot be given before the protocols were signed.",
                )
            deadline = installation_deadline(
                contract.signed_on or contract.installed_on,
                len(contract.sites),
                self.calendar,
                postponements(session, contract.number),
            ).value
            due = credentials_due(
                contract.installed_on, contract.protocols_signed_on, self.calendar, deadline
            )
            in_time = given_on <= due.value
            start = subscription_start(given_on)
            end = subscription_end(start.value, contract.period_months, record.free_months)
            self._save(
                session,
                record,
                contract.with_(
                    credentials_given_on=given_on,
                    subscription_start=start.value,
                    subscription_end=end.value,
                ),
            )
            audit(
                session,
                at=self.clock(),
                actor=actor,
                action="contract.credentials",
                number=number,
                detail={
                    "given_on": given_on.isoformat(),
                    "due_on": due.value.isoformat(),
                    "in_time": in_time,
                    "subscription_start": start.value.isoformat(),
                    "subscription_end": end.value.isoformat(),
                },
            )
            view = build_detail(session, self._load(session, number), self.today(), self.calendar)
        return CredentialsResult(
            view, RuleLine.of(due), in_time, RuleLine.of(start), RuleLine.of(end)
        )


_ACTION: dict[type, str] = {
    VisitAgreed: VISIT_AGREED,
    Postponed: POSTPONED,
    AccessRefused: "contract.installation.access_problem",
    Installed: "contract.installation.installed",
    Impossible: "contract.installation.impossible",
}
