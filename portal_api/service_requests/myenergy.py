"""Ordering MyEnergy online (issue 6): the quote, the order and its refusal.

An order names the customer's own sites that no contract in force holds, the
multimeters per site (one is included in a site's unit price; each further one, for
another board or a producing installation on the same site, adds the price list's
"additional device" price, 4.1), the subscription period (2.2), the contact e-mail
and what only the customer can declare for 1.2: whether each site has a contract
with the network operator and whether a supply contract is in force, until when.
Overdue debts are the engine's to compute (``ContractService._overdue``).

``quote`` runs exactly the code of ``order`` — the contract engine's draft
(``create_draft_in``) — inside a transaction that is rolled back, so the customer
sees what staff will see: every 1.2 ground, allowed or not, with its reason; the
monthly fee per site and in total at the price list in force today (fixed only
when the contract is signed, 4.2); the period and what it costs over the term.
A ground that lets the company refuse does not stop the order: refusing is the
company's right (1.2), and staff decide.

``order`` creates the draft and the request in one transaction; from then on the
request follows the contract (``follow``). ``reject`` is the staff's refusal while
the contract is still a draft: the draft is deleted (2.1: the centre's working
paper; its sites are free again) and the request ends with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portal_api.contracts.app.contracts import (
    IN_FORCE,
    ContractService,
    Draft,
    DraftResult,
    DraftSite,
)
from portal_api.contracts.app.contracts_common import Actor, ContractAppError, RuleLine
from portal_api.contracts.app.contracts_views import FeeView, SiteLine
from portal_api.contracts.db.models import ContractRow, ContractSiteRow
from portal_api.contracts.db.repository import ContractRepository
from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS, VoltageLevel
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.eligibility import Refusal
from portal_api.contracts.domain.installation import installation_deadline
from portal_api.contracts.domain.prices import PriceList
from portal_api.contracts.domain.term import subscription_end, subscription_start
from portal_api.db.models import Customer, User
from portal_api.db.models import Site as SiteRow
from portal_api.domain.workdays import WorkingDays
from portal_api.service_requests.catalogue import RequestState, ServiceKind
from portal_api.service_requests.models import ServiceRequestRow
from portal_api.service_requests.workflow import RequestError, RequestService, RequestView

__all__ = [
    "MAX_MULTIMETERS",
    "GroundLine",
    "MyEnergyService",
    "Order",
    "OrderForm",
    "OrderSite",
    "Quote",
    "SiteChoice",
    "Supply",
]

MAX_MULTIMETERS = 10  # per site: a bound for the form; more is a project, not an order
FieldErrors = dict[str, tuple[str, str]]


class Supply(StrEnum):
    """The customer's declaration about its electricity supply contract (1.2)."""

    INDEFINITE = "indefinite"  # in force, for an indefinite term
    UNTIL = "until"  # in force until a day
    NONE = "none"  # none in force


@dataclass(frozen=True)
class OrderSite:
    site_id: str
    multimeters: int = 1
    operator_contract: bool = False  # declared: the site has a network operator contract


@dataclass(frozen=True)
class Order:
    sites: tuple[OrderSite, ...]
    period_months: int
    contact_email: str
    supply: Supply
    supply_ends_on: dt.date | None = None

    def as_fields(self) -> dict[str, Any]:
        """The order as plain JSON (the request's fields)."""
        return {
            "sites": [
                {
                    "site_id": s.site_id,
                    "multimeters": s.multimeters,
                    "operator_contract": s.operator_contract,
                }
                for s in self.sites
            ],
            "period_months": self.period_months,
            "supply_contract": self.supply.value,
            "supply_contract_ends_on": (
                self.supply_ends_on.isoformat()
                if self.supply is Supply.UNTIL and self.supply_ends_on is not None
                else None
            ),
        }


@dataclass(frozen=True)
class SiteChoice:
    """A site of the customer on the order form; ``taken_by``: the contract in force."""

    site_id: str
    name: str
    address: str
    settlement: str
    voltage: str
    taken_by: str | None

    @property
    def free(self) -> bool:
        return self.taken_by is None


@dataclass(frozen=True)
class OrderForm:
    """What the order form offers: the sites, the periods, the current prices."""

    customer_number: str
    customer_email: str
    sites: tuple[SiteChoice, ...]
    periods: tuple[int, ...]
    prices: PriceList | None  # in force today; None: nothing can be priced yet

    def unit_price(self, voltage: str, period: int) -> Decimal | None:
        if self.prices is None:
            return None
        return self.prices.items.get((VoltageLevel(voltage), period))


