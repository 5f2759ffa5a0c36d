"""Interruptions through the service layer (General Terms 3.2б, 3.2в, 5.1, 5.2, 5.3, 6.7, 7.5б).

Demo contract MYE-2025-0001 (ivan.georgiev): sites varna-0001 and dobrich-0001,
12 months, subscription 2026-01-01 to 2026-12-31 (one subscription year). Times
in the names are Europe/Sofia wall-clock time; the service gets them aware.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal_api.contracts.app.interruptions import (
    InterruptionInput,
    open_interruption,
    update_interruption,
)
from portal_api.contracts.app.interruptions_views import (
    InterruptionError,
    InterruptionView,
    contract_interruptions,
    interruption_view,
    list_interruptions,
)
from portal_api.contracts.daily_interruptions import interruption_steps
from portal_api.contracts.db.enums import DecisionKind, NoticeKind
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.repository import ContractRepository
from portal_api.db.models import AuditEntry, OutboxMessage, User
from portal_api.notify.outbox import Outbox
from portal_api.web.services import Services
from tests.portal.web.server import portal_config, seeded_services

SOFIA = ZoneInfo("Europe/Sofia")
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
IVAN = "MYE-2025-0001"


def sofia(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SOFIA)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded_services(portal_config(tmp_path), lambda: NOW)
    yield built
    built.close()


def operator(services: Services) -> int:
    with services.sessions() as session:
        found: int = session.scalars(select(User.id).where(User.username == "operator")).one()
    return found


def open_one(
    services: Services, now: dt.datetime, number: str = IVAN, **fields: object
) -> InterruptionView:
    data = InterruptionInput(contract_number=number, **fields)  # type: ignore[arg-type]
    with services.sessions.begin() as session:
        return open_interruption(
            session,
            data,
            user_id=operator(services),
            ip="127.0.0.1",
            calendar=services.calendar,
            now=now,
        )


def update(
    services: Services, interruption_id: int, now: dt.datetime, **changes: object
) -> InterruptionView:
    with services.sessions.begin() as session:
        return update_interruption(
            session,
            interruption_id,
            changes,
            user_id=operator(services),
            ip=None,
            calendar=services.calendar,
            now=now,
        )


def daily_steps(services: Services, now: dt.datetime) -> int:
    """The daily run's interruption step for the demo contract; free months granted."""
    with services.sessions.begin() as session:
        record = ContractRepository(session).contract(IVAN)
        assert record is not None
        done = interruption_steps(
            session,
            record,
            calendar=services.calendar,
            outbox=Outbox(services.sessions, lambda: now),
            now=now,
        )
    return done.free_months


def view(services: Services, interruption_id: int, now: dt.datetime) -> InterruptionView:
    with services.sessions() as session:
        return interruption_view(session, interruption_id, calendar=services.calendar, now=now)


def check(found: InterruptionView, clause: str) -> object:
    return next(c.value for c in found.checks if c.clause == clause)


def mails(services: Services, kind: str = "contract_interruption") -> list[OutboxMessage]:
    with services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def free_months(services: Services, number: str = IVAN) -> tuple[int, dt.date | None]:
    with services.sessions() as session:
        record = ContractRepository(session).contract(number)
        assert record is not None
        return record.free_months, record.contract.subscription_end


# -- 5.1 / 3.2в planned ------------------------------------------------------------------


def test_5_1_planned_notice_before_orthodox_easter(services: Services) -> None:
    """Work on Tue 14 April 2026: Good Friday (10th), the weekend and Easter Monday (13th)
    are no working days, so the notice is due on Thursday 9 April."""
    in_time = open_one(
        services,
        sofia(2026, 4, 9, 16, 0),
        kind="planned",
        start=sofia(2026, 4, 14, 9, 0),
        end=sofia(2026, 4, 14, 17, 0),
    )
    assert check(in_time, "3.2c") is True
    assert in_time.item.notified_at == sofia(2026, 4, 9, 16, 0)  # the e-mail is the notice
    assert in_time.notice is not None and in_time.notice.due_on == dt.date(2026, 4, 9)
    late = open_one(
        services,
        sofia(2026, 4, 10, 9, 0),  # Good Friday: a holiday, one day too late
        kind="planned",
        start=sofia(2026, 4, 14, 9, 0),
        end=sofia(2026, 4, 14, 17, 0),
    )
    assert check(late, "3.2c") is False
    reason = next(c for c in late.checks if c.clause == "3.2c").reason_en
    assert "2026-04-09" in reason and "late" in reason
    sent = mails(services)
    assert len(sent) == 2
    assert "14.04.2026 09:00" in sent[0].subject and "т. 3.2в" in sent[0].body_text


