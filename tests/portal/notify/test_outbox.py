"""The outbox sent through a real SMTP server (aiosmtpd): content, retries, claims."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.config import SmtpSection
from portal_api.db.models import OutboxMessage
from portal_api.notify import Outbox, OutboxWorker, SmtpSender
from tests.fixtures.ports import free_port
from tests.fixtures.smtp import SmtpTestServer
from tests.portal.accounts.conftest import ManualClock

SUBJECT = "MyEnergy: смяна на паролата / password reset"
BODY = "Здравейте,\n\nвръзка: https://example.bg/reset?token=abc\n\n— — —\n\nHello"


def _config(server: SmtpTestServer | None, **options: object) -> SmtpSection:
    port = server.port if server is not None else free_port()  # nothing listens there
    data: dict[str, object] = {"host": "127.0.0.1", "port": port, "backoff_s": 30.0}
    data.update(options)
    return SmtpSection.model_validate(data)


def _enqueue(sessions: sessionmaker[Session], clock: ManualClock, n: int = 1) -> None:
    outbox = Outbox(sessions, clock)
    with sessions.begin() as session:
        for i in range(n):
            outbox.enqueue(
                session, f"user{i}@firma.bg", SUBJECT, BODY, kind="password_reset", language="bg"
            )


def _rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_enqueue_belongs_to_the_callers_transaction(
    sessions: sessionmaker[Session], clock: ManualClock
) -> None:
    outbox = Outbox(sessions, clock)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        outbox.enqueue(session, "a@b.bg", "s", "b", kind="test")
        raise RuntimeError("the caller's work failed")
    assert _rows(sessions) == [] and outbox.pending_count() == 0
    with pytest.raises(ValueError), sessions.begin() as session:
        outbox.enqueue(session, "a@b.bg", "two\nlines", "b", kind="test")


def test_delivers_utf8_bulgarian_mail(
    sessions: sessionmaker[Session], clock: ManualClock, smtp_server: SmtpTestServer
) -> None:
    _enqueue(sessions, clock)
    report = SmtpSender(_config(smtp_server), sessions, clock).deliver_pending()
    assert (report.sent, report.retrying, report.given_up) == (1, 0, 0)
    (received,) = smtp_server.received
    message = received.message
    assert received.rcpt_tos == ("user0@firma.bg",)
    assert message["Subject"] == SUBJECT
    assert message["From"] == "MyEnergy <noreply@energo-pro.bg>"
    assert message["To"] == "user0@firma.bg"
    assert message["Content-Language"] == "bg"
    assert message["Message-ID"].endswith("@energo-pro.bg>")
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().rstrip("\n") == BODY
    (row,) = _rows(sessions)
    assert row.sent_at == clock() and row.attempts == 1 and row.next_attempt_at is None
    assert SmtpSender(_config(smtp_server), sessions, clock).deliver_pending().attempted == 0


def test_retries_with_backoff_when_the_server_is_away(
    sessions: sessionmaker[Session], clock: ManualClock, smtp_server: SmtpTestServer
) -> None:
    _enqueue(sessions, clock, 2)
    away = SmtpSender(_config(None, backoff_s=30.0, backoff_max_s=45.0), sessions, clock)
    assert away.deliver_pending().retrying == 2
    first = _rows(sessions)[0]
    assert first.attempts == 1 and first.last_error and "connect" in first.last_error
    assert first.next_attempt_at is not None
    assert (first.next_attempt_at - clock()).total_seconds() == 30
    assert away.deliver_pending().attempted == 0  # not due yet
    clock.advance(30)
    away.deliver_pending()
    second = _rows(sessions)[0]
    assert second.attempts == 2 and second.next_attempt_at is not None
    assert (second.next_attempt_at - clock()).total_seconds() == 45  # 60, capped
    clock.advance(45)
    report = SmtpSender(_config(smtp_server), sessions, clock).deliver_pending()
    assert report.sent == 2 and len(smtp_server.wait_for(2)) == 2
    assert all(r.sent_at == clock() for r in _rows(sessions))


def test_temporary_and_permanent_refusals(
    sessions: sessionmaker[Session], clock: ManualClock, smtp_server: SmtpTestServer
) -> None:
    _enqueue(sessions, clock, 2)
    smtp_server.reject.add("user1@firma.bg")  # 550: no such mailbox
    smtp_server.fail_next = 1  # 451 for the first message's DATA
    report = SmtpSender(_config(smtp_server), sessions, clock).deliver_pending()
    assert (report.sent, report.retrying, report.given_up) == (0, 1, 1)
    first, second = _rows(sessions)
    assert first.next_attempt_at is not None and first.last_error and "451" in first.last_error
    assert second.next_attempt_at is None and second.sent_at is None
    assert second.last_error and "550" in second.last_error
    clock.advance(30)
    assert SmtpSender(_config(smtp_server), sessions, clock).deliver_pending().sent == 1


def test_gives_up_after_max_attempts(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    _enqueue(sessions, clock)
    sender = SmtpSender(_config(None, max_attempts=3, backoff_s=1.0), sessions, clock)
    outcomes = []
    for _ in range(4):
        report = sender.deliver_pending()
        outcomes.append((report.retrying, report.given_up))
        clock.advance(10)
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0)]
    (row,) = _rows(sessions)
    assert row.attempts == 3 and row.next_attempt_at is None and row.sent_at is None
    assert Outbox(sessions, clock).pending_count() == 0


def test_two_senders_never_send_a_message_twice(
    sessions: sessionmaker[Session], clock: ManualClock, smtp_server: SmtpTestServer
) -> None:
    _enqueue(sessions, clock, 30)
    senders = [SmtpSender(_config(smtp_server), sessions, clock) for _ in range(3)]
    start = threading.Barrier(len(senders))
    reports = []

    def run(sender: SmtpSender) -> None:
        start.wait()
        while (report := sender.deliver_pending(limit=4)).attempted:
            reports.append(report)

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    messages = smtp_server.wait_for(30)
    recipients = sorted(m["To"] for m in messages)
    assert recipients == sorted(f"user{i}@firma.bg" for i in range(30))
    assert sum(r.sent for r in reports) == 30
    assert all(r.attempts == 1 for r in _rows(sessions))


def test_a_crashed_claim_is_retried_after_its_lease(
    sessions: sessionmaker[Session], clock: ManualClock, smtp_server: SmtpTestServer
) -> None:
    _enqueue(sessions, clock)
    sender = SmtpSender(_config(smtp_server), sessions, clock)
    claimed = sender._claim(10)  # claimed, then the instance "dies" before sending
    assert len(claimed) == 1
    assert sender.deliver_pending().attempted == 0
    clock.advance(sender.lease.total_seconds())
    assert sender.deliver_pending().sent == 1
    assert _rows(sessions)[0].attempts == 2


def test_starttls_and_login(
    sessions: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    server = SmtpTestServer(tmp_path, starttls=True, username="mailer", password="smtp-pw")
    server.start()
    try:
        _enqueue(sessions, clock)
        bad = _config(
            server, starttls=True, ca_file=server.cafile, username="mailer", password="wrong"
        )
        assert SmtpSender(bad, sessions, clock).deliver_pending().retrying == 1
        clock.advance(30)
        good = _config(
            server, starttls=True, ca_file=server.cafile, username="mailer", password="smtp-pw"
        )
        assert SmtpSender(good, sessions, clock).deliver_pending().sent == 1
        assert server.wait_for(1)[0]["Subject"] == SUBJECT
    finally:
        server.stop()


def test_worker_thread_delivers_and_stops(
    sessions: sessionmaker[Session], clock: ManualClock, smtp_server: SmtpTestServer
) -> None:
    worker = OutboxWorker(SmtpSender(_config(smtp_server), sessions, clock), poll_s=30.0)
    worker.start()
    try:
        _enqueue(sessions, clock, 3)
        worker.wake()  # no need to wait for the next poll
        assert len(smtp_server.wait_for(3)) == 3
    finally:
        worker.stop()
    assert not worker.running
