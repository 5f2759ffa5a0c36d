"""User administration: issued credentials (1.6), unlock, deactivate, set password; audit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal_api.accounts import AccountError, Refusal
from portal_api.accounts.audit import write_audit
from portal_api.db.enums import Role
from portal_api.db.models import AuditEntry
from tests.portal.accounts.conftest import PASSWORD, World

IP = "192.0.2.50"


def test_create_user_returns_the_initial_password_once(world: World) -> None:
    created = world.accounts.create_user(
        "Petya", Role.INSTALLER, "Петя", actor_user_id=world.admin_id
    )
    assert created.user.username == "petya" and created.user.role is Role.INSTALLER
    assert world.accounts.login("petya", created.initial_password, IP).ok
    view = world.accounts.find_user("PETYA")
    assert view is not None and view.id == created.user.id
    assert created.initial_password not in repr(view)


@pytest.mark.parametrize(
    ("username", "role", "customer", "code"),
    [
        ("ivan", Role.OPERATOR, False, "username_taken"),
        ("x", Role.OPERATOR, False, "invalid_username"),
        ("иван", Role.OPERATOR, False, "invalid_username"),
        ("client2", Role.CUSTOMER, False, "customer_required"),
        ("staff2", Role.ADMIN, True, "customer_required"),
    ],
)
def test_create_user_refusals(
    world: World, username: str, role: Role, customer: bool, code: str
) -> None:
    with pytest.raises(AccountError) as info:
        world.accounts.create_user(
            username, role, "X", customer_id=world.customer_id if customer else None
        )
    assert info.value.code == code


def test_unlock_lifts_a_lockout(world: World) -> None:
    for _ in range(world.settings.login_max_failures):
        world.accounts.login("ivan", "bad", IP)
    assert world.accounts.login("ivan", PASSWORD, IP).refusal is Refusal.LOCKED
    world.accounts.unlock_user(world.customer_user_id, actor_user_id=world.admin_id)
    assert world.accounts.login("ivan", PASSWORD, IP).ok


def test_set_password_by_an_admin(world: World) -> None:
    token = world.accounts.login("ivan", PASSWORD, IP).token
    assert token
    new = world.accounts.set_password(world.customer_user_id, actor_user_id=world.admin_id)
    assert world.accounts.authenticate(token, "cookie") is None
    assert world.accounts.login("ivan", new, IP).ok
    with world.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "password_set_by_admin")
        ).one()
        assert entry.actor_user_id == world.admin_id and new not in repr(entry.detail)


def test_audit_refuses_secret_keys(world: World) -> None:
    with pytest.raises(ValueError, match="password"), world.sessions.begin() as session:
        write_audit(session, world.clock(), "oops", detail={"password": "x"})
    with pytest.raises(ValueError, match="egn"), world.sessions.begin() as session:
        write_audit(session, world.clock(), "oops", detail={"EGN": "7523169263"})
