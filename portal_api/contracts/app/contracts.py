"""Contracts for staff and customers: list, read, draft (1.1, 1.2), sign (2.1, 4.2), renew (2.4).

Every state change goes through the domain's life cycle (``lifecycle.apply``): a
transition it refuses is a 409 with its reason. 1.2's refusal grounds are
reported, each explained, when a draft is made: refusing is the company's right,
so staff decide and the draft is kept either way. A signed contract keeps the
price list in force on its signing day for its whole term (4.2). A renewal is a
new contract (2.4) over the same sites, starting the month after the old one ends
(2.3b), at the prices of the day it is signed. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.contracts_common import (
    Actor,
    ContractAppError,
    RuleLine,
    audit,
    next_contract_number,
    refused,
)
from portal_api.contracts.app.contracts_views import (
    ELIGIBILITY_KEY,
    ContractDetail,
    ContractSummary,
    build_detail,
    summary,
)
from portal_api.contracts.db.billing_repository import BillingRepository
from portal_api.contracts.db.mapping import CUSTOMER_KIND
from portal_api.contracts.db.models import ContractRow, ContractSiteRow
from portal_api.contracts.db.records import ContractRecord
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import (
    Contract,
    ContractState,
    Site,
    VoltageLevel,
)
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.eligibility import Applicant, SupplyContract, check_eligibility
from portal_api.contracts.domain.lifecycle import Event, apply
from portal_api.contracts.domain.money import ZERO, cents
from portal_api.contracts.domain.prices import contract_prices
from portal_api.contracts.domain.term import renewal_start, subscription_end
from portal_api.db.models import Customer
from portal_api.db.models import Site as SiteRow
from portal_api.domain.workdays import WorkingDays

__all__ = ["IN_FORCE", "ContractService", "Draft", "DraftResult", "DraftSite"]

# A site can be in one contract in force at a time: two would bill it twice (4.1).
IN_FORCE = (
    ContractState.DRAFT,
    ContractState.SIGNED,
    ContractState.INSTALLATION,
    ContractState.ACTIVE,
    ContractState.SUSPENDED,
)
_IN_SERVICE = (ContractState.ACTIVE, ContractState.SUSPENDED)


@dataclass(frozen=True)
class DraftSite:
    """A site of the customer to name in the contract; ``voltage`` None: as recorded."""

    site_id: str
    multimeters: int = 1
    voltage: VoltageLevel | None = None


@dataclass(frozen=True)
class Draft:
    """A new contract (1.1) and what staff know for 1.2 on the planned signing day."""

    customer_number: str
    sites: tuple[DraftSite, ...]
    period_months: int
    contact_email: str
    off_premises: bool = False
    signing_on: dt.date | None = None  # 1.2 is judged on this day (default: today)
    missing_documents: tuple[str, ...] = ()
    sites_without_operator_contract: tuple[str, ...] = ()
    equipment_misuse: bool = False
    supply_contract_active: bool = True
    supply_contract_ends_on: dt.date | None = None
    other_overdue_debt: Decimal = ZERO  # other services of the company, known to staff


@dataclass(frozen=True)
class DraftResult:
    detail: ContractDetail
    eligibility: RuleLine  # 1.2 as a whole
    refusals: tuple[RuleLine, ...]  # each ground on its own


class ContractService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        calendar: WorkingDays,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar

    def today(self) -> dt.date:
        return local_date(self.clock())

    # -- reading ----------------------------------------------------------------------

    def summaries(
        self,
        *,
        customer_id: int | None = None,
        state: ContractState | None = None,
        customer_number: str | None = None,
        signed_only: bool = False,
    ) -> list[ContractSummary]:
        """Contracts by number; a customer's own (``customer_id``) or filtered for staff.

        ``signed_only``: without drafts (2.1: a contract exists from its signing; a draft
        and its 1.2 check are the service centre's working papers).
        """
        with self.sessions() as session:
            statement = select(ContractRow.number).order_by(ContractRow.number)
            if customer_id is not None:
                statement = statement.where(ContractRow.customer_id == customer_id)
            if signed_only:
                statement = statement.where(ContractRow.state != ContractState.DRAFT)
            if state is not None:
                statement = statement.where(ContractRow.state == state)
            if customer_number:
                statement = statement.join(Customer, Customer.id == ContractRow.customer_id).where(
                    Customer.number == customer_number.strip()
                )
            repository = ContractRepository(session)
            out = []
            for number in session.scalars(statement).all():
                record = repository.contract(number)
                assert record is not None
                out.append(summary(session, record))
            return out

    def detail(self, number: str) -> ContractDetail:
        with self.sessions() as session:
            return build_detail(session, self._load(session, number), self.today(), self.calendar)

    @staticmethod
    def _load(session: Session, number: str) -> ContractRecord:
        record = ContractRepository(session).contract(number)
        if record is None:
            raise ContractAppError(404, "Няма такъв договор.", "No such contract.")
        return record

    # -- 1.1, 1.2 a draft -------------------------------------------------------------

    def create_draft(self, draft: Draft, actor: Actor) -> DraftResult:
        with self.sessions.begin() as session:
            return self.create_draft_in(session, draft, actor)

    def create_draft_in(self, session: Session, draft: Draft, actor: Actor) -> DraftResult:
        """The draft inside the caller's transaction (MyEnergy ordered online: with its
        request; its quote: the same code in a transaction that is rolled back)."""
        signing_on = draft.signing_on or self.today()
        customer = session.scalars(
            select(Customer).where(Customer.number == draft.customer_number.strip())
        ).one_or_none()
        if customer is None:
            raise ContractAppError(
                400, "Няма клиент с този клиентски номер.", "No customer has this number."
            )
        sites = self._draft_sites(session, customer, draft.sites)
        try:
            contract = Contract(
                number=next_contract_number(session, signing_on.year),
                customer_kind=CUSTOMER_KIND[customer.kind],
                sites=sites,
                period_months=draft.period_months,
                email=draft.contact_email.strip(),
                off_premises=draft.off_premises,
            )
        except RuleError as error:
            raise ContractAppError(
                400, f"Договорът не е допустим: {error}.", f"Invalid contract: {error}."
            ) from None
        applicant = Applicant(
            missing_documents=tuple(d for d in draft.missing_documents if d.strip()),
            sites_without_operator_contract=tuple(draft.sites_without_operator_contract),
            overdue_debt=cents(
                self._overdue(session, customer.id, signing_on) + draft.other_overdue_debt
            ),
            equipment_misuse=draft.equipment_misuse,
            supply_contract=SupplyContract(
                active=draft.supply_contract_active, ends_on=draft.supply_contract_ends_on
            ),
        )
        try:
            eligibility = check_eligibility(applicant, signing_on)
        except RuleError as error:
            raise ContractAppError(400, str(error), str(error)) from None
        ContractRepository(session).save_contract(ContractRecord(contract, customer.id))
        audit(
            session,
            at=self.clock(),
            actor=actor,
            action="contract.draft",
            number=contract.number,
            detail={
                "customer_number": customer.number,
                "sites": [s.site_id for s in sites],
                "period_months": contract.period_months,
                "signing_on": signing_on.isoformat(),
                "refusals_1_2": [r.value.value for r in eligibility.value],
                # What the staff page shows of the 1.2 check made at drafting.
                ELIGIBILITY_KEY: [
                    {"ground": r.value.value, "bg": r.reason_bg, "en": r.reason_en}
                    for r in eligibility.value
                ],
            },
        )
        detail = build_detail(
            session, self._load(session, contract.number), self.today(), self.calendar
        )
        return DraftResult(
            detail=detail,
            eligibility=RuleLine.of(eligibility),
            refusals=tuple(RuleLine.of(r) for r in eligibility.value),
        )

    def _draft_sites(
        self, session: Session, customer: Customer, wanted: tuple[DraftSite, ...]
    ) -> tuple[Site, ...]:
        """1.1: the customer's own sites, at their recorded voltage, not in another contract."""
        if not wanted:
            raise ContractAppError(
                400, "Договорът посочва поне един обект (т. 1.1).", "Name at least one site (1.1)."
            )
        sites = []
        for item in wanted:
            row = session.get(SiteRow, item.site_id)
            if row is None or row.customer_id != customer.id:
                raise ContractAppError(
                    400,
                    f"Обект {item.site_id} не е на този клиент.",
                    f"Site {item.site_id} is not one of this customer's sites.",
                )
            voltage = VoltageLevel(row.voltage.value)
            if item.voltage is not None and item.voltage is not voltage:
                raise ContractAppError(
                    400,
                    f"Обект {item.site_id} е присъединен на {voltage.value}, не на "
                    f"{item.voltage.value}.",
                    f"Site {item.site_id} is connected at {voltage.value}, not "
                    f"{item.voltage.value}.",
                )
            if item.multimeters < 1:
                raise ContractAppError(
                    400,
                    f"Обект {item.site_id}: поне един мултимер (т. 4.1).",
                    f"Site {item.site_id}: at least one multimeter (4.1).",
                )
            taken = session.scalar(
                select(ContractRow.number)
                .join(ContractSiteRow, ContractSiteRow.contract_id == ContractRow.id)
                .where(
                    ContractSiteRow.site_id == item.site_id,
                    ContractSiteRow.left_on.is_(None),
                    ContractRow.state.in_(IN_FORCE),
                )
            )
            if taken is not None:
                raise ContractAppError(
                    409,
                    f"Обект {item.site_id} вече е в договор {taken}.",
                    f"Site {item.site_id} is already in contract {taken}.",
                )
            sites.append(Site(item.site_id, voltage, item.multimeters))
        return tuple(sites)

    @staticmethod
    def _overdue(session: Session, customer_id: int, on: dt.date) -> Decimal:
        """1.2: what the customer owes the company past its due dates (fees and interest)."""
        billing = BillingRepository(session)
        total = ZERO
        for number in session.scalars(
            select(ContractRow.number).where(ContractRow.customer_id == customer_id)
        ):
            total += sum(
                (item.balance for item in billing.ledger(number).items if item.due < on), ZERO
            )
        return total

    def refuse_draft_in(
        self, session: Session, number: str, actor: Actor, reason: str
    ) -> tuple[str, ...]:
        """1.2: the company refuses to sign; the draft, its working paper (2.1), is deleted.

        Its sites are free again (the ids are answered); the audit log keeps the draft,
        the refusal and its reason, and ``next_contract_number`` never hands the number
        out again. A signed contract is not a draft any more: it ends under its own
        terms (7.x), so this is a 409.
        """
        record = self._load(session, number)
        if record.contract.state is not ContractState.DRAFT:
            raise ContractAppError(
                409,
                f"Договор {number} вече е подписан: той се прекратява по реда на Общите "
                "условия (раздел 7), не с отказ.",
                f"Contract {number} is already signed: it ends under the General Terms "
                "(section 7), not by a refusal.",
            )
        row = session.scalars(select(ContractRow).where(ContractRow.number == number)).one()
        sites = tuple(s.site_id for s in record.contract.sites)
        for site_row in session.scalars(
            select(ContractSiteRow).where(ContractSiteRow.contract_id == row.id)
        ):
            session.delete(site_row)
        session.flush()  # the sites first: SQLite may run without ON DELETE CASCADE
        session.delete(row)
        session.flush()
        audit(
            session,
            at=self.clock(),
            actor=actor,
            action="contract.draft_refused",
            number=number,
            detail={"sites": list(sites), "reason": reason.strip()[:2000], "clause": "1.2"},
        )
        return sites

    # -- 2.1, 4.2 signing ---------------------------------------------------------------

    def _check_past(self, day: dt.date, what_bg: str, what_en: str) -> None:
        if day > self.today():
            raise ContractAppError(
                400,
                f"{what_bg} не може да е в бъдещето ({day:%d.%m.%Y}).",
                f"The {what_en} cannot be in the future ({day.isoformat()}).",
            )

    def sign(
        self, number: str, signed_on: dt.date, actor: Actor
    ) -> tuple[ContractDetail, RuleLine]:
        """2.1: in force from signing; 4.2: the price list of that day is kept for the term."""
        self._check_past(signed_on, "Датата на подписване", "signing date")
        with self.sessions.begin() as session:
            record = self._load(session, number)
            moved = apply(record.contract, Event.SIGN, signed_on)
            if not moved.allowed:
                raise refused(moved)
            repository = ContractRepository(session)
            try:
                kept = contract_prices(repository.price_book(), signed_on)
            except RuleError as error:
                raise ContractAppError(
                    409,
                    f"Няма ценоразпис в сила на {signed_on:%d.%m.%Y} (т. 4.1): {error}.",
                    f"No price list is in force on {signed_on.isoformat()} (4.1): {error}.",
                ) from None
            price_list_id = repository.price_list_id(kept.value)
            repository.save_contract(
                ContractRecord(
                    moved.value,
                    record.customer_id,
                    price_list_id=price_list_id,
                    free_months=record.free_months,
                    left_on=record.left_on,
                )
            )
            audit(
                session,
                at=self.clock(),
                actor=actor,
                action="contract.sign",
                number=number,
                detail={"signed_on": signed_on.isoformat(), "price_list_id": price_list_id},
            )
            detail = build_detail(session, self._load(session, number), self.today(), self.calendar)
        return detail, RuleLine.of(kept)

    # -- 2.4 renewal ----------------------------------------------------------------------

    def renew(
        self,
        number: str,
        signed_on: dt.date,
        actor: Actor,
        *,
        period_months: int | None = None,
        off_premises: bool = False,
    ) -> tuple[ContractDetail, RuleLine]:
        """2.4: a new contract over the same sites from the month after the old one ends."""
        self._check_past(signed_on, "Датата на подписване", "signing date")
        with self.sessions.begin() as session:
            old = self._load(session, number)
            end = old.contract.subscription_end
            if old.contract.state not in _IN_SERVICE or end is None:
                raise ContractAppError(
                    409,
                    "Подновява се само договор с действащ абонамент (т. 2.4).",
                    "Only a contract with a running subscription can be renewed (2.4).",
                )
            already = session.scalar(
                select(ContractRow.number).where(ContractRow.renewal_of == number)
            )
            if already is not None:
                raise ContractAppError(
                    409,
                    f"Договорът вече е подновен с договор {already}.",
                    f"The contract was already renewed by contract {already}.",
                )
            start = renewal_start(end, signed_on)
            if not start.allowed:
                raise refused(start)
            repository = ContractRepository(session)
            try:
                kept = contract_prices(repository.price_book(), signed_on)
            except RuleError as error:
                raise ContractAppError(
                    409,
                    f"Няма ценоразпис в сила на {signed_on:%d.%m.%Y}: {error}.",
                    f"No price list is in force on {signed_on.isoformat()}: {error}.",
                ) from None
            period = period_months or old.contract.period_months
            try:
                draft = Contract(
                    number=next_contract_number(session, signed_on.year),
                    customer_kind=old.contract.customer_kind,
                    sites=old.sites_on(start.value),
                    period_months=period,
                    email=old.contract.email,
                    off_premises=off_premises,
                    renewal_of=number,
                )
            except RuleError as error:
                raise ContractAppError(
                    400, f"Подновяването не е допустимо: {error}.", f"Invalid renewal: {error}."
                ) from None
            moved = apply(draft, Event.SIGN, signed_on)
            if not moved.allowed:
                raise refused(moved)
            new = moved.value.with_(
                subscription_start=start.value,
                subscription_end=subscription_end(start.value, period).value,
            )
            repository.save_contract(
                ContractRecord(
                    new,
                    old.customer_id,
                    price_list_id=repository.price_list_id(kept.value),
                )
            )
            audit(
                session,
                at=self.clock(),
                actor=actor,
                action="contract.renew",
                number=new.number,
                detail={
                    "renewal_of": number,
                    "signed_on": signed_on.isoformat(),
                    "subscription_start": start.value.isoformat(),
                    "period_months": period,
                },
            )
            detail = build_detail(
                session, self._load(session, new.number), self.today(), self.calendar
            )
        return detail, RuleLine.of(start)
