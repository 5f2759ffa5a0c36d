"""Contracts API: price lists (4.1, 4.2), contracts (1.1, 1.2, 2.x), installation (1.3-1.6).

Thin: parse, authorise, call the application services
(portal_api/contracts/app/contracts*.py), answer. A customer reads its own
contracts (another customer's answers 404 like an unknown one); staff read with
``contracts_read``, change with ``contracts_manage``; installation outcomes need
``installation``; publishing a price list ``price_lists``. A refusal of the
General Terms is 409 (bad input 400) with the reasons in Bulgarian and English.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse

from portal_api.contracts.app.contracts import ContractService, Draft, DraftSite
from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.app.contracts_installation import (
    AccessRefused,
    Impossible,
    InstallationService,
    Installed,
    Outcome,
    Postponed,
    VisitAgreed,
)
from portal_api.contracts.app.contracts_prices import PriceListDraft, PriceListService
from portal_api.contracts.app.contracts_views import ContractDetail
from portal_api.contracts.domain.contract import ContractState
from portal_api.domain.roles import Permission, Role
from portal_api.web.deps import CurrentPrincipal, Principal, ServicesDep, client_ip, require
from portal_api.web.schemas_contracts import (
    AccessProblemIn,
    ActionOut,
    ContractOut,
    ContractSummaryOut,
    CredentialsIn,
    CredentialsOut,
    DraftIn,
    DraftOut,
    ImpossibleIn,
    InstallationIn,
    InstalledIn,
    PostponedIn,
    PriceListIn,
    PriceListOut,
    RefusalOut,
    RenewIn,
    SignIn,
    VisitAgreedIn,
    contract_out,
    error_body,
    price_list_out,
    rule_out,
    summary_out,
)
from portal_api.web.services import Services

__all__ = [
    "contract_service",
    "contract_visible",
    "installation_service",
    "outcome_of",
    "price_service",
    "router",
]

router = APIRouter(tags=["contracts"])

Reader = Annotated[Principal, Depends(require(Permission.CONTRACTS_READ))]
Manager = Annotated[Principal, Depends(require(Permission.CONTRACTS_MANAGE))]
Installer = Annotated[Principal, Depends(require(Permission.INSTALLATION))]
Publisher = Annotated[Principal, Depends(require(Permission.PRICE_LISTS))]
_REFUSALS: dict[int | str, dict[str, object]] = {
    400: {"model": RefusalOut},
    404: {"model": RefusalOut},
    409: {"model": RefusalOut},
}


def contract_service(services: Services) -> ContractService:
    return ContractService(services.sessions, services.clock, services.calendar)


def installation_service(services: Services) -> InstallationService:
    return InstallationService(services.sessions, services.clock, services.calendar)


def price_service(services: Services) -> PriceListService:
    return PriceListService(services.sessions, services.clock)


def _refusal(error: ContractAppError) -> JSONResponse:
    return JSONResponse(error_body(error), status_code=error.status)


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.user_id, client_ip(request))


def contract_visible(services: Services, principal: Principal, number: str) -> ContractDetail:
    """The contract if ``principal`` may read it: a customer its own once signed (404
    otherwise, the same as an unknown number), staff with ``contracts_read`` (403 without)."""
    if principal.role is Role.CUSTOMER:
        if not principal.can(Permission.OWN_DATA) or principal.customer_id is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found")
    elif not principal.can(Permission.CONTRACTS_READ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    try:
        view = contract_service(services).detail(number)
    except ContractAppError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found") from None
    if principal.role is Role.CUSTOMER and (
        # A draft is the service centre's working paper until it is signed (2.1).
        view.customer_id != principal.customer_id or view.state is ContractState.DRAFT
    ):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Contract not found")
    return view


def outcome_of(
    body: VisitAgreedIn | PostponedIn | AccessProblemIn | InstalledIn | ImpossibleIn,
) -> Outcome:
    """The service's command for an installation outcome of the API or the form."""
    if isinstance(body, PostponedIn):
        return Postponed(body.on, body.mismatch, body.note)
    if isinstance(body, AccessProblemIn):
        return AccessRefused(body.on, body.problem, body.site_id)
    if isinstance(body, InstalledIn):
        return Installed(
            installed_on=body.installed_on,
            protocols_signed_on=body.protocols_signed_on,
            technician=body.technician,
            signatory_name=body.signatory_name,
            signatory_capacity=body.signatory_capacity,
            signatory_position=body.signatory_position,
        )
    if isinstance(body, ImpossibleIn):
        return Impossible(body.on, body.site_id, body.reason, body.note)
    return VisitAgreed(body.on)


