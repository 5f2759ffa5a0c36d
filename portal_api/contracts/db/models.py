"""SQLAlchemy 2 tables of the contract engine (issue 5), in the portal's ``Base`` metadata.

One Alembic history (portal_api/migrations/) covers them with the portal's own
tables: portal_api/db/models.py imports this module at its end, so the models
the migrations are checked against always include these.

Money is ``Numeric(12, 2)`` euro through :class:`Money` (Decimal in, Decimal out,
whole cents only, never a float); calendar days are ``Date`` (Europe/Sofia local
days, as the domain uses them); instants are ``UTCDateTime``. The unique
constraints are what make the daily run idempotent: each comment says which
re-run it protects. Mapping to and from the domain's dataclasses is in
repository.py only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from ingest.registry.models import UTCDateTime
from portal_api.contracts.db.enums import (
    AllocationPart,
    DecisionKind,
    DecisionState,
    InterruptionKind,
    InterruptionSource,
    InvoiceState,
    NoticeKind,
)
from portal_api.contracts.domain.contract import ContractState, TerminationGround, VoltageLevel
from portal_api.db.models import EMAIL, Base

__all__ = [
    "ContractRow",
    "ContractSiteRow",
    "DecisionRow",
    "InterestAccrualRow",
    "InterruptionRow",
    "InterruptionSiteRow",
    "InvoiceNumberSeriesRow",
    "InvoiceRow",
    "Money",
    "NoticeRow",
    "PaymentAllocationRow",
    "PaymentRow",
    "PriceListItemRow",
    "PriceListRow",
]

CONTRACT_NUMBER = 32
INVOICE_NUMBER = 40
TAX_NUMBER = 10  # ЗДДС art. 114(1)(2): ten Arabic digits
SUBJECT = 64  # what a decision or notice is about: an invoice number, an interruption id ...
_CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """Euro amounts as ``NUMERIC(12, 2)``: whole cents, up to 9 999 999 999.99.

    A float or an amount with fractions of a cent is refused rather than rounded:
    rounding is the domain's job (money.cents, half-up), never the database's.
    SQLite keeps NUMERIC as a REAL; twelve significant digits survive the double
    exactly, and the value is re-quantised to the cent on the way out.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"money is a finite Decimal, got {value!r}")
        if value != value.quantize(_CENT):
            raise ValueError(f"money is stored in whole cents, got {value}")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(_CENT)


def _enum(enum: type[StrEnum], name: str, length: int = 32) -> Enum:
    """VARCHAR + CHECK (``ck_<table>_<name>``), like portal_api/db/models.py."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [member.value for member in e],
    )


def _utc(nullable: bool = False) -> Any:
    return mapped_column(UTCDateTime(), nullable=nullable)


# -- 4.1, 4.2 price lists ------------------------------------------------------------


class PriceListRow(Base):
    """One version of the price list (Ценоразпис), in force from ``effective_from`` (4.1)."""

    __tablename__ = "price_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)  # its published name
    # Unique: two versions in force from the same day would make 4.2 ambiguous.
    effective_from: Mapped[dt.date] = mapped_column(Date, unique=True)
    additional_device_price: Mapped[Decimal] = mapped_column(Money())

    __table_args__ = (
        CheckConstraint("additional_device_price >= 0", name="additional_device_price"),
    )


class PriceListItemRow(Base):
    """4.1: the monthly unit price of one site by voltage level and period (2.2)."""

    __tablename__ = "price_list_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"))
    voltage: Mapped[VoltageLevel] = mapped_column(_enum(VoltageLevel, "voltage", 8))
    period_months: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money())

    __table_args__ = (
        UniqueConstraint(
            "price_list_id", "voltage", "period_months", name="uq_price_list_items_item"
        ),
        CheckConstraint("period_months IN (12, 24)", name="period_months"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )


# -- 1.1, 2.x the contract and its sites ----------------------------------------------


class ContractRow(Base):
    """One individual contract (1.1); its prices are those of ``price_list_id`` (4.2)."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(CONTRACT_NUMBER), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    state: Mapped[ContractState] = mapped_column(_enum(ContractState, "contract_state"), index=True)
    period_months: Mapped[int] = mapped_column(Integer)  # 2.2
    contact_email: Mapped[str] = mapped_column(String(EMAIL))  # 1.6: credentials go here
    off_premises: Mapped[bool] = mapped_column(Boolean)  # 7.5в withdrawal right
    renewal_of: Mapped[str | None] = mapped_column(  # 2.4: the contract this one renews
        ForeignKey("contracts.number")
    )
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    in_force_on: Mapped[dt.date | None] = mapped_column(Date)  # 2.1: = signed_on (CHECK)
    installed_on: Mapped[dt.date | None] = mapped_column(Date)  # 1.4.2
    protocols_signed_on: Mapped[dt.date | None] = mapped_column(Date)  # 1.4.2, Appendix 2
    credentials_given_on: Mapped[dt.date | None] = mapped_column(Date)  # 1.6, 2.3a
    subscription_start: Mapped[dt.date | None] = mapped_column(Date)  # 2.3
    subscription_end: Mapped[dt.date | None] = mapped_column(Date)  # 2.2 + free months
    free_months: Mapped[int] = mapped_column(Integer)  # 5.1 / 5.2 compensation granted
    # 4.2: the price list version kept for the whole term; set when the contract is signed.
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_lists.id"))
    suspended_on: Mapped[dt.date | None] = mapped_column(Date)  # 4.4
    terminated_on: Mapped[dt.date | None] = mapped_column(Date)  # 7.x
    termination_ground: Mapped[TerminationGround | None] = mapped_column(
        _enum(TerminationGround, "termination_ground", 8)
    )
    dismantled_on: Mapped[dt.date | None] = mapped_column(Date)  # 7.7

    __table_args__ = (
        CheckConstraint("period_months IN (12, 24)", name="period_months"),
        CheckConstraint("free_months >= 0", name="free_months"),
        CheckConstraint(
            "(signed_on IS NULL AND in_force_on IS NULL) OR in_force_on = signed_on",
            name="in_force_on_signing",
        ),
        # A ground implies an end date; 1.5 (installation impossible) ends without one.
        CheckConstraint(
            "termination_ground IS NULL OR terminated_on IS NOT NULL", name="ground_has_end"
        ),
    )


