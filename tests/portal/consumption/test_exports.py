"""CSV and Green Button (ESPI) exports: parsed back, they say what the JSON says."""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest

from portal_api.consumption import EnergyInterval, csv_lines, espi_feed
from portal_api.consumption.csv_export import HEADER, csv_filename
from portal_api.consumption.espi import time_parameters
from tests.portal.consumption.conftest import Dataset
from tests.portal.consumption.data import SITE, SOFIA

NS = {"atom": "http://www.w3.org/2005/Atom", "espi": "http://naesb.org/espi"}
UPDATED = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)

# Element order of the ESPI types used, from NAESB espi.xsd 4.0 (each an xs:sequence).
XSD_ORDER = {
    "UsagePoint": ["roleFlags", "ServiceCategory", "status", "serviceDeliveryPoint"],
    "ServiceCategory": ["kind"],
    "ReadingType": [
        "accumulationBehaviour",
        "commodity",
        "consumptionTier",
        "currency",
        "dataQualifier",
        "defaultQuality",
        "flowDirection",
        "intervalLength",
        "kind",
        "phase",
        "powerOfTenMultiplier",
        "timeAttribute",
        "tou",
        "uom",
    ],
    "IntervalBlock": ["interval", "IntervalReading"],
    "IntervalReading": ["cost", "ReadingQuality", "timePeriod", "value"],
    "interval": ["duration", "start"],
    "timePeriod": ["duration", "start"],
    "ReadingQuality": ["quality"],
    "LocalTimeParameters": ["dstEndRule", "dstOffset", "dstStartRule", "tzOffset"],
    "MeterReading": [],
}


def d(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=SOFIA)


# -- CSV ------------------------------------------------------------------------------


def test_csv_is_rfc4180_and_equals_the_json(dataset: Dataset) -> None:
    intervals = dataset.service.energy(SITE, d(2026, 3, 14), d(2026, 3, 17), "day", SOFIA)
    assert inspect.isgenerator(csv_lines(intervals))  # streamed, line by line
    lines = csv_lines(intervals)
    assert next(lines) == ",".join(HEADER) + "\r\n"
    body = list(lines)
    assert all(line.endswith("\r\n") for line in body)
    rows = list(csv.DictReader((",".join(HEADER) + "\r\n" + "".join(body)).splitlines()))
    assert len(rows) == len(intervals) == 3
    for row, iv in zip(rows, intervals, strict=True):
        assert row["interval_start"] == iv.interval_start.isoformat()
        assert row["interval_end"] == iv.interval_end.isoformat()
        assert float(row["completeness"]) == pytest.approx(iv.completeness, abs=1e-4)
        if iv.import_kwh is None:
            assert row["import_kwh"] == row["export_kwh"] == ""  # a gap is empty, not 0
        else:
            assert float(row["import_kwh"]) == iv.import_kwh
            assert float(row["export_kwh"]) == iv.export_kwh
    assert rows[1]["import_kwh"] == ""


def test_csv_filename_is_ascii() -> None:
    assert csv_filename("варна/1", "day", "2026-03-01", "2026-03-31") == (
        "______1_day_2026-03-01_2026-03-31.csv"
    )


# -- ESPI -----------------------------------------------------------------------------


def contents(root: ET.Element, name: str) -> list[ET.Element]:
    return root.findall(f"atom:entry/atom:content/espi:{name}", NS)


