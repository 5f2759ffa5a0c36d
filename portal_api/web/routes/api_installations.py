"""Installations API (issue 7): provisioning codes, provisioning a module, first upload.

Thin: parse, authorise, call :class:`ProvisioningService`, answer. A code is issued
by staff holding ``installation`` or ``contracts_manage``; provisioning takes a
staff bearer token with ``installation`` or a one-time code in the body (a
customer's token is 403: the customer does not register equipment, 1.4). The
first-upload check answers staff with ``installation``, or the device itself: HTTP
Basic with its MQTT username and the password the provisioning answer carried (so
a technician who came with a code, now used up, can still watch for the upload).
Refusals carry a stable ``code`` and the reason in Bulgarian and English.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import threading
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse

from ingest.registry.service import Registry
from portal_api.domain.roles import Permission
from portal_api.installations.provisioning import (
    BrokerSettings,
    ProvisioningError,
    ProvisioningService,
    first_upload,
)
from portal_api.web.deps import (
    CurrentPrincipal,
    OptionalPrincipal,
    Principal,
    ServicesDep,
    api_principal,
    client_ip,
)
from portal_api.web.schemas_installations import (
    CodeIn,
    CodeOut,
    FirstUploadOut,
    ProvisionIn,
    ProvisioningRefusalOut,
    ProvisionOut,
    code_out,
    first_upload_out,
    provision_out,
    refusal_body,
)
from portal_api.web.services import Services

__all__ = ["provisioning_service", "router"]

router = APIRouter(tags=["installations"])

_REFUSALS: dict[int | str, dict[str, object]] = {
    code: {"model": ProvisioningRefusalOut} for code in (400, 401, 404, 409, 429)
}
_REGISTRY_LOCK = threading.Lock()


def _registry(request: Request, services: Services) -> Registry:
    """Ingest's device registry, opened (and migrated) once per app, closed with the
    services."""
    with _REGISTRY_LOCK:
        registry: Registry | None = getattr(request.app.state, "installation_registry", None)
        if registry is None:
            registry = Registry.open(services.config.registry.url)
            services.closers.append(registry.close)
            request.app.state.installation_registry = registry
        return registry


def provisioning_service(request: Request, services: Services) -> ProvisioningService:
    mqtt = services.config.mqtt
    broker = BrokerSettings(mqtt.host, mqtt.port, mqtt.tls.enabled, mqtt.protocol)
    return ProvisioningService(
        services.sessions,
        services.clock,
        services.config.security,
        lambda: _registry(request, services),
        broker,
    )


def _refusal(error: ProvisioningError) -> JSONResponse:
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    if error.status == status.HTTP_401_UNAUTHORIZED:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(refusal_body(error), status_code=error.status, headers=headers)


def _staff(principal: Principal, *permissions: Permission) -> None:
    if not any(principal.can(p) for p in permissions):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")


@router.post(
    "/contracts/{contract_number}/provisioning-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=CodeOut,
    responses=_REFUSALS,
    summary="Issue a one-time provisioning code for a signed contract (shown once, 14 days)",
)
def issue_code(
    contract_number: str,
    request: Request,
    principal: CurrentPrincipal,
    services: ServicesDep,
    body: Annotated[CodeIn | None, Body()] = None,
) -> CodeOut | JSONResponse:
    _staff(principal, Permission.INSTALLATION, Permission.CONTRACTS_MANAGE)
    try:
        issued = provisioning_service(request, services).issue_code(
            contract_number,
            site_id=body.site_id if body is not None else None,
            actor_user_id=principal.user_id,
            ip=client_ip(request),
        )
    except ProvisioningError as error:
        return _refusal(error)
    return code_out(issued)


def _provisioning_caller(request: Request, principal: OptionalPrincipal) -> Principal | None:
    """The staff caller, or None when the call comes without credentials (then the
    body's code must authenticate it). A customer's token is 403 before the body."""
    if principal is None:
        return None
    caller = api_principal(request, principal)  # a cookie call needs its CSRF token
    _staff(caller, Permission.INSTALLATION)
    return caller


@router.post(
    "/installations/provision",
    status_code=status.HTTP_201_CREATED,
    response_model=ProvisionOut,
    responses={**_REFUSALS, 200: {"model": ProvisionOut, "description": "Provisioned again"}},
    summary="Register a module and its meter; the MQTT credentials (password shown once)",
)
def provision(
    body: ProvisionIn,
    request: Request,
    caller: Annotated[Principal | None, Depends(_provisioning_caller)],
    services: ServicesDep,
) -> ProvisionOut | JSONResponse:
    if caller is None and body.provisioning_code is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Log in as an installer or give a provisioning code",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        done = provisioning_service(request, services).provision(
            body.request(),
            ip=client_ip(request),
            actor_user_id=caller.user_id if caller is not None else None,
            code=body.provisioning_code if caller is None else None,
        )
    except ProvisioningError as error:
        return _refusal(error)
    out = provision_out(done)
    if not done.created:
        return JSONResponse(out.model_dump(mode="json"), status_code=status.HTTP_200_OK)
    return out


def _device_login(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = (
            base64.b64decode(value.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def _first_upload_caller(
    device_id: str, request: Request, principal: OptionalPrincipal, services: ServicesDep
) -> None:
    login = _device_login(request)
    if login is not None:
        username, password = login
        if username == device_id and _registry(request, services).verify_password(
            username, password
        ):
            return
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Wrong device login",
            headers={"WWW-Authenticate": 'Basic realm="device"'},
        )
    caller = api_principal(request, principal)
    _staff(caller, Permission.INSTALLATION)


@router.get(
    "/installations/{device_id}/first-upload",
    response_model=FirstUploadOut,
    responses={401: {"model": ProvisioningRefusalOut}, 404: {"model": ProvisioningRefusalOut}},
    summary="Has the provisioned device's first upload reached the portal?",
    dependencies=[Depends(_first_upload_caller)],
)
def device_first_upload(
    device_id: str,
    services: ServicesDep,
    since: Annotated[
        dt.datetime | None,
        Query(description="the provisioning answer's provisioned_at: uploads from then on"),
    ] = None,
) -> FirstUploadOut:
    if since is not None and since.tzinfo is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "since needs a time zone (Z or +hh:mm)")
    state = first_upload(
        services.sessions, services.consumption, device_id, services.clock(), since
    )
    if state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Device not found")
    return first_upload_out(state)