@dataclass(frozen=True)
class GroundLine:
    """One ground of 1.2: ``allowed`` False when it lets the company refuse, and why."""

    ground: Refusal
    allowed: bool
    reason_bg: str
    reason_en: str

    def reason(self, lang: str) -> str:
        return self.reason_bg if lang == "bg" else self.reason_en


# What each 1.2 ground checks, said when it does not apply (the engine reports refusals).
_CLEAR: dict[Refusal, tuple[str, str]] = {
    Refusal.MISSING_DATA: (
        "Данните, нужни за договора, са предоставени с поръчката.",
        "The data the contract needs are given with the order.",
    ),
    Refusal.NO_OPERATOR_CONTRACT: (
        "Декларирахте договор с мрежовия оператор за всеки обект.",
        "You declared a contract with the network operator for every site.",
    ),
    Refusal.OVERDUE_DEBTS: (
        "Нямате просрочени задължения към дружеството.",
        "You have no overdue debts to the company.",
    ),
    Refusal.EQUIPMENT_MISUSE: (
        "Няма данни за нерегламентирано използване на оборудване.",
        "No misuse of installed equipment is on record.",
    ),
    Refusal.NO_SUPPLY_CONTRACT: (
        "Декларирахте действащ договор за доставка на електрическа енергия.",
        "You declared an electricity supply contract in force.",
    ),
    Refusal.SUPPLY_CONTRACT_EXPIRING: (
        "Договорът за доставка не изтича в рамките на 2 месеца от подписването.",
        "The supply contract does not expire within 2 months of signing.",
    ),
}


@dataclass(frozen=True)
class Quote:
    """What the order would be, exactly as the draft shows it to staff."""

    order: Order
    signing_on: dt.date  # 1.2 is judged today, as if signed today
    sites: tuple[SiteLine, ...]
    eligibility: RuleLine  # 1.2 as a whole
    grounds: tuple[GroundLine, ...]  # every ground, allowed or not
    fee: FeeView  # 4.1 at today's price list (4.2: fixed at signing)
    term_total: Decimal  # the monthly fee times the period, without VAT
    installation_by: RuleLine  # 1.3, if signed today
    earliest_start: RuleLine  # 2.3a, if the credentials came today
    earliest_end: RuleLine  # 2.2

    @property
    def allowed(self) -> bool:
        return self.eligibility.allowed


