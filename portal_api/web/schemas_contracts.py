"""Request and response models of the contracts API: price lists (4.1, 4.2), contracts
(1.1, 1.2, 2.x), installation outcomes (1.3 to 1.5) and credentials (1.6).

Money is a ``Decimal`` (JSON: a string such as ``"14.90"``, never a float); days
are ISO dates (Europe/Sofia calendar days). Every rule the answer relies on comes
as a :class:`RuleOut`: the clause, whether it allowed, its reasons in Bulgarian
and English and the numbers it used.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.contracts.app.contracts_common import ContractAppError, RuleLine
from portal_api.contracts.app.contracts_prices import PriceListView
from portal_api.contracts.app.contracts_views import ContractDetail, ContractSummary
from portal_api.contracts.domain.contract import ContractState, VoltageLevel
from portal_api.contracts.domain.installation import (
    AccessProblem,
    ImpossibleReason,
    MismatchKind,
    SignatoryCapacity,
)

__all__ = [
    "ActionOut",
    "ContractOut",
    "ContractSummaryOut",
    "CredentialsIn",
    "CredentialsOut",
    "DraftIn",
    "DraftOut",
    "InstallationIn",
    "PriceListIn",
    "PriceListOut",
    "RefusalOut",
    "RenewIn",
    "RuleOut",
    "SignIn",
    "contract_out",
    "error_body",
    "price_list_out",
    "rule_out",
    "summary_out",
]

Price = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
Months = Literal[12, 24]  # 2.2


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reasons(_Model):
    bg: str
    en: str


class RuleOut(_Model):
    """One rule of the General Terms as it applied: clause, outcome, reasons, numbers."""

    clause: str
    allowed: bool
    value: object
    reason: Reasons
    numbers: dict[str, object]


class RefusalOut(_Model):
    """A refused request: ``detail`` in English, the reasons in both languages."""

    detail: str
    reason: Reasons
    explanation: dict[str, object] | None = None


# -- price lists (4.1, 4.2) --------------------------------------------------------------


class PriceItem(_In):
    voltage: VoltageLevel
    period_months: Months
    unit_price: Price


class PriceListIn(_In):
    """A new version: all six unit prices (LV/MV/HV x 12/24 months) and the extra device."""

    name: Annotated[str, Field(min_length=1, max_length=32)]
    effective_from: dt.date
    additional_device_price: Price
    unit_prices: Annotated[list[PriceItem], Field(min_length=1, max_length=6)]


class PriceListOut(_Model):
    id: int
    name: str
    effective_from: dt.date
    additional_device_price: Decimal
    unit_prices: list[PriceItem]
    contracts: int
    in_force: bool
    future: bool


# -- contracts -------------------------------------------------------------------------


class ContractSummaryOut(_Model):
    number: str
    customer_number: str
    customer_name: str
    state: ContractState
    period_months: int
    signed_on: dt.date | None
    subscription_start: dt.date | None
    subscription_end: dt.date | None
    sites: int
    renewal_of: str | None


class SiteOut(_Model):
    site_id: str
    name: str
    voltage: str
    multimeters: int
    left_on: dt.date | None


class FeeLineOut(_Model):
    site_id: str
    voltage: str
    multimeters: int
    unit_price: Decimal
    additional_devices: int
    additional_device_price: Decimal
    total: Decimal


class FeeOut(_Model):
    """4.1: the monthly fee per site; ``fixed``: kept for the term since signing (4.2)."""

    currency: Literal["EUR"] = "EUR"
    lines: list[FeeLineOut]
    total: Decimal
    period_months: int
    price_list_id: int
    price_list_name: str
    price_list_from: dt.date
    fixed: bool
    rule: RuleOut
    kept: RuleOut | None


class PriceListRef(_Model):
    id: int
    name: str
    effective_from: dt.date


class PostponementOut(_Model):
    found_on: dt.date
    mismatch: MismatchKind
    settled_on: dt.date | None


class ProposalOut(_Model):
    id: int
    kind: str
    clause: str
    subject: str
    state: str
    proposed_on: dt.date
    reason: Reasons


class ContractOut(_Model):
    number: str
    customer_number: str
    customer_name: str
    state: ContractState
    state_bg: str
    period_months: int
    contact_email: str
    off_premises: bool
    renewal_of: str | None
    renewed_by: str | None
    signed_on: dt.date | None
    in_force_on: dt.date | None
    installed_on: dt.date | None
    protocols_signed_on: dt.date | None
    credentials_given_on: dt.date | None
    subscription_start: dt.date | None
    subscription_end: dt.date | None
    expiry_notice_by: dt.date | None
    installation_deadline: dt.date | None
    terminated_on: dt.date | None
    termination_ground: str | None
    free_months: int
    sites: list[SiteOut]
    price_list: PriceListRef | None
    fee: FeeOut | None
    rules: dict[str, RuleOut]
    postponements: list[PostponementOut]
    proposals: list[ProposalOut]


class DraftSiteIn(_In):
    site_id: Annotated[str, Field(min_length=1, max_length=64)]
    multimeters: Annotated[int, Field(ge=1, le=50)] = 1
    voltage: VoltageLevel | None = None


class DraftIn(_In):
    """1.1: a draft for one of the customer's own sites; the facts 1.2 is judged on."""

    customer_number: Annotated[str, Field(min_length=1, max_length=10)]
    sites: Annotated[list[DraftSiteIn], Field(min_length=1, max_length=100)]
    period_months: Months
    contact_email: Annotated[str, Field(min_length=3, max_length=254)]
    off_premises: bool = False
    signing_on: dt.date | None = None
    missing_documents: Annotated[list[str], Field(max_length=20)] = []
    sites_without_operator_contract: Annotated[list[str], Field(max_length=100)] = []
    equipment_misuse: bool = False
    supply_contract_active: bool = True
    supply_contract_ends_on: dt.date | None = None
    other_overdue_debt: Price = Decimal("0.00")


