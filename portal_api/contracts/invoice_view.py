"""What the invoice of one monthly fee shows (General Terms 4.1, 4.3, 4.4; ЗДДС art. 114).

4.3: one invoice per monthly fee, e-mailed to the customer, due by the 10th of
the month of service (3.1a; the billing rule moves a non-working 10th to the
next working day, docs/contract-rules.md "3.1a, 4.3"). 4.1: the fee is the sum
over the contract's sites of the unit price plus the additional devices, so the
invoice has one line per site.

The view holds plain values only (strings, dates, ``Decimal``): the caller fills
it from the fee breakdown, the billing schedule and configuration (bank account),
so the PDF does not depend on the names of domain helpers. Amounts are euro,
exact to the cent; VAT is charged on the subtotal (docs/contract-rules.md
"4.1, 4.3 The invoice document").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from portal_api.contracts.domain.money import CENT, ZERO, cents
from portal_api.contracts.invoice_tax import vat_on

__all__ = [
    "SELLER_ADDRESS",
    "SELLER_EIK",
    "SELLER_NAME",
    "SELLER_VAT_NUMBER",
    "VAT_RATE",
    "InvoiceLine",
    "InvoiceView",
]

# The seller as the preamble of the General Terms (seed 001) names it.
SELLER_NAME = "ЕНЕРГО-ПРО Енергийни услуги ЕАД"
SELLER_EIK = "201398872"
SELLER_VAT_NUMBER = "BG201398872"  # ЗДДС art. 94(2): "BG" + the EIK
SELLER_ADDRESS = "гр. Варна, бул. „Владислав Варненчик“ № 258, Варна Тауърс, кула Г"
VAT_RATE = Decimal("0.20")  # ЗДДС art. 66(1)
VOLTAGE_LEVELS = ("LV", "MV", "HV")


def _whole_cents(what: str, amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError(f"{what}: an amount is a finite Decimal, got {amount!r}")
    if amount < 0:
        raise ValueError(f"{what}: an invoice amount cannot be negative ({amount})")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{what}: a price is in whole cents ({amount})")


@dataclass(frozen=True)
class InvoiceLine:
    """One site of the contract (4.1): its metering point, voltage level and price."""

    metering_point: str
    voltage_level: str  # "LV" / "MV" / "HV" (НН / СН / ВН)
    unit_price: Decimal  # monthly unit price of the site, price list of the contract (4.2)
    additional_devices: int = 0  # multimeters beyond the first (4.1)
    additional_device_price: Decimal = ZERO
    site_address: str = ""

    def __post_init__(self) -> None:
        if not self.metering_point.strip():
            raise ValueError("an invoice line names its metering point")
        if self.voltage_level not in VOLTAGE_LEVELS:
            raise ValueError(f"voltage level is one of {VOLTAGE_LEVELS}, not {self.voltage_level}")
        _whole_cents("unit price", self.unit_price)
        _whole_cents("additional device price", self.additional_device_price)
        if self.additional_devices < 0:
            raise ValueError("the number of additional devices cannot be negative")

    @property
    def total(self) -> Decimal:
        """4.1: unit price + additional devices × their price."""
        return cents(self.unit_price + self.additional_devices * self.additional_device_price)


@dataclass(frozen=True)
class InvoiceView:
    """Everything printed on the invoice of one monthly fee (4.3).

    ``invoice_number`` has 10 Arabic digits (ЗДДС art. 114(1)(2), ППЗДДС art. 78).
    ``service_month`` is the first day of the month the fee is for; ``due_date``
    is the payment term of that month (3.1a, 4.3). ``iban``/``bic``/``bank`` come
    from configuration and are checked (no placeholders). ``dual_display`` adds
    the BGN equivalent at the fixed rate 1.95583 (euro changeover law, its period
    is configuration). ``created_at`` is written as the PDF's creation date, so
    the same view always yields the same bytes.
    """

    invoice_number: str
    issue_date: dt.date
    tax_event_date: dt.date
    due_date: dt.date
    service_month: dt.date
    contract_number: str
    customer_number: str
    buyer_name: str
    buyer_address: str
    lines: tuple[InvoiceLine, ...]
    iban: str
    bic: str
    bank: str
    dual_display: bool
    created_at: dt.datetime
    buyer_eik: str = ""  # EIK/BULSTAT of a legal entity; never a natural person's EGN
    buyer_vat_number: str = ""
    vat_rate: Decimal = VAT_RATE
    seller_name: str = SELLER_NAME
    seller_eik: str = SELLER_EIK
    seller_vat_number: str = SELLER_VAT_NUMBER
    seller_address: str = SELLER_ADDRESS

    def __post_init__(self) -> None:
        number = self.invoice_number
        if len(number) != 10 or not (number.isascii() and number.isdigit()):
            raise ValueError("an invoice number has exactly 10 digits (ЗДДС art. 114)")
        if self.service_month.day != 1:
            raise ValueError("service_month is the first day of the month of service")
        if not self.lines:
            raise ValueError("an invoice has at least one line (one per site, 4.1)")
        for what in ("customer_number", "buyer_name", "buyer_address", "contract_number"):
            if not str(getattr(self, what)).strip():
                raise ValueError(f"{what} is required on the invoice")
        try:
            stdnum_iban.validate(self.iban)
            stdnum_bic.validate(self.bic)
        except ValidationError as exc:
            raise ValueError(f"the bank account is not valid ({exc}): check configuration") from exc
        if not self.bank.strip():
            raise ValueError("the bank's name is required on the invoice")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        if not (ZERO <= self.vat_rate < 1):
            raise ValueError(f"VAT rate {self.vat_rate} is not a fraction")

    @property
    def subtotal(self) -> Decimal:
        """The tax base: the monthly fee of 4.1, the sum of the lines."""
        return cents(sum((line.total for line in self.lines), ZERO))

    @property
    def vat(self) -> Decimal:
        """VAT on the subtotal, rounded once to the cent, half-up (invoice_tax.vat_on)."""
        return vat_on(self.subtotal, self.vat_rate)

    @property
    def total(self) -> Decimal:
        """The amount to pay by the due date (4.3)."""
        return self.subtotal + self.vat
