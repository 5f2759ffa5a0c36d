"""Login: sessions, generic refusals, lockout, per-address throttling, audit."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from portal_api.accounts import Refusal
from portal_api.accounts.tokens import token_hash
from portal_api.db.models import AuditEntry, AuthSession, LoginAttempt
from tests.portal.accounts.conftest import PASSWORD, World

IP = "192.0.2.10"


def _audit(world: World) -> list[AuditEntry]:
    with world.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_login_opens_a_session_stored_as_a_hash(world: World) -> None:
    result = world.accounts.login("Ivan ", PASSWORD, IP, "cookie", "Firefox")
    assert result.ok and result.token and result.csrf_token
    assert result.user is not None and result.user.username == "ivan"
    assert result.expires_in == world.settings.session_ttl_s
    with world.sessions() as session:
        row = session.scalars(select(AuthSession)).one()
        assert row.token_hash == token_hash(result.token) != result.token
        assert row.ip == IP and row.user_agent == "Firefox"
    context = world.accounts.authenticate(result.token, "cookie")
    assert context is not None and context.user.id == world.customer_user_id
    assert context.csrf_token == result.csrf_token


def test_wrong_password_and_unknown_user_get_the_same_answer(world: World) -> None:
    wrong = world.accounts.login("ivan", "not the password", IP)
    unknown = world.accounts.login("nobody", "not the password", IP)
    assert wrong.refusal is unknown.refusal is Refusal.INVALID
    assert str(wrong.error()) == str(unknown.error())
    assert str(wrong.error()).startswith("Грешно потребителско име или парола.")
    assert not wrong.ok and wrong.token is None


def test_lockout_after_consecutive_failures_then_released(world: World) -> None:
    limit = world.settings.login_max_failures
    for _ in range(limit):
        assert world.accounts.login("ivan", "bad", IP).refusal is Refusal.INVALID
    locked = world.accounts.login("ivan", PASSWORD, IP)  # even the right password
    assert locked.refusal is Refusal.LOCKED
    assert locked.retry_after == world.settings.lockout_s
    assert "Опитайте отново след 15 минути" in str(locked.error())
    world.clock.advance(world.settings.lockout_s + 1)
    assert world.accounts.login("ivan", PASSWORD, IP).ok


def test_a_success_resets_the_failure_count(world: World) -> None:
    limit = world.settings.login_max_failures
    for _ in range(limit - 1):
        world.accounts.login("ivan", "bad", IP)
    assert world.accounts.login("ivan", PASSWORD, IP).ok
    for _ in range(limit - 1):
        world.accounts.login("ivan", "bad", IP)
    assert world.accounts.login("ivan", PASSWORD, IP).ok


def test_unknown_names_lock_the_same_way_no_enumeration(world: World) -> None:
    limit = world.settings.login_max_failures
    answers_real = [world.accounts.login("ivan", "bad", IP).refusal for _ in range(limit + 1)]
    answers_none = [world.accounts.login("ghost", "bad", IP).refusal for _ in range(limit + 1)]
    assert answers_real == answers_none == [Refusal.INVALID] * limit + [Refusal.LOCKED]
    world.clock.advance(world.settings.lockout_s + 1)
    assert world.accounts.login("ghost", "bad", IP).refusal is Refusal.INVALID


def test_address_window_throttles_with_retry_after(world: World) -> None:
    limit = world.settings.ip_max_attempts
    for i in range(limit):
        world.clock.advance(1)
        world.accounts.login(f"user{i}", "bad", IP)  # spread over names: no lockout
    throttled = world.accounts.login("ivan", PASSWORD, IP)
    assert throttled.refusal is Refusal.THROTTLED
    # the oldest attempt leaves the window ip_window_s after it was made
    assert throttled.retry_after == world.settings.ip_window_s - limit + 1
    assert "секунди" in str(throttled.error())
    assert world.accounts.login("ivan", PASSWORD, "192.0.2.99").ok  # other address: fine
    assert throttled.retry_after is not None
    world.clock.advance(throttled.retry_after)
    assert world.accounts.login("ivan", PASSWORD, IP).ok


def test_attempts_are_shared_through_the_database(world: World) -> None:
    """A second Accounts (another portal instance) sees the first one's attempts."""
    from portal_api.accounts import Accounts
    from portal_api.domain.workdays import WorkingDays
    from portal_api.notify.outbox import Outbox
    from tests.portal.accounts.conftest import fast_passwords

    other = Accounts(
        world.sessions,
        world.clock,
        world.settings,
        Outbox(world.sessions, world.clock),
        WorkingDays(),
        passwords=fast_passwords(),
    )
    limit = world.settings.login_max_failures
    for i in range(limit):
        instance = world.accounts if i % 2 else other
        instance.login("ivan", "bad", IP)
    assert other.login("ivan", PASSWORD, IP).refusal is Refusal.LOCKED
    assert world.accounts.login("ivan", PASSWORD, IP).refusal is Refusal.LOCKED


def test_every_attempt_is_audited_without_secrets(world: World) -> None:
    world.accounts.login("ivan", "bad-password-1", IP)
    world.accounts.login("ivan", PASSWORD, IP)
    world.accounts.login("ghost", "bad-password-2", IP)
    actions = [(e.action, e.object_id, e.ip) for e in _audit(world) if "login" in e.action]
    assert actions == [
        ("login_failed", str(world.customer_user_id), IP),
        ("login", None, IP),
        ("login_failed", None, IP),
    ]
    dump = json.dumps([e.detail for e in _audit(world)], ensure_ascii=False)
    assert "bad-password" not in dump and PASSWORD not in dump and "ghost" not in dump
    with world.sessions() as session:
        attempts = session.scalars(select(LoginAttempt)).all()
        assert len(attempts) == 3 and all("ivan" not in a.username_hash for a in attempts)
        rows = session.execute(text("SELECT * FROM login_attempts")).all()
        assert "ghost" not in repr(rows) and "ivan" not in repr(rows)


def test_inactive_users_are_refused_generically(world: World) -> None:
    world.accounts.deactivate_user(world.customer_user_id, actor_user_id=world.admin_id)
    assert world.accounts.login("ivan", PASSWORD, IP).refusal is Refusal.INVALID
