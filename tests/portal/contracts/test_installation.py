"""Installation: 1.3 deadline on Bulgarian calendar edges, 1.4.2 visit outcomes, 1.5."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.contracts.domain.contract import CustomerKind, Site, VoltageLevel
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.installation import (
    AccessProblem,
    HandoverProtocol,
    ImpossibleReason,
    MismatchKind,
    Postponement,
    Signatory,
    SignatoryCapacity,
    StatementOfFindings,
    access_problem,
    handover,
    installation_deadline,
    installation_impossible,
    postponed_days,
)
from portal_api.domain.workdays import WorkingDays

D = dt.date
CAL = WorkingDays()


@pytest.mark.parametrize(
    ("in_force_on", "deadline", "moved"),
    [
        (D(2026, 11, 24), D(2026, 12, 29), True),  # day 30 = 24 Dec; 24-28 Dec off
        (D(2026, 3, 11), D(2026, 4, 14), True),  # day 30 = Good Friday 2026; Easter to Mon 13
        (D(2026, 2, 1), D(2026, 3, 4), True),  # day 30 = 3 March, Liberation Day
        (D(2026, 9, 25), D(2026, 10, 26), True),  # day 30 = Sunday 25 Oct, DST day
        (D(2027, 3, 31), D(2027, 5, 5), True),  # 30 Apr 2027 Good Friday .. 4 May (1 May moved)
        (D(2028, 1, 30), D(2028, 2, 29), False),  # leap day, a Tuesday
        (D(2026, 1, 30), D(2026, 3, 2), True),  # 1 Mar 2026 Sunday -> Monday 2 Mar
        (D(2026, 1, 2), D(2026, 2, 2), True),  # 1 Feb 2026 Sunday
        (D(2026, 6, 1), D(2026, 7, 1), False),  # an ordinary Wednesday
    ],
)
def test_clause_1_3_thirty_calendar_days_up_to_five_sites(
    in_force_on: dt.date, deadline: dt.date, moved: bool
) -> None:
    for sites in (1, 5):
        d = installation_deadline(in_force_on, sites, CAL)
        assert d.value == deadline
        assert d.clause == "1.3"
        assert d.numbers["day_30"] == in_force_on + dt.timedelta(days=30)
        assert d.numbers["moved_to_working_day"] is moved
        assert d.numbers["extra_working_days"] == 0


def test_clause_1_3_three_working_days_per_site_beyond_five() -> None:
    # day 30 = 24 Dec 2026; 7 sites -> +6 working days: 29, 30, 31 Dec, 4, 5, 6 Jan
    d = installation_deadline(D(2026, 11, 24), 7, CAL)
    assert d.value == D(2027, 1, 6)
    assert d.numbers["extra_sites"] == 2
    assert d.numbers["extra_working_days"] == 6
    # day 30 = 26 Apr 2027 (Mon); 6 sites -> 27, 28, 29 Apr (30 Apr .. 4 May off)
    assert installation_deadline(D(2027, 3, 27), 6, CAL).value == D(2027, 4, 29)
    # 7 sites -> 27, 28, 29 Apr, 5, 7, 10 May (6 May is St George's Day)
    assert installation_deadline(D(2027, 3, 27), 7, CAL).value == D(2027, 5, 10)


def test_clause_1_4_2_mismatch_extends_the_deadline_by_the_time_to_settle() -> None:
    found = Postponement(D(2026, 3, 20), MismatchKind.VOLTAGE_LEVEL, settled_on=D(2026, 3, 27))
    d = installation_deadline(D(2026, 3, 11), 3, CAL, [found])
    # 10 Apr + 7 days = 17 Apr (Friday, working)
    assert d.value == D(2026, 4, 17)
    assert d.numbers["postponed_days"] == 7
    # overlapping postponements counted once: 20-27 Mar and 25-30 Mar -> 10 days
    other = Postponement(D(2026, 3, 25), MismatchKind.SITE_COUNT, settled_on=D(2026, 3, 30))
    assert postponed_days([found, other]) == 10
    assert installation_deadline(D(2026, 3, 11), 3, CAL, [other, found]).value == D(2026, 4, 20)


def test_clause_1_4_2_open_mismatch_suspends_the_deadline() -> None:
    open_ = Postponement(D(2026, 12, 22), MismatchKind.OTHER)
    d = installation_deadline(D(2026, 12, 1), 2, CAL, [open_])
    assert d.value is None
    assert d.clause == "1.4.2"
    assert d.numbers["postponed_since"] == D(2026, 12, 22)
    with pytest.raises(RuleError):
        Postponement(D(2026, 12, 22), MismatchKind.OTHER, settled_on=D(2026, 12, 21))
    with pytest.raises(RuleError):
        installation_deadline(D(2026, 12, 1), 0, CAL)


def test_clause_1_4_2_refused_access_is_a_proposal_to_terminate() -> None:
    lv = Site("32Z1400000000001", VoltageLevel.LV)
    for problem in (AccessProblem.REFUSED_APPOINTMENT, AccessProblem.NO_ACCESS):
        d = access_problem(problem, lv, D(2026, 4, 13))
        assert d.allowed and d.value == "propose_termination" and d.clause == "1.4.2"
        assert "7.4" in d.reason_en and "Staff decide" in d.reason_en
    mv = Site("32Z1400000000009", VoltageLevel.MV)
    assert access_problem(AccessProblem.MV_HV_NO_CONNECTION, mv, D(2026, 4, 14)).allowed
    refused = access_problem(AccessProblem.MV_HV_NO_CONNECTION, lv, D(2026, 4, 14))
    assert not refused.allowed and refused.numbers["voltage"] == "LV"


def _protocol(signatory: Signatory, **kw) -> HandoverProtocol:
    base = {
        "contract_number": "ME-2026-0001",
        "site_ids": ("32Z1400000000001",),
        "signed_on": D(2026, 12, 23),
        "technician": "Иван Петров Иванов",
        "signatory": signatory,
    }
    base.update(kw)
    return HandoverProtocol(**base)  # type: ignore[arg-type]


def test_clause_1_4_2_handover_protocol_three_copies_and_employee_signing() -> None:
    employee = Signatory("Мария Георгиева Петрова", SignatoryCapacity.EMPLOYEE, "счетоводител")
    d = handover(_protocol(employee), CustomerKind.LEGAL_ENTITY)
    assert d.allowed and d.clause == "1.4.2"
    assert (d.numbers["copies_customer"], d.numbers["copies_company"]) == (1, 2)

    no_position = Signatory("Мария Георгиева Петрова", SignatoryCapacity.EMPLOYEE)
    assert not handover(_protocol(no_position), CustomerKind.LEGAL_ENTITY).allowed
    two_names = Signatory("Мария Петрова", SignatoryCapacity.EMPLOYEE, "счетоводител")
    assert not handover(_protocol(two_names), CustomerKind.LEGAL_ENTITY).allowed
    d = handover(_protocol(employee), CustomerKind.NATURAL_PERSON)
    assert not d.allowed and "legal entity" in d.reason_en

    wrong = handover(_protocol(employee, copies_company=1), CustomerKind.LEGAL_ENTITY)
    assert not wrong.allowed and "three copies" in wrong.reason_en
    person = Signatory("Петър Иванов", SignatoryCapacity.CUSTOMER)
    assert handover(_protocol(person), CustomerKind.NATURAL_PERSON).allowed


def test_clause_1_5_impossible_installation_ends_without_penalties() -> None:
    for reason in ImpossibleReason:
        statement = StatementOfFindings("ME-2026-0001", "32Z1400000000001", D(2026, 4, 10), reason)
        d = installation_impossible(statement)
        assert d.allowed and d.clause == "1.5"
        assert d.numbers["penalty_customer"] == Decimal("0.00")
        assert d.numbers["penalty_company"] == Decimal("0.00")
        assert d.numbers["reason"] == reason.value
        assert "Appendix 3" in d.reason_en and "Приложение № 3" in d.reason_bg


@settings(max_examples=60)
@given(st.dates(D(2025, 1, 1), D(2030, 12, 31)), st.integers(1, 40))
def test_clause_1_3_deadline_is_a_working_day_and_grows_with_sites(
    day: dt.date, sites: int
) -> None:
    d = installation_deadline(day, sites, CAL).value
    assert d is not None
    assert CAL.is_working_day(d)
    assert d >= day + dt.timedelta(days=30)
    more = installation_deadline(day, sites + 1, CAL).value
    assert more is not None
    if sites > 5:
        assert CAL.working_days_between(d, more) == 3
    elif sites == 5:
        # the extension counts from day 30 itself; a day 30 off work first moves the
        # 5-site deadline to the next working day, which is then the first extra day
        moved = day + dt.timedelta(days=30) != d
        assert CAL.working_days_between(d, more) == (2 if moved else 3)
    else:
        assert more == d
