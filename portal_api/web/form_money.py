"""Euro amounts typed into the portal's forms: "14,90", "1 234.50" or "88.44"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["euro_from_form"]

_CENT = Decimal("0.01")


def euro_from_form(text: str) -> Decimal | None:
    """The amount in whole cents, >= 0; None when it is not one.

    Bulgarian users write a decimal comma and may group thousands with spaces;
    fractions of a cent are refused rather than rounded (a price or a payment is
    exact).
    """
    try:
        amount = Decimal(text.strip().replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(_CENT):
        return None
    return amount
