"""The contract life cycle: only the transitions the General Terms allow (2.1, 1.4.2, 1.5,
4.4, 7.x)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.contract import (
    Contract,
    ContractState,
    CustomerKind,
    Site,
    TerminationGround,
    VoltageLevel,
)
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.lifecycle import Event, Terminate, apply, transition

D = dt.date
S = ContractState
G = TerminationGround


def contract(state: S = S.DRAFT, kind: CustomerKind = CustomerKind.LEGAL_ENTITY, **kw) -> Contract:
    base = Contract(
        number="ME-2026-0001",
        customer_kind=kind,
        sites=(Site("32Z1400000000001", VoltageLevel.LV),),
        period_months=12,
        email="office@example.bg",
        state=state,
    )
    return base.with_(**kw)


def test_clause_2_1_signing_puts_the_contract_in_force_on_the_signing_day() -> None:
    d = apply(contract(), Event.SIGN, D(2026, 12, 24))  # Christmas Eve: signing any day
    assert d.allowed
    assert d.value.state is S.SIGNED
    assert d.value.in_force_on == D(2026, 12, 24)
    assert d.clause == "2.1"
    assert transition(contract(S.SIGNED), Event.SIGN, D(2026, 12, 28)).allowed is False


def test_clause_1_4_2_full_path_to_active_and_dismantling() -> None:
    c = contract()
    for event, day, state in [
        (Event.SIGN, D(2026, 3, 3), S.SIGNED),
        (Event.INSTALLATION_BOOKED, D(2026, 3, 4), S.INSTALLATION),
        (Event.VISIT_POSTPONED, D(2026, 3, 10), S.SIGNED),
        (Event.INSTALLATION_BOOKED, D(2026, 3, 20), S.INSTALLATION),
        (Event.INSTALLED, D(2026, 3, 29), S.ACTIVE),  # DST day
        (Event.SUSPEND, D(2026, 5, 16), S.SUSPENDED),
        (Event.RESTORE, D(2026, 5, 19), S.ACTIVE),
    ]:
        d = apply(c, event, day)
        assert d.allowed, d.reason_en
        c = d.value
        assert c.state is state
    assert c.installed_on == D(2026, 3, 29)
    assert c.suspended_on is None
    d = apply(c, Terminate(G.CUSTOMER_EARLY), D(2026, 10, 25))
    assert d.allowed and d.value.state is S.TERMINATED
    assert d.numbers["penalty_clause"] == "8.1b"
    assert d.numbers["dismantling_due"] is True
    d = apply(d.value, Event.DISMANTLED, D(2026, 11, 2))
    assert d.allowed and d.value.state is S.DISMANTLED and d.clause == "7.7"


def test_clause_1_4_2_cannot_install_without_a_booked_visit() -> None:
    d = transition(contract(S.SIGNED), Event.INSTALLED, D(2026, 4, 10))
    assert not d.allowed
    assert d.value is S.SIGNED
    assert d.clause == "1.4.2"
    assert "signed" in d.reason_en


def test_clause_1_5_impossible_installation_ends_the_contract_with_nothing_to_dismantle() -> None:
    c = contract(S.INSTALLATION, signed_on=D(2026, 4, 1))
    d = apply(c, Event.IMPOSSIBLE, D(2026, 4, 13))  # Easter Monday
    assert d.allowed
    assert d.value.state is S.ENDED_INSTALLATION_IMPOSSIBLE
    assert d.value.terminated_on == D(2026, 4, 13)
    assert d.clause == "1.5"
    assert not transition(d.value, Event.DISMANTLED, D(2026, 4, 14)).allowed
    assert not transition(contract(S.ACTIVE), Event.IMPOSSIBLE, D(2026, 4, 14)).allowed


def test_clause_7_1c_ground_is_the_impossible_event() -> None:
    c = contract(S.SIGNED, signed_on=D(2026, 2, 27))
    d = apply(c, Terminate(G.IMPOSSIBLE_INSTALLATION), D(2026, 3, 3))  # Liberation Day
    assert d.allowed and d.clause == "1.5"
    assert d.value.state is S.ENDED_INSTALLATION_IMPOSSIBLE
    assert d.value.termination_ground is G.IMPOSSIBLE_INSTALLATION
    assert not transition(
        contract(S.ACTIVE), Terminate(G.IMPOSSIBLE_INSTALLATION), D(2026, 3, 3)
    ).allowed


def test_clause_4_4_suspension_only_from_active_and_restore_only_from_suspended() -> None:
    assert not transition(contract(S.SIGNED), Event.SUSPEND, D(2026, 1, 16)).allowed
    assert not transition(contract(S.ACTIVE), Event.RESTORE, D(2026, 1, 16)).allowed
    d = transition(contract(S.ACTIVE), Event.SUSPEND, D(2026, 1, 16))
    assert d.allowed and d.value is S.SUSPENDED and d.clause == "4.4"


def test_clause_7_4_termination_for_non_payment_only_with_service() -> None:
    d = transition(contract(S.SUSPENDED), Terminate(G.NON_PAYMENT), D(2026, 2, 25))
    assert d.allowed and d.value is S.TERMINATED
    assert d.clause == "4.4" and d.numbers["penalty_clause"] == "8.1b"
    refused = transition(contract(S.SIGNED), Terminate(G.NON_PAYMENT), D(2026, 2, 25))
    assert not refused.allowed and refused.value is S.SIGNED


def test_clause_7_4_no_installation_access_only_before_installation() -> None:
    d = transition(contract(S.INSTALLATION), Terminate(G.NO_INSTALLATION_ACCESS), D(2026, 5, 4))
    assert d.allowed and d.numbers["dismantling_due"] is False
    assert d.numbers["penalty_clause"] is None
    assert not transition(
        contract(S.ACTIVE), Terminate(G.NO_INSTALLATION_ACCESS), D(2026, 5, 4)
    ).allowed


def test_clause_7_1a_term_expiry_not_before_the_last_day() -> None:
    c = contract(S.ACTIVE, subscription_end=D(2028, 2, 29), installed_on=D(2027, 2, 10))
    early = transition(c, Terminate(G.TERM_EXPIRED), D(2028, 2, 28))
    assert not early.allowed and early.numbers["subscription_end"] == D(2028, 2, 29)
    assert transition(c, Terminate(G.TERM_EXPIRED), D(2028, 2, 29)).allowed
    assert not transition(contract(S.ACTIVE), Terminate(G.TERM_EXPIRED), D(2028, 3, 1)).allowed


def test_clause_7_1f_death_or_incapacity_only_for_natural_persons() -> None:
    entity = contract(S.ACTIVE, CustomerKind.LEGAL_ENTITY)
    assert not transition(entity, Terminate(G.DEATH_OR_INCAPACITY), D(2026, 6, 1)).allowed
    for kind in (CustomerKind.NATURAL_PERSON, CustomerKind.SOLE_TRADER):
        c = contract(S.ACTIVE, kind)
        assert transition(c, Terminate(G.DEATH_OR_INCAPACITY), D(2026, 6, 1)).allowed


def test_clause_7_5c_withdrawal_only_natural_person_off_premises() -> None:
    ok = contract(S.SIGNED, CustomerKind.NATURAL_PERSON, off_premises=True, signed_on=D(2026, 3, 1))
    d = transition(ok, Terminate(G.OFF_PREMISES_WITHDRAWAL), D(2026, 3, 3))
    assert d.allowed and d.clause == "7.5c"
    on_premises = ok.with_(off_premises=False)
    assert not transition(on_premises, Terminate(G.OFF_PREMISES_WITHDRAWAL), D(2026, 3, 3)).allowed
    trader = ok.with_(customer_kind=CustomerKind.SOLE_TRADER)
    refused = transition(trader, Terminate(G.OFF_PREMISES_WITHDRAWAL), D(2026, 3, 3))
    assert not refused.allowed and refused.numbers["customer_kind"] == "sole_trader"


def test_clause_7_7_final_states_accept_nothing() -> None:
    for state in (S.DISMANTLED, S.ENDED_INSTALLATION_IMPOSSIBLE):
        c = contract(state, installed_on=D(2026, 1, 5))
        for event in Event:
            assert not transition(c, event, D(2026, 12, 31)).allowed
        for ground in G:
            assert not transition(c, Terminate(ground), D(2026, 12, 31)).allowed


def test_clause_2_4_renewal_starts_without_installation() -> None:
    renewal = contract(S.SIGNED, signed_on=D(2026, 12, 15)).with_(renewal_of="MYE-2025-0001")
    d = apply(renewal, Event.RENEWAL_STARTS, D(2027, 1, 1))
    assert d.allowed and d.value.state is S.ACTIVE and d.clause == "2.4"
    first = contract(S.SIGNED, signed_on=D(2026, 12, 15))
    refused = transition(first, Event.RENEWAL_STARTS, D(2027, 1, 1))
    assert not refused.allowed and "1.4.2" in refused.reason_en


def test_clause_2_1_no_event_before_signing() -> None:
    c = contract(S.SIGNED, signed_on=D(2026, 10, 25))
    d = transition(c, Event.INSTALLATION_BOOKED, D(2026, 10, 24))
    assert not d.allowed and d.numbers["signed_on"] == D(2026, 10, 25)


def test_contract_value_object_rejects_what_the_terms_exclude() -> None:
    with pytest.raises(RuleError, match=r"2\.2"):
        contract().with_(period_months=18)
    with pytest.raises(RuleError, match=r"1\.1"):
        contract().with_(sites=())
    with pytest.raises(RuleError):
        Site("32Z1", VoltageLevel.MV, multimeters=0)


@given(
    st.sampled_from(list(S)),
    st.one_of(st.sampled_from(list(Event)), st.sampled_from(list(G)).map(Terminate)),
)
def test_refused_transitions_keep_the_state_and_allowed_ones_follow_the_graph(state, event) -> None:
    c = contract(
        state, kind=CustomerKind.NATURAL_PERSON, off_premises=True, installed_on=D(2026, 1, 5)
    )
    c = c.with_(subscription_end=D(2026, 1, 31))
    d = transition(c, event, D(2026, 2, 1))
    graph = {
        S.DRAFT: {S.SIGNED},
        # 2.4: a renewal goes from signed to active with no installation.
        S.SIGNED: {S.INSTALLATION, S.ACTIVE, S.ENDED_INSTALLATION_IMPOSSIBLE, S.TERMINATED},
        S.INSTALLATION: {S.SIGNED, S.ACTIVE, S.ENDED_INSTALLATION_IMPOSSIBLE, S.TERMINATED},
        S.ACTIVE: {S.SUSPENDED, S.TERMINATED},
        S.SUSPENDED: {S.ACTIVE, S.TERMINATED},
        S.TERMINATED: {S.DISMANTLED},
        S.DISMANTLED: set(),
        S.ENDED_INSTALLATION_IMPOSSIBLE: set(),
    }
    if d.allowed:
        assert d.value in graph[state]
    else:
        assert d.value is state
        assert d.reason_bg and d.reason_en
