"""Security headers on every kind of answer, and CSRF on forms and cookie API calls."""

from __future__ import annotations

from contextlib import closing

import pytest

from portal_api.seed import DEMO_PASSWORD
from tests.portal.web.conftest import OWNER, SITE, Portal, csrf_of

PATHS = ["/login", "/static/css/portal.css", "/api/v1/openapi.json", "/api/v1/me", "/nowhere"]


@pytest.mark.parametrize("path", PATHS)
def test_security_headers_everywhere(portal: Portal, path: str) -> None:
    with closing(portal.client()) as client:
        answer = client.get(path)
    csp = answer.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no CDN
    assert directives["frame-ancestors"] == "'none'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    # Plain http on loopback: HSTS only over https.
    assert "strict-transport-security" not in answer.headers


def test_hsts_when_https(portal: Portal) -> None:
    import asyncio

    import httpx

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=portal.server.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://portal") as client:
            return await client.get("/login")

    answer = asyncio.run(fetch())
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_pages_have_no_inline_script(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        for path in ("/sites", f"/sites/{SITE}", f"/sites/{SITE}/history", "/account"):
            html = client.get(path).text
            for tag in html.split("<script")[1:]:
                assert tag.split(">", 1)[0].strip().startswith("src="), (path, tag[:80])
            assert " on" + "click=" not in html and "javascript:" not in html
            assert "http://" not in html.replace(portal.url, "") and "https://" not in html


def test_login_form_needs_csrf(portal: Portal) -> None:
    with closing(portal.client()) as client:
        client.get("/login")
        answer = client.post(
            "/login", data={"username": OWNER, "password": DEMO_PASSWORD, "csrf_token": "forged"}
        )
        assert answer.status_code == 403
        # Without the pre-session cookie no token can match, even one copied from elsewhere.
        token = csrf_of(client.get("/login").text)
    with closing(portal.client()) as stranger:
        answer = stranger.post(
            "/login", data={"username": OWNER, "password": DEMO_PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 403
        assert "myenergy_session" not in stranger.cookies


def test_cookie_api_call_needs_csrf_header(fresh_portal: Portal) -> None:
    portal = fresh_portal
    with closing(portal.browser_session(OWNER)) as client:
        body = {"current_password": DEMO_PASSWORD, "new_password": "a-new-password-2026"}
        refused = client.post("/api/v1/me/password", json=body)
        assert refused.status_code == 403
        token = csrf_of(client.get("/account").text)
        refused = client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": "x"})
        assert refused.status_code == 403
        accepted = client.post("/api/v1/me/password", json=body, headers={"X-CSRF-Token": token})
        assert accepted.status_code == 200, accepted.text
        # Safe methods need no token.
        assert client.get("/api/v1/me").status_code == 200


def test_bearer_calls_need_no_csrf(fresh_portal: Portal) -> None:
    with closing(fresh_portal.api(OWNER)) as client:
        body = {"current_password": DEMO_PASSWORD, "new_password": "a-new-password-2026"}
        assert client.post("/api/v1/me/password", json=body).status_code == 200


def test_session_cookie_flags(portal: Portal) -> None:
    with closing(portal.client()) as client:
        token = csrf_of(client.get("/login").text)
        answer = client.post(
            "/login",
            data={"username": OWNER, "password": DEMO_PASSWORD, "csrf_token": token},
        )
    cookie = answer.headers["set-cookie"].lower()
    assert "myenergy_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_open_redirect_refused(portal: Portal) -> None:
    with closing(portal.client()) as client:
        token = csrf_of(client.get("/login").text)
        answer = client.post(
            "/login",
            data={
                "username": OWNER,
                "password": DEMO_PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/",
            },
        )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sites"
