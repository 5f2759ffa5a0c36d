"""Interruptions, proposals and notices on SQLite and PostgreSQL (5.1, 5.2, 4.4, 2.5):
round trips, and the unique keys that keep a re-run of the daily job from repeating itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.db.enums import (
    DecisionKind,
    DecisionState,
    InterruptionSource,
    NoticeKind,
)
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import NoticeRow
from portal_api.contracts.db.records import ContractRecord, InterruptionRecord, NoticeRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.billing import Invoice
from portal_api.contracts.domain.interest import late_status
from portal_api.contracts.domain.interruptions import Interruption
from tests.portal.contracts.samples import at
from tests.portal.contracts_db.samples import NUMBER, signed_contract

D = dt.date
SUBJECT = "MYE-2026-0001-2026-12"  # the overdue invoice


@pytest.fixture
def contract(sessions: sessionmaker[Session], seeded: dict[str, int]) -> str:
    with sessions.begin() as session:
        ContractRepository(session).save_contract(
            ContractRecord(signed_contract(), seeded["customer"])
        )
    return NUMBER


def test_clause_5_1_and_5_2_interruptions_round_trip_across_the_dst_night(
    sessions: sessionmaker[Session], contract: str
) -> None:
    """Planned over the repeated hour of the 25-hour 2026-10-25 (notified on Friday the
    23rd); unplanned from a silent device, opened twice by the detector and stored once."""
    planned = Interruption(
        kind="planned",
        start=at(2026, 10, 25, 1, 30),
        end=at(2026, 10, 25, 5, 30),
        notified_at=at(2026, 10, 23, 9),
        sites=frozenset({"varna-0001", "varna-0002"}),
    )
    silent = Interruption(
        kind="unplanned",
        start=at(2026, 3, 29, 2, 15),  # the missing hour of the spring DST night
        end=None,
        detected_at=at(2026, 3, 29, 8, 15),
        device_id="mod-0001",
        sites=frozenset({"varna-0001"}),
    )
    with sessions.begin() as session:
        repo = EventRepository(session)
        planned_id = repo.add_interruption(contract, planned)
        silent_id = repo.add_interruption(contract, silent, InterruptionSource.DEVICE_SILENCE)
        again = repo.add_interruption(contract, silent, InterruptionSource.DEVICE_SILENCE)
        assert None not in (planned_id, silent_id)
        assert again is None  # the detector's re-run
        # staff may record two interruptions at the same moment (no device): not limited
        assert repo.add_interruption(contract, planned) is not None
    assert silent_id is not None
    with sessions() as session:
        assert EventRepository(session).interruptions(device_id="mod-0001", open_only=True) == [
            InterruptionRecord(silent, contract, InterruptionSource.DEVICE_SILENCE, silent_id)
        ]
    ended = Interruption(
        kind="unplanned",
        start=silent.start,
        end=at(2026, 3, 30, 10),
        detected_at=silent.detected_at,
        notified_at=at(2026, 3, 30, 9),
        device_id="mod-0001",
    )
    with sessions.begin() as session:
        EventRepository(session).save_interruption(silent_id, ended)
    with sessions() as session:
        repo = EventRepository(session)
        stored = repo.interruptions(contract)
        assert [r.interruption for r in stored] == [ended, planned, planned]
        # 02:15 on 29 March to 10:00 next day: 31:45 on the wall clock, 30:45 elapsed
        assert stored[0].interruption.elapsed() == dt.timedelta(hours=30, minutes=45)
        assert stored[1].interruption.elapsed() == dt.timedelta(hours=5)  # 4 on the wall clock
        assert repo.interruptions(device_id="mod-0001", open_only=True) == []


def test_clause_4_4_a_suspension_is_proposed_once_and_decided_by_staff(
    sessions: sessionmaker[Session], contract: str, seeded: dict[str, int]
) -> None:
    # the fee of 2026-12 due 2026-12-10; on 2026-12-16 it is 6 days late
    fee = Invoice(
        SUBJECT, NUMBER, D(2026, 12, 1), Decimal("45.80"), D(2026, 12, 10), D(2026, 12, 10)
    )
    status = late_status(fee, D(2026, 12, 16))
    assert status.allowed
    with sessions.begin() as session:
        repo = EventRepository(session)
        first = repo.propose(
            contract,
            DecisionKind.SUSPENSION_PROPOSED,
            SUBJECT,
            D(2026, 12, 16),
            status,
        )
        # the daily run re-run for 2026-12-17 and 2026-12-24: no second proposal
        for day in (D(2026, 12, 17), D(2026, 12, 24)):
            assert (
                repo.propose(contract, DecisionKind.SUSPENSION_PROPOSED, SUBJECT, day, status)
                is None
            )
    assert first is not None
    decided_at = dt.datetime(2026, 12, 28, 8, 0, tzinfo=dt.UTC)
    with sessions.begin() as session:
        record = EventRepository(session).decide(
            first, confirmed=True, user_id=seeded["user"], at=decided_at
        )
    assert (record.state, record.decided_by, record.decided_at) == (
        DecisionState.CONFIRMED,
        seeded["user"],
        decided_at,
    )
    with sessions() as session:
        repo = EventRepository(session)
        (stored,) = repo.decisions(contract)
        assert stored == record
        assert stored.clause == status.clause
        # Decision.explain(), with the LateStatus value as a JSON object
        value: dict[str, object] = {
            "invoice_id": SUBJECT,
            "due": "2026-12-10",
            "days_late": 6,
            "suspension_allowed": True,
            "termination_allowed": False,
            "suspension_from": "2026-12-16",
            "termination_from": "2027-01-25",
        }
        assert stored.explanation == {**status.explain(), "value": value}
        assert repo.decisions(state=DecisionState.PROPOSED) == []
        with pytest.raises(ValueError, match="already confirmed"):
            repo.decide(first, confirmed=False, user_id=seeded["user"], at=decided_at)


def test_clause_2_5_a_notice_is_claimed_once(
    sessions: sessionmaker[Session], contract: str, seeded: dict[str, int]
) -> None:
    created = dt.datetime(2028, 4, 1, 4, 0, tzinfo=dt.UTC)
    with sessions.begin() as session:
        repo = EventRepository(session)
        claimed = repo.claim_notice(
            contract, NoticeKind.EXPIRY, "2028-04-30", D(2028, 4, 16), created
        )
        assert claimed is not None
        repo.attach_outbox(claimed, seeded["outbox"])
        # a re-run (even for another date, computing another due day) sends nothing twice
        assert (
            repo.claim_notice(contract, NoticeKind.EXPIRY, "2028-04-30", D(2028, 4, 15), created)
            is None
        )
        other = repo.claim_notice(
            contract, NoticeKind.INVOICE, "2028-04-30", D(2028, 4, 16), created
        )
        assert other is not None
    with sessions() as session:
        assert EventRepository(session).notices(contract) == [
            NoticeRecord(
                contract,
                NoticeKind.EXPIRY,
                "2028-04-30",
                D(2028, 4, 16),
                created,
                seeded["outbox"],
                claimed,
            ),
            NoticeRecord(
                contract, NoticeKind.INVOICE, "2028-04-30", D(2028, 4, 16), created, None, other
            ),
        ]
    with sessions() as session, pytest.raises(IntegrityError):
        row = session.get_one(NoticeRow, claimed)
        session.add(
            NoticeRow(
                contract_id=row.contract_id,
                kind=NoticeKind.EXPIRY,
                subject="2028-04-30",
                due_on=D(2028, 4, 14),
                created_at=created,
            )
        )
        session.flush()
