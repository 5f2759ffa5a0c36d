"""Penalties of the General Terms 8.1a-d and 8.2."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal_api.contracts.domain.contract import Site
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.fees import monthly_fee
from portal_api.contracts.domain.penalties import (
    company_termination_penalty,
    dismantling_access_deadline,
    equipment_damage_penalty,
    no_dismantling_access_penalty,
    ownership_change_penalty,
    termination_penalty,
)
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import LV, MV, PRICES

D = dt.date
FEE = monthly_fee([Site("A", LV, 1), Site("B", LV, 3), Site("C", MV, 2)], 24, PRICES).value


def test_clause_8_1a_damaged_equipment_200_percent_plus_replacement_costs() -> None:
    decision = equipment_damage_penalty(Decimal("350.00"), Decimal("85.40"), ground="1.4.3")
    assert (decision.value, decision.clause) == (Decimal("785.40"), "8.1a")
    assert decision.numbers["percent"] == 200
    assert equipment_damage_penalty(Decimal("0.005"), Decimal("0")).value == Decimal("0.01")
    with pytest.raises(RuleError):
        equipment_damage_penalty(Decimal("350.00"), Decimal("0"), ground="7.2")
    with pytest.raises(RuleError):
        equipment_damage_penalty(Decimal("-1"), Decimal("0"))


@pytest.mark.parametrize("ground", ["4.4", "7.2"])
def test_clause_8_1b_two_monthly_fees_on_termination_under_4_4_and_7_2(ground: str) -> None:
    decision = termination_penalty(FEE.total, ground)
    assert (decision.value, decision.clause, decision.allowed) == (
        Decimal("203.10"),
        "8.1b",
        True,
    )


@pytest.mark.parametrize("ground", ["7.3", "7.4", "7.5b", "1.5"])
def test_clause_8_1b_no_penalty_on_other_grounds(ground: str) -> None:
    decision = termination_penalty(FEE.total, ground)
    assert (decision.value, decision.allowed) == (Decimal("0.00"), False)


def test_clause_8_1c_change_of_ownership_of_some_sites_twice_their_part() -> None:
    # site B: 17.90 + 2 additional devices × 9.95 = 37.80 of 101.55
    some = ownership_change_penalty(FEE, ["B"], D(2026, 12, 31), D(2027, 12, 31))
    assert (some.value, some.clause) == (Decimal("75.60"), "8.1c")
    assert some.numbers["fee_part"] == Decimal("37.80")
    assert some.numbers["all_sites"] is False
    every = ownership_change_penalty(FEE, ["A", "B", "C"], D(2028, 2, 29), D(2028, 3, 31))
    assert every.value == Decimal("203.10")
    assert every.numbers["all_sites"] is True


def test_clause_8_1c_no_penalty_when_the_term_has_run_out() -> None:
    decision = ownership_change_penalty(FEE, ["C"], D(2027, 12, 31), D(2027, 12, 31))
    assert (decision.value, decision.allowed) == (Decimal("0.00"), False)
    with pytest.raises(RuleError):
        ownership_change_penalty(FEE, ["Z"], D(2026, 12, 31), D(2027, 12, 31))


def test_clause_8_1d_no_access_for_dismantling_within_14_days(cal: WorkingDays) -> None:
    # request sent 10 Dec 2026: the 14th day is 24 Dec (holiday) -> the term ends Tue 29 Dec
    sent = D(2026, 12, 10)
    assert dismantling_access_deadline(sent, cal) == D(2026, 12, 29)
    value = Decimal("412.30")
    in_time = no_dismantling_access_penalty(value, sent, D(2027, 1, 5), cal, D(2026, 12, 29))
    assert (in_time.value, in_time.allowed, in_time.clause) == (Decimal("0.00"), False, "8.1d")
    waiting = no_dismantling_access_penalty(value, sent, D(2026, 12, 29), cal)
    assert waiting.allowed is False
    late = no_dismantling_access_penalty(value, sent, D(2027, 1, 5), cal, D(2026, 12, 30))
    assert (late.value, late.allowed) == (Decimal("824.60"), True)
    never = no_dismantling_access_penalty(value, sent, D(2026, 12, 30), cal)
    assert never.value == Decimal("824.60")
    # an ordinary 14th day is not moved: sent 14 Feb 2028, ends Mon 28 Feb
    assert dismantling_access_deadline(D(2028, 2, 14), cal) == D(2028, 2, 28)


def test_clause_8_1d_request_of_14_december_runs_to_29_december(cal: WorkingDays) -> None:
    # request sent 14 Dec 2026: day 14 is the 28th (off) -> access due by Tue 29 Dec
    value, sent = Decimal("180.00"), D(2026, 12, 14)
    waiting = no_dismantling_access_penalty(value, sent, D(2026, 12, 29), cal)
    assert waiting.value == Decimal("0.00")
    late = no_dismantling_access_penalty(value, sent, D(2026, 12, 30), cal)
    assert late.value == Decimal("360.00")
    assert late.clause == "8.1d"


def test_clause_8_1a_half_cent_value_rounds_half_up() -> None:
    decision = equipment_damage_penalty(Decimal("99.995"), Decimal("12.50"), ground="1.4.3")
    assert decision.value == Decimal("212.49")  # 199.99 + 12.50
    assert decision.clause == "8.1a"


def test_clause_8_2_company_owes_two_monthly_fees_on_its_early_termination() -> None:
    decision = company_termination_penalty(FEE.total)
    assert (decision.value, decision.clause) == (Decimal("203.10"), "8.2")
    assert decision.numbers["ground"] == "7.3"