def test_5_1_planned_over_two_working_days_grants_free_month_once(services: Services) -> None:
    """Mon 00:00 -> Wed 12:00 (16-18 March 2026) is 2.5 working days: one free month."""
    opened = open_one(
        services,
        sofia(2026, 3, 10, 9, 0),
        kind="planned",
        start=sofia(2026, 3, 16, 0, 0),
        end=sofia(2026, 3, 18, 12, 0),
    )
    assert str(opened.measures.working_days) == "2.5000"
    # Announced ahead: nothing is due before it happens.
    assert free_months(services) == (0, dt.date(2026, 12, 31))
    after = view(services, opened.id, sofia(2026, 3, 19, 9, 0))
    assert check(after, "5.1") is False
    assert daily_steps(services, sofia(2026, 3, 19, 9, 0)) == 1
    assert free_months(services) == (1, dt.date(2027, 1, 31))
    assert daily_steps(services, sofia(2026, 3, 20, 9, 0)) == 0
    update(services, opened.id, sofia(2026, 3, 20, 9, 0), notified_at=sofia(2026, 3, 9, 9, 0))
    assert free_months(services) == (1, dt.date(2027, 1, 31))  # granted once
    with services.sessions() as session:
        grants = [
            d
            for d in EventRepository(session).decisions(IVAN)
            if d.kind is DecisionKind.FREE_MONTH_GRANTED
        ]
    assert [(g.subject, g.state.value, g.clause) for g in grants] == [
        (f"interruption:{opened.id}", "confirmed", "5.1, 5.2")
    ]


# -- 5.2 / 3.2б unplanned -------------------------------------------------------------------


def test_5_2_fix_deadline_over_weekend_shift_day(services: Services) -> None:
    """Established Wed 20 May 2026; 24 May (St Cyril and Methodius) is a Sunday, so Mon
    25 May is off (weekend shift): 5 working days end on Thu 28 May."""
    start = sofia(2026, 5, 20, 10, 0)
    in_time = open_one(services, sofia(2026, 5, 20, 11, 0), kind="unplanned", start=start)
    update(services, in_time.id, sofia(2026, 5, 28, 23, 0), end=sofia(2026, 5, 28, 22, 0))
    fixed = view(services, in_time.id, sofia(2026, 5, 29, 9, 0))
    assert check(fixed, "5.2") is not None
    deadline = next(c for c in fixed.checks if c.clause == "5.2" and "fix_by" in c.numbers)
    assert deadline.value == dt.date(2026, 5, 28) and deadline.allowed
    assert free_months(services)[0] == 0
    late = open_one(services, sofia(2026, 5, 20, 11, 0), kind="unplanned", start=start)
    update(services, late.id, sofia(2026, 5, 29, 9, 0), end=sofia(2026, 5, 29, 8, 0))
    assert free_months(services) == (1, dt.date(2027, 1, 31))
    assert view(services, late.id, sofia(2026, 5, 29, 9, 0)).free_month is not None


def test_5_2_twenty_one_faults_grant_free_month(services: Services) -> None:
    """More than 20 unplanned interruptions by the company's fault in the subscription
    year: one free month (the 21st); caused by the customer (5.3) they do not count."""
    for day in range(20):
        start = sofia(2026, 4, 1, 8, 0) + dt.timedelta(days=day)
        open_one(
            services,
            start + dt.timedelta(hours=8),
            kind="unplanned",
            start=start,
            end=start + dt.timedelta(hours=7),
        )
    assert free_months(services)[0] == 0
    caused = sofia(2026, 6, 1, 8, 0)
    open_one(
        services,
        caused + dt.timedelta(hours=8),
        kind="unplanned",
        start=caused,
        end=caused + dt.timedelta(hours=7),
        customer_caused=True,
    )
    assert free_months(services)[0] == 0  # 5.3: not the company's fault
    last = sofia(2026, 6, 2, 8, 0)
    twenty_first = open_one(
        services,
        last + dt.timedelta(hours=8),
        kind="unplanned",
        start=last,
        end=last + dt.timedelta(hours=7),
    )
    assert free_months(services) == (1, dt.date(2027, 1, 31))
    with services.sessions() as session:
        subjects = [
            d.subject
            for d in EventRepository(session).decisions(IVAN)
            if d.kind is DecisionKind.FREE_MONTH_GRANTED
        ]
    assert subjects == ["unplanned-year:2026-01-01"]
    (year,) = [c for c in twenty_first.checks if "limit" in c.numbers]
    assert (year.clause, year.value, year.allowed) == ("5.2", 21, False)
    assert year.numbers["year_start"] == dt.date(2026, 1, 1)
    assert "21" in year.reason_bg and "безплатен месец" in year.reason_bg


