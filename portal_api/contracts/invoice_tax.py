"""VAT of a monthly invoice: one rule for the ledger, the PDF, the API and the pages.

The price list's unit prices (4.1) are prices WITHOUT VAT: the monthly fee is the
invoice's tax base and VAT (ЗДДС art. 66(1): 20 %) is added once, on that base,
rounded half-up to the cent. The customer owes base + VAT by the payment term
(4.3), so that total is what the ledger books, what interest runs on (4.4) and
what a payment settles (ЗЗД art. 76). See docs/contract-rules.md "VAT".
"""

from __future__ import annotations

from decimal import Decimal

from portal_api.contracts.domain.money import cents

__all__ = ["total_with_vat", "vat_on"]


def vat_on(base: Decimal, rate: Decimal) -> Decimal:
    """VAT on the tax base ``base`` at ``rate`` (0.20), once, half-up to the cent."""
    if base < 0 or not (Decimal(0) <= rate < 1):
        raise ValueError(f"VAT of {base} at {rate}: a non-negative base and a fraction rate")
    return cents(base * rate)


def total_with_vat(base: Decimal, rate: Decimal) -> Decimal:
    """What the customer owes for an invoice of tax base ``base``."""
    return cents(base) + vat_on(base, rate)
