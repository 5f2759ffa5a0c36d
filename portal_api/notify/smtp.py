"""Deliver the outbox over SMTP (smtplib), safely from several portal instances.

Claiming: a sender takes a due row with a conditional UPDATE (``WHERE id = :id
AND next_attempt_at = :seen AND sent_at IS NULL``) that also pushes
``next_attempt_at`` one lease into the future. Of two instances that saw the
same row only one UPDATE matches, so a message is sent once; if the claiming
instance dies mid-send, the lease runs out and another one retries it (delivery
is at-least-once, like the rest of the system).

Failures: a temporary one (4xx, connection refused, timeout) is retried with
doubling backoff from ``backoff_s`` up to ``backoff_max_s``, at most
``max_attempts`` times; a permanent one (5xx: unknown mailbox) stops at once.
A message given up keeps ``next_attempt_at`` NULL, ``sent_at`` NULL and its
``last_error``. Logs name the message id and kind, never the address or body.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from portal_api.config import SmtpSection
from portal_api.db.models import OutboxMessage

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
MIN_LEASE_S = 60.0


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class DeliveryReport:
    """What one ``deliver_pending`` call did."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.given_up


class _PermanentError(Exception):
    """The server refused the message for good (5xx)."""


@dataclass(frozen=True)
class _Claimed:
    id: int
    attempts: int  # including this one
    to_addr: str
    subject: str
    body_text: str
    kind: str
    language: str


class SmtpSender:
    """Sends due outbox rows through the configured SMTP server."""

    def __init__(
        self, config: SmtpSection, sessions: sessionmaker[Session], clock: Clock = _utc_now
    ) -> None:
        self.config = config
        self._sessions = sessions
        self._clock = clock
        # Longer than any send can take (connect + TLS + DATA), so a live claim never lapses.
        self.lease = dt.timedelta(seconds=max(MIN_LEASE_S, 6 * config.timeout_s))
        self._domain = parseaddr(config.sender)[1].rpartition("@")[2] or "localhost"

    # -- claiming ------------------------------------------------------------------

    def _claim(self, limit: int) -> list[_Claimed]:
        now = self._clock()
        claimed: list[_Claimed] = []
        with self._sessions() as session:
            due = session.execute(
                select(OutboxMessage.id, OutboxMessage.next_attempt_at)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.next_attempt_at.is_not(None),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            ).all()
            for row_id, seen in due:
                result = session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row_id,
                        OutboxMessage.next_attempt_at == seen,
                        OutboxMessage.sent_at.is_(None),
                    )
                    .values(
                        next_attempt_at=now + self.lease,
                        attempts=OutboxMessage.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                # Commit each claim at once: a long transaction would hold SQLite's
                # write lock (and PostgreSQL row locks) while mail is being sent.
                session.commit()
                if getattr(result, "rowcount", 0) != 1:
                    continue  # another instance took it
                row = session.get(OutboxMessage, row_id, populate_existing=True)
                if row is None:
                    continue
                claimed.append(
                    _Claimed(
                        row.id,
                        row.attempts,
                        row.to_addr,
                        row.subject,
                        row.body_text,
                        row.kind,
                        row.language.value,
                    )
                )
        return claimed

    # -- outcome -------------------------------------------------------------------

    def _backoff(self, attempts: int) -> dt.timedelta:
        seconds = self.config.backoff_s * 2 ** max(attempts - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.config.backoff_max_s))

    def _finish(self, message: _Claimed, error: str | None, permanent: bool = False) -> str:
        now = self._clock()
        values: dict[str, object]
        if error is None:
            values = {"sent_at": now, "next_attempt_at": None, "last_error": None}
            outcome = "sent"
        elif permanent or message.attempts >= self.config.max_attempts:
            values = {"next_attempt_at": None, "last_error": error[:2000]}
            outcome = "given_up"
        else:
            values = {
                "next_attempt_at": now + self._backoff(message.attempts),
                "last_error": error[:2000],
            }
            outcome = "retrying"
        with self._sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if outcome == "sent":
            log.info("mail %s (%s) sent", message.id, message.kind)
        else:
            log.warning(
                "mail %s (%s) attempt %s failed, %s: %s",
                message.id,
                message.kind,
                message.attempts,
                outcome.replace("_", " "),
                error,
            )
        return outcome

    # -- SMTP ------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        ca = self.config.ca_file
        return ssl.create_default_context(cafile=str(ca) if ca is not None else None)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        client: smtplib.SMTP
        if cfg.ssl:
            client = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_s, context=self._tls_context()
            )
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        try:
            client.ehlo()
            if cfg.starttls:
                client.starttls(context=self._tls_context())
                client.ehlo()
            password = cfg.password_value()
            if cfg.username and password is not None:
                client.login(cfg.username, password)
        except BaseException:
            client.close()
            raise
        return client

    def build_message(self, message: _Claimed) -> EmailMessage:
        """The e-mail as sent: UTF-8 text, Bulgarian subject encoded by the policy."""
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = message.to_addr
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(self._clock())
        mail["Message-ID"] = make_msgid(f"outbox-{message.id}", domain=self._domain)
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to it
        mail.set_content(message.body_text, charset="utf-8")
        mail["Content-Language"] = message.language  # after set_content, which drops Content-*
        return mail

    def _send_one(self, client: smtplib.SMTP, message: _Claimed) -> None:
        try:
            refused = client.send_message(self.build_message(message))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise _PermanentError(f"recipient refused: {codes}") from None
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise _PermanentError(f"{exc.smtp_code} {exc.smtp_error!r}") from None
            raise
        if refused:
            raise _PermanentError(f"recipient refused: {sorted(refused.values())}")

    def deliver_pending(self, limit: int = 50) -> DeliveryReport:
        """Send up to ``limit`` due messages over one connection; record each outcome."""
        claimed = self._claim(limit)
        counts = {"sent": 0, "retrying": 0, "given_up": 0}
        if not claimed:
            return DeliveryReport()
        client: smtplib.SMTP | None = None
        connect_error: str | None = None
        try:
            for message in claimed:
                if connect_error is not None:
                    # The server is unreachable: do not wait out a timeout per message.
                    counts[self._finish(message, connect_error)] += 1
                    continue
                if client is None:
                    try:
                        client = self._connect()
                    except (smtplib.SMTPException, OSError) as exc:
                        connect_error = f"connect: {type(exc).__name__}: {exc}"
                        counts[self._finish(message, connect_error)] += 1
                        continue
                try:
                    self._send_one(client, message)
                except _PermanentError as exc:
                    counts[self._finish(message, str(exc), permanent=True)] += 1
                except (smtplib.SMTPException, OSError) as exc:
                    counts[self._finish(message, f"{type(exc).__name__}: {exc}")] += 1
                    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                        client.close()
                        client = None  # reconnect for the next message
                else:
                    counts[self._finish(message, None)] += 1
        finally:
            if client is not None:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        return DeliveryReport(**counts)


__all__ = ["DeliveryReport", "SmtpSender"]
