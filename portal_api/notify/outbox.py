"""The outbox: e-mails are rows written in the transaction that decides to send them.

A password reset and its e-mail commit together or not at all, and a mail
server that is down delays the mail instead of failing the request: the
sender (smtp.py) delivers the rows later, with retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.db.enums import Language
from portal_api.db.models import OutboxMessage

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def enqueue(
    session: Session,
    to: str,
    subject: str,
    body: str,
    *,
    kind: str,
    at: dt.datetime,
    language: Language | str = Language.BG,
) -> OutboxMessage:
    """Add one message to ``session``, due at ``at`` (for callers that hold a time, not a
    clock: a step recorded inside another service's transaction)."""
    if not to or "@" not in to or "\n" in to or "\r" in to:
        raise ValueError("not an e-mail address")
    if "\n" in subject or "\r" in subject:
        raise ValueError("a subject is one line")  # no header injection
    message = OutboxMessage(
        created_at=at,
        to_addr=to.strip(),
        subject=subject,
        body_text=body,
        kind=kind,
        language=Language(language),
        attempts=0,
        next_attempt_at=at,
    )
    session.add(message)
    return message


class Outbox:
    """Queue e-mails in the caller's transaction; count what waits."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = _utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    def enqueue(
        self,
        session: Session,
        to: str,
        subject: str,
        body: str,
        *,
        kind: str,
        language: Language | str = Language.BG,
    ) -> OutboxMessage:
        """Add one message to ``session`` (committed with the caller's work); due now."""
        return enqueue(session, to, subject, body, kind=kind, language=language, at=self._clock())

    def pending_count(self) -> int:
        """Messages neither sent nor given up."""
        with self._sessions() as session:
            query = select(func.count()).select_from(OutboxMessage)
            query = query.where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.next_attempt_at.is_not(None)
            )
            return int(session.scalar(query) or 0)


__all__ = ["Outbox", "enqueue"]
