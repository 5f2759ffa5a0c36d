"""The price list (Ценоразпис) and which version a contract keeps (General Terms 4, 4.1, 4.2).

4.1: the unit price of each site is published in the company's price list of
additional services, by the site's voltage level (LV/MV/HV: НН/СН/ВН) and the
subscription period chosen in the contract (12 or 24 months, 2.2); a site with
more than one multimeter adds the price list's "additional device" price once
per additional multimeter.

4.2: the company may change the price list for new contracts (new customers,
and existing customers signing a new contract after the old one expired). Once
an individual contract is signed, its monthly fee does not change until the end
of its subscription term: the contract keeps the version *in force on the day it
was signed* (2.1: it enters into force on signing). A renewal is a new contract
(2.4), signed on its own date, so it takes the prices of that date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from portal_api.contracts.domain.contract import (  # LV/MV/HV: НН/СН/ВН
    SUBSCRIPTION_PERIODS,
    VoltageLevel,
)
from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.money import CENT

__all__ = [
    "PriceBook",
    "PriceList",
    "VoltageLevel",
    "contract_prices",
]


def _check_price(what: str, price: Decimal) -> None:
    if not isinstance(price, Decimal) or not price.is_finite():
        raise RuleError(f"{what}: a price is a finite Decimal, got {price!r}")
    if price < 0:
        raise RuleError(f"{what}: a price cannot be negative ({price})")
    if price != price.quantize(CENT):
        raise RuleError(f"{what}: a published price is in whole cents ({price})")


@dataclass(frozen=True)
class PriceList:
    """One version of the price list, in force from ``effective_from`` (4.1, 4.2).

    ``items`` maps (voltage level, subscription months) to the monthly unit price
    of one site in euro; every level and period must be priced. ``additional_device``
    is the monthly price of each multimeter beyond the first on a site.
    """

    effective_from: dt.date
    items: Mapping[tuple[VoltageLevel, int], Decimal]
    additional_device: Decimal
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.effective_from, dt.datetime) or not isinstance(
            self.effective_from, dt.date
        ):
            raise RuleError("effective_from is a calendar date")
        for (level, months), price in self.items.items():
            if not isinstance(level, VoltageLevel) or months not in SUBSCRIPTION_PERIODS:
                raise RuleError(f"unknown price list item ({level!r}, {months!r})")
            _check_price(f"{level.value}/{months} months", price)
        missing = [
            f"{level.value}/{months}"
            for level in VoltageLevel
            for months in SUBSCRIPTION_PERIODS
            if (level, months) not in self.items
        ]
        if missing:
            raise RuleError(f"price list of {self.effective_from} misses: {', '.join(missing)}")
        _check_price("additional device", self.additional_device)
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))

    def unit_price(self, level: VoltageLevel, months: int) -> Decimal:
        """The monthly unit price of one site (4.1)."""
        if months not in SUBSCRIPTION_PERIODS:
            raise RuleError(f"the subscription period is 12 or 24 months (2.2), not {months}")
        return self.items[(level, months)]


@dataclass(frozen=True)
class PriceBook:
    """All versions of the price list; ``at(day)`` is the one in force on ``day``."""

    versions: tuple[PriceList, ...]

    def __init__(self, versions: Iterable[PriceList]) -> None:
        ordered = tuple(sorted(versions, key=lambda v: v.effective_from))
        if not ordered:
            raise RuleError("a price book needs at least one price list")
        starts = [v.effective_from for v in ordered]
        if len(set(starts)) != len(starts):
            raise RuleError("two price lists take effect on the same day")
        object.__setattr__(self, "versions", ordered)

    def at(self, day: dt.date) -> Decision[PriceList]:
        """The version in force on ``day``: the latest one with ``effective_from <= day``."""
        in_force = [v for v in self.versions if v.effective_from <= day]
        if not in_force:
            raise RuleError(f"no price list is in force on {day.isoformat()}")
        version = in_force[-1]
        return Decision(
            value=version,
            clause="4.1",
            reason_bg=(
                f"Ценоразписът в сила на {day.isoformat()} е от "
                f"{version.effective_from.isoformat()}."
            ),
            reason_en=(
                f"The price list in force on {day.isoformat()} is the one of "
                f"{version.effective_from.isoformat()}."
            ),
            numbers={"day": day, "effective_from": version.effective_from},
        )


def contract_prices(book: PriceBook, signed_on: dt.date) -> Decision[PriceList]:
    """4.2: the prices a contract keeps for its whole term: those in force when it was signed.

    A later version applies only to contracts signed on or after its date (new
    customers, and renewals, which are new contracts under 2.4).
    """
    found = book.at(signed_on).value
    later = [v.effective_from for v in book.versions if v.effective_from > signed_on]
    return Decision(
        value=found,
        clause="4.2",
        reason_bg=(
            f"Договорът е подписан на {signed_on.isoformat()}: до края на абонамента "
            f"важат цените от ценоразписа от {found.effective_from.isoformat()}; "
            "по-късни промени се прилагат само за нови договори."
        ),
        reason_en=(
            f"The contract was signed on {signed_on.isoformat()}: the prices of the list "
            f"of {found.effective_from.isoformat()} hold until the end of its subscription; "
            "later changes apply to new contracts only."
        ),
        numbers={
            "signed_on": signed_on,
            "effective_from": found.effective_from,
            "later_versions": len(later),
        },
    )
