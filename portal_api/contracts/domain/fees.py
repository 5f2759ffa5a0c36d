"""The monthly fee and its breakdown per site (General Terms 4, 4.1; used by 7.1з and 8.1c).

4.1: the monthly fee is the sum of the unit prices of the sites named in the
contract; the unit price of a site with more than one multimeter grows by the
price list's "additional device" price once per additional multimeter. The
breakdown per site is what the customer page shows, and what 7.1з (a site
leaves the contract: the fee drops by the part formed by its devices) and 8.1c
(penalty: twice that part) need.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS
from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.money import ZERO, cents
from portal_api.contracts.domain.prices import PriceList, VoltageLevel

__all__ = ["FeeBreakdown", "FeeSite", "SiteFee", "fee_part", "monthly_fee"]


class FeeSite(Protocol):
    """A site as the fee sees it (``contract.Site`` fits): voltage level and multimeters."""

    @property
    def site_id(self) -> str: ...

    @property
    def voltage(self) -> VoltageLevel: ...

    @property
    def multimeters(self) -> int: ...


@dataclass(frozen=True)
class SiteFee:
    """One site's part of the monthly fee (4.1)."""

    site_id: str
    voltage: VoltageLevel
    multimeters: int
    unit_price: Decimal
    additional_devices: int
    additional_device_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class FeeBreakdown:
    """The monthly fee of a contract with its part per site."""

    period_months: int
    price_list_from: str
    sites: tuple[SiteFee, ...]
    total: Decimal

    def site(self, site_id: str) -> SiteFee:
        for item in self.sites:
            if item.site_id == site_id:
                return item
        raise RuleError(f"site {site_id} is not in the contract")

    def part(self, site_ids: Iterable[str]) -> Decimal:
        """The part of the fee formed by the devices of ``site_ids`` (7.1з, 8.1c)."""
        wanted = set(site_ids)
        for site_id in wanted:
            self.site(site_id)
        return cents(sum((s.total for s in self.sites if s.site_id in wanted), ZERO))

    def without(self, site_ids: Iterable[str]) -> FeeBreakdown:
        """The breakdown once ``site_ids`` left the contract (7.1з: fee reduced by their part)."""
        leaving = set(site_ids)
        for site_id in leaving:
            self.site(site_id)
        kept = tuple(s for s in self.sites if s.site_id not in leaving)
        return FeeBreakdown(
            period_months=self.period_months,
            price_list_from=self.price_list_from,
            sites=kept,
            total=cents(sum((s.total for s in kept), ZERO)),
        )


def monthly_fee(
    sites: Sequence[FeeSite], period_months: int, prices: PriceList
) -> Decision[FeeBreakdown]:
    """4.1: the monthly fee = sum over sites of (unit price + additional devices × their price).

    ``prices`` is the version the contract keeps for its term (4.2,
    :func:`portal_api.contracts.domain.prices.contract_prices`).
    """
    if period_months not in SUBSCRIPTION_PERIODS:
        raise RuleError(f"the subscription period is 12 or 24 months (2.2), not {period_months}")
    if not sites:
        raise RuleError("a contract names at least one site (1.1)")
    ids = [s.site_id for s in sites]
    if len(set(ids)) != len(ids):
        raise RuleError("a site is named twice in the contract")
    parts: list[SiteFee] = []
    for site in sites:
        if site.multimeters < 1:
            raise RuleError(f"site {site.site_id}: at least one multimeter (4.1)")
        unit = prices.unit_price(site.voltage, period_months)
        extra = site.multimeters - 1
        parts.append(
            SiteFee(
                site_id=site.site_id,
                voltage=site.voltage,
                multimeters=site.multimeters,
                unit_price=unit,
                additional_devices=extra,
                additional_device_price=prices.additional_device,
                total=cents(unit + extra * prices.additional_device),
            )
        )
    total = cents(sum((p.total for p in parts), ZERO))
    devices = sum(s.multimeters for s in sites)
    breakdown = FeeBreakdown(
        period_months=period_months,
        price_list_from=prices.effective_from.isoformat(),
        sites=tuple(parts),
        total=total,
    )
    return Decision(
        value=breakdown,
        clause="4.1",
        reason_bg=(
            f"Месечната такса е сборът от единичните цени на {len(parts)} обекта "
            f"({devices} мултимера, {devices - len(parts)} допълнителни) по ценоразписа от "
            f"{breakdown.price_list_from} за абонамент {period_months} месеца: {total} EUR."
        ),
        reason_en=(
            f"The monthly fee is the sum of the unit prices of {len(parts)} site(s) "
            f"({devices} multimeters, {devices - len(parts)} additional) from the price list "
            f"of {breakdown.price_list_from} for a {period_months}-month subscription: "
            f"{total} EUR."
        ),
        numbers={
            "sites": len(parts),
            "multimeters": devices,
            "additional_devices": devices - len(parts),
            "additional_device_price": prices.additional_device,
            "period_months": period_months,
            "price_list_from": prices.effective_from,
            "total": total,
        },
    )


def fee_part(breakdown: FeeBreakdown, site_ids: Iterable[str]) -> Decision[Decimal]:
    """The part of the fee formed by the initial and additional devices of some sites.

    7.1з: when only some sites change owner or user, the contract goes on for the
    others and the fee drops by this part; 8.1c: the penalty is twice this part.
    """
    chosen = sorted(set(site_ids))
    part = breakdown.part(chosen)
    return Decision(
        value=part,
        clause="4.1",
        reason_bg=(
            f"Частта от месечната такса, формирана от устройствата на обект(и) "
            f"{', '.join(chosen)}, е {part} EUR от {breakdown.total} EUR."
        ),
        reason_en=(
            f"The part of the monthly fee formed by the devices of site(s) "
            f"{', '.join(chosen)} is {part} EUR of {breakdown.total} EUR."
        ),
        numbers={"sites": ", ".join(chosen), "part": part, "monthly_fee": breakdown.total},
    )
