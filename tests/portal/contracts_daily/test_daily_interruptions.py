"""The daily run's interruption steps (3.2б, 3.2в, 5.1, 5.2) and the silent-device scan.

The scan reads the REAL SQLite time-series store of the seeded services (ingest's
own ``write_status``) with an injected clock; re-running any step adds nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal_api.cli import main
from portal_api.config import SAMPLE_CONFIG
from portal_api.contracts.app.interruptions import open_from_proposal
from portal_api.contracts.app.interruptions_silence import scan_silent_devices
from portal_api.contracts.app.interruptions_views import InterruptionError, interruption_view
from portal_api.contracts.daily import run_daily
from portal_api.contracts.daily_interruptions import interruption_steps, silence_step
from portal_api.contracts.db.enums import DecisionKind, DecisionState, InterruptionSource
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import DecisionRow, NoticeRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.interruptions import Interruption
from portal_api.db.models import AuditEntry, OutboxMessage, User
from portal_api.notify.outbox import Outbox
from portal_api.web.services import Services
from tests.portal.web.server import portal_config, seeded_services

SOFIA = ZoneInfo("Europe/Sofia")
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
IVAN = "MYE-2025-0001"
METER = "demo-sdm630-1"  # varna-0001, contract MYE-2025-0001
SITE = "varna-0001"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = seeded_services(portal_config(tmp_path), lambda: NOW)
    yield built
    built.close()


def counts(services: Services) -> tuple[int, int, int, int]:
    """Rows every step could add: decisions, notices, outbox e-mails, interruptions."""
    with services.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(DecisionRow)) or 0,
            session.scalar(select(func.count()).select_from(NoticeRow)) or 0,
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            len(EventRepository(session).interruptions()),
        )


def daily(services: Services, now: dt.datetime) -> None:
    assert services.billing is not None
    report = run_daily(
        services.sessions,
        now.astimezone(SOFIA).date(),
        calendar=services.calendar,
        rates=services.rates,
        billing=services.billing,
        now=now,
        statuses=services.consumption,
    )
    assert not report.failed, report.lines()


def add(services: Services, item: Interruption, number: str = IVAN) -> int:
    with services.sessions.begin() as session:
        found = EventRepository(session).add_interruption(number, item)
    assert found is not None
    return found


def test_daily_catches_up_a_missed_planned_notice(services: Services) -> None:
    """3.2в: recorded without its e-mail (e.g. imported), the daily run sends it while
    the work is still ahead, due on the working day before."""
    start = dt.datetime(2026, 3, 10, 8, 0, tzinfo=SOFIA)
    planned = add(services, Interruption("planned", start, start + dt.timedelta(hours=4)))
    daily(services, dt.datetime(2026, 3, 5, 6, 0, tzinfo=dt.UTC))
    with services.sessions() as session:
        found = interruption_view(session, planned, calendar=services.calendar, now=NOW)
    assert found.notice is not None and found.notice.due_on == dt.date(2026, 3, 9)
    assert found.item.notified_at == dt.datetime(2026, 3, 5, 6, 0, tzinfo=dt.UTC)
    before = counts(services)
    daily(services, dt.datetime(2026, 3, 5, 6, 0, tzinfo=dt.UTC))
    daily(services, dt.datetime(2026, 3, 4, 6, 0, tzinfo=dt.UTC))  # an earlier day after
    assert counts(services) == before


def test_daily_notices_an_unplanned_one_once_it_passes_six_hours(services: Services) -> None:
    start = dt.datetime(2026, 3, 6, 20, 0, tzinfo=SOFIA)
    lasting = add(services, Interruption("unplanned", start, None))
    daily(services, start + dt.timedelta(hours=5))
    with services.sessions() as session:
        early = interruption_view(session, lasting, calendar=services.calendar, now=NOW)
    assert early.notice is None
    daily(services, start + dt.timedelta(hours=7))
    with services.sessions() as session:
        found = interruption_view(
            session, lasting, calendar=services.calendar, now=start + dt.timedelta(hours=7)
        )
    assert found.notice is not None and found.notice.due_on == dt.date(2026, 3, 9)
    assert next(c.value for c in found.checks if c.clause == "3.2b") is True


# -- hypothesis: re-running the steps changes nothing ------------------------------------

_numbers = itertools.count(1)

kinds = st.sampled_from(["planned", "unplanned"])
interruption_specs = st.lists(
    st.tuples(
        kinds,
        st.integers(min_value=0, max_value=300 * 24),  # start: hours after 1 Jan 2026
        st.one_of(st.none(), st.integers(min_value=1, max_value=15 * 24)),  # length, h
        st.booleans(),  # obstructed
    ),
    max_size=12,
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    built = seeded_services(portal_config(tmp_path_factory.mktemp("h")), lambda: NOW)
    yield built
    built.close()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=interruption_specs, run_hours=st.integers(min_value=0, max_value=330 * 24))
def test_rerunning_the_steps_changes_nothing(
    shared: Services, specs: list[tuple[str, int, int | None, bool]], run_hours: int
) -> None:
    """For any interruptions and any day: the second run adds no notice, e-mail or free
    month, and the contract's free months equal its grants."""
    year = dt.datetime(2026, 1, 1, tzinfo=SOFIA)
    now = year + dt.timedelta(hours=run_hours)
    number = f"MYE-2099-{next(_numbers):04d}"
    with shared.sessions.begin() as session:
        contracts = ContractRepository(session)
        template = contracts.contract(IVAN)
        assert template is not None
        contracts.save_contract(
            ContractRecord(
                template.contract.with_(number=number),
                template.customer_id,
                price_list_id=template.price_list_id,
            )
        )
        events = EventRepository(session)
        for kind, offset, length, obstructed in specs:
            start = year + dt.timedelta(hours=offset)
            end = None if length is None else start + dt.timedelta(hours=length)
            events.add_interruption(
                number,
                Interruption(kind, start, end, customer_obstructed=obstructed),  # type: ignore[arg-type]
            )

    def run() -> tuple[int, int]:
        with shared.sessions.begin() as session:
            record = ContractRepository(session).contract(number)
            assert record is not None
            done = interruption_steps(
                session,
                record,
                calendar=shared.calendar,
                outbox=Outbox(shared.sessions, lambda: now),
                now=now,
            )
            return done.notices, done.free_months

    run()
    snapshot = counts(shared)
    assert run() == (0, 0)
    assert counts(shared) == snapshot
    with shared.sessions() as session:
        record = ContractRepository(session).contract(number)
        assert record is not None
        grants = [
            d
            for d in EventRepository(session).decisions(number)
            if d.kind is DecisionKind.FREE_MONTH_GRANTED
        ]
    assert record.free_months == len(grants)
    assert all(g.state is DecisionState.CONFIRMED for g in grants)