# -- price lists (4.1, 4.2) ------------------------------------------------------------------


@router.get(
    "/price-lists",
    response_model=list[PriceListOut],
    summary="Price list versions, newest first (4.1, 4.2)",
)
def list_price_lists(principal: Reader, services: ServicesDep) -> list[PriceListOut]:
    del principal  # only for the permission check
    return [price_list_out(v) for v in price_service(services).versions()]


@router.get(
    "/price-lists/{price_list_id}",
    response_model=PriceListOut,
    responses=_REFUSALS,
    summary="One price list version",
)
def get_price_list(
    price_list_id: int, principal: Reader, services: ServicesDep
) -> PriceListOut | JSONResponse:
    del principal
    try:
        return price_list_out(price_service(services).get(price_list_id))
    except ContractAppError as error:
        return _refusal(error)


@router.post(
    "/price-lists",
    response_model=PriceListOut,
    status_code=201,
    responses=_REFUSALS,
    summary="Publish a new version: not in the past, one per day (4.1, 4.2)",
)
def publish_price_list(
    body: PriceListIn, request: Request, principal: Publisher, services: ServicesDep
) -> PriceListOut | JSONResponse:
    draft = PriceListDraft(
        name=body.name,
        effective_from=body.effective_from,
        unit_prices={(i.voltage, i.period_months): i.unit_price for i in body.unit_prices},
        additional_device=body.additional_device_price,
    )
    try:
        view = price_service(services).publish(draft, _actor(request, principal))
    except ContractAppError as error:
        return _refusal(error)
    return price_list_out(view)


# -- contracts ---------------------------------------------------------------------------------


@router.get(
    "/contracts",
    response_model=list[ContractSummaryOut],
    summary="Contracts: a customer's own; staff all, by state or customer number",
)
def list_contracts(
    principal: CurrentPrincipal,
    services: ServicesDep,
    state: Annotated[ContractState | None, Query()] = None,
    customer_number: Annotated[str | None, Query(max_length=10)] = None,
) -> list[ContractSummaryOut]:
    service = contract_service(services)
    if principal.role is Role.CUSTOMER:
        if principal.customer_id is None or not principal.can(Permission.OWN_DATA):
            return []
        views = service.summaries(customer_id=principal.customer_id, state=state, signed_only=True)
    elif principal.can(Permission.CONTRACTS_READ):
        views = service.summaries(state=state, customer_number=customer_number)
    else:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed for this role")
    return [summary_out(v) for v in views]


@router.get(
    "/contracts/{contract_number}",
    response_model=ContractOut,
    responses={404: {"model": RefusalOut}},
    summary="One contract: state, dates, sites, fee breakdown (4.1), term (2.x)",
)
def get_contract(
    contract_number: str, principal: CurrentPrincipal, services: ServicesDep
) -> ContractOut:
    return contract_out(contract_visible(services, principal, contract_number))


