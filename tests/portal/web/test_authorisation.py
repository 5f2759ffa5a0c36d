"""The authorisation walk: every route of the app, called as anonymous, as the owner,
as another customer and as each staff role, against the matrix of decision 0004.

A route the matrix below does not list fails the test: whoever adds an endpoint
must say who may call it. The contract engine's areas keep their entries in
``authz_<area>.py`` next to this file (MATRIX, PARAMS, QUERIES, BODIES), merged here.
Expectations per caller:

    ok      passed authorisation (any answer but 401/403/404 or a login redirect)
    401     the API asks for credentials
    403     the role lacks the permission (staff, or a customer on staff routes)
    404     another customer's object: its existence is not revealed
    login   a page redirects to /login
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from portal_api.seed import DEMO_PASSWORD
from tests.portal.web import (
    authz_billing,
    authz_contracts,
    authz_decisions,
    authz_installation_protocols,
    authz_installations,
    authz_interruptions,
    authz_myenergy,
    authz_pik,
    authz_quality,
    authz_requests,
    authz_requests_staff,
)
from tests.portal.web.authz_common import OK, PUBLIC, ParamGetter
from tests.portal.web.conftest import METER, OTHER, OWNER, SITE, Portal, csrf_of

CALLERS = ("anonymous", "owner", "other", "operator", "installer", "admin")
USERS = {
    "owner": OWNER,
    "other": OTHER,
    "operator": "operator",
    "installer": "installer",
    "admin": "admin",
}
LOGIN = "login"
AREAS = (
    authz_contracts,
    authz_billing,
    authz_interruptions,
    authz_decisions,
    authz_quality,
    authz_pik,
    authz_requests,
    authz_requests_staff,
    authz_myenergy,
    authz_installations,
    authz_installation_protocols,
)

# (method, path) -> expectation per caller, in the order of CALLERS.
MATRIX: dict[tuple[str, str], tuple[str | int, ...]] = {
    # -- API: authentication (public) and the caller's own account
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("DELETE", "/api/v1/auth/token"): (401, OK, OK, OK, OK, OK),
    ("POST", "/api/v1/auth/reset-request"): PUBLIC,
    ("POST", "/api/v1/auth/reset"): PUBLIC,
    ("POST", "/api/v1/credential-requests"): PUBLIC,
    ("GET", "/api/v1/me"): (401, OK, OK, OK, OK, OK),
    ("POST", "/api/v1/me/password"): (401, OK, OK, OK, OK, OK),
    # -- sites: records (own_data / all_sites)
    ("GET", "/api/v1/sites"): (401, OK, OK, OK, OK, OK),
    ("GET", "/api/v1/sites/{site_id}"): (401, OK, 404, OK, OK, OK),
    # -- consumption and live (own_data / all_consumption)
    ("GET", "/api/v1/sites/{site_id}/consumption"): (401, OK, 404, OK, 403, OK),
    ("GET", "/api/v1/sites/{site_id}/consumption.csv"): (401, OK, 404, OK, 403, OK),
    ("GET", "/api/v1/sites/{site_id}/consumption.xml"): (401, OK, 404, OK, 403, OK),
    ("GET", "/api/v1/sites/{site_id}/live"): (401, OK, 404, OK, 403, OK),
    ("GET", "/api/v1/devices/{device_id}/phases"): (401, OK, 404, OK, 403, OK),
    ("GET", "/api/v1/devices/{device_id}/latest"): (401, OK, 404, OK, 403, OK),
    # -- device status (own_data / device_status)
    ("GET", "/api/v1/devices/{device_id}/status"): (401, OK, 404, OK, OK, OK),
    # -- clause 5.4 work queue (credential_requests)
    ("GET", "/api/v1/staff/credential-requests"): (401, 403, 403, OK, 403, OK),
    ("POST", "/api/v1/staff/credential-requests/{request_id}/fulfil"): (
        401,
        403,
        403,
        OK,
        403,
        OK,
    ),
    # -- API documentation (public)
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    # -- pages
    ("GET", "/"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): (LOGIN,) * 6,  # ends any session, then shows the login page
    ("POST", "/lang"): PUBLIC,
    ("GET", "/lost-credentials"): PUBLIC,
    ("POST", "/lost-credentials"): PUBLIC,
    ("GET", "/reset-request"): PUBLIC,
    ("POST", "/reset-request"): PUBLIC,
    ("GET", "/reset"): PUBLIC,
    ("POST", "/reset"): PUBLIC,
    ("GET", "/sites"): (LOGIN, OK, OK, OK, OK, OK),
    ("GET", "/sites/{site_id}"): (LOGIN, OK, 404, OK, 403, OK),
    ("GET", "/sites/{site_id}/history"): (LOGIN, OK, 404, OK, 403, OK),
    ("GET", "/account"): (LOGIN, OK, OK, OK, OK, OK),
    ("POST", "/account/password"): (LOGIN, OK, OK, OK, OK, OK),
}
# Path parameters: the owner's object (another customer must get 404 for it).
PARAMS: dict[str, ParamGetter] = {
    "site_id": lambda portal: SITE,
    "device_id": lambda portal: METER,
    "request_id": lambda portal: str(portal.request_id),
}
# Calls that end or replace the caller's session: made with a session of their own.
OWN_SESSION = {
    ("DELETE", "/api/v1/auth/token"),
    ("POST", "/logout"),
    ("POST", "/login"),
    ("POST", "/lang"),
}
QUERIES = {
    "/api/v1/sites/{site_id}/consumption": "?period_from=2026-03-02&period_to=2026-03-03",
    "/api/v1/sites/{site_id}/consumption.csv": "?period_from=2026-03-02&period_to=2026-03-03",
    "/api/v1/sites/{site_id}/consumption.xml": "?period_from=2026-03-02&period_to=2026-03-03",
    "/api/v1/devices/{device_id}/phases": "?period_from=2026-03-02&period_to=2026-03-03",
}
BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/api/v1/me/password"): {
        "json": {"current_password": "wrong-password-x", "new_password": "does-not-matter-1"}
    },
    ("POST", "/api/v1/auth/reset"): {"json": {"token": "not-a-token", "new_password": "x" * 12}},
    ("POST", "/api/v1/auth/reset-request"): {"json": {"login": "nobody@example.bg"}},
    ("POST", "/api/v1/credential-requests"): {"json": {"contact_email": "someone@example.bg"}},
    ("POST", "/api/v1/auth/token"): {"data": {"username": OWNER, "password": DEMO_PASSWORD}},
}
for _area in AREAS:
    assert not MATRIX.keys() & _area.MATRIX.keys(), _area.__name__
    MATRIX.update(_area.MATRIX)
    PARAMS.update(_area.PARAMS)
    QUERIES.update(_area.QUERIES)
    BODIES.update(_area.BODIES)


def app_routes(portal: Portal) -> Iterator[tuple[str, str]]:
    """Every (method, path) of the app's route table; static files are the one mount."""
    # FastAPI keeps included routers as wrappers: iter_route_contexts flattens them.
    for context in iter_route_contexts(portal.server.app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
            continue
        assert isinstance(route, APIRoute | Route), route
        assert context.path is not None
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                yield method, context.path


def test_every_route_has_an_entry(portal: Portal) -> None:
    routes = set(app_routes(portal))
    missing = sorted(routes - MATRIX.keys())
    assert not missing, f"routes without an authorisation entry: {missing}"
    stale = sorted(MATRIX.keys() - routes)
    assert not stale, f"matrix entries without a route: {stale}"


def _url(path: str, portal: Portal) -> str:
    names = re.findall(r"{(\w+)}", path)
    filled = path.format(**{name: PARAMS[name](portal) for name in names})
    return filled + QUERIES.get(path, "")


def _client(portal: Portal, caller: str, page: bool) -> httpx.Client:
    if caller == "anonymous":
        return portal.client()
    if page:
        return portal.browser_session(USERS[caller])
    return portal.api(USERS[caller])


def _outcome(answer: httpx.Response) -> str | int:
    location = answer.headers.get("location", "")
    if answer.status_code in (301, 302, 303, 307) and location.startswith("/login"):
        return LOGIN
    if answer.status_code in (401, 403, 404):
        return answer.status_code
    return OK


def _call(client: httpx.Client, method: str, path: str, portal: Portal) -> httpx.Response:
    url = _url(path, portal)
    kwargs: dict[str, object] = dict(BODIES.get((method, path), {}))
    if not path.startswith("/api/") and method == "POST":
        # Page forms: the CSRF token of the page they come from (any page carries it).
        token = csrf_of(
            client.get("/login" if "Authorization" in client.headers else "/reset").text
        )
        kwargs["data"] = {
            "csrf_token": token,
            "lang": "bg",
            "next": "/sites",
            "username": OWNER,
            "password": DEMO_PASSWORD,
        }
    if path.endswith("/live"):
        # A stream: the status line and headers say whether it was allowed.
        with client.stream(method, url, **kwargs) as answer:  # type: ignore[arg-type]
            return answer
    return client.request(method, url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("caller", CALLERS)
def test_authorisation_matrix(portal: Portal, caller: str) -> None:
    index = CALLERS.index(caller)
    wrong: list[str] = []
    api = _client(portal, caller, page=False)
    pages = _client(portal, caller, page=True)
    try:
        for method, path in sorted(app_routes(portal)):
            expected = MATRIX[(method, path)][index]
            page = not path.startswith("/api/")
            if (method, path) in OWN_SESSION and caller != "anonymous":
                own = _client(portal, caller, page)
                try:
                    answer = _call(own, method, path, portal)
                finally:
                    own.close()
            else:
                answer = _call(pages if page else api, method, path, portal)
            got = _outcome(answer)
            if got != expected:
                wrong.append(f"{method} {path}: expected {expected}, got {answer.status_code}")
    finally:
        api.close()
        pages.close()
    assert not wrong, f"{caller}:\n" + "\n".join(wrong)


def test_cookie_session_reaches_the_api_too(portal: Portal) -> None:
    with closing(portal.browser_session(OWNER)) as client:
        assert client.get("/api/v1/me").json()["user"]["username"] == OWNER
        assert client.get(f"/api/v1/sites/{SITE}").status_code == 200
        assert client.get("/api/v1/sites/shumen-0001").status_code == 404


def test_foreign_and_unknown_sites_look_the_same(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        foreign = client.get("/api/v1/sites/shumen-0001")
        unknown = client.get("/api/v1/sites/no-such-site")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["detail"] == unknown.json()["detail"]


def test_customer_lists_only_own_sites(portal: Portal) -> None:
    with closing(portal.api(OWNER)) as client:
        ids = {s["id"] for s in client.get("/api/v1/sites").json()}
    assert ids == {"varna-0001", "dobrich-0001"}
    with closing(portal.api("operator")) as client:
        assert len(client.get("/api/v1/sites").json()) == 4


def test_installer_sees_records_not_consumption(portal: Portal) -> None:
    with closing(portal.api("installer")) as client:
        site = client.get(f"/api/v1/sites/{SITE}").json()
    assert site["current_power_w"] is None and site["today_kwh"] is None