class ContractSiteRow(Base):
    """A site named in a contract (1.1) with its multimeters (4.1).

    A site that changes owner or user (7.1з) keeps its row with ``left_on``: the
    contract goes on for the others and the fee history stays explainable.
    """

    __tablename__ = "contract_sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), index=True)
    voltage: Mapped[VoltageLevel] = mapped_column(_enum(VoltageLevel, "voltage", 8))
    multimeters: Mapped[int] = mapped_column(Integer)
    left_on: Mapped[dt.date | None] = mapped_column(Date)  # 7.1з

    __table_args__ = (
        UniqueConstraint(
            "contract_id", "site_id", name="uq_contract_sites_site"
        ),  # 1.1: a site is named once
        CheckConstraint("multimeters >= 1", name="multimeters"),
    )


# -- 4.3, 4.4 invoices, payments, interest -------------------------------------------


class InvoiceRow(Base):
    """One monthly fee (4.3, 3.1a): for ``month`` (its first day), due by ``due_on``.

    The PDF is kept as bytes so that every portal instance serves the same
    document; it is deferred (loaded only when asked for). ``number`` is the
    engine's key (contract and month); ``tax_number`` is the invoice's number under
    ЗДДС art. 114(1)(2): ten digits from the one gapless series
    (:class:`InvoiceNumberSeriesRow`), taken in the transaction that inserts the row.
    ``amount`` is the tax base (the monthly fee of 4.1, price-list prices without
    VAT) and ``vat`` the VAT on it: the customer owes ``amount + vat``
    (docs/contract-rules.md "VAT").
    """

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    month: Mapped[dt.date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(INVOICE_NUMBER), unique=True)
    # Nullable in the schema only because SQLite cannot add a NOT NULL column to a
    # table that other tables reference (revision 0003); every invoice gets one.
    tax_number: Mapped[str | None] = mapped_column(String(TAX_NUMBER), unique=True, index=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    vat: Mapped[Decimal] = mapped_column(Money(), server_default=text("0"))
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    state: Mapped[InvoiceState] = mapped_column(_enum(InvoiceState, "invoice_state", 16))

    __table_args__ = (
        # The daily run re-run for a past date (or twice a day) issues no second
        # invoice for a month of the same contract.
        UniqueConstraint("contract_id", "month", name="uq_invoices_contract_month"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    @property
    def total(self) -> Decimal:
        """What the customer owes for the month: the tax base plus VAT."""
        return self.amount + self.vat


class InvoiceNumberSeriesRow(Base):
    """ЗДДС art. 114(1)(2), ППЗДДС: the one series of invoice numbers, with no gap or repeat.

    One row (id 1) holds the last number used. Taking a number is an ``UPDATE ...
    SET last_number = last_number + 1`` in the transaction that inserts the invoice:
    the row stays locked until that transaction ends (PostgreSQL row lock; SQLite
    has one writer at a time), and a rollback gives the number back with the invoice.
    """

    __tablename__ = "invoice_number_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("last_number >= 0 AND last_number <= 9999999999", name="last_number"),
    )


class PaymentRow(Base):
    """Money received for a contract; ``invoice_id`` is the invoice the customer named."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    # The bank's (or cash desk's) reference: importing the same statement again
    # records no payment twice.
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))

    __table_args__ = (CheckConstraint("amount > 0", name="amount"),)


class PaymentAllocationRow(Base):
    """ЗЗД art. 76: which part of which invoice a payment settled."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    part: Mapped[AllocationPart] = mapped_column(_enum(AllocationPart, "allocation_part", 16))
    amount: Mapped[Decimal] = mapped_column(Money())

    __table_args__ = (
        # Allocating one payment again books no part of an invoice twice.
        UniqueConstraint("payment_id", "invoice_id", "part", name="uq_payment_allocations_part"),
        CheckConstraint("amount > 0", name="amount"),
    )


class InterestAccrualRow(Base):
    """4.4: statutory interest charged on an invoice's unpaid fee.

    ``amount`` is the interest of the days after the previous accrual of the
    invoice (or after its due date) through ``through_date``; an invoice's
    interest charged is the sum of its rows.
    """

    __tablename__ = "interest_accruals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    through_date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())

    __table_args__ = (
        # The daily run re-run for the same day charges no interest twice.
        UniqueConstraint("invoice_id", "through_date", name="uq_interest_accruals_through"),
        CheckConstraint("amount >= 0", name="amount"),
    )


# -- 5.1, 5.2, 3.2 interruptions -----------------------------------------------------


class InterruptionRow(Base):
    """One interruption of the Service for a contract (5.1, 5.2); see domain.interruptions."""

    __tablename__ = "interruptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    kind: Mapped[InterruptionKind] = mapped_column(_enum(InterruptionKind, "interruption_kind"))
    source: Mapped[InterruptionSource] = mapped_column(
        _enum(InterruptionSource, "interruption_source")
    )
    started_at: Mapped[dt.datetime] = _utc()
    ended_at: Mapped[dt.datetime | None] = _utc(nullable=True)  # null while it lasts
    notified_at: Mapped[dt.datetime | None] = _utc(nullable=True)  # 3.2б / 3.2в
    detected_at: Mapped[dt.datetime | None] = _utc(nullable=True)  # 5.2: established
    reported_by_customer_at: Mapped[dt.datetime | None] = _utc(nullable=True)  # 5.2, 3.1г
    company_fault: Mapped[bool] = mapped_column(Boolean)  # 5.2, 6.3
    customer_caused: Mapped[bool] = mapped_column(Boolean)  # 5.3
    customer_obstructed: Mapped[bool] = mapped_column(Boolean)  # 6.7
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), index=True)

    __table_args__ = (
        # The silence detector re-run opens no second interruption for the same
        # silence of a device (staff rows have no device and are not limited).
        UniqueConstraint(
            "contract_id", "device_id", "started_at", name="uq_interruptions_device_start"
        ),
        CheckConstraint(
            "source <> 'device_silence' OR device_id IS NOT NULL", name="silence_device"
        ),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ended_after_start"),
        CheckConstraint("NOT (customer_caused AND company_fault)", name="fault"),
    )


