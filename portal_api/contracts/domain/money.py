"""Money of the contract engine: euro, ``Decimal``, cents rounded half-up.

Bulgaria uses the euro since 2026-01-01 (1 EUR = 1.95583 BGN, fixed). Amounts are
kept exact while computed and rounded to the cent once, where the General Terms
or an invoice fix an amount (a fee, a penalty, the interest of a period).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from portal_api.contracts.domain.decision import RuleError

__all__ = ["BGN_PER_EUR", "CENT", "ZERO", "cents", "eur", "non_negative", "to_bgn"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BGN_PER_EUR = Decimal("1.95583")


def cents(amount: Decimal) -> Decimal:
    """``amount`` rounded to the cent, half-up (0.005 -> 0.01)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def eur(value: object) -> Decimal:
    """An exact euro amount from text, an integer or a Decimal (never from a float)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"money from {type(value).__name__} may lose cents: pass str or Decimal")
    return Decimal(value)


def non_negative(what: str, value: Decimal) -> Decimal:
    """``value`` itself when it is a finite, non-negative ``Decimal``; else ``RuleError``
    (a fee, a price or a cost a rule cannot judge)."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise RuleError(f"{what} is a non-negative Decimal amount, got {value!r}")
    return value


def to_bgn(amount_eur: Decimal) -> Decimal:
    """The BGN equivalent shown beside euro amounts during dual display."""
    return cents(amount_eur * BGN_PER_EUR)
