"""Clause 6.5 import service: the operator's file beside our energy, refused or compared whole.

Our energy comes from a stand-in of the time-series read side that answers every
Europe/Sofia interval asked for with a constant power per site (so a 25-hour day
holds 25 hours of it); the audit test runs on the migrated database of
tests/portal/contracts_db.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.consumption.calendar import GroupBy as ConsumptionGroupBy
from portal_api.consumption.calendar import intervals
from portal_api.consumption.schemas import EnergyInterval
from portal_api.contracts.app.quality import (
    MAX_FILE_BYTES,
    FileTooLargeError,
    GroupBy,
    QualityImportError,
    QualityImports,
    compare_operator_file,
)
from portal_api.contracts.app.quality_csv import HEADER, result_csv
from portal_api.contracts.domain.quality import Verdict
from portal_api.db.models import AuditEntry
from tests.portal.contracts_db.conftest import seeded, sessions

__all__ = ["seeded", "sessions"]  # the fixtures of the persistence tests, used here

SOFIA = ZoneInfo("Europe/Sofia")
SITES = {"32Z140000000001A": "varna-0001", "32Z140000000002B": "varna-0002"}
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


class ConstantPower:
    """Our energy: ``kw[site]`` every hour of every interval, complete unless told."""

    def __init__(self, kw: dict[str, Decimal], completeness: float = 1.0) -> None:
        self.kw = kw
        self.completeness = completeness
        self.queries: list[tuple[str, GroupBy]] = []

    def energy(
        self,
        site_id: str,
        period_from: dt.datetime,
        period_to: dt.datetime,
        group_by: ConsumptionGroupBy | str,
        tz: ZoneInfo | str | None = None,
    ) -> list[EnergyInterval]:
        assert tz == "Europe/Sofia"
        assert group_by in ("15min", "hour", "day", "month")
        self.queries.append((site_id, group_by))
        bounds = intervals(
            int(period_from.timestamp()), int(period_to.timestamp()), group_by, SOFIA
        )
        return [
            EnergyInterval(
                interval_start=dt.datetime.fromtimestamp(start, SOFIA),
                interval_end=dt.datetime.fromtimestamp(end, SOFIA),
                import_kwh=float(round(self.kw[site_id] * (end - start) / 3600, 3)),
                export_kwh=0.0,
                completeness=self.completeness,
            )
            for start, end in bounds
        ]


def csv_file(*rows: str, header: str = "ИТН;начало;край;количество") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_6_5_monthly_csv_flags_over_5_percent() -> None:
    # October 2026 has 745 hours (DST ends on the 25th): 745 kWh at 1 kW, 1490 at 2 kW.
    reader = ConstantPower({"varna-0001": Decimal(1), "varna-0002": Decimal(2)})
    data = csv_file(
        "32Z140000000001A;01.10.2026;31.10.2026;700,000",  # ours +6.43 %: outside
        "32Z140000000002B;01.10.2026;31.10.2026;1450,5",  # ours +2.72 %: within
    )
    result = compare_operator_file(data, file_name="oct.csv", sites=SITES, reader=reader)
    assert [d.value for d in result.decisions] == [Verdict.FLAGGED, Verdict.WITHIN]
    flagged, within = result.decisions
    assert flagged.clause == within.clause == "6.5"
    assert flagged.numbers["our_kwh"] == Decimal("745.000")
    assert flagged.numbers["operator_kwh"] == Decimal("700.000")
    assert flagged.numbers["deviation_percent"] == Decimal("6.43")
    assert within.numbers["deviation_percent"] == Decimal("2.72")
    assert result.flagged == ("varna-0001",)
    # A whole month is read as one stored month row, not 2 976 quarter-hours.
    assert reader.queries == [("varna-0001", "month"), ("varna-0002", "month")]


def test_6_5_quarter_hour_csv_on_dst_day() -> None:
    """25 October 2026: 03:00-04:00 Sofia happens twice; 100 quarter-hours make the day."""
    rows = []
    start = dt.datetime(2026, 10, 24, 21, 0, tzinfo=dt.UTC)  # local midnight (+03:00)
    for i in range(100):
        begin = start + dt.timedelta(minutes=15 * i)
        local, end = (t.astimezone(SOFIA) for t in (begin, begin + dt.timedelta(minutes=15)))
        # Naive local times, as operators export them: the repeated hour comes twice,
        # and its first 03:45 ends at the second 03:00.
        rows.append(f"32Z140000000001A;{local:%Y-%m-%d %H:%M};{end:%Y-%m-%d %H:%M};0,25")
    reader = ConstantPower({"varna-0001": Decimal(1)})
    day = compare_operator_file(
        csv_file(*rows), file_name="qh.csv", sites=SITES, reader=reader, per="day"
    )
    assert day.readings == 100
    (decision,) = day.decisions
    assert decision.value is Verdict.WITHIN
    period_start, period_end = decision.numbers["period_start"], decision.numbers["period_end"]
    assert isinstance(period_start, dt.datetime) and isinstance(period_end, dt.datetime)
    # Elapsed time (same-zone subtraction would be wall-clock time: 24 h).
    assert period_end.astimezone(dt.UTC) - period_start.astimezone(dt.UTC) == dt.timedelta(hours=25)
    assert decision.numbers["operator_kwh"] == decision.numbers["our_kwh"] == Decimal("25.000")
    assert decision.numbers["operator_rows"] == 100

    by_row = compare_operator_file(
        csv_file(*rows), file_name="qh.csv", sites=SITES, reader=reader, per="row"
    )
    assert len(by_row.decisions) == 100
    assert {d.value for d in by_row.decisions} == {Verdict.WITHIN}

    # Without the repeated hour the operator's rows do not cover the 25-hour day.
    short = [r for i, r in enumerate(rows) if not 16 <= i < 20]
    missing = compare_operator_file(
        csv_file(*short), file_name="qh.csv", sites=SITES, reader=reader, per="day"
    )
    assert [d.value for d in missing.decisions] == [Verdict.NOT_JUDGED]
    assert "gap" in missing.decisions[0].reason_en


@pytest.mark.parametrize(
    ("ours_kwh", "verdict"),
    [
        (Decimal("105"), Verdict.WITHIN),  # +5.00 %: the norm's edge is inside it
        (Decimal("95"), Verdict.WITHIN),  # -5.00 %
        (Decimal("105.01"), Verdict.FLAGGED),  # +5.01 %
        (Decimal("94.99"), Verdict.FLAGGED),  # -5.01 %
    ],
)
def test_6_5_exactly_5_percent_not_flagged(ours_kwh: Decimal, verdict: Verdict) -> None:
    reader = ConstantPower({"varna-0001": ours_kwh / 24})
    data = csv_file("32Z140000000001A;2026-09-15;2026-09-15;100")
    result = compare_operator_file(data, file_name="d.csv", sites=SITES, reader=reader)
    assert [d.value for d in result.decisions] == [verdict]
    assert result.flagged == (("varna-0001",) if verdict is Verdict.FLAGGED else ())
    assert reader.queries == [("varna-0001", "day")]


def test_6_5_incomplete_data_on_our_side_is_not_judged() -> None:
    reader = ConstantPower({"varna-0001": Decimal(1)}, completeness=0.9)
    data = csv_file("32Z140000000001A;2026-09-15;2026-09-15;10")
    (decision,) = compare_operator_file(
        data, file_name="d.csv", sites=SITES, reader=reader
    ).decisions
    assert decision.value is Verdict.NOT_JUDGED
    assert "90.0%" in decision.reason_en


def test_6_5_bad_lines_refuse_the_whole_file_with_their_numbers() -> None:
    data = csv_file(
        "32Z140000000001A;2026-09-15;2026-09-15;10",
        "32Z999999999999Z;2026-09-15;2026-09-15;10",  # not our metering point
        "32Z140000000001A;2026-09-16 10:07;2026-09-16 10:22;1",  # off the quarter-hours
        "32Z140000000002B;2026-09-15;2026-09-15;ten",
    )
    reader = ConstantPower({"varna-0001": Decimal(1)})
    with pytest.raises(QualityImportError) as refused:
        compare_operator_file(data, file_name="bad.csv", sites=SITES, reader=reader)
    assert [e.line for e in refused.value.errors] == [3, 4, 5]
    assert "unknown metering point" in refused.value.errors[0].message
    assert "quarter-hour" in refused.value.errors[1].message
    assert reader.queries == []  # nothing compared, nothing half-done


def test_6_5_empty_headerless_and_oversized_files_are_refused() -> None:
    reader = ConstantPower({})
    with pytest.raises(QualityImportError, match="no data lines"):
        compare_operator_file(csv_file(), file_name="e.csv", sites=SITES, reader=reader)
    with pytest.raises(QualityImportError, match="header"):
        compare_operator_file(b"a;b\n1;2\n", file_name="h.csv", sites=SITES, reader=reader)
    with pytest.raises(FileTooLargeError):
        compare_operator_file(
            b"x" * (MAX_FILE_BYTES + 1), file_name="big.csv", sites=SITES, reader=reader
        )


def test_6_5_fifteen_minute_file_over_a_month_is_read_in_chunks() -> None:
    """ConsumptionService answers at most 31 days of quarter-hours per query."""
    rows = []
    first = dt.datetime(2026, 7, 1, 10, 0, tzinfo=SOFIA)
    for day in range(40):
        local = first + dt.timedelta(days=day)  # 10:00 local: never a DST hour
        end = local + dt.timedelta(minutes=15)
        rows.append(f"32Z140000000001A;{local:%Y-%m-%d %H:%M};{end:%Y-%m-%d %H:%M};0,25")
    reader = ConstantPower({"varna-0001": Decimal(1)})
    result = compare_operator_file(csv_file(*rows), file_name="qh.csv", sites=SITES, reader=reader)
    assert len(result.decisions) == 40
    assert {d.value for d in result.decisions} == {Verdict.WITHIN}
    assert reader.queries == [("varna-0001", "15min"), ("varna-0001", "15min")]


def test_6_5_result_csv_keeps_decimals_exact_and_reasons_in_the_language() -> None:
    reader = ConstantPower({"varna-0001": Decimal(1)})
    data = csv_file("32Z140000000001A;01.10.2026;31.10.2026;700")
    result = compare_operator_file(data, file_name="oct.csv", sites=SITES, reader=reader)
    bg, en = result_csv(result, "bg"), result_csv(result, "en")
    assert bg.startswith("\ufeff" + ",".join(HEADER))
    line = bg.splitlines()[1]
    assert "745.000" in line and "700" in line and ",6.43,flagged,6.5," in line
    assert "извън нормата" in bg and "outside the" in en


def test_6_5_import_is_audited_without_the_file(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    reader = ConstantPower({"varna-0001": Decimal(1)})
    imports = QualityImports(sessions, reader, lambda: NOW)
    # The persistence fixture's sites have metering points "32Z<site id>".
    assert imports.site_index()["32Zvarna-0001"] == "varna-0001"
    data = csv_file("32Zvarna-0001;01.10.2026;31.10.2026;700")
    result = imports.run(
        data, file_name="oct.csv", per="month", actor_user_id=seeded["user"], ip="10.0.0.5"
    )
    assert result.flagged == ("varna-0001",)
    with sessions() as session:
        (entry,) = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "quality_import")
        ).all()
    assert entry.actor_user_id == seeded["user"]
    assert entry.detail["flagged_sites"] == ["varna-0001"]
    assert entry.detail["sha256"] == result.sha256 and entry.detail["clause"] == "6.5"
    assert "32Zvarna-0001" not in json.dumps(entry.detail)  # the lines stay out of the log


def test_6_5_a_refused_file_leaves_no_audit_entry(
    sessions: sessionmaker[Session], seeded: dict[str, int]
) -> None:
    imports = QualityImports(sessions, ConstantPower({}), lambda: NOW)
    with pytest.raises(QualityImportError):
        imports.run(
            csv_file("nobody;01.10.2026;31.10.2026;700"),
            file_name="x.csv",
            per="row",
            actor_user_id=seeded["user"],
            ip=None,
        )
    with sessions() as session:
        assert session.scalars(select(AuditEntry)).all() == []