def test_5_2_six_hours_or_less_is_no_interruption_on_the_dst_night(services: Services) -> None:
    """29 March 2026 00:00 -> 06:30 Sofia is 5.5 astronomical hours (the clock jumps):
    not counted, no notice. 25 October 00:00 -> 05:30 is 6.5 hours: counted, notified."""
    spring = open_one(
        services,
        sofia(2026, 3, 29, 7, 0),
        kind="unplanned",
        start=sofia(2026, 3, 29, 0, 0),
        end=sofia(2026, 3, 29, 6, 30),
    )
    assert str(spring.measures.hours) == "5.50"
    assert check(spring, "5.2") is False
    assert spring.notice is None and spring.item.notified_at is None
    autumn = open_one(
        services,
        sofia(2026, 10, 25, 7, 0),
        kind="unplanned",
        start=sofia(2026, 10, 25, 0, 0),
        end=sofia(2026, 10, 25, 5, 30),
    )
    assert str(autumn.measures.hours) == "6.50"
    assert autumn.notice is not None and check(autumn, "3.2b") is True


# -- 7.5б the customer's right to terminate -------------------------------------------------------


def _summary_right(services: Services, now: dt.datetime) -> bool:
    with services.sessions() as session:
        (summary,) = contract_interruptions(
            session, calendar=services.calendar, now=now, contract_number=IVAN
        )
    assert summary.remedies is not None
    return bool(summary.remedies.termination.value)


def test_7_5b_more_than_5_in_a_month(services: Services) -> None:
    """Six unplanned interruptions over 6 hours starting in March (Sofia time; the first
    at 00:30 on 1 March, still February in UTC) give the right; five do not."""
    starts = [sofia(2026, 3, 1, 0, 30)] + [sofia(2026, 3, d, 8, 0) for d in (3, 5, 9, 11)]
    for start in starts:
        open_one(
            services,
            start + dt.timedelta(hours=9),
            kind="unplanned",
            start=start,
            end=start + dt.timedelta(hours=7),
        )
    assert starts[0].astimezone(dt.UTC).month == 2
    assert not _summary_right(services, sofia(2026, 3, 31, 12, 0))
    sixth = sofia(2026, 3, 31, 8, 0)
    open_one(
        services,
        sixth + dt.timedelta(hours=9),
        kind="unplanned",
        start=sixth,
        end=sixth + dt.timedelta(hours=7),
    )
    assert _summary_right(services, sofia(2026, 3, 31, 20, 0))
    with services.sessions() as session:
        (summary,) = contract_interruptions(
            session, calendar=services.calendar, now=sofia(2026, 3, 31, 20, 0), customer_id=None
        )[:1]
    assert summary.remedies is not None
    assert summary.remedies.termination.clause == "7.5b"
    assert "2026-03" in summary.remedies.termination.reason_en


def test_7_5b_obstructed_interruptions_do_not_count(services: Services) -> None:
    """6.7: six interruptions in a month, one obstructed by the customer: five count."""
    ids = []
    for d in (2, 3, 4, 5, 6, 9):
        start = sofia(2026, 3, d, 8, 0)
        ids.append(
            open_one(
                services,
                start + dt.timedelta(hours=9),
                kind="unplanned",
                start=start,
                end=start + dt.timedelta(hours=7),
            ).id
        )
    assert _summary_right(services, sofia(2026, 3, 10, 12, 0))
    obstructed = update(services, ids[0], sofia(2026, 3, 10, 12, 0), customer_obstructed=True)
    assert not _summary_right(services, sofia(2026, 3, 10, 12, 0))
    line = next(c for c in obstructed.checks if c.clause == "6.7")
    assert line.value is True and not line.allowed


# -- notices (3.2б) -----------------------------------------------------------------------------


def test_3_2v_notice_within_one_working_day(services: Services) -> None:
    """An unplanned fault from Friday 6 March 20:00 reaches 6 hours on Saturday 02:00;
    the notice is due on the next working day, Monday 9 March (the domain files this
    duty under 3.2б, docs/contract-rules.md). Opened on Saturday, the e-mail goes at
    once and is in time."""
    opened = open_one(
        services, sofia(2026, 3, 7, 10, 0), kind="unplanned", start=sofia(2026, 3, 6, 20, 0)
    )
    assert opened.notice is not None
    assert opened.notice.due_on == dt.date(2026, 3, 9)
    assert check(opened, "3.2b") is True
    (mail,) = mails(services)
    assert mail.to_addr and "т. 3.2б" in mail.body_text and "06.03.2026 20:00" in mail.body_text
    # Changing it later sends nothing again.
    update(services, opened.id, sofia(2026, 3, 9, 12, 0), end=sofia(2026, 3, 9, 11, 0))
    assert len(mails(services)) == 1


