"""Sessions and API tokens: expiry, sliding page sessions, kinds, logout."""

from __future__ import annotations

from portal_api.accounts.service import ABSOLUTE_SESSION, TOUCH_EVERY
from tests.portal.accounts.conftest import PASSWORD, World

IP = "198.51.100.7"


def _login(world: World, kind: str = "cookie") -> str:
    result = world.accounts.login("ivan", PASSWORD, IP, kind)
    assert result.token is not None
    return result.token


def test_a_session_expires_after_its_ttl_without_use(world: World) -> None:
    token = _login(world)
    world.clock.advance(world.settings.session_ttl_s - 1)
    assert world.accounts.authenticate(token, "cookie") is not None
    world.clock.advance(world.settings.session_ttl_s)
    assert world.accounts.authenticate(token, "cookie") is None


def test_page_sessions_slide_while_used_up_to_an_absolute_limit(world: World) -> None:
    token = _login(world)
    step = world.settings.session_ttl_s // 2
    elapsed = 0
    while elapsed + step < ABSOLUTE_SESSION.total_seconds():
        world.clock.advance(step)
        elapsed += step
        assert world.accounts.authenticate(token, "cookie") is not None, elapsed
    world.clock.advance(world.settings.session_ttl_s)
    assert world.accounts.authenticate(token, "cookie") is None


def test_api_tokens_do_not_slide(world: World) -> None:
    token = _login(world, "api")
    world.clock.advance(world.settings.api_token_ttl_s - 10)
    context = world.accounts.authenticate(token, "api")
    assert context is not None
    world.clock.advance(20)
    assert world.accounts.authenticate(token, "api") is None


def test_last_used_is_written_at_most_once_a_minute(world: World) -> None:
    token = _login(world)
    first = world.accounts.authenticate(token, "cookie")
    world.clock.advance(TOUCH_EVERY.total_seconds() / 2)
    assert world.accounts.authenticate(token, "cookie") == first
    world.clock.advance(TOUCH_EVERY.total_seconds())
    later = world.accounts.authenticate(token, "cookie")
    assert later is not None and first is not None and later.expires_at > first.expires_at


def test_a_token_works_only_as_its_own_kind(world: World) -> None:
    cookie, api = _login(world, "cookie"), _login(world, "api")
    assert world.accounts.authenticate(cookie, "api") is None
    assert world.accounts.authenticate(api, "cookie") is None
    assert world.accounts.authenticate("", "cookie") is None
    assert world.accounts.authenticate("made-up", "api") is None


def test_logout_ends_only_that_session(world: World) -> None:
    first, second = _login(world), _login(world)
    world.accounts.logout(first)
    world.accounts.logout("unknown-token")
    assert world.accounts.authenticate(first, "cookie") is None
    assert world.accounts.authenticate(second, "cookie") is not None


def test_deactivation_ends_sessions_at_once(world: World) -> None:
    token = _login(world, "api")
    world.accounts.deactivate_user(world.customer_user_id, actor_user_id=world.admin_id)
    assert world.accounts.authenticate(token, "api") is None