class InterruptionSiteRow(Base):
    """The sites an interruption touched (empty: the whole contract)."""

    __tablename__ = "interruption_sites"

    interruption_id: Mapped[int] = mapped_column(
        ForeignKey("interruptions.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id"), primary_key=True)


# -- the log of proposals and the notices sent ----------------------------------------


class DecisionRow(Base):
    """A proposal of the engine (or a record of what it applied) and the staff's answer.

    Where the General Terms say the company "may", staff confirm: the engine only
    proposes. ``explanation`` is ``Decision.explain()``: the clause, the reason
    in Bulgarian and English, and the numbers used.
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    clause: Mapped[str] = mapped_column(String(16))
    kind: Mapped[DecisionKind] = mapped_column(_enum(DecisionKind, "decision_kind"))
    subject: Mapped[str] = mapped_column(String(SUBJECT))
    proposed_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[DecisionState] = mapped_column(
        _enum(DecisionState, "decision_state", 16), index=True
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # confirmed/rejected
    decided_at: Mapped[dt.datetime | None] = _utc(nullable=True)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        # The daily run re-run proposes nothing twice about the same subject
        # (e.g. one suspension proposal per overdue invoice, even once rejected).
        UniqueConstraint("contract_id", "kind", "subject", name="uq_decisions_subject"),
        CheckConstraint(
            "(state = 'proposed' AND decided_by IS NULL AND decided_at IS NULL)"
            " OR (state <> 'proposed' AND decided_at IS NOT NULL)",
            name="decided",
        ),
    )


class NoticeRow(Base):
    """A notice to the customer, written in the transaction that queued its e-mail.

    Whether the e-mail went out is the outbox row's ``sent_at`` (one truth, no copy).
    """

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"))
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind, "notice_kind", 16))
    # What it is about: the subscription end date (expiry), the interruption id,
    # the invoice number.
    subject: Mapped[str] = mapped_column(String(SUBJECT))
    due_on: Mapped[dt.date] = mapped_column(Date)  # the latest day it may go out
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), index=True)
    created_at: Mapped[dt.datetime] = _utc()

    __table_args__ = (
        # The daily run re-run (for any past date) sends no notice twice.
        UniqueConstraint("contract_id", "kind", "subject", name="uq_notices_subject"),
        Index("ix_notices_due_on", "due_on"),
    )