# -- silent devices (5.2) -------------------------------------------------------------------


def _heard(services: Services, at: dt.datetime) -> None:
    services.consumption.store.write_status(
        METER, SITE, at.timestamp(), {"state": "online", "queue_depth": 0}
    )


def _operator(services: Services) -> int:
    with services.sessions() as session:
        found: int = session.scalars(select(User.id).where(User.username == "operator")).one()
    return found


def test_silent_device_is_proposed_once_and_confirmed(services: Services) -> None:
    heard = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
    _heard(services, heard)
    assert (
        silence_step(
            services.sessions, services.consumption, heard + dt.timedelta(hours=6)
        ).proposed
        == []
    )
    report = silence_step(
        services.sessions, services.consumption, heard + dt.timedelta(hours=6, seconds=1)
    )
    assert report.silent == [METER] and len(report.proposed) == 1
    (decision_id,) = report.proposed
    # Again, later: the same silence is proposed once only.
    again = silence_step(services.sessions, services.consumption, heard + dt.timedelta(hours=9))
    assert again.silent == [METER] and again.proposed == []
    with services.sessions() as session:
        proposal = EventRepository(session).decision(decision_id)
    assert proposal is not None and proposal.contract_number == IVAN
    assert proposal.kind is DecisionKind.INTERRUPTION_PROPOSED
    assert proposal.subject == f"{METER}@2026-03-02T06:00:00Z"
    assert proposal.clause == "5.2"

    confirmed_at = heard + dt.timedelta(hours=10)
    with services.sessions.begin() as session:
        record = open_from_proposal(session, decision_id, _operator(services), confirmed_at)
    item = record.interruption
    assert record.source is InterruptionSource.DEVICE_SILENCE
    assert (item.kind, item.start, item.end, item.device_id) == ("unplanned", heard, None, METER)
    assert item.company_fault and item.detected_at == heard and item.sites == {SITE}
    assert item.notified_at == confirmed_at  # 3.2б: over 6 hours, notified at once
    with services.sessions() as session:
        decided = EventRepository(session).decision(decision_id)
        audit = session.scalars(
            select(AuditEntry.action).where(AuditEntry.object_type == "interruption")
        ).all()
    assert decided is not None and decided.state is DecisionState.CONFIRMED
    assert audit == ["interruption.open_from_proposal"]
    # The interruption now covers the silence: no new proposal while it lasts.
    assert (
        silence_step(
            services.sessions, services.consumption, heard + dt.timedelta(hours=30)
        ).proposed
        == []
    )
    with pytest.raises(InterruptionError) as twice, services.sessions.begin() as session:
        open_from_proposal(session, decision_id, _operator(services), confirmed_at)
    assert twice.value.status == 409


