"""Clause 5.4 of the General Terms: lost credentials, new ones within 3 working days.

A request is received (public form), matched to a customer when it names a
customer number and/or the customer's EGN/EIK (looked up by HMAC, never stored),
and is due at the end of the third Bulgarian working day after the day it was
received (Europe/Sofia; ``WorkingDays``: holidays and weekend shifts count).
An operator fulfils it: a new password is generated for each login of the
customer (or a first login is created, named after the customer number), mailed
to the customer's contract e-mail through the outbox — never to the address typed
into the form, which anyone could have typed — and the act is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.accounts.errors import AccountError
from portal_api.accounts.mail import credentials_mail
from portal_api.accounts.passwords import Passwords, generate_password
from portal_api.accounts.views import CredentialRequestView
from portal_api.config import SecuritySettings
from portal_api.db.enums import Language, RequestState, Role
from portal_api.db.models import AuthSession, CredentialRequest, Customer, User
from portal_api.domain.identifiers import hmac_identifier, validate_identifier
from portal_api.domain.roles import Permission, can
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox

Clock = Callable[[], dt.datetime]
SOFIA = ZoneInfo("Europe/Sofia")
DUE_WORKING_DAYS = 3  # clause 5.4
NOTE_MAX = 2000


def due_at(received_at: dt.datetime, calendar: WorkingDays) -> dt.datetime:
    """End (local midnight after) of the 3rd working day after the local day of receipt."""
    local_day = received_at.astimezone(SOFIA).date()
    last_day = calendar.add_working_days(local_day, DUE_WORKING_DAYS)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=SOFIA)
    return end.astimezone(dt.UTC)


def _valid_email(value: str) -> bool:
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and not any(c in value for c in " \r\n<>,;")


class CredentialRequests:
    """Open, list, fulfil and reject clause 5.4 requests."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        settings: SecuritySettings,
        outbox: Outbox,
        calendar: WorkingDays,
        *,
        passwords: Passwords,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._outbox = outbox
        self._calendar = calendar
        self._passwords = passwords

    def _match(
        self,
        session: Session,
        customer_number: str | None,
        identifier: str | None,
        id_kind: str | None,
    ) -> int | None:
        hashes: set[str] = set()
        if identifier:
            # Raises IdentifierError for a number that does not check out: the form says so.
            checked = validate_identifier(identifier, id_kind)
            pepper = self._settings.identifier_keys().pepper
            hashes.add(hmac_identifier(checked.kind, checked.value, pepper))
        query = select(Customer)
        if customer_number:
            query = query.where(Customer.number == customer_number.strip())
        if hashes:
            query = query.where(Customer.id_hmac.in_(hashes))
        if not customer_number and not hashes:
            return None
        found = session.scalars(query.limit(2)).all()
        # Ambiguous (two customers, same identifier, no number): the operator decides.
        return found[0].id if len(found) == 1 else None

    def open(
        self,
        contact_email: str,
        note: str = "",
        *,
        customer_number: str | None = None,
        identifier: str | None = None,
        id_kind: str | None = None,
        ip: str | None = None,
    ) -> CredentialRequestView:
        contact_email = contact_email.strip()
        if not _valid_email(contact_email):
            raise AccountError("invalid_email")
        if len(note) > NOTE_MAX:
            raise AccountError("note_too_long")
        now = self._clock()
        with self._sessions.begin() as session:
            customer_id = self._match(session, customer_number, identifier, id_kind)
            row = CredentialRequest(
                customer_id=customer_id,
                contact_email=contact_email,
                note=note,
                received_at=now,
                due_at=due_at(now, self._calendar),
                state=RequestState.OPEN,
            )
            session.add(row)
            session.flush()
            write_audit(
                session,
                now,
                "credential_request_opened",
                object_type="credential_request",
                object_id=row.id,
                ip=ip,
                detail={"matched": customer_id is not None},
            )
            return self._view(session, row, now)

    def list_requests(
        self, state: RequestState | None = RequestState.OPEN, *, overdue_only: bool = False
    ) -> list[CredentialRequestView]:
        """Requests by due date (``state`` None: all); ``overdue_only``: open and past due."""
        now = self._clock()
        with self._sessions() as session:
            query = select(CredentialRequest).order_by(
                CredentialRequest.due_at, CredentialRequest.id
            )
            if overdue_only:
                query = query.where(
                    CredentialRequest.state == RequestState.OPEN, CredentialRequest.due_at <= now
                )
            elif state is not None:
                query = query.where(CredentialRequest.state == state)
            return [self._view(session, row, now) for row in session.scalars(query)]

    def _load_open(self, session: Session, request_id: int) -> CredentialRequest:
        row = session.get(CredentialRequest, request_id, with_for_update=True)
        if row is None:
            raise AccountError("not_found")
        if row.state is not RequestState.OPEN:
            raise AccountError("not_open")
        return row

    @staticmethod
    def _check_operator(session: Session, operator_user_id: int) -> User:
        operator = session.get(User, operator_user_id)
        if (
            operator is None
            or not operator.active
            or not can(operator.role, Permission.CREDENTIAL_REQUESTS)
        ):
            raise AccountError("forbidden")
        return operator

    def fulfil(
        self,
        request_id: int,
        operator_user_id: int,
        base_url: str,
        *,
        customer_id: int | None = None,
        ip: str | None = None,
    ) -> CredentialRequestView:
        """Issue new credentials for the request's customer (or ``customer_id``, linking an
        unmatched request) and mail them to the customer's contract e-mail."""
        now = self._clock()
        with self._sessions.begin() as session:
            operator = self._check_operator(session, operator_user_id)
            row = self._load_open(session, request_id)
            customer = session.get(Customer, customer_id or row.customer_id or -1)
            if customer is None:
                raise AccountError("unmatched_request")
            logins = self._new_passwords(session, customer, now)
            subject, body = credentials_mail(logins, base_url.rstrip("/") + "/login", row.id)
            self._outbox.enqueue(
                session, customer.email, subject, body, kind="credentials", language=Language.BG
            )
            row.customer_id = customer.id
            row.state = RequestState.FULFILLED
            row.handled_by = operator.id
            row.handled_at = now
            write_audit(
                session,
                now,
                "credential_request_fulfilled",
                actor_user_id=operator.id,
                object_type="credential_request",
                object_id=row.id,
                ip=ip,
                detail={"customer_id": customer.id, "logins": len(logins)},
            )
            return self._view(session, row, now)

    def _new_passwords(
        self, session: Session, customer: Customer, now: dt.datetime
    ) -> list[tuple[str, str]]:
        users = session.scalars(
            select(User)
            .where(User.customer_id == customer.id, User.active.is_(True))
            .order_by(User.id)
        ).all()
        if not users:
            # No login yet (clause 1.6 never completed): the first one is the customer number.
            user = User(
                username=customer.number,
                password_hash="",
                role=Role.CUSTOMER,
                customer_id=customer.id,
                email=customer.email,
                display_name=customer.name,
                language=Language.BG,
                active=True,
                failed_logins=0,
                password_changed_at=now,
                created_at=now,
            )
            session.add(user)
            users = [user]
        logins = []
        for user in users:
            password = generate_password()
            user.password_hash = self._passwords.hash(password)
            user.password_changed_at = now
            user.failed_logins = 0
            user.locked_until = None
            session.flush()
            session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
            logins.append((user.username, password))
        return logins

    def reject(
        self, request_id: int, operator_user_id: int, *, ip: str | None = None
    ) -> CredentialRequestView:
        now = self._clock()
        with self._sessions.begin() as session:
            operator = self._check_operator(session, operator_user_id)
            row = self._load_open(session, request_id)
            row.state = RequestState.REJECTED
            row.handled_by = operator.id
            row.handled_at = now
            write_audit(
                session,
                now,
                "credential_request_rejected",
                actor_user_id=operator.id,
                object_type="credential_request",
                object_id=row.id,
                ip=ip,
            )
            return self._view(session, row, now)

    @staticmethod
    def _view(session: Session, row: CredentialRequest, now: dt.datetime) -> CredentialRequestView:
        customer = session.get(Customer, row.customer_id) if row.customer_id else None
        return CredentialRequestView(
            id=row.id,
            customer_id=row.customer_id,
            customer_number=customer.number if customer else None,
            customer_name=customer.name if customer else None,
            contact_email=row.contact_email,
            note=row.note,
            received_at=row.received_at,
            due_at=row.due_at,
            state=RequestState(row.state),
            handled_by=row.handled_by,
            handled_at=row.handled_at,
            overdue=row.state is RequestState.OPEN and now >= row.due_at,
        )


__all__ = ["DUE_WORKING_DAYS", "CredentialRequests", "due_at"]
