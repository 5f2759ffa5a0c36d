"""The PIK service (issue 6): issue, reissue, revoke, and login with EGN/EIK + PIK,
on SQLite and PostgreSQL (the ``world`` fixture's database)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.errors import AccountError
from portal_api.accounts.pik import Channel, HolderRole, PikService, QesRequest
from portal_api.accounts.pik_codes import PIK_ALPHABET, PIK_LENGTH, normalise_pik
from portal_api.accounts.views import Refusal
from portal_api.config import SecuritySettings
from portal_api.db.enums import CustomerKind, IdKind, Role, SessionKind
from portal_api.db.models import AuditEntry, AuthSession, Customer, LoginAttempt, Pik, User
from portal_api.domain.identifiers import encrypt_identifier, hmac_identifier
from tests.portal.accounts.conftest import EIK, ManualClock, World, fast_passwords

EGN = "7523169263"
FOREIGN = "8501150000"  # born 15 January 1985, no EGN (seed 000)
IP = "198.51.100.7"


def add_person(
    sessions: sessionmaker[Session],
    settings: SecuritySettings,
    clock: ManualClock,
    *,
    number: str,
    kind: IdKind,
    identifier: str,
    name: str,
) -> int:
    keys = settings.identifier_keys()
    with sessions.begin() as session:
        customer = Customer(
            number=number,
            kind=CustomerKind.PERSON,
            name=name,
            id_kind=kind,
            id_hmac=hmac_identifier(kind, identifier, keys.pepper),
            id_enc=encrypt_identifier(identifier, keys.fernet_key),
            email="person@example.bg",
            created_at=clock(),
        )
        session.add(customer)
        session.flush()
        return customer.id


@pytest.fixture
def piks(world: World) -> PikService:
    return PikService(world.sessions, world.clock, world.settings, fast_passwords())


def test_issue_returns_the_code_once_and_stores_only_its_hash(
    world: World, piks: PikService
) -> None:
    issued = piks.issue(
        world.customer_id, holder_role="customer", actor_user_id=world.operator_id, ip=IP
    )
    assert len(issued.code) == PIK_LENGTH
    assert set(issued.code) <= set(PIK_ALPHABET)
    assert issued.customer.number == "3000000001"
    assert issued.pik.holder_name == "Фирма ЕООД"  # the customer itself
    assert issued.code not in repr(issued)
    with world.sessions() as session:
        row = session.scalars(select(Pik)).one()
        assert row.pik_hash.startswith("$argon2")
        assert issued.code not in row.pik_hash
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "pik_issued")).one()
        assert issued.code not in str(audit.detail)
    listed = piks.list_for(world.customer_id)
    assert [p.id for p in listed] == [issued.pik.id]
    assert not hasattr(listed[0], "code")


def test_authorised_person_needs_a_name_and_qes_needs_the_document(
    world: World, piks: PikService
) -> None:
    with pytest.raises(AccountError) as error:
        piks.issue(world.customer_id, holder_role="authorised", actor_user_id=world.operator_id)
    assert error.value.code == "invalid_holder"
    with pytest.raises(AccountError) as error:
        piks.issue(
            world.customer_id,
            holder_role="customer",
            channel=Channel.QES_REQUEST,
            actor_user_id=world.operator_id,
        )
    assert error.value.code == "qes_document_required"
    document = b"%PDF-1.7 signed request"
    issued = piks.issue(
        world.customer_id,
        holder_role=HolderRole.AUTHORISED,
        holder_name="  Петър   Петров ",
        channel=Channel.QES_REQUEST,
        qes=QesRequest(document, "iskane.pdf.p7s", "Петър Петров"),
        actor_user_id=world.operator_id,
    )
    assert issued.pik.holder_name == "Петър Петров"
    assert issued.pik.request_signer == "Петър Петров"
    assert len(issued.pik.request_sha256 or "") == 64
    with world.sessions() as session:
        assert session.scalars(select(Pik.request_document)).one() == document


def test_login_with_eik_opens_a_session_of_the_customer_user(
    world: World, piks: PikService
) -> None:
    issued = piks.issue(world.customer_id, holder_role="customer", actor_user_id=world.operator_id)
    # The letter's code may be typed in lower case and with spaces.
    typed = " ".join((issued.code[:4].lower(), issued.code[4:]))
    assert normalise_pik(typed) == issued.code
    result = piks.login(EIK, typed, IP, kind=SessionKind.API)
    assert result.ok and result.user is not None
    assert result.user.id == world.customer_user_id
    with world.sessions() as session:
        row = session.scalars(select(AuthSession).where(AuthSession.pik_id.is_not(None))).one()
        assert row.pik_id == issued.pik.id and row.kind is SessionKind.API
    context = world.accounts.authenticate(result.token or "", SessionKind.API)
    assert context is not None and context.acting_role == "customer"


def test_login_with_egn_creates_a_customer_user_on_first_use(
    world: World, piks: PikService
) -> None:
    person = add_person(
        world.sessions,
        world.settings,
        world.clock,
        number="4000000002",
        kind=IdKind.EGN,
        identifier=EGN,
        name="Георги Георгиев",
    )
    issued = piks.issue(
        person,
        holder_role="authorised",
        holder_name="Мария Георгиева",
        actor_user_id=world.operator_id,
    )
    result = piks.login(EGN, issued.code, IP)
    assert result.ok and result.user is not None
    assert result.user.username == "pik-4000000002"
    assert result.user.role is Role.CUSTOMER and result.user.customer_id == person
    # The created login has no password anyone knows.
    refused = world.accounts.login("pik-4000000002", "", IP)
    assert not refused.ok
    # Second login: the same user.
    again = piks.login(EGN, issued.code, IP)
    assert again.user is not None and again.user.id == result.user.id
    with world.sessions() as session:
        login = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "login").order_by(AuditEntry.id.desc())
        ).first()
        assert login is not None
        assert login.detail["acting_role"] == "authorised"


def test_foreigner_needs_the_customer_number(world: World, piks: PikService) -> None:
    person = add_person(
        world.sessions,
        world.settings,
        world.clock,
        number="5000000003",
        kind=IdKind.FOREIGN_BIRTH,
        identifier=FOREIGN,
        name="John Smith",
    )
    issued = piks.issue(person, holder_role="customer", actor_user_id=world.operator_id)
    with pytest.raises(AccountError) as error:
        piks.login(FOREIGN, issued.code, IP)
    assert error.value.code == "customer_number_required"
    wrong_number = piks.login(FOREIGN, issued.code, IP, customer_number="3000000001")
    assert wrong_number.refusal is Refusal.INVALID
    result = piks.login(FOREIGN, issued.code, IP, customer_number="5000000003")
    assert result.ok


def test_malformed_numbers_are_refused_before_any_lookup(world: World, piks: PikService) -> None:
    for bad in ("7523169264", "201398873", "12345", "abc", "1234567890123"):
        with pytest.raises(AccountError) as error:
            piks.login(bad, "ABCDEFGH", IP)
        assert error.value.code == "check_identifier", bad
    with world.sessions() as session:
        assert session.scalars(select(LoginAttempt)).all() == []


def test_unknown_identifier_and_wrong_pik_get_the_same_answer(
    world: World, piks: PikService
) -> None:
    piks.issue(world.customer_id, holder_role="customer", actor_user_id=world.operator_id)
    wrong = piks.login(EIK, "ABCDEFGH", IP)
    unknown = piks.login(EGN, "ABCDEFGH", IP)
    assert wrong.refusal is unknown.refusal is Refusal.INVALID
    assert wrong.error().code == unknown.error().code


def test_five_wrong_piks_lock_for_fifteen_minutes(world: World, piks: PikService) -> None:
    issued = piks.issue(world.customer_id, holder_role="customer", actor_user_id=world.operator_id)
    for _ in range(world.settings.login_max_failures):
        assert piks.login(EIK, "ABCDEFGH", IP).refusal is Refusal.INVALID
    locked = piks.login(EIK, issued.code, IP)
    assert locked.refusal is Refusal.LOCKED
    assert locked.retry_after is not None and locked.retry_after <= 15 * 60
    # An unknown identifier locks the same way: the answer tells nothing.
    for _ in range(world.settings.login_max_failures):
        piks.login(EGN, "ABCDEFGH", "198.51.100.8")
    assert piks.login(EGN, "ABCDEFGH", "198.51.100.8").refusal is Refusal.LOCKED
    world.clock.advance(15 * 60 + 1)
    assert piks.login(EIK, issued.code, IP).ok


def test_reissue_and_revoke(world: World, piks: PikService) -> None:
    first = piks.issue(world.customer_id, holder_role="customer", actor_user_id=world.operator_id)
    session_token = piks.login(EIK, first.code, IP).token or ""
    second = piks.reissue(first.pik.id, actor_user_id=world.operator_id)
    assert second.code != first.code or second.pik.id != first.pik.id
    assert not piks.login(EIK, first.code, IP).ok
    assert piks.login(EIK, second.code, IP).ok
    # The old PIK's sessions ended with it.
    assert world.accounts.authenticate(session_token, SessionKind.COOKIE) is None
    history = {p.id: p for p in piks.list_for(world.customer_id)}
    assert history[first.pik.id].replaced_by == second.pik.id
    assert not history[first.pik.id].active
    with pytest.raises(AccountError) as error:
        piks.reissue(first.pik.id, actor_user_id=world.operator_id)
    assert error.value.code == "pik_revoked"
    piks.revoke(second.pik.id, actor_user_id=world.operator_id)
    assert not piks.login(EIK, second.code, IP).ok


def test_deactivated_customer_logins_are_not_revived(world: World, piks: PikService) -> None:
    issued = piks.issue(world.customer_id, holder_role="customer", actor_user_id=world.operator_id)
    world.accounts.deactivate_user(world.customer_user_id)
    assert piks.login(EIK, issued.code, IP).refusal is Refusal.INVALID
    with world.sessions() as session:
        assert session.scalars(select(User).where(User.username.like("pik-%"))).all() == []


def test_issue_for_unknown_customer(world: World, piks: PikService) -> None:
    with pytest.raises(AccountError):
        piks.issue(999, holder_role="customer", actor_user_id=world.operator_id)
    assert piks.find_customer("3000000001") is not None
    assert piks.find_customer("30000") is None
    assert piks.find_customer("9999999999") is None
