"""A contract ending by itself: General Terms 7.1 (а-з with 8.1в), 7.6."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal_api.contracts.domain.contract import TerminationGround
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.termination import after_termination, ended_by, ownership_change

D = dt.date
E = Decimal
FEE = E("29.99")
LAST = D(2027, 6, 30)  # a subscription running to the end of June 2027


# ---------------------------------------------------------------- 7.1 а-ж


@pytest.mark.parametrize(
    ("ground", "clause"),
    [
        (TerminationGround.TERM_EXPIRED, "7.1a"),
        (TerminationGround.MUTUAL_CONSENT, "7.1b"),
        (TerminationGround.IMPOSSIBLE_INSTALLATION, "7.1c"),
        (TerminationGround.STATE_ACT, "7.1e"),
        (TerminationGround.DEATH_OR_INCAPACITY, "7.1f"),
        (TerminationGround.LIQUIDATION_OR_INSOLVENCY, "7.1g"),
    ],
)
def test_clause_7_1_grounds_end_the_contract_without_penalty(
    ground: TerminationGround, clause: str
) -> None:
    decision = ended_by(ground, D(2028, 2, 29))
    assert decision.clause == clause
    assert decision.allowed is True
    assert decision.value.ends_on == D(2028, 2, 29)
    assert decision.value.customer_owes == E("0.00")
    assert decision.value.company_owes == E("0.00")


def test_clause_7_1d_force_majeure_over_60_days() -> None:
    # from 1 Jan 2026 the 60 days run to 2 March; still lasting on 3 March -> the contract ends
    ongoing = ended_by(TerminationGround.FORCE_MAJEURE, D(2026, 1, 1), as_of=D(2026, 3, 3))
    assert ongoing.allowed is True
    assert ongoing.value.ends_on == D(2026, 3, 3)
    assert (
        ended_by(TerminationGround.FORCE_MAJEURE, D(2026, 1, 1), as_of=D(2026, 3, 2)).allowed
        is False
    )
    over_in_time = ended_by(
        TerminationGround.FORCE_MAJEURE, D(2026, 1, 1), force_majeure_ended_on=D(2026, 3, 2)
    )
    assert over_in_time.allowed is False
    # a leap year: 60 days from 1 Jan 2028 run to 1 March
    assert ended_by(
        TerminationGround.FORCE_MAJEURE, D(2028, 1, 1), as_of=D(2028, 3, 2)
    ).value.ends_on == D(2028, 3, 2)
    with pytest.raises(RuleError):
        ended_by(TerminationGround.FORCE_MAJEURE, D(2026, 1, 1))


def test_clause_7_1f_death_or_interdiction_only_for_natural_persons() -> None:
    assert (
        ended_by(TerminationGround.DEATH_OR_INCAPACITY, D(2026, 5, 6), natural_person=False).allowed
        is False
    )


# ---------------------------------------------------------------- 7.1з / 8.1в


def test_clause_7_1h_change_of_ownership_of_some_sites_reduces_the_fee() -> None:
    fees = {"A": E("12.34"), "B": E("23.45"), "C": E("5.55")}
    decision = ownership_change(D(2026, 2, 28), ["B"], fees, LAST)
    outcome = decision.value
    assert decision.clause == "7.1h"
    assert outcome.ends_on is None
    assert outcome.continues_for == ("A", "C")
    assert outcome.new_monthly_fee == E("17.89")  # 41.34 - 23.45
    assert outcome.fee_reduced_from == D(2026, 3, 1)
    assert outcome.charges == (("8.1c", E("46.90")),)
    # a change of the right of use only: no 8.1в penalty
    assert ownership_change(D(2026, 2, 28), ["B"], fees, LAST, ownership=False).value.charges == ()
    # all sites: the contract ends, two monthly fees
    whole = ownership_change(D(2026, 12, 31), ["A", "B", "C"], fees, LAST).value
    assert whole.ends_on == D(2026, 12, 31)
    assert whole.customer_owes == E("82.68")
    # on the subscription's last day it is not early: no penalty
    assert ownership_change(LAST, ["A"], fees, LAST).value.charges == ()
    with pytest.raises(RuleError):
        ownership_change(D(2026, 2, 28), ["Z"], fees, LAST)


# ---------------------------------------------------------------- 7.6, 7.7, 8.1


def test_clause_7_6_service_stops_after_the_last_day() -> None:
    assert after_termination(D(2028, 2, 28)).value == D(2028, 2, 29)
