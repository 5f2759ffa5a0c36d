"""FastAPI dependencies of the portal: services, the caller, permissions, object checks.

The caller is found from a bearer token (API clients) or the page session
cookie (the browser); an unsafe API call made with the cookie must carry the
session's CSRF token in ``X-CSRF-Token``. Object checks follow decision 0004: a
customer reaches only rows of its own customer id, and anything else is **404**
so the existence of another customer's site is not revealed; a staff role
without the permission the endpoint needs gets 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from portal_api.accounts.acting import note_pik_session
from portal_api.domain.roles import Permission, Role, can
from portal_api.web.directory import DeviceRecord, SiteRecord
from portal_api.web.i18n import LANG_COOKIE, negotiate
from portal_api.web.security import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SAFE_METHODS,
    new_csrf_token,
    tokens_match,
)
from portal_api.web.services import Services

__all__ = [
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "LoginRequiredError",
    "Principal",
    "ServicesDep",
    "device_for",
    "require",
    "site_for",
]

SESSION_COOKIE = "myenergy_session"


class LoginRequiredError(Exception):
    """A page needs a logged-in user: the app answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user's id, name, role, customer and language, how it
    authenticated (``bearer`` or ``cookie``), its session's CSRF token and token."""

    user_id: int
    username: str
    role: Role
    customer_id: int | None
    language: str
    display_name: str | None
    email: str | None
    via: str
    csrf_token: str
    token: str

    @property
    def user(self) -> Principal:
        # Templates say ``user.username``; the principal carries what they show.
        return self

    def can(self, permission: Permission) -> bool:
        return can(self.role, permission)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _principal_from(services: Services, token: str, kind: str) -> Principal | None:
    context = services.accounts.authenticate(token, kind)
    if context is None:
        return None
    user = context.user
    note_pik_session(user.id, context.pik_id, context.acting_role)
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        customer_id=user.customer_id,
        language=user.language,
        display_name=user.display_name,
        email=user.email,
        via="bearer" if kind == "api" else "cookie",
        csrf_token=context.csrf_token,
        token=token,
    )


def optional_principal(request: Request, services: ServicesDep) -> Principal | None:
    """The caller if a valid bearer token or session cookie came with the request."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    principal: Principal | None = None
    bearer = _bearer(request)
    if bearer is not None:
        principal = _principal_from(services, bearer, "api")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = _principal_from(services, cookie, "cookie")
    request.state.principal = principal
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def api_principal(request: Request, principal: OptionalPrincipal) -> Principal:
    """The API caller; 401 without credentials, 403 when a cookie call lacks its CSRF token."""
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if (
        principal.via == "cookie"
        and request.method not in SAFE_METHODS
        and not tokens_match(principal.csrf_token, request.headers.get(CSRF_HEADER))
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(api_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """Dependency: the caller holds ``permission`` (403 otherwise)."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
        return principal

    return check


# -- object checks ---------------------------------------------------------------------


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def _may_reach(principal: Principal, customer_id: int, staff_permission: Permission) -> bool:
    if principal.role is Role.CUSTOMER:
        return principal.can(Permission.OWN_DATA) and principal.customer_id == customer_id
    return principal.can(staff_permission)


def site_for(
    services: Services, principal: Principal, site_id: str, staff_permission: Permission
) -> SiteRecord:
    """The site if ``principal`` may reach it: its own (customer) or with the staff
    permission; 404 for a customer and a foreign or unknown site, 403 for staff
    without the permission."""
    if principal.role is not Role.CUSTOMER and not principal.can(staff_permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    site = services.directory.site(site_id)
    if site is None or not _may_reach(principal, site.customer_id, staff_permission):
        raise _not_found("Site")
    return site


def device_for(
    services: Services, principal: Principal, device_id: str, staff_permission: Permission
) -> DeviceRecord:
    """The device if ``principal`` may reach its site (same rules as :func:`site_for`)."""
    if principal.role is not Role.CUSTOMER and not principal.can(staff_permission):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    device = services.directory.device(device_id)
    if device is None or not _may_reach(principal, device.customer_id, staff_permission):
        raise _not_found("Device")
    return device


def site_dependency(
    staff_permission: Permission,
) -> Callable[..., SiteRecord]:
    """A dependency resolving the path's ``site_id`` with :func:`site_for`."""

    def dependency(site_id: str, principal: CurrentPrincipal, services: ServicesDep) -> SiteRecord:
        return site_for(services, principal, site_id, staff_permission)

    return dependency


def device_dependency(
    staff_permission: Permission,
) -> Callable[..., DeviceRecord]:
    """A dependency resolving the path's ``device_id`` with :func:`device_for`."""

    def dependency(
        device_id: str, principal: CurrentPrincipal, services: ServicesDep
    ) -> DeviceRecord:
        return device_for(services, principal, device_id, staff_permission)

    return dependency


SiteRecordDep = Annotated[SiteRecord, Depends(site_dependency(Permission.ALL_SITES))]
SiteConsumptionDep = Annotated[SiteRecord, Depends(site_dependency(Permission.ALL_CONSUMPTION))]
DeviceConsumptionDep = Annotated[
    DeviceRecord, Depends(device_dependency(Permission.ALL_CONSUMPTION))
]
DeviceStatusDep = Annotated[DeviceRecord, Depends(device_dependency(Permission.DEVICE_STATUS))]


def visible_sites(services: Services, principal: Principal) -> list[SiteRecord]:
    """The sites ``principal`` may list: a customer its own, staff with ``all_sites``
    every site; 403 for a role with neither."""
    if principal.role is Role.CUSTOMER:
        if principal.customer_id is None or not principal.can(Permission.OWN_DATA):
            return []
        return services.directory.sites(principal.customer_id)
    if not principal.can(Permission.ALL_SITES):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return services.directory.sites(None)


# -- pages -------------------------------------------------------------------------------


def page_setup(request: Request, principal: OptionalPrincipal) -> Principal | None:
    """Every page: language and CSRF token on ``request.state`` for the templates.

    A visitor without a session gets a double-submit CSRF cookie (set by the
    renderer when it is new) so that the login and request forms are protected too.
    """
    request.state.lang = negotiate(
        principal.language if principal is not None else None,
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    if principal is not None:
        request.state.csrf_token = principal.csrf_token
    else:
        token = request.cookies.get(CSRF_COOKIE)
        if not token:
            token = new_csrf_token()
            request.state.new_csrf_cookie = token
        request.state.csrf_token = token
    return principal


PagePrincipal = Annotated[Principal | None, Depends(page_setup)]


def page_user(request: Request, principal: PagePrincipal) -> Principal:
    """A page that needs a logged-in user: redirect to /login otherwise."""
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequiredError(target)
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


def check_form_csrf(request: Request, supplied: str | None) -> None:
    """A form post must echo the token of the page it came from (403 otherwise)."""
    expected: str | None = getattr(request.state, "csrf_token", None)
    if getattr(request.state, "new_csrf_cookie", None):
        expected = None  # the cookie was missing: the form cannot have come from us
    if not tokens_match(expected, supplied):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong")


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn applies X-Forwarded-For of trusted proxies only)."""
    return request.client.host if request.client is not None else "unknown"