def test_device_back_then_silent_again_is_a_new_proposal(services: Services) -> None:
    first = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
    _heard(services, first)
    assert (
        len(
            silence_step(
                services.sessions, services.consumption, first + dt.timedelta(hours=7)
            ).proposed
        )
        == 1
    )
    second = first + dt.timedelta(hours=8)
    _heard(services, second)
    assert (
        silence_step(services.sessions, services.consumption, second + dt.timedelta(hours=1)).silent
        == []
    )
    assert (
        len(
            silence_step(
                services.sessions, services.consumption, second + dt.timedelta(hours=7)
            ).proposed
        )
        == 1
    )


def test_never_heard_devices_and_ended_contracts_are_not_scanned(services: Services) -> None:
    """Only demo-sdm630-1 is ever heard from; the other meters have no silence start."""
    with services.sessions.begin() as session:
        report = scan_silent_devices(session, services.consumption, NOW)
    assert report.devices == 4 and report.silent == [] and report.proposed == []


def test_open_from_proposal_refuses_other_kinds(services: Services) -> None:
    with services.sessions() as session:
        other = next(
            d
            for d in EventRepository(session).decisions(IVAN)
            if d.kind is not DecisionKind.INTERRUPTION_PROPOSED
        )
    assert other.id is not None
    with pytest.raises(InterruptionError) as wrong, services.sessions.begin() as session:
        open_from_proposal(session, other.id, _operator(services), NOW)
    assert wrong.value.status == 404


def test_daily_run_scans_for_silent_devices(services: Services) -> None:
    _heard(services, dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC))
    before = counts(services)[0]
    daily(services, NOW)
    assert counts(services)[0] == before + 1
    daily(services, NOW)
    assert counts(services)[0] == before + 1


def test_cli_interruptions_scan(
    services: Services,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _heard(services, dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC))
    env = {
        "MYENERGY_PORTAL_SECURITY_SECRET_KEY": "k" * 40,
        "MYENERGY_PORTAL_DATABASE_URL": services.config.database.url,
        "MYENERGY_PORTAL_STORE_SQLITE_PATH": str(tmp_path / "ts.sqlite3"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    args = ["--config", str(SAMPLE_CONFIG), "interruptions", "scan"]
    assert main([*args, "--at", "2026-03-02T08:00:00+02:00"]) == 0  # 6 h: not yet
    assert "0 new proposal(s)" in capsys.readouterr().out
    assert main([*args, "--at", "2026-03-02T09:30:00+02:00"]) == 0
    out = capsys.readouterr().out
    assert "1 silent over 6 h, 1 new proposal(s)" in out and "proposed: decision" in out
    assert main([*args, "--at", "2026-03-02T10:30:00+02:00"]) == 0
    assert "0 new proposal(s)" in capsys.readouterr().out


def test_cli_scan_refuses_naive_time(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["interruptions", "scan", "--at", "2026-03-02T12:00:00"])
    assert "UTC offset" in capsys.readouterr().err
