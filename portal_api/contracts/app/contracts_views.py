"""A contract as staff and its customer read it: every line with the clause it comes from.

Built from the stored contract and the domain rules, never stored itself: the fee
breakdown (4.1) with the price list the contract keeps (4.2), the installation
deadline (1.3, extended by mismatches 1.4.2), the credentials' due date (1.6),
the subscription start (2.3a / 2.3b) and end (2.2, free months of 5.1 / 5.2), the
latest expiry notice day (2.5), and the engine's proposals about the contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal_api.contracts.app.contracts_common import RuleLine
from portal_api.contracts.app.contracts_postponements import postponements
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.models import ContractRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import STATE_BG, Contract, ContractState
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.fees import monthly_fee
from portal_api.contracts.domain.installation import Postponement, installation_deadline
from portal_api.contracts.domain.prices import PriceBook, PriceList, contract_prices
from portal_api.contracts.domain.term import (
    credentials_due,
    latest_expiry_notice,
    renewal_start,
    subscription_end,
    subscription_start,
)
from portal_api.db.models import AuditEntry, Customer
from portal_api.db.models import Site as SiteRow
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "ELIGIBILITY_KEY",
    "ContractDetail",
    "ContractSummary",
    "FeeLine",
    "FeeView",
    "Ground",
    "ProposalLine",
    "SiteLine",
    "build_detail",
    "summary",
]


# The audit detail of ``contract.draft`` that keeps the 1.2 grounds found at drafting.
ELIGIBILITY_KEY = "eligibility_1_2"


@dataclass(frozen=True)
class Ground:
    """A 1.2 ground for refusal found when the draft was made (the audit log keeps it)."""

    ground: str
    reason_bg: str
    reason_en: str

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


@dataclass(frozen=True)
class ContractSummary:
    number: str
    customer_id: int
    customer_number: str
    customer_name: str
    state: ContractState
    state_bg: str
    period_months: int
    signed_on: dt.date | None
    subscription_start: dt.date | None
    subscription_end: dt.date | None
    sites: int
    renewal_of: str | None


@dataclass(frozen=True)
class SiteLine:
    site_id: str
    name: str
    voltage: str
    multimeters: int
    left_on: dt.date | None


@dataclass(frozen=True)
class FeeLine:
    """One site's part of the monthly fee (4.1)."""

    site_id: str
    name: str
    voltage: str
    multimeters: int
    unit_price: Decimal
    additional_devices: int
    additional_device_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class FeeView:
    """The current monthly fee; ``fixed`` once signed (4.2), else today's prices (estimate)."""

    lines: tuple[FeeLine, ...]
    total: Decimal
    period_months: int
    price_list_id: int
    price_list_name: str
    price_list_from: dt.date
    fixed: bool
    rule: RuleLine  # 4.1
    kept: RuleLine | None  # 4.2, signed contracts


@dataclass(frozen=True)
class ProposalLine:
    id: int
    kind: str
    clause: str
    subject: str
    state: str
    proposed_on: dt.date
    reason_bg: str
    reason_en: str

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


@dataclass(frozen=True)
class ContractDetail:
    contract: Contract
    summary: ContractSummary
    free_months: int
    sites: tuple[SiteLine, ...]
    fee: FeeView | None
    installation_deadline: RuleLine | None  # 1.3 / 1.4.2
    credentials_due: RuleLine | None  # 1.6
    subscription_start: RuleLine | None  # 2.3a / 2.3b
    subscription_end: RuleLine | None  # 2.2 (+ 5.1 / 5.2)
    expiry_notice: RuleLine | None  # 2.5
    postponements: tuple[Postponement, ...]
    proposals: tuple[ProposalLine, ...]
    renewed_by: str | None
    price_list_id: int | None
    drafting_grounds: tuple[Ground, ...] | None = None  # 1.2 at drafting; None: not known

    @property
    def number(self) -> str:
        return self.contract.number

    @property
    def state(self) -> ContractState:
        return self.contract.state

    @property
    def customer_id(self) -> int:
        return self.summary.customer_id


def summary(session: Session, record: ContractRecord) -> ContractSummary:
    customer = session.get_one(Customer, record.customer_id)
    contract = record.contract
    return ContractSummary(
        number=contract.number,
        customer_id=record.customer_id,
        customer_number=customer.number,
        customer_name=customer.name,
        state=contract.state,
        state_bg=STATE_BG[contract.state],
        period_months=contract.period_months,
        signed_on=contract.signed_on,
        subscription_start=contract.subscription_start,
        subscription_end=contract.subscription_end,
        sites=len(record.sites_on(dt.date.max)),
        renewal_of=contract.renewal_of,
    )