class DraftOut(_Model):
    contract: ContractOut
    eligibility: RuleOut  # 1.2
    refusals: list[RuleOut]


class SignIn(_In):
    signed_on: dt.date


class RenewIn(_In):
    signed_on: dt.date
    period_months: Months | None = None
    off_premises: bool = False


class CredentialsIn(_In):
    given_on: dt.date


class CredentialsOut(_Model):
    contract: ContractOut
    due: RuleOut  # 1.6
    in_time: bool
    start: RuleOut  # 2.3a
    end: RuleOut  # 2.2


class ActionOut(_Model):
    contract: ContractOut
    rule: RuleOut
    proposal_id: int | None = None


# -- installation outcomes (1.4.2, 1.5) ----------------------------------------------------


class VisitAgreedIn(_In):
    outcome: Literal["visit_agreed"]
    on: dt.date


class PostponedIn(_In):
    outcome: Literal["postponed"]
    on: dt.date
    mismatch: MismatchKind
    note: Annotated[str, Field(max_length=500)] = ""


class AccessProblemIn(_In):
    outcome: Literal["access_problem"]
    on: dt.date
    problem: AccessProblem
    site_id: Annotated[str, Field(min_length=1, max_length=64)]


class InstalledIn(_In):
    outcome: Literal["installed"]
    installed_on: dt.date
    protocols_signed_on: dt.date
    technician: Annotated[str, Field(min_length=1, max_length=200)]
    signatory_name: Annotated[str, Field(min_length=1, max_length=200)]
    signatory_capacity: SignatoryCapacity = SignatoryCapacity.CUSTOMER
    signatory_position: Annotated[str, Field(max_length=200)] = ""


class ImpossibleIn(_In):
    outcome: Literal["impossible"]
    on: dt.date
    site_id: Annotated[str, Field(min_length=1, max_length=64)]
    reason: ImpossibleReason
    note: Annotated[str, Field(max_length=500)] = ""


InstallationIn = Annotated[
    VisitAgreedIn | PostponedIn | AccessProblemIn | InstalledIn | ImpossibleIn,
    Field(discriminator="outcome"),
]


# -- from the services' views --------------------------------------------------------------


def rule_out(line: RuleLine) -> RuleOut:
    return RuleOut(
        clause=line.clause,
        allowed=line.allowed,
        value=line.plain_value,
        reason=Reasons(bg=line.reason_bg, en=line.reason_en),
        numbers=dict(line.numbers),
    )


def error_body(error: ContractAppError) -> dict[str, object]:
    return RefusalOut(
        detail=error.reason_en,
        reason=Reasons(bg=error.reason_bg, en=error.reason_en),
        explanation=error.explanation,
    ).model_dump(mode="json")


