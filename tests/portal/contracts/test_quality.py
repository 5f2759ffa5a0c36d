"""The quality norm of 6.5: the operator's CSV and the ±5 % comparison."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.quality import (
    OperatorReading,
    OurEnergy,
    Period,
    Verdict,
    compare,
    decode_operator_export,
    flagged_sites,
    parse_operator_csv,
)

SOFIA = ZoneInfo("Europe/Sofia")
E = Decimal
FULL = E("1")
MP = "32Z140000012345X"


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=SOFIA)


OCTOBER = Period(at(2026, 10, 1), at(2026, 11, 1))


def test_clause_6_5_monthly_export_with_decimal_comma_and_bulgarian_header() -> None:
    text = (
        "\ufeffИТН;Начало;Край;kWh\n"
        f"{MP};01.10.2026;31.10.2026;1 234,5\n"
        "\n"
        f"{MP}-2;01.10.2026;31.10.2026;17\n"
    )
    result = parse_operator_csv(text)
    assert result.errors == ()
    first = result.readings[0]
    assert first.kwh == E("1234.5")
    assert first.line == 2
    assert first.period == OCTOBER  # a date-only end is the last day included
    # October 2026 has the 25-hour day: 745 real hours
    lo, hi = first.period.utc()
    assert hi - lo == dt.timedelta(hours=745)
    assert result.readings[1].line == 4


def test_clause_6_5_errors_keep_their_line_numbers_and_nothing_is_lost() -> None:
    text = (
        "metering_point,period_start,period_end,kwh\n"
        # 03:00 does not exist on 29 March: the clocks jump to 04:00
        f"{MP},2026-03-29 02:45,2026-03-29 03:00,1.5\n"
        f"{MP},2026-03-29 04:00,2026-03-29 04:15,1.25\n"
        f'{MP},2026-03-29 04:15,2026-03-29 04:30,"1,5"\n'
        f"{MP},2026-03-29 04:30,2026-03-29 04:45,abc\n"
        f"{MP},2026-03-29 04:45,2026-03-29 05:00\n"
        f"{MP},2026-03-29 04:00,2026-03-29 04:15,1.25\n"
        f"{MP},2026-03-29 05:15,2026-03-29 05:00,1\n"
        f"{MP},2026-03-29 05:00,2026-03-29 05:15,-1\n"
    )
    result = parse_operator_csv(text)
    assert [r.line for r in result.readings] == [3, 4]
    assert result.readings[1].kwh == E("1.5")
    errors = {e.line: e.message for e in result.errors}
    assert sorted(errors) == [2, 5, 6, 7, 8, 9]
    assert "does not exist" in errors[2]
    assert "not a number" in errors[5]
    assert "3 fields" in errors[6]
    assert "duplicate of line 3" in errors[7]
    assert "ends before it starts" in errors[8]
    assert "negative" in errors[9]
    data_lines = len(text.strip().splitlines()) - 1
    assert len(result.readings) + len(result.errors) == data_lines


def test_clause_6_5_header_is_required() -> None:
    with pytest.raises(RuleError, match="line 1"):
        parse_operator_csv(f"{MP};2026-10-01;2026-10-31;12\n")
    with pytest.raises(RuleError):
        parse_operator_csv("\n\n")


def test_clause_6_5_quarter_hours_on_the_25_hour_day_sum_to_the_day() -> None:
    rows = ["metering_point;period_start;period_end;kwh"]
    start = at(2026, 10, 25).astimezone(dt.UTC)
    for k in range(100):  # 25 hours of quarter-hours, written in local wall-clock time
        lo = (start + dt.timedelta(minutes=15 * k)).astimezone(SOFIA)
        hi = (start + dt.timedelta(minutes=15 * (k + 1))).astimezone(SOFIA)
        rows.append(f"{MP};{lo:%Y-%m-%d %H:%M};{hi:%Y-%m-%d %H:%M};0,25")
    result = parse_operator_csv("\n".join(rows))
    assert result.errors == ()
    assert len(result.readings) == 100
    day = Period(at(2026, 10, 25), at(2026, 10, 26))
    [decision] = compare(result.readings, {(MP, day): OurEnergy(E("25.00"), FULL)})
    assert decision.value is Verdict.WITHIN
    assert decision.numbers["operator_kwh"] == E("25.00")
    assert decision.numbers["operator_rows"] == 100


def test_clause_6_5_offsets_in_timestamps_are_used_as_given() -> None:
    text = (
        "metering_point,period_start,period_end,kwh\n"
        f"{MP},2026-10-25T03:00+02:00,2026-10-25T03:15+02:00,2\n"
    )
    [reading] = parse_operator_csv(text).readings
    assert reading.period.start == dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.UTC)


def reading(kwh: str, period: Period = OCTOBER, point: str = MP) -> OperatorReading:
    return OperatorReading(point, period, E(kwh), 2)


def test_clause_6_5_five_percent_relative_to_the_operator() -> None:
    operator = [reading("1000.00")]
    cases = {
        "1050.00": Verdict.WITHIN,  # +5.00 % is the edge: within
        "950.00": Verdict.WITHIN,  # -5.00 %
        "1050.01": Verdict.FLAGGED,
        "949.99": Verdict.FLAGGED,
    }
    for ours, verdict in cases.items():
        [decision] = compare(operator, {(MP, OCTOBER): OurEnergy(E(ours), FULL)})
        assert decision.value is verdict, ours
        assert decision.clause == "6.5"
    [flag] = compare(operator, {(MP, OCTOBER): OurEnergy(E("1050.01"), FULL)})
    assert flag.numbers["deviation_percent"] == E("5.00")  # rounded for display, judged exactly
    assert flag.allowed is False
    assert flagged_sites([flag]) == [MP]


def test_clause_6_5_incomplete_periods_are_not_judged() -> None:
    operator = [reading("1000.00")]
    [decision] = compare(operator, {(MP, OCTOBER): OurEnergy(E("800"), E("0.985"))})
    assert decision.value is Verdict.NOT_JUDGED
    assert "98.5%" in decision.reason_en
    [ok] = compare(operator, {(MP, OCTOBER): OurEnergy(E("990"), E("0.99"))})
    assert ok.value is Verdict.WITHIN
    # operator coverage missing a fortnight
    half = Period(at(2026, 10, 1), at(2026, 10, 16))
    [gap] = compare([reading("500", half)], {(MP, OCTOBER): OurEnergy(E("500"), FULL)})
    assert gap.value is Verdict.NOT_JUDGED
    assert "gap" in gap.reason_en or "end" in gap.reason_en
    # the operator measured nothing
    [zero] = compare([reading("0")], {(MP, OCTOBER): OurEnergy(E("3"), FULL)})
    assert zero.value is Verdict.NOT_JUDGED
    # no row for the site at all
    [none] = compare([], {(MP, OCTOBER): OurEnergy(E("3"), FULL)})
    assert none.value is Verdict.NOT_JUDGED


def test_clause_6_5_metering_points_map_to_sites() -> None:
    decisions = compare(
        [reading("100")],
        {("site-1", OCTOBER): OurEnergy(E("120"), FULL)},
        site_of={MP: "site-1"},
    )
    assert flagged_sites(decisions) == ["site-1"]


def test_decode_operator_export_accepts_windows_1251() -> None:
    text = "ИТН;Начало;Край;kWh\n"
    assert decode_operator_export(text.encode("cp1251")) == text
    assert decode_operator_export(("\ufeff" + text).encode("utf-8")) == text


@settings(max_examples=80, deadline=None)
@given(
    operator=st.decimals(min_value=E("0.01"), max_value=E("100000"), places=2),
    factor=st.decimals(min_value=E("0.5"), max_value=E("1.5"), places=4),
)
def test_verdict_matches_the_relative_deviation(operator: Decimal, factor: Decimal) -> None:
    ours = operator * factor
    [decision] = compare([reading(str(operator))], {(MP, OCTOBER): OurEnergy(ours, FULL)})
    expected = Verdict.FLAGGED if abs(factor - 1) > E("0.05") else Verdict.WITHIN
    assert decision.value is expected


def test_clause_6_5_periods_of_the_repeated_dst_hour_are_two_periods() -> None:
    first = Period(
        dt.datetime(2026, 10, 25, 3, 0, tzinfo=SOFIA),
        dt.datetime(2026, 10, 25, 3, 15, tzinfo=SOFIA),
    )
    second = Period(
        dt.datetime(2026, 10, 25, 3, 0, fold=1, tzinfo=SOFIA),
        dt.datetime(2026, 10, 25, 3, 15, fold=1, tzinfo=SOFIA),
    )
    assert first != second and len({first, second}) == 2
    same = Period(*(t.astimezone(dt.UTC) for t in first.utc()))
    assert same == first and hash(same) == hash(first)