def _fee(
    session: Session, record: ContractRecord, today: dt.date, names: dict[str, str]
) -> FeeView | None:
    repository = ContractRepository(session)
    contract = record.contract
    kept: RuleLine | None = None
    prices: PriceList
    if record.price_list_id is not None:
        prices = repository.price_list(record.price_list_id)
        price_list_id = record.price_list_id
        if contract.signed_on is not None:
            try:
                kept = RuleLine.of(contract_prices(repository.price_book(), contract.signed_on))
            except RuleError:
                kept = None
    else:
        try:
            book: PriceBook = repository.price_book()
            prices = book.at(today).value
        except RuleError:
            return None  # no price list in force yet: nothing to estimate with
        price_list_id = repository.price_list_id(prices)
    sites = record.sites_on(today)
    if not sites:
        return None
    decision = monthly_fee(sites, contract.period_months, prices)
    breakdown = decision.value
    return FeeView(
        lines=tuple(
            FeeLine(
                site_id=s.site_id,
                name=names.get(s.site_id, s.site_id),
                voltage=s.voltage.value,
                multimeters=s.multimeters,
                unit_price=s.unit_price,
                additional_devices=s.additional_devices,
                additional_device_price=s.additional_device_price,
                total=s.total,
            )
            for s in breakdown.sites
        ),
        total=breakdown.total,
        period_months=contract.period_months,
        price_list_id=price_list_id,
        price_list_name=prices.name,
        price_list_from=prices.effective_from,
        fixed=record.price_list_id is not None,
        rule=RuleLine.of(decision),
        kept=kept,
    )


def build_detail(
    session: Session, record: ContractRecord, today: dt.date, calendar: WorkingDays
) -> ContractDetail:
    """Everything the contract pages and the API show about one contract."""
    contract = record.contract
    site_ids = [s.site_id for s in contract.sites]
    names = {
        site_id: name
        for site_id, name in session.execute(
            select(SiteRow.id, SiteRow.name).where(SiteRow.id.in_(site_ids))
        )
    }
    found = postponements(session, contract.number)
    deadline: RuleLine | None = None
    deadline_day: dt.date | None = None
    if contract.signed_on is not None and contract.renewal_of is None:
        # 1.3 binds a first contract; a renewal's equipment is already in place (2.4).
        decision = installation_deadline(contract.signed_on, len(contract.sites), calendar, found)
        deadline, deadline_day = RuleLine.of(decision), decision.value
    due: RuleLine | None = None
    if contract.installed_on is not None and contract.protocols_signed_on is not None:
        due = RuleLine.of(
            credentials_due(
                contract.installed_on, contract.protocols_signed_on, calendar, deadline_day
            )
        )
    start: RuleLine | None = None
    if contract.renewal_of is not None:
        previous = ContractRepository(session).contract(contract.renewal_of)
        if previous is not None and previous.contract.subscription_end is not None:
            start = RuleLine.of(
                renewal_start(previous.contract.subscription_end, contract.signed_on)
            )
    elif contract.credentials_given_on is not None:
        start = RuleLine.of(subscription_start(contract.credentials_given_on))
    end: RuleLine | None = None
    notice: RuleLine | None = None
    if contract.subscription_start is not None:
        ends = subscription_end(
            contract.subscription_start, contract.period_months, record.free_months
        )
        end = RuleLine.of(ends)
        notice = RuleLine.of(latest_expiry_notice(ends.value))
    proposals = tuple(
        ProposalLine(
            id=d.id or 0,
            kind=d.kind.value,
            clause=d.clause,
            subject=d.subject,
            state=d.state.value,
            proposed_on=d.proposed_on,
            reason_bg=str(_reason(d.explanation, "bg")),
            reason_en=str(_reason(d.explanation, "en")),
        )
        for d in EventRepository(session).decisions(contract.number)
    )
    renewed_by = session.scalar(
        select(ContractRow.number).where(ContractRow.renewal_of == contract.number)
    )
    drafted = session.scalars(
        select(AuditEntry.detail)
        .where(
            AuditEntry.object_type == "contract",
            AuditEntry.object_id == contract.number,
            AuditEntry.action == "contract.draft",
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    ).first()
    grounds = (
        tuple(
            Ground(str(g["ground"]), str(g["bg"]), str(g["en"])) for g in drafted[ELIGIBILITY_KEY]
        )
        if drafted is not None and isinstance(drafted.get(ELIGIBILITY_KEY), list)
        else None
    )
    return ContractDetail(
        contract=contract,
        summary=summary(session, record),
        free_months=record.free_months,
        sites=tuple(
            SiteLine(
                site_id=s.site_id,
                name=names.get(s.site_id, s.site_id),
                voltage=s.voltage.value,
                multimeters=s.multimeters,
                left_on=record.left_on.get(s.site_id),
            )
            for s in contract.sites
        ),
        fee=_fee(session, record, today, names),
        installation_deadline=deadline,
        credentials_due=due,
        subscription_start=start,
        subscription_end=end,
        expiry_notice=notice,
        postponements=found,
        proposals=proposals,
        renewed_by=renewed_by,
        price_list_id=record.price_list_id,
        drafting_grounds=grounds,
    )


def _reason(explanation: object, lang: str) -> object:
    if isinstance(explanation, dict):
        reason = explanation.get("reason")
        if isinstance(reason, dict):
            return reason.get(lang, "")
    return ""
