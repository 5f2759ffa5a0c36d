"""Bulgarian formatting of the invoice's amounts, dates and labels (pure functions).

Amounts: thousands grouped with a space, decimal comma, two decimals, the sign
after the number: ``1 234,56 €``, ``2 414,50 лв.``. Dates: ``10.04.2026 г.``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal_api.contracts.domain.money import BGN_PER_EUR, cents

__all__ = [
    "VOLTAGE_LABELS",
    "format_amount",
    "format_bgn",
    "format_date",
    "format_eur",
    "format_month",
    "format_rate",
]

MONTHS_BG = (
    "януари",
    "февруари",
    "март",
    "април",
    "май",
    "юни",
    "юли",
    "август",
    "септември",
    "октомври",
    "ноември",
    "декември",
)

# Preamble, 1.4.1: low, medium, high voltage (НН, СН, ВН).
VOLTAGE_LABELS = {"LV": "НН", "MV": "СН", "HV": "ВН"}


def format_amount(amount: Decimal) -> str:
    """``Decimal('1234.5')`` -> ``'1 234,50'`` (rounded half-up to the cent)."""
    value = cents(amount)
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(value):.2f}".split(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{sign}{' '.join(groups)},{frac}"


def format_eur(amount: Decimal) -> str:
    return f"{format_amount(amount)} €"


def format_bgn(amount: Decimal) -> str:
    return f"{format_amount(amount)} лв."


def format_rate() -> str:
    """The fixed conversion rate as printed: ``1 EUR = 1,95583 лв.``."""
    return f"1 € = {str(BGN_PER_EUR).replace('.', ',')} лв."


def format_date(day: dt.date) -> str:
    return f"{day:%d.%m.%Y} г."


def format_month(first: dt.date) -> str:
    """``2026-04-01`` -> ``'април 2026 г.'``."""
    return f"{MONTHS_BG[first.month - 1]} {first.year} г."