def price_list_out(view: PriceListView) -> PriceListOut:
    return PriceListOut(
        id=view.id,
        name=view.name,
        effective_from=view.effective_from,
        additional_device_price=view.additional_device,
        unit_prices=[
            PriceItem(voltage=level, period_months=months, unit_price=price)  # type: ignore[arg-type]
            for (level, months), price in sorted(view.unit_prices.items())
        ],
        contracts=view.contracts,
        in_force=view.in_force,
        future=view.future,
    )


def summary_out(view: ContractSummary) -> ContractSummaryOut:
    return ContractSummaryOut(
        number=view.number,
        customer_number=view.customer_number,
        customer_name=view.customer_name,
        state=view.state,
        period_months=view.period_months,
        signed_on=view.signed_on,
        subscription_start=view.subscription_start,
        subscription_end=view.subscription_end,
        sites=view.sites,
        renewal_of=view.renewal_of,
    )


def _day(line: RuleLine | None) -> dt.date | None:
    return line.value if line is not None and isinstance(line.value, dt.date) else None


def contract_out(view: ContractDetail) -> ContractOut:
    contract = view.contract
    fee = view.fee
    rules = {
        name: rule_out(line)
        for name, line in (
            ("installation_deadline", view.installation_deadline),
            ("credentials_due", view.credentials_due),
            ("subscription_start", view.subscription_start),
            ("subscription_end", view.subscription_end),
            ("expiry_notice", view.expiry_notice),
        )
        if line is not None
    }
    return ContractOut(
        number=contract.number,
        customer_number=view.summary.customer_number,
        customer_name=view.summary.customer_name,
        state=contract.state,
        state_bg=view.summary.state_bg,
        period_months=contract.period_months,
        contact_email=contract.email,
        off_premises=contract.off_premises,
        renewal_of=contract.renewal_of,
        renewed_by=view.renewed_by,
        signed_on=contract.signed_on,
        in_force_on=contract.in_force_on,
        installed_on=contract.installed_on,
        protocols_signed_on=contract.protocols_signed_on,
        credentials_given_on=contract.credentials_given_on,
        subscription_start=contract.subscription_start,
        subscription_end=_day(view.subscription_end) or contract.subscription_end,
        expiry_notice_by=_day(view.expiry_notice),
        installation_deadline=_day(view.installation_deadline),
        terminated_on=contract.terminated_on,
        termination_ground=(
            contract.termination_ground.value if contract.termination_ground else None
        ),
        free_months=view.free_months,
        sites=[
            SiteOut(
                site_id=s.site_id,
                name=s.name,
                voltage=s.voltage,
                multimeters=s.multimeters,
                left_on=s.left_on,
            )
            for s in view.sites
        ],
        price_list=(
            PriceListRef(
                id=fee.price_list_id, name=fee.price_list_name, effective_from=fee.price_list_from
            )
            if fee is not None and fee.fixed
            else None
        ),
        fee=(
            None
            if fee is None
            else FeeOut(
                lines=[
                    FeeLineOut(
                        site_id=line.site_id,
                        voltage=line.voltage,
                        multimeters=line.multimeters,
                        unit_price=line.unit_price,
                        additional_devices=line.additional_devices,
                        additional_device_price=line.additional_device_price,
                        total=line.total,
                    )
                    for line in fee.lines
                ],
                total=fee.total,
                period_months=fee.period_months,
                price_list_id=fee.price_list_id,
                price_list_name=fee.price_list_name,
                price_list_from=fee.price_list_from,
                fixed=fee.fixed,
                rule=rule_out(fee.rule),
                kept=rule_out(fee.kept) if fee.kept is not None else None,
            )
        ),
        rules=rules,
        postponements=[
            PostponementOut(found_on=p.found_on, mismatch=p.kind, settled_on=p.settled_on)
            for p in view.postponements
        ],
        proposals=[
            ProposalOut(
                id=p.id,
                kind=p.kind,
                clause=p.clause,
                subject=p.subject,
                state=p.state,
                proposed_on=p.proposed_on,
                reason=Reasons(bg=p.reason_bg, en=p.reason_en),
            )
            for p in view.proposals
        ],
    )
