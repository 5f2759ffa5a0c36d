"""Submit, read, assign, advance and reject service requests; every step is mailed.

Each change happens in one transaction with its timeline row, its audit entry and
its e-mail (the outbox row), so a step the customer sees is a step they were told
of. Staff advance a request only to the next step of its service's sequence, so
no step is skipped and none is reached twice; a rejection needs a reason and ends
the request. A MyEnergy request is not advanced here: ``follow`` moves it along
with its contract, and ``myenergy`` rejects it together with its draft contract.

Who acted is kept on every step as the customer sees it: the customer, a person
the customer authorised (the PIK holder's name, never a personal number), a
member of staff (their display name) or the system.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.acting import acting_detail
from portal_api.accounts.audit import write_audit
from portal_api.db.enums import Role
from portal_api.db.models import Customer, Pik, User
from portal_api.notify.outbox import enqueue
from portal_api.service_requests.catalogue import (
    RequestState,
    ServiceDefinition,
    ServiceKind,
    Step,
    definition,
    step_title,
)
from portal_api.service_requests.mail import step_mail
from portal_api.service_requests.models import (
    ServiceRequestAttachmentRow,
    ServiceRequestRow,
    ServiceRequestStepRow,
)

__all__ = [
    "AttachmentView",
    "QueueFilter",
    "RequestError",
    "RequestService",
    "RequestView",
    "StepView",
    "Upload",
    "record_step",
]

REASON_MAX = 2000
_Select = TypeVar("_Select", bound=Select[*tuple[Any, ...]])


class RequestError(Exception):
    """A refused request operation: HTTP-like status, bilingual message, per-field errors."""

    def __init__(
        self,
        status: int,
        message_bg: str,
        message_en: str,
        fields: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{message_bg} / {message_en}")
        self.status = status
        self.message_bg = message_bg
        self.message_en = message_en
        self.fields: dict[str, tuple[str, str]] = dict(fields or {})

    def message(self, lang: str) -> str:
        return self.message_bg if lang == "bg" else self.message_en


def _not_found() -> RequestError:
    return RequestError(404, "Няма такава заявка.", "No such request.")


@dataclass(frozen=True)
class Upload:
    """A document of the form, already checked (type by content, size): ``label`` names it."""

    label: str
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class StepView:
    step: Step
    at: dt.datetime
    actor_kind: str  # customer | authorised | staff | system
    actor_name: str
    note: str

    def title(self, lang: str) -> str:
        return step_title(self.step, lang)


@dataclass(frozen=True)
class AttachmentView:
    id: int
    label: str
    filename: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RequestView:
    number: str
    kind: ServiceKind
    state: RequestState
    step: Step
    fields: Mapping[str, Any]
    contact_email: str
    submitted_at: dt.datetime
    updated_at: dt.datetime
    customer_number: str
    customer_name: str
    assigned_to: int | None
    assignee_name: str | None
    contract_number: str | None
    steps: tuple[StepView, ...] = ()
    attachments: tuple[AttachmentView, ...] = ()

    @property
    def service(self) -> ServiceDefinition:
        return definition(self.kind)

    @property
    def next_step(self) -> Step | None:
        """The step staff may advance to (None when closed or when it follows a contract)."""
        if self.state is not RequestState.OPEN or self.service.follows_contract:
            return None
        return self.service.next_step(self.step)

    @property
    def open(self) -> bool:
        return self.state is RequestState.OPEN


@dataclass(frozen=True)
class QueueFilter:
    """What the staff queue shows: ``assigned`` is "me", "none", a user id or "" (all)."""

    kind: ServiceKind | None = None
    state: RequestState | None = RequestState.OPEN
    assigned: str = ""
    customer_number: str = ""
    limit: int = 200
    kinds: Sequence[ServiceKind] = field(default_factory=tuple)


def _actor(session: Session, user_id: int | None) -> tuple[str, str]:
    """(kind, name) of who acts, as the timeline shows it."""
    if user_id is None:
        return "system", "ЕНЕРГО-ПРО"
    user = session.get(User, user_id)
    if user is None:
        return "system", "ЕНЕРГО-ПРО"
    if user.role is not Role.CUSTOMER:
        return "staff", user.display_name
    acting = acting_detail(user_id)
    if acting.get("acting_role") == "authorised":
        pik = session.get(Pik, acting.get("pik_id"))
        if pik is not None:
            return "authorised", pik.holder_name
    customer = session.get(Customer, user.customer_id) if user.customer_id else None
    return "customer", customer.name if customer is not None else user.display_name


def record_step(
    session: Session,
    row: ServiceRequestRow,
    step: Step,
    *,
    at: dt.datetime,
    actor_user_id: int | None,
    note: str = "",
) -> ServiceRequestStepRow:
    """Add ``step`` to ``row``'s timeline, move the request there, audit it and mail it.

    The e-mail links to the request at the portal address it was submitted at, so a
    step recorded by another service (the contract engine, the daily run) needs no
    configuration of its own."""
    service = definition(row.kind)
    kind, name = _actor(session, actor_user_id)
    step_row = ServiceRequestStepRow(
        request_id=row.id,
        step=step,
        at=at,
        actor_user_id=actor_user_id,
        actor_kind=kind,
        actor_name=name[:200],
        note=note,
    )
    session.add(step_row)
    row.step = step
    row.updated_at = at
    if step is Step.REJECTED:
        row.state = RequestState.REJECTED
    elif step is service.last_step:
        row.state = RequestState.COMPLETED
    write_audit(
        session,
        at,
        "service_request.step",
        actor_user_id=actor_user_id,
        object_type="service_request",
        object_id=row.number,
        detail={"kind": row.kind.value, "step": step.value, "actor_kind": kind},
    )
    subject, body = step_mail(
        number=row.number,
        service=service,
        step=step,
        at=at,
        note=note,
        link=f"{row.portal_url.rstrip('/')}/requests/{row.number}",
    )
    enqueue(session, row.contact_email, subject, body, kind="service_request", at=at)
    session.flush()
    return step_row


def next_request_number(session: Session, year: int) -> str:
    """``SR-<year>-<nnnnnn>``: the next number of the year (the unique constraint backs it)."""
    prefix = f"SR-{year}-"
    last = session.scalar(
        select(func.max(ServiceRequestRow.number)).where(
            ServiceRequestRow.number.like(prefix + "%")
        )
    )
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


class RequestService:
    """The requests over the portal database; ``base_url`` is the portal's public address."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        base_url: str,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.base_url = base_url

    # -- submitting ---------------------------------------------------------------------

    def submit(
        self,
        *,
        customer_id: int,
        actor_user_id: int | None,
        kind: ServiceKind,
        fields: Mapping[str, Any],
        contact_email: str,
        uploads: Sequence[Upload] = (),
    ) -> RequestView:
        """A new request in step "received" (its first e-mail goes out with it)."""
        for attempt in range(3):
            try:
                with self.sessions.begin() as session:
                    row = self.submit_in(
                        session,
                        customer_id=customer_id,
                        actor_user_id=actor_user_id,
                        kind=kind,
                        fields=fields,
                        contact_email=contact_email,
                        uploads=uploads,
                    )
                    number = row.number
                break
            except IntegrityError:
                # Two submissions took the same next number at once; the loser retries.
                if attempt == 2:
                    raise
        return self.one(number)

    def submit_in(
        self,
        session: Session,
        *,
        customer_id: int,
        actor_user_id: int | None,
        kind: ServiceKind,
        fields: Mapping[str, Any],
        contact_email: str,
        uploads: Sequence[Upload] = (),
        contract_number: str | None = None,
    ) -> ServiceRequestRow:
        """The same inside the caller's transaction (MyEnergy: with its draft contract)."""
        if session.get(Customer, customer_id) is None:
            raise RequestError(400, "Няма такъв клиент.", "No such customer.")
        now = self.clock()
        row = ServiceRequestRow(
            number=next_request_number(session, now.year),
            customer_id=customer_id,
            kind=kind,
            state=RequestState.OPEN,
            step=Step.RECEIVED,
            fields=dict(fields),
            contact_email=contact_email.strip(),
            submitted_by=actor_user_id,
            submitted_at=now,
            updated_at=now,
            contract_number=contract_number,
            portal_url=self.base_url,
        )
        session.add(row)
        session.flush()
        for upload in uploads:
            session.add(
                ServiceRequestAttachmentRow(
                    request_id=row.id,
                    label=upload.label,
                    filename=upload.filename[:200],
                    media_type=upload.media_type,
                    size=len(upload.content),
                    sha256=hashlib.sha256(upload.content).hexdigest(),
                    content=upload.content,
                    uploaded_at=now,
                )
            )
        record_step(
            session,
            row,
            Step.RECEIVED,
            at=now,
            actor_user_id=actor_user_id,
        )
        return row

    # -- reading ------------------------------------------------------------------------

    def for_customer(self, customer_id: int) -> list[RequestView]:
        """A customer's requests, newest first (without timelines)."""
        with self.sessions() as session:
            rows = session.scalars(
                select(ServiceRequestRow)
                .where(ServiceRequestRow.customer_id == customer_id)
                .order_by(ServiceRequestRow.submitted_at.desc(), ServiceRequestRow.id.desc())
            ).all()
            return [self._view(session, row, full=False) for row in rows]

    def one(self, number: str, *, customer_id: int | None = None) -> RequestView:
        """One request with its timeline; a customer's own only (404 for anyone else's)."""
        with self.sessions() as session:
            return self._view(session, self._row(session, number, customer_id), full=True)

    def queue(self, wanted: QueueFilter, *, staff_user_id: int) -> list[RequestView]:
        """The staff queue: oldest first, so the longest waiting is at the top."""
        statement = _criteria(select(ServiceRequestRow), wanted, staff_user_id)
        if wanted.state is not None:
            statement = statement.where(ServiceRequestRow.state == wanted.state)
        statement = statement.order_by(ServiceRequestRow.submitted_at, ServiceRequestRow.id).limit(
            wanted.limit
        )
        with self.sessions() as session:
            return [self._view(session, row, full=False) for row in session.scalars(statement)]

    def state_counts(self, wanted: QueueFilter, *, staff_user_id: int) -> dict[str, int]:
        """How many requests each state holds under the filter's other criteria (kind,
        assignee, customer), and "all": the figures beside the state choice, counted in
        SQL, not capped by the queue's page size."""
        statement = _criteria(
            select(ServiceRequestRow.state, func.count()).group_by(ServiceRequestRow.state),
            wanted,
            staff_user_id,
        )
        counts = {state.value: 0 for state in RequestState}
        with self.sessions() as session:
            for state, count in session.execute(statement):
                counts[RequestState(state).value] = int(count)
        counts["all"] = sum(counts.values())
        return counts

    def attachment(
        self, number: str, attachment_id: int, *, customer_id: int | None = None
    ) -> tuple[AttachmentView, bytes]:
        with self.sessions() as session:
            row = self._row(session, number, customer_id)
            item = session.get(ServiceRequestAttachmentRow, attachment_id)
            if item is None or item.request_id != row.id:
                raise RequestError(404, "Няма такъв документ.", "No such document.")
            return _attachment_view(item), item.content

    def staff_members(self) -> list[tuple[int, str]]:
        """Who a request can be assigned to: active operators and admins."""
        with self.sessions() as session:
            rows = session.execute(
                select(User.id, User.display_name)
                .where(User.role.in_((Role.OPERATOR, Role.ADMIN)), User.active.is_(True))
                .order_by(User.display_name)
            ).all()
            return [(user_id, name) for user_id, name in rows]

    # -- staff work ---------------------------------------------------------------------

    def assign(self, number: str, assignee: int | None, *, actor_user_id: int) -> RequestView:
        """Give the request to ``assignee`` (an operator or admin), or release it (None)."""
        with self.sessions.begin() as session:
            row = self._row(session, number, None)
            if assignee is not None:
                user = session.get(User, assignee)
                if user is None or not user.active or user.role not in (Role.OPERATOR, Role.ADMIN):
                    raise RequestError(
                        400,
                        "Заявка се възлага само на служител на центъра.",
                        "A request is assigned to service-centre staff only.",
                    )
            row.assigned_to = assignee
            row.updated_at = self.clock()
            write_audit(
                session,
                row.updated_at,
                "service_request.assign",
                actor_user_id=actor_user_id,
                object_type="service_request",
                object_id=row.number,
                detail={"assigned_to": assignee},
            )
        return self.one(number)

    def advance(
        self, number: str, *, actor_user_id: int, expected: Step | None = None, note: str = ""
    ) -> RequestView:
        """Move the request to its next step; ``expected`` guards against a double submit."""
        with self.sessions.begin() as session:
            row = self._row(session, number, None)
            service = definition(row.kind)
            if row.state is not RequestState.OPEN:
                raise RequestError(409, "Заявката е приключена.", "The request is closed.")
            if service.follows_contract:
                raise RequestError(
                    409,
                    "Стъпките на MyEnergy следват договора: работете по договора.",
                    "MyEnergy steps follow the contract: work on the contract.",
                )
            step = service.next_step(row.step)
            assert step is not None  # an open request is never at its last step
            if expected is not None and expected is not step:
                raise RequestError(
                    409,
                    f"Заявката вече е на стъпка „{step_title(row.step, 'bg')}“.",
                    f"The request is already at “{step_title(row.step, 'en')}”.",
                )
            record_step(
                session,
                row,
                step,
                at=self.clock(),
                actor_user_id=actor_user_id,
                note=_note(note),
            )
        return self.one(number)

    def reject(self, number: str, *, actor_user_id: int, reason: str) -> RequestView:
        """End an open request with ``reason`` (required; the customer reads it)."""
        with self.sessions.begin() as session:
            row = self._row(session, number, None)
            if definition(row.kind).follows_contract:
                raise RequestError(
                    409,
                    "Заявка за MyEnergy се отказва заедно с договора.",
                    "A MyEnergy request is rejected together with its contract.",
                )
            self.reject_in(session, row, actor_user_id=actor_user_id, reason=reason)
        return self.one(number)

    def reject_in(
        self, session: Session, row: ServiceRequestRow, *, actor_user_id: int, reason: str
    ) -> None:
        if row.state is not RequestState.OPEN:
            raise RequestError(409, "Заявката е приключена.", "The request is closed.")
        text = _note(reason)
        if not text:
            raise RequestError(
                400,
                "Посочете причината за отказа.",
                "Give the reason for the rejection.",
                {"reason": ("Задължително поле.", "Required.")},
            )
        record_step(
            session,
            row,
            Step.REJECTED,
            at=self.clock(),
            actor_user_id=actor_user_id,
            note=text,
        )

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, number: str, customer_id: int | None) -> ServiceRequestRow:
        row = session.scalars(
            select(ServiceRequestRow).where(ServiceRequestRow.number == number.strip())
        ).one_or_none()
        # Another customer's request answers exactly like a missing one.
        if row is None or (customer_id is not None and row.customer_id != customer_id):
            raise _not_found()
        return row

    @staticmethod
    def _view(session: Session, row: ServiceRequestRow, *, full: bool) -> RequestView:
        customer = session.get(Customer, row.customer_id)
        assert customer is not None
        assignee = session.get(User, row.assigned_to) if row.assigned_to else None
        steps: tuple[StepView, ...] = ()
        attachments: tuple[AttachmentView, ...] = ()
        if full:
            steps = tuple(
                StepView(s.step, s.at, s.actor_kind, s.actor_name, s.note)
                for s in session.scalars(
                    select(ServiceRequestStepRow)
                    .where(ServiceRequestStepRow.request_id == row.id)
                    .order_by(ServiceRequestStepRow.at, ServiceRequestStepRow.id)
                )
            )
            attachments = tuple(
                _attachment_view(a)
                for a in session.scalars(
                    select(ServiceRequestAttachmentRow)
                    .where(ServiceRequestAttachmentRow.request_id == row.id)
                    .order_by(ServiceRequestAttachmentRow.id)
                )
            )
        return RequestView(
            number=row.number,
            kind=row.kind,
            state=row.state,
            step=row.step,
            fields=dict(row.fields),
            contact_email=row.contact_email,
            submitted_at=row.submitted_at,
            updated_at=row.updated_at,
            customer_number=customer.number,
            customer_name=customer.name,
            assigned_to=row.assigned_to,
            assignee_name=None if assignee is None else assignee.display_name,
            contract_number=row.contract_number,
            steps=steps,
            attachments=attachments,
        )


def _criteria(statement: _Select, wanted: QueueFilter, staff_user_id: int) -> _Select:
    """The queue filter's criteria but the state: one place for the list and its counts."""
    if wanted.kind is not None:
        statement = statement.where(ServiceRequestRow.kind == wanted.kind)
    if wanted.assigned == "me":
        statement = statement.where(ServiceRequestRow.assigned_to == staff_user_id)
    elif wanted.assigned == "none":
        statement = statement.where(ServiceRequestRow.assigned_to.is_(None))
    elif wanted.assigned.isdigit():
        statement = statement.where(ServiceRequestRow.assigned_to == int(wanted.assigned))
    if wanted.customer_number.strip():
        statement = statement.join(Customer, Customer.id == ServiceRequestRow.customer_id).where(
            Customer.number == wanted.customer_number.strip()
        )
    return statement


def _attachment_view(item: ServiceRequestAttachmentRow) -> AttachmentView:
    return AttachmentView(
        item.id, item.label, item.filename, item.media_type, item.size, item.sha256
    )


def _note(text: str) -> str:
    """A staff note or reason: trimmed, one bounded text (the customer reads it)."""
    return text.strip()[:REASON_MAX]
