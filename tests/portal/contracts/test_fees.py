"""The monthly fee and its part per site (General Terms 4.1; used by 7.1з and 8.1c)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS, Site, VoltageLevel
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.fees import fee_part, monthly_fee
from portal_api.contracts.domain.prices import PriceList
from tests.portal.contracts.samples import LV, MV, PRICES

SITES = [Site("A", LV, 1), Site("B", LV, 3), Site("C", MV, 2)]


def test_clause_4_1_monthly_fee_is_sum_of_sites_plus_additional_devices() -> None:
    decision = monthly_fee(SITES, 24, PRICES)
    fee = decision.value
    assert decision.clause == "4.1"
    assert [s.total for s in fee.sites] == [
        Decimal("17.90"),
        Decimal("37.80"),  # 17.90 + 2 × 9.95
        Decimal("45.85"),  # 35.90 + 1 × 9.95
    ]
    assert fee.total == Decimal("101.55")
    assert fee.site("B").additional_devices == 2
    assert decision.numbers["additional_devices"] == 3
    numbers = decision.explain()["numbers"]
    assert isinstance(numbers, dict) and numbers["total"] == "101.55"
    assert monthly_fee(SITES, 12, PRICES).value.total == Decimal("109.55")


def test_clause_4_1_part_of_the_fee_formed_by_some_sites() -> None:
    fee = monthly_fee(SITES, 24, PRICES).value
    part = fee_part(fee, ["C", "B"])
    assert part.value == Decimal("83.65")
    assert part.numbers["sites"] == "B, C"
    rest = fee.without(["B"])
    assert rest.total == Decimal("63.75")
    assert [s.site_id for s in rest.sites] == ["A", "C"]
    with pytest.raises(RuleError):
        fee.part(["Z"])


def test_clause_4_1_inputs_the_rule_cannot_judge() -> None:
    with pytest.raises(RuleError):
        monthly_fee([], 12, PRICES)
    with pytest.raises(RuleError, match="twice"):
        monthly_fee([Site("A", LV), Site("A", MV)], 12, PRICES)
    with pytest.raises(RuleError):
        monthly_fee(SITES, 36, PRICES)


cent_prices = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False)


@given(
    prices=st.lists(cent_prices, min_size=7, max_size=7),
    sites=st.lists(
        st.tuples(st.sampled_from(list(VoltageLevel)), st.integers(min_value=1, max_value=20)),
        min_size=1,
        max_size=30,
    ),
    months=st.sampled_from(SUBSCRIPTION_PERIODS),
)
def test_clause_4_1_fee_is_never_negative_and_is_the_sum_of_its_parts(
    prices: list[Decimal], sites: list[tuple[VoltageLevel, int]], months: int
) -> None:
    keys = [(level, m) for level in VoltageLevel for m in SUBSCRIPTION_PERIODS]
    price_list = PriceList(dt.date(2026, 1, 1), dict(zip(keys, prices[:6], strict=True)), prices[6])
    contract_sites = [Site(f"S{i}", level, n) for i, (level, n) in enumerate(sites)]
    fee = monthly_fee(contract_sites, months, price_list).value
    assert fee.total >= 0
    assert all(s.total >= 0 for s in fee.sites)
    assert fee.total == sum(s.total for s in fee.sites)
    assert fee.part([contract_sites[0].site_id]) <= fee.total
    # more devices never make a site cheaper
    assert all(s.total >= s.unit_price for s in fee.sites)