def local_name(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def check_order(element: ET.Element) -> None:
    """Every ESPI element's children follow the schema's sequence (recursively)."""
    name = local_name(element)
    if name in XSD_ORDER:
        order = XSD_ORDER[name]
        positions = [order.index(local_name(c)) for c in element]  # unknown name: ValueError
        assert positions == sorted(positions), name
    for child in element:
        check_order(child)


def readings(root: ET.Element, flow: int) -> list[tuple[int, int, int, int | None]]:
    """(start, duration, Wh, quality) of the IntervalReadings of one flow direction."""
    (reading_type,) = [
        rt
        for rt in contents(root, "ReadingType")
        if rt.findtext("espi:flowDirection", None, NS) == str(flow)
    ]
    assert reading_type is not None
    n = 1 if flow == 1 else 2
    out = []
    for entry in root.findall("atom:entry", NS):
        self_link = entry.find("atom:link[@rel='self']", NS)
        assert self_link is not None
        if f"/MeterReading/{n}/IntervalBlock/" not in self_link.attrib["href"]:
            continue
        for ir in entry.findall("atom:content/espi:IntervalBlock/espi:IntervalReading", NS):
            quality = ir.findtext("espi:ReadingQuality/espi:quality", None, NS)
            out.append(
                (
                    int(ir.findtext("espi:timePeriod/espi:start", "", NS)),
                    int(ir.findtext("espi:timePeriod/espi:duration", "", NS)),
                    int(ir.findtext("espi:value", "", NS)),
                    None if quality is None else int(quality),
                )
            )
    return out


def feed(intervals: list[EnergyInterval], group_by: str, tz: ZoneInfo = SOFIA) -> ET.Element:
    xml = espi_feed(SITE, intervals, group_by=group_by, tz=tz, updated=UPDATED)
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.fromstring(xml)


def test_espi_quarter_hours_of_the_dst_day(dataset: Dataset) -> None:
    intervals = dataset.service.energy(SITE, d(2026, 3, 29), d(2026, 3, 30), "15min", SOFIA)
    root = feed(intervals, "15min")
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    check_order(root)
    for entry in root.findall("atom:entry", NS):  # what Atom requires of an entry
        for required in ("id", "title", "updated"):
            assert entry.find(f"atom:{required}", NS) is not None
        content = entry.find("atom:content", NS)
        assert content is not None
        assert content.attrib["type"] == "application/xml"  # else Atom reads it as text

    (point,) = contents(root, "UsagePoint")
    assert point.findtext("espi:ServiceCategory/espi:kind", None, NS) == "0"
    assert len(contents(root, "MeterReading")) == 2
    for rt in contents(root, "ReadingType"):
        assert rt.findtext("espi:uom", None, NS) == "72"
        assert rt.findtext("espi:powerOfTenMultiplier", None, NS) == "0"
        assert rt.findtext("espi:accumulationBehaviour", None, NS) == "4"
        assert rt.findtext("espi:intervalLength", None, NS) == "900"
    flows = sorted(
        rt.findtext("espi:flowDirection", "", NS) for rt in contents(root, "ReadingType")
    )
    assert flows == ["1", "19"]

    (block,) = contents(root, "IntervalBlock")[:1]
    assert block.findtext("espi:interval/espi:duration", None, NS) == str(23 * 3600)
    assert block.findtext("espi:interval/espi:start", None, NS) == str(
        int(d(2026, 3, 29).timestamp())
    )
    imported = readings(root, 1)
    assert len(imported) == 92
    assert sum(wh for _, _, wh, _ in imported) == round(
        sum(iv.import_kwh or 0 for iv in intervals) * 1000
    )
    assert [start for start, _, _, _ in imported] == [
        int(iv.interval_start.timestamp()) for iv in intervals
    ]
    exported = readings(root, 19)
    assert sum(wh for _, _, wh, _ in exported) == round(
        sum(iv.export_kwh or 0 for iv in intervals) * 1000
    )


def test_espi_days_with_a_gap_and_a_partial_day(dataset: Dataset) -> None:
    intervals = dataset.service.energy(SITE, d(2026, 3, 1), d(2026, 4, 1), "day", SOFIA)
    root = feed(intervals, "day")
    check_order(root)
    imported = readings(root, 1)
    # the 15th has no data: no reading (ESPI has no null), every other day one each
    assert len(imported) == 30
    by_start = {start: (duration, wh, quality) for start, duration, wh, quality in imported}
    assert int(d(2026, 3, 15).timestamp()) not in by_start
    for iv in intervals:
        if iv.import_kwh is None:
            continue
        duration, wh, quality = by_start[int(iv.interval_start.timestamp())]
        assert wh == round(iv.import_kwh * 1000)
        assert duration == int(iv.interval_end.timestamp() - iv.interval_start.timestamp())
        assert quality == (None if iv.completeness == 1.0 else 13)
    assert by_start[int(d(2026, 3, 29).timestamp())][0] == 23 * 3600
    assert by_start[int(d(2026, 3, 16).timestamp())][2] == 13  # 95 of 96 quarter-hours
    assert len(contents(root, "IntervalBlock")) == 2  # one per direction


def test_espi_feed_is_reproducible(dataset: Dataset) -> None:
    intervals = dataset.service.energy(SITE, d(2026, 3, 29), d(2026, 3, 31), "hour", SOFIA)
    first = espi_feed(SITE, intervals, group_by="hour", tz=SOFIA, updated=UPDATED)
    assert first == espi_feed(SITE, intervals, group_by="hour", tz=SOFIA, updated=UPDATED)
    assert len(contents(ET.fromstring(first), "IntervalBlock")) == 4  # 2 days x 2 directions


# -- LocalTimeParameters ----------------------------------------------------------------


def decode(rule: int, year: int, tz: ZoneInfo) -> dt.datetime:
    """The instant a DstRuleType names in ``year`` (only the operators used here)."""
    month = rule >> 28
    operator = (rule >> 25) & 7
    weekday = (rule >> 17) & 7
    hour = (rule >> 12) & 0x1F
    seconds = rule & 0xFFF
    days = [
        dt.date(year, month, day)
        for day in range(1, 32)
        if _valid(year, month, day) and dt.date(year, month, day).isoweekday() == weekday
    ]
    day = days[-1] if operator == 7 else days[operator - 2]
    wall = dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz) + dt.timedelta(
        seconds=seconds
    )
    return wall


def _valid(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def test_sofia_local_time_parameters() -> None:
    params = time_parameters(SOFIA, 2026)
    assert (params.tz_offset, params.dst_offset) == (7200, 3600)
    assert f"{params.dst_start_rule:08X}" == "3E0E3000"  # last Sunday of March, 03:00
    assert f"{params.dst_end_rule:08X}" == "AE0E4000"  # last Sunday of October, 04:00
    for year in range(2026, 2031):
        start = decode(params.dst_start_rule, year, SOFIA)
        end = decode(params.dst_end_rule, year, SOFIA)
        # the wall time named is the one at which the clock jumps
        before_start = start - dt.timedelta(hours=1)
        assert before_start.utcoffset() == dt.timedelta(hours=2)
        assert (start + dt.timedelta(hours=1)).utcoffset() == dt.timedelta(hours=3)
        assert end.replace(hour=end.hour - 1).utcoffset() == dt.timedelta(hours=3)
        assert (end + dt.timedelta(hours=1)).utcoffset() == dt.timedelta(hours=2)


def test_local_time_parameters_of_other_zones() -> None:
    # the values of the Green Button sample data (US Eastern)
    ny = time_parameters(ZoneInfo("America/New_York"), 2026)
    assert f"{ny.dst_start_rule:08X}" == "360E2000"
    assert f"{ny.dst_end_rule:08X}" == "B40E2000"
    assert (ny.tz_offset, ny.dst_offset) == (-18000, 3600)
    utc = time_parameters(ZoneInfo("UTC"), 2026)
    assert (utc.dst_start_rule, utc.dst_end_rule, utc.dst_offset, utc.tz_offset) == (
        0xFFFFFFFF,
        0xFFFFFFFF,
        0,
        0,
    )
