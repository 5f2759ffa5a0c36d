"""Clause 5.4: lost credentials, new ones within 3 Bulgarian working days."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal_api.accounts import AccountError
from portal_api.accounts.requests import due_at
from portal_api.db.enums import RequestState
from portal_api.db.models import AuditEntry
from portal_api.domain.identifiers import IdentifierError
from portal_api.domain.workdays import WorkingDays
from tests.portal.accounts.conftest import BASE_URL, EIK, PASSWORD, World, add_customer

SOFIA = ZoneInfo("Europe/Sofia")


def _sofia(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SOFIA)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Thursday before Orthodox Easter 2026: Fri 10 - Mon 13 April are holidays
        (_sofia(2026, 4, 9, 10, 0), _sofia(2026, 4, 17)),
        # late on Thursday still counts as Thursday in Sofia (21:30 UTC)
        (_sofia(2026, 4, 9, 23, 59), _sofia(2026, 4, 17)),
        # Wednesday 23 December: 24-28 December are off (26th, a Saturday, moves to Monday)
        (_sofia(2026, 12, 23, 9, 0), _sofia(2027, 1, 1)),
        # received on a Saturday: counting starts on Monday
        (_sofia(2026, 3, 7, 12, 0), _sofia(2026, 3, 12)),
        # Friday before Monday 25 May (24 May, a Sunday, moved)
        (_sofia(2026, 5, 22, 12, 0), _sofia(2026, 5, 29)),
    ],
)
def test_due_at_is_the_end_of_the_third_working_day(
    received: dt.datetime, due: dt.datetime
) -> None:
    assert due_at(received.astimezone(dt.UTC), WorkingDays()) == due.astimezone(dt.UTC)


def test_open_matches_by_number_and_identifier(world: World) -> None:
    view = world.accounts.open_credential_request(
        "someone@example.bg",
        "Забравих паролата",
        customer_number="3000000001",
        identifier="BG" + EIK,
    )
    assert view.customer_id == world.customer_id and view.customer_name == "Фирма ЕООД"
    assert view.state is RequestState.OPEN and not view.overdue
    assert view.received_at == world.clock()
    assert view.due_at == _sofia(2026, 4, 17).astimezone(dt.UTC)
    by_id_only = world.accounts.open_credential_request("x@example.bg", identifier=EIK)
    assert by_id_only.customer_id == world.customer_id
    wrong_pair = world.accounts.open_credential_request(
        "x@example.bg", customer_number="3000000001", identifier="175074752"
    )
    assert wrong_pair.customer_id is None  # the number and the EIK disagree
    unknown = world.accounts.open_credential_request("x@example.bg", customer_number="999")
    assert unknown.customer_id is None


def test_open_refuses_bad_input(world: World) -> None:
    with pytest.raises(AccountError) as info:
        world.accounts.open_credential_request("not-an-address")
    assert info.value.code == "invalid_email"
    with pytest.raises(IdentifierError):
        world.accounts.open_credential_request("x@example.bg", identifier="201398873")
    with pytest.raises(AccountError):
        world.accounts.open_credential_request("x@example.bg", "x" * 5000)


def test_open_and_overdue_lists(world: World) -> None:
    first = world.accounts.open_credential_request("a@example.bg", customer_number="3000000001")
    world.clock.advance(86400 * 5)  # Tuesday 14 April
    second = world.accounts.open_credential_request("b@example.bg")
    assert [r.id for r in world.accounts.list_credential_requests()] == [first.id, second.id]
    assert world.accounts.list_credential_requests(overdue_only=True) == []
    world.clock.now = _sofia(2026, 4, 17, 0, 0).astimezone(dt.UTC)
    overdue = world.accounts.list_credential_requests(overdue_only=True)
    assert [r.id for r in overdue] == [first.id] and overdue[0].overdue


def test_fulfil_mails_new_credentials_to_the_contract_address(world: World) -> None:
    request = world.accounts.open_credential_request(
        "attacker@evil.example", customer_number="3000000001"
    )
    world.clock.advance(3600)
    done = world.accounts.fulfil_credential_request(request.id, world.operator_id, BASE_URL)
    assert done.state is RequestState.FULFILLED
    assert done.handled_by == world.operator_id and done.handled_at == world.clock()
    (mail,) = world.outbox()
    assert mail.to_addr == "office@firma.bg"  # the contract e-mail, not the form's
    assert mail.kind == "credentials" and "5.4" in mail.body_text
    assert mail.body_text.index("Здравейте") < mail.body_text.index("Hello")
    found = re.search(r"^  ivan / (\S+)$", mail.body_text, re.MULTILINE)
    assert found is not None
    assert world.accounts.login("ivan", found.group(1), "192.0.2.1").ok
    assert not world.accounts.login("ivan", PASSWORD, "192.0.2.1").ok
    with world.sessions() as session:
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "credential_request_fulfilled")
        ).one()
        assert audit.actor_user_id == world.operator_id
        assert found.group(1) not in repr(audit.detail)
    with pytest.raises(AccountError) as info:
        world.accounts.fulfil_credential_request(request.id, world.operator_id, BASE_URL)
    assert info.value.code == "not_open"


def test_fulfil_creates_the_first_login_when_there_is_none(world: World) -> None:
    other = add_customer(
        world.sessions,
        world.settings,
        world.clock,
        number="3000000002",
        identifier="175074752",
        email="b@firma.bg",
    )
    request = world.accounts.open_credential_request("b@firma.bg")
    with pytest.raises(AccountError) as info:
        world.accounts.fulfil_credential_request(request.id, world.operator_id, BASE_URL)
    assert info.value.code == "unmatched_request"
    world.accounts.fulfil_credential_request(
        request.id, world.operator_id, BASE_URL, customer_id=other
    )
    (mail,) = world.outbox()
    found = re.search(r"^  3000000002 / (\S+)$", mail.body_text, re.MULTILINE)
    assert found is not None and mail.to_addr == "b@firma.bg"
    assert world.accounts.login("3000000002", found.group(1), "192.0.2.1").ok


def test_only_staff_with_the_permission_handle_requests(world: World) -> None:
    request = world.accounts.open_credential_request("a@example.bg", customer_number="3000000001")
    with pytest.raises(AccountError) as info:
        world.accounts.fulfil_credential_request(request.id, world.customer_user_id, BASE_URL)
    assert info.value.code == "forbidden"
    rejected = world.accounts.reject_credential_request(request.id, world.admin_id)
    assert rejected.state is RequestState.REJECTED
    assert world.outbox() == []
