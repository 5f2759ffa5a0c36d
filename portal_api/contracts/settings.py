"""The contract engine's settings built from the portal's ``[billing]`` section.

One place turns configuration into the values the daily run, the CLI and the web
routes share: the seller's account and VAT on invoices, and the statutory rate
table of late-payment interest (4.4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portal_api.config import BillingSection
from portal_api.contracts.domain.interest import RateTable

__all__ = ["BillingSettings", "billing_settings", "rate_table"]


@dataclass(frozen=True)
class BillingSettings:
    """The seller's bank account, VAT and the BGN dual display period (configuration)."""

    iban: str
    bic: str
    bank: str
    vat_rate: Decimal = Decimal("0.20")
    dual_display_until: dt.date | None = None


def billing_settings(section: BillingSection) -> BillingSettings:
    return BillingSettings(
        iban=section.iban,
        bic=section.bic,
        bank=section.bank,
        vat_rate=section.vat_rate,
        dual_display_until=section.dual_display_until,
    )


def rate_table(section: BillingSection | None) -> RateTable:
    """4.4: the configured half-year rates (empty without a ``[billing]`` section)."""
    if section is None:
        return RateTable(())
    return RateTable((r.from_, r.annual_rate) for r in section.statutory_rates)