class MyEnergyService:
    """The online order over the contract engine and the requests."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], dt.datetime],
        calendar: WorkingDays,
        base_url: str,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar
        self.contracts = ContractService(sessions, clock, calendar)
        self.requests = RequestService(sessions, clock, base_url)

    def today(self) -> dt.date:
        return local_date(self.clock())

    # -- the form -------------------------------------------------------------------------

    def form(self, customer_id: int) -> OrderForm:
        """The customer's sites (each free or held by which contract) and today's prices."""
        with self.sessions() as session:
            customer = self._customer(session, customer_id)
            rows = session.scalars(
                select(SiteRow).where(SiteRow.customer_id == customer_id).order_by(SiteRow.id)
            ).all()
            sites = tuple(
                SiteChoice(
                    site_id=row.id,
                    name=row.name,
                    address=row.address,
                    settlement=row.settlement,
                    voltage=row.voltage.value,
                    taken_by=_taken_by(session, row.id),
                )
                for row in rows
            )
            try:
                prices: PriceList | None = (
                    ContractRepository(session).price_book().at(self.today()).value
                )
            except RuleError:
                prices = None
            return OrderForm(
                customer_number=customer.number,
                customer_email=customer.email or "",
                sites=sites,
                periods=tuple(SUBSCRIPTION_PERIODS),
                prices=prices,
            )

    # -- quote and order ------------------------------------------------------------------

    def quote(self, customer_id: int, order: Order, *, actor_user_id: int | None = None) -> Quote:
        """The order's draft made and thrown away: the grounds and fees staff will see."""
        with self.sessions() as session:
            try:
                actor = actor_user_id or self._portal_user(session, customer_id)
                result = self._draft(session, customer_id, order, Actor(actor))
                return self._quote(order, result)
            finally:
                session.rollback()  # the draft, its number and its audit entry are not kept

    def order(
        self, customer_id: int, actor_user_id: int, order: Order, *, ip: str | None = None
    ) -> RequestView:
        """The draft contract and the request (step "received", mailed) in one transaction."""
        for attempt in range(3):
            try:
                with self.sessions.begin() as session:
                    result = self._draft(session, customer_id, order, Actor(actor_user_id, ip))
                    fields = order.as_fields()
                    quoted = self._quote(order, result)
                    # What the customer was shown when ordering, for staff to compare.
                    fields["quoted"] = {
                        "price_list": quoted.fee.price_list_name,
                        "monthly_fee": str(quoted.fee.total),
                        "grounds_1_2": [g.ground.value for g in quoted.grounds if not g.allowed],
                    }
                    row = self.requests.submit_in(
                        session,
                        customer_id=customer_id,
                        actor_user_id=actor_user_id,
                        kind=ServiceKind.MYENERGY,
                        fields=fields,
                        contact_email=order.contact_email,
                        contract_number=result.detail.number,
                    )
                    number = row.number
                break
            except IntegrityError:
                # Two orders took the same next contract or request number; the loser retries.
                if attempt == 2:
                    raise
        return self.requests.one(number, customer_id=customer_id)

    def _draft(self, session: Session, customer_id: int, order: Order, actor: Actor) -> DraftResult:
        customer = self._customer(session, customer_id)
        clean = self._validate(session, customer_id, order)
        draft = Draft(
            customer_number=customer.number,
            sites=tuple(DraftSite(s.site_id, s.multimeters) for s in clean.sites),
            period_months=clean.period_months,
            contact_email=clean.contact_email,
            sites_without_operator_contract=tuple(
                s.site_id for s in clean.sites if not s.operator_contract
            ),
            supply_contract_active=clean.supply is not Supply.NONE,
            supply_contract_ends_on=clean.supply_ends_on if clean.supply is Supply.UNTIL else None,
        )
        try:
            return self.contracts.create_draft_in(session, draft, actor)
        except ContractAppError as error:
            raise RequestError(error.status, error.reason_bg, error.reason_en) from None

    def _quote(self, order: Order, result: DraftResult) -> Quote:
        detail = result.detail
        if detail.fee is None:
            raise RequestError(
                409,
                "Няма ценоразпис в сила: поръчката не може да бъде остойностена (т. 4.1).",
                "No price list is in force: the order cannot be priced (4.1).",
            )
        refusing = {line.plain_value: line for line in result.refusals}
        grounds = tuple(
            GroundLine(
                ground, False, refusing[ground.value].reason_bg, refusing[ground.value].reason_en
            )
            if ground.value in refusing
            else GroundLine(ground, True, *_CLEAR[ground])
            for ground in Refusal
        )
        today = self.today()
        start = subscription_start(today)
        return Quote(
            order=order,
            signing_on=today,
            sites=detail.sites,
            eligibility=result.eligibility,
            grounds=grounds,
            fee=detail.fee,
            term_total=detail.fee.total * detail.contract.period_months,
            installation_by=RuleLine.of(
                installation_deadline(today, len(detail.sites), self.calendar)
            ),
            earliest_start=RuleLine.of(start),
            earliest_end=RuleLine.of(subscription_end(start.value, detail.contract.period_months)),
        )

    # -- staff refusal ----------------------------------------------------------------------

    def reject(
        self, number: str, *, actor_user_id: int, reason: str, ip: str | None = None
    ) -> RequestView:
        """Staff refuse the order (1.2) while its contract is a draft: draft deleted, request
        rejected with ``reason``. After signing: 409, the contract ends under its own terms."""
        if not reason.strip():
            raise RequestError(
                400,
                "Посочете причината за отказа.",
                "Give the reason for the rejection.",
                {"reason": ("Задължително поле.", "Required.")},
            )
        with self.sessions.begin() as session:
            row = session.scalars(
                select(ServiceRequestRow).where(ServiceRequestRow.number == number.strip())
            ).one_or_none()
            if row is None:
                raise RequestError(404, "Няма такава заявка.", "No such request.")
            if row.kind is not ServiceKind.MYENERGY:
                raise RequestError(
                    409,
                    "Това не е заявка за MyEnergy.",
                    "This is not a MyEnergy request.",
                )
            if row.state is not RequestState.OPEN:
                raise RequestError(409, "Заявката е приключена.", "The request is closed.")
            exists = row.contract_number is not None and (
                session.scalar(
                    select(ContractRow.id).where(ContractRow.number == row.contract_number)
                )
                is not None
            )
            if exists:
                assert row.contract_number is not None
                try:
                    self.contracts.refuse_draft_in(
                        session, row.contract_number, Actor(actor_user_id, ip), reason
                    )
                except ContractAppError as error:
                    raise RequestError(error.status, error.reason_bg, error.reason_en) from None
            self.requests.reject_in(session, row, actor_user_id=actor_user_id, reason=reason)
        return self.requests.one(number)

    def ordered_draft(self, customer_id: int, contract_number: str) -> bool:
        """Whether ``contract_number`` is a draft this customer ordered online (its pages
        show it: the customer made it, unlike the centre's other working papers)."""
        with self.sessions() as session:
            return _ordered(session, customer_id, contract_number)

    def ordered_drafts(self, customer_id: int) -> set[str]:
        """The numbers of the contracts this customer ordered online (drafts among them)."""
        with self.sessions() as session:
            return {
                number
                for number in session.scalars(
                    select(ServiceRequestRow.contract_number).where(
                        ServiceRequestRow.customer_id == customer_id,
                        ServiceRequestRow.kind == ServiceKind.MYENERGY,
                        ServiceRequestRow.contract_number.is_not(None),
                    )
                )
                if number is not None
            }

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _customer(session: Session, customer_id: int) -> Customer:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise RequestError(400, "Няма такъв клиент.", "No such customer.")
        return customer

    @staticmethod
    def _portal_user(session: Session, customer_id: int) -> int:
        """Who the quote's (discarded) audit entry names: the customer's portal user."""
        user_id = session.scalar(
            select(User.id).where(User.customer_id == customer_id).order_by(User.id).limit(1)
        )
        if user_id is None:
            raise RequestError(400, "Няма такъв клиент.", "No such customer.")
        return user_id

    def _validate(self, session: Session, customer_id: int, order: Order) -> Order:
        """Every field checked at once: a 400 with the message of each field that is wrong."""
        errors: FieldErrors = {}
        if not order.sites:
            errors["sites"] = (
                "Изберете поне един свободен обект (т. 1.1).",
                "Choose at least one free site (1.1).",
            )
        seen: set[str] = set()
        for item in order.sites:
            if item.site_id in seen:
                errors["sites"] = ("Обект е избран два пъти.", "A site is chosen twice.")
            seen.add(item.site_id)
            row = session.get(SiteRow, item.site_id)
            if row is None or row.customer_id != customer_id:
                # Another customer's site answers like an unknown one.
                errors["sites"] = (
                    f"Обект {item.site_id} не е ваш.",
                    f"Site {item.site_id} is not one of your sites.",
                )
                continue
            taken = _taken_by(session, item.site_id)
            if taken is not None:
                errors["sites"] = (
                    f"Обект {item.site_id} вече е в договор {taken}.",
                    f"Site {item.site_id} is already in contract {taken}.",
                )
            if not 1 <= item.multimeters <= MAX_MULTIMETERS:
                errors[f"multimeters_{item.site_id}"] = (
                    f"Мултимерите на обект са от 1 до {MAX_MULTIMETERS}.",
                    f"A site has 1 to {MAX_MULTIMETERS} multimeters.",
                )
        if order.period_months not in SUBSCRIPTION_PERIODS:
            periods = " или ".join(str(p) for p in SUBSCRIPTION_PERIODS)
            errors["period_months"] = (
                f"Абонаментният период е {periods} месеца (т. 2.2).",
                f"The subscription period is {' or '.join(map(str, SUBSCRIPTION_PERIODS))} "
                "months (2.2).",
            )
        email = ""
        try:
            email = validate_email(
                order.contact_email.strip(), check_deliverability=False
            ).normalized
        except EmailNotValidError:
            errors["contact_email"] = (
                "Въведете валиден адрес на електронна поща.",
                "Enter a valid e-mail address.",
            )
        if order.supply is Supply.UNTIL and order.supply_ends_on is None:
            errors["supply_contract_ends_on"] = (
                "Посочете до кога е в сила договорът за доставка.",
                "Give the day the supply contract ends.",
            )
        if errors:
            raise RequestError(
                400,
                "Поръчката има грешки: поправете отбелязаните полета.",
                "The order has errors: correct the fields marked.",
                errors,
            )
        return Order(
            sites=order.sites,
            period_months=order.period_months,
            contact_email=email,
            supply=order.supply,
            supply_ends_on=order.supply_ends_on if order.supply is Supply.UNTIL else None,
        )


def _taken_by(session: Session, site_id: str) -> str | None:
    """The contract in force that holds ``site_id`` (1.1: one at a time), if any."""
    return session.scalar(
        select(ContractRow.number)
        .join(ContractSiteRow, ContractSiteRow.contract_id == ContractRow.id)
        .where(
            ContractSiteRow.site_id == site_id,
            ContractSiteRow.left_on.is_(None),
            ContractRow.state.in_(IN_FORCE),
        )
    )


def _ordered(session: Session, customer_id: int, contract_number: str) -> bool:
    return (
        session.scalar(
            select(ServiceRequestRow.id).where(
                ServiceRequestRow.customer_id == customer_id,
                ServiceRequestRow.kind == ServiceKind.MYENERGY,
                ServiceRequestRow.contract_number == contract_number,
            )
        )
        is not None
    )
