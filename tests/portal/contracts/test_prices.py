"""Price list versions and the prices a contract keeps (General Terms 4.1, 4.2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal_api.contracts.domain.contract import Site, VoltageLevel
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.fees import monthly_fee
from portal_api.contracts.domain.prices import PriceBook, PriceList, contract_prices

D = dt.date
LV, MV, HV = VoltageLevel.LV, VoltageLevel.MV, VoltageLevel.HV


def price_list(day: dt.date, lv12: str, extra: str) -> PriceList:
    base = Decimal(lv12)
    return PriceList(
        effective_from=day,
        items={
            (LV, 12): base,
            (LV, 24): base - Decimal("2.00"),
            (MV, 12): base + Decimal("20.00"),
            (MV, 24): base + Decimal("16.00"),
            (HV, 12): base + Decimal("40.00"),
            (HV, 24): base + Decimal("35.00"),
        },
        additional_device=Decimal(extra),
    )


BOOK = PriceBook(
    [price_list(D(2026, 7, 1), "21.50", "10.75"), price_list(D(2026, 1, 1), "19.90", "9.95")]
)


def test_clause_4_1_version_in_force_changes_on_its_first_day() -> None:
    assert BOOK.at(D(2026, 6, 30)).value.effective_from == D(2026, 1, 1)
    july = BOOK.at(D(2026, 7, 1))
    assert july.value.effective_from == D(2026, 7, 1)
    assert july.clause == "4.1"
    assert july.value.unit_price(MV, 24) == Decimal("37.50")
    assert BOOK.at(D(2028, 2, 29)).value.additional_device == Decimal("10.75")


def test_clause_4_2_signed_contract_keeps_its_prices_and_renewal_takes_new_ones() -> None:
    sites = [Site("32Z4100000000001", LV, 2)]
    # signed on the last day of the old list: old prices for the whole term, even in 2027
    kept = contract_prices(BOOK, D(2026, 6, 30))
    assert kept.clause == "4.2"
    assert kept.value.effective_from == D(2026, 1, 1)
    assert kept.numbers["later_versions"] == 1
    assert monthly_fee(sites, 12, kept.value).value.total == Decimal("29.85")
    # the renewal is a new contract (2.4), signed later: the new prices
    renewal = contract_prices(BOOK, D(2027, 6, 15))
    assert renewal.value.effective_from == D(2026, 7, 1)
    assert monthly_fee(sites, 12, renewal.value).value.total == Decimal("32.25")


def test_clause_4_1_price_list_must_be_complete_non_negative_and_in_cents() -> None:
    good = price_list(D(2026, 1, 1), "19.90", "9.95")
    partial = dict(good.items)
    del partial[(HV, 24)]
    with pytest.raises(RuleError, match="HV/24"):
        PriceList(D(2026, 1, 1), partial, Decimal("9.95"))
    with pytest.raises(RuleError, match="negative"):
        PriceList(D(2026, 1, 1), good.items, Decimal("-0.01"))
    with pytest.raises(RuleError, match="cents"):
        PriceList(D(2026, 1, 1), good.items, Decimal("9.955"))
    with pytest.raises(RuleError):
        good.unit_price(LV, 18)


def test_clause_4_1_no_version_before_the_first_and_no_two_on_one_day() -> None:
    with pytest.raises(RuleError, match="no price list"):
        BOOK.at(D(2025, 12, 31))
    with pytest.raises(RuleError, match="same day"):
        PriceBook([price_list(D(2026, 1, 1), "5.00", "1.00")] * 2)