def test_unplanned_under_six_hours_gets_its_notice_once_it_passes_six(services: Services) -> None:
    opened = open_one(
        services, sofia(2026, 3, 6, 9, 0), kind="unplanned", start=sofia(2026, 3, 6, 8, 0)
    )
    assert opened.notice is None
    update(services, opened.id, sofia(2026, 3, 6, 15, 0), detected_at=sofia(2026, 3, 6, 8, 5))
    later = view(services, opened.id, sofia(2026, 3, 6, 15, 0))
    assert later.notice is not None and later.item.notified_at == sofia(2026, 3, 6, 15, 0)


# -- refusals, audit, reads --------------------------------------------------------------------


def test_naive_times_and_foreign_sites_are_refused(services: Services) -> None:
    with pytest.raises(InterruptionError) as naive:
        open_one(services, NOW, kind="planned", start=dt.datetime(2026, 3, 10, 8, 0))
    assert naive.value.status == 400 and "UTC offset" in naive.value.reason_en
    with pytest.raises(InterruptionError) as foreign:
        open_one(services, NOW, kind="planned", start=sofia(2026, 3, 10, 8), sites=("shumen-0001",))
    assert foreign.value.status == 400 and "shumen-0001" in foreign.value.reason_en
    with pytest.raises(InterruptionError) as unknown:
        open_one(services, NOW, number="MYE-1999-0001", kind="planned", start=sofia(2026, 3, 10))
    assert unknown.value.status == 404
    with pytest.raises(InterruptionError) as ahead:
        open_one(
            services,
            NOW,
            kind="unplanned",
            start=sofia(2026, 3, 2, 8),
            end=sofia(2026, 3, 3, 8),
        )
    assert ahead.value.status == 400


def test_changes_are_audited_and_ended_ones_stay_ended(services: Services) -> None:
    opened = open_one(
        services,
        NOW,
        kind="unplanned",
        start=sofia(2026, 3, 2, 8, 0),
        sites=("varna-0001",),
    )
    update(services, opened.id, sofia(2026, 3, 2, 13, 0), end=sofia(2026, 3, 2, 12, 0))
    with pytest.raises(InterruptionError) as reopen:
        update(services, opened.id, sofia(2026, 3, 2, 14, 0), end=None)
    assert reopen.value.status == 409
    with pytest.raises(InterruptionError) as kind:
        update(services, opened.id, sofia(2026, 3, 2, 14, 0), kind="planned")
    assert kind.value.status == 400
    with services.sessions() as session:
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type == "interruption")
                .order_by(AuditEntry.id)
            )
        )
    assert [e.action for e in entries] == ["interruption.open", "interruption.update"]
    assert entries[0].actor_user_id == operator(services)
    assert entries[1].detail["changed"] == {"end": [None, "2026-03-02T10:00:00+00:00"]}
    assert "egn" not in str(entries[0].detail).lower()


def test_whole_contract_when_every_site_is_named(services: Services) -> None:
    opened = open_one(
        services,
        NOW,
        kind="planned",
        start=sofia(2026, 3, 10, 8),
        sites=("varna-0001", "dobrich-0001"),
    )
    assert opened.item.sites == frozenset()


def test_customer_lists_only_own_interruptions(services: Services) -> None:
    open_one(services, NOW, kind="planned", start=sofia(2026, 3, 10, 8))
    open_one(services, NOW, number="MYE-2025-0002", kind="planned", start=sofia(2026, 3, 11, 8))
    with services.sessions() as session:
        ivan = ContractRepository(session).contract(IVAN)
        assert ivan is not None
        own = list_interruptions(
            session, calendar=services.calendar, now=NOW, customer_id=ivan.customer_id
        )
        every = list_interruptions(session, calendar=services.calendar, now=NOW)
        planned_notices = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "contract_interruption")
        )
    assert {v.record.contract_number for v in own} == {IVAN}
    assert len(every) == 2
    assert planned_notices == 2
    assert NoticeKind.INTERRUPTION.value == "interruption"


def test_3_2b_history_recorded_late_sends_no_stale_notice(services: Services) -> None:
    """A fault of February recorded in March: its notice day is gone, nothing is mailed
    and the check says the customer was not notified in time."""
    old = open_one(
        services,
        NOW,
        kind="unplanned",
        start=sofia(2026, 2, 10, 8, 0),
        end=sofia(2026, 2, 10, 20, 0),
    )
    assert old.notice is None and old.item.notified_at is None
    assert check(old, "3.2b") is False
    assert mails(services) == []
