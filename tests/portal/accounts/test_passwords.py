"""Passwords: argon2 hashes, rehash on new parameters, policy, change, self-service reset."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from portal_api.accounts import AccountError, Accounts
from portal_api.accounts.passwords import Passwords, check_new_password, generate_password
from portal_api.db.models import PasswordReset, User
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox
from tests.portal.accounts.conftest import BASE_URL, PASSWORD, World

IP = "203.0.113.5"
NEW = "a brand new passphrase"


def _hash_of(world: World, user_id: int) -> str:
    with world.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.password_hash


def test_hashes_are_argon2id_and_rehashed_when_parameters_change(world: World) -> None:
    old = _hash_of(world, world.customer_user_id)
    assert old.startswith("$argon2id$") and PASSWORD not in old
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    accounts = Accounts(
        world.sessions,
        world.clock,
        world.settings,
        Outbox(world.sessions, world.clock),
        WorkingDays(),
        passwords=stronger,
    )
    assert accounts.login("ivan", PASSWORD, IP).ok
    new = _hash_of(world, world.customer_user_id)
    assert new != old and "m=2048,t=2" in new
    assert not stronger.needs_rehash(new)


def test_policy() -> None:
    with pytest.raises(AccountError, match="поне 10 знака"):
        check_new_password("short", username="ivan", min_length=10)
    with pytest.raises(AccountError) as info:
        check_new_password("IvanPetrov", username="ivanpetrov", min_length=10)
    assert info.value.code == "same_as_username"
    with pytest.raises(AccountError) as info:
        check_new_password("x" * 300, username="ivan", min_length=10)
    assert info.value.code == "too_long"
    generated = generate_password()
    assert len(generated) == 14 and not re.search(r"[0O1lI]", generated)
    check_new_password(generated, username="ivan", min_length=10)


def test_change_password_needs_the_current_one(world: World) -> None:
    with pytest.raises(AccountError) as info:
        world.accounts.change_password(world.customer_user_id, "wrong", NEW)
    assert info.value.code == "wrong_password"
    with pytest.raises(AccountError) as info:
        world.accounts.change_password(world.customer_user_id, PASSWORD, "ivan")
    assert info.value.code == "too_short"
    with pytest.raises(AccountError) as info:
        world.accounts.change_password(world.customer_user_id, PASSWORD, PASSWORD)
    assert info.value.code == "same_as_current"
    assert world.accounts.login("ivan", PASSWORD, IP).ok  # nothing changed


def test_change_password_revokes_the_other_sessions(world: World) -> None:
    mine = world.accounts.login("ivan", PASSWORD, IP).token
    other = world.accounts.login("ivan", PASSWORD, "203.0.113.6", "api").token
    assert mine and other
    world.clock.advance(60)
    world.accounts.change_password(world.customer_user_id, PASSWORD, NEW, keep_token=mine)
    assert world.accounts.authenticate(mine, "cookie") is not None
    assert world.accounts.authenticate(other, "api") is None
    assert not world.accounts.login("ivan", PASSWORD, IP).ok
    assert world.accounts.login("ivan", NEW, IP).ok
    with world.sessions() as session:
        user = session.get(User, world.customer_user_id)
        assert user is not None and user.password_changed_at == world.clock()


def _reset_link(world: World) -> str:
    mails = [m for m in world.outbox() if m.kind == "password_reset"]
    assert mails, "no reset mail"
    found = re.search(rf"{re.escape(BASE_URL)}/reset\?token=([A-Za-z0-9_-]+)", mails[-1].body_text)
    assert found is not None
    return found.group(1)


def test_reset_mail_bulgarian_then_english_with_the_link(world: World) -> None:
    world.accounts.request_reset("ivan", BASE_URL + "/", IP)
    (mail,) = world.outbox()
    assert mail.to_addr == "ivan@firma.bg" and mail.kind == "password_reset"
    assert mail.body_text.index("Здравейте") < mail.body_text.index("Hello")
    assert "смяна на паролата" in mail.subject
    token = _reset_link(world)
    with world.sessions() as session:
        stored = session.scalars(select(PasswordReset.token_hash)).one()
        assert stored != token  # only the hash is kept


def test_reset_requests_do_not_reveal_accounts(world: World) -> None:
    # same call, same (empty) answer, no exception: only the mailbox can tell
    world.accounts.request_reset("nobody", BASE_URL, IP)
    world.accounts.request_reset("nobody@nowhere.bg", BASE_URL, IP)
    assert world.outbox() == []
    world.accounts.request_reset("IVAN@firma.bg", BASE_URL, IP)
    assert [m.to_addr for m in world.outbox()] == ["ivan@firma.bg"]


def test_reset_is_single_use_and_ends_sessions(world: World) -> None:
    session_token = world.accounts.login("ivan", PASSWORD, IP).token
    assert session_token
    world.accounts.request_reset("ivan", BASE_URL, IP)
    token = _reset_link(world)
    world.accounts.reset_password(token, NEW, IP)
    assert world.accounts.login("ivan", NEW, IP).ok
    assert world.accounts.authenticate(session_token, "cookie") is None
    with pytest.raises(AccountError) as info:
        world.accounts.reset_password(token, "yet another passphrase", IP)
    assert info.value.code == "invalid_reset_token"
    assert world.accounts.login("ivan", NEW, IP).ok


def test_reset_links_expire_and_a_new_one_kills_the_old(world: World) -> None:
    world.accounts.request_reset("ivan", BASE_URL, IP)
    old = _reset_link(world)
    world.accounts.request_reset("ivan", BASE_URL, IP)
    newer = _reset_link(world)
    world.accounts.reset_password(newer, NEW, IP)
    with pytest.raises(AccountError):
        world.accounts.reset_password(old, "another passphrase!", IP)
    world.accounts.request_reset("ivan", BASE_URL, IP)
    late = _reset_link(world)
    world.clock.advance(world.settings.reset_ttl_s)
    with pytest.raises(AccountError, match="изтекла"):
        world.accounts.reset_password(late, "another passphrase!", IP)


def test_reset_unlocks_a_locked_account(world: World) -> None:
    for _ in range(world.settings.login_max_failures):
        world.accounts.login("ivan", "bad", IP)
    world.accounts.request_reset("ivan", BASE_URL, IP)
    world.accounts.reset_password(_reset_link(world), NEW, IP)
    assert world.accounts.login("ivan", NEW, IP).ok


def test_reset_checks_the_policy_and_keeps_the_link(world: World) -> None:
    world.accounts.request_reset("ivan", BASE_URL, IP)
    token = _reset_link(world)
    with pytest.raises(AccountError) as info:
        world.accounts.reset_password(token, "short", IP)
    assert info.value.code == "too_short"
    world.accounts.reset_password(token, NEW, IP)  # still usable after a refused password