@router.post(
    "/contracts",
    response_model=DraftOut,
    status_code=201,
    responses=_REFUSALS,
    summary="Create a draft (1.1) and report each 1.2 refusal ground",
)
def create_contract(
    body: DraftIn, request: Request, principal: Manager, services: ServicesDep
) -> DraftOut | JSONResponse:
    draft = Draft(
        customer_number=body.customer_number,
        sites=tuple(DraftSite(s.site_id, s.multimeters, s.voltage) for s in body.sites),
        period_months=body.period_months,
        contact_email=body.contact_email,
        off_premises=body.off_premises,
        signing_on=body.signing_on,
        missing_documents=tuple(body.missing_documents),
        sites_without_operator_contract=tuple(body.sites_without_operator_contract),
        equipment_misuse=body.equipment_misuse,
        supply_contract_active=body.supply_contract_active,
        supply_contract_ends_on=body.supply_contract_ends_on,
        other_overdue_debt=body.other_overdue_debt,
    )
    try:
        result = contract_service(services).create_draft(draft, _actor(request, principal))
    except ContractAppError as error:
        return _refusal(error)
    return DraftOut(
        contract=contract_out(result.detail),
        eligibility=rule_out(result.eligibility),
        refusals=[rule_out(r) for r in result.refusals],
    )


@router.post(
    "/contracts/{contract_number}/sign",
    response_model=ActionOut,
    responses=_REFUSALS,
    summary="Sign (2.1): in force from that day, keeps that day's price list (4.2)",
)
def sign_contract(
    contract_number: str,
    body: SignIn,
    request: Request,
    principal: Manager,
    services: ServicesDep,
) -> ActionOut | JSONResponse:
    try:
        view, rule = contract_service(services).sign(
            contract_number, body.signed_on, _actor(request, principal)
        )
    except ContractAppError as error:
        return _refusal(error)
    return ActionOut(contract=contract_out(view), rule=rule_out(rule))


@router.post(
    "/contracts/{contract_number}/installation",
    response_model=ActionOut,
    responses=_REFUSALS,
    summary="Record an installation outcome (1.3, 1.4.2, 1.5)",
)
def record_installation(
    contract_number: str,
    body: Annotated[InstallationIn, Body()],
    request: Request,
    principal: Installer,
    services: ServicesDep,
) -> ActionOut | JSONResponse:
    try:
        result = installation_service(services).record_outcome(
            contract_number, outcome_of(body), _actor(request, principal)
        )
    except ContractAppError as error:
        return _refusal(error)
    return ActionOut(
        contract=contract_out(result.detail),
        rule=rule_out(result.rule),
        proposal_id=result.proposal_id,
    )


@router.post(
    "/contracts/{contract_number}/credentials",
    response_model=CredentialsOut,
    responses=_REFUSALS,
    summary="Credentials given (1.6): fixes the subscription start (2.3a) and end (2.2)",
)
def credentials_given(
    contract_number: str,
    body: CredentialsIn,
    request: Request,
    principal: Manager,
    services: ServicesDep,
) -> CredentialsOut | JSONResponse:
    try:
        result = installation_service(services).credentials_given(
            contract_number, body.given_on, _actor(request, principal)
        )
    except ContractAppError as error:
        return _refusal(error)
    return CredentialsOut(
        contract=contract_out(result.detail),
        due=rule_out(result.due),
        in_time=result.in_time,
        start=rule_out(result.start),
        end=rule_out(result.end),
    )


@router.post(
    "/contracts/{contract_number}/renew",
    response_model=ActionOut,
    status_code=201,
    responses=_REFUSALS,
    summary="Renew (2.4): a new contract from the month after this one ends (2.3b)",
)
def renew_contract(
    contract_number: str,
    body: RenewIn,
    request: Request,
    principal: Manager,
    services: ServicesDep,
) -> ActionOut | JSONResponse:
    try:
        view, rule = contract_service(services).renew(
            contract_number,
            body.signed_on,
            _actor(request, principal),
            period_months=body.period_months,
            off_premises=body.off_premises,
        )
    except ContractAppError as error:
        return _refusal(error)
    return ActionOut(contract=contract_out(view), rule=rule_out(rule))
