"""Green Button "Download My Data": energy intervals as a NAESB ESPI (REQ.21) Atom feed.

There is no well-kept Python library for ESPI (the OpenESPI reference code is
Java, and the few Python packages are unmaintained parsers), so the feed is
built here with ``xml.etree``. Element names and their order follow the NAESB
schema ``espi.xsd`` (version 4.0): every ESPI type is an XSD sequence, so the
order below is the schema's, not a matter of taste.

The feed (namespaces ``http://www.w3.org/2005/Atom`` and ``http://naesb.org/espi``):

* UsagePoint — the site; ``ServiceCategory/kind`` 0 = electricity;
* LocalTimeParameters — the zone of the query: ``dstEndRule``, ``dstOffset``,
  ``dstStartRule``, ``tzOffset`` (schema order); for Europe/Sofia the last
  Sundays of March (03:00) and October (04:00), +3600 s, +7200 s;
* per direction (import = flowDirection 1 "forward", export = 19 "reverse"):
  a MeterReading, its ReadingType (``accumulationBehaviour`` 4 delta data,
  ``commodity`` 1, ``kind`` 12 energy, ``uom`` 72 Wh with
  ``powerOfTenMultiplier`` 0, ``intervalLength`` the intervals' usual length in
  seconds) and IntervalBlocks of IntervalReadings (``timePeriod`` start as unix
  seconds and duration, ``value`` in Wh). Blocks are one local day each for
  15-minute and hourly intervals, one block otherwise.

An interval without data (a gap) has no IntervalReading: ESPI has no null
value. One that is only partly covered carries ``ReadingQuality`` 13 ("mixed
characteristics": measured time mixed with missing time, so the value is a
lower bound). Ids are name-based UUIDs, so the same query gives the same feed.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal_api.consumption.schemas import EnergyInterval

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
MEDIA_TYPE = "application/atom+xml"

SERVICE_ELECTRICITY = 0
ACCUMULATION_DELTA = 4
COMMODITY_SECONDARY_METERED = 1
KIND_ENERGY = 12
UOM_WH = 72
FLOW_FORWARD = 1
FLOW_REVERSE = 19
QUALITY_MIXED = 13
DST_DISABLED = 0xFFFFFFFF
_OP_FIRST_WEEKDAY = 2  # 2..5: first..fourth occurrence of the weekday in the month
_OP_LAST_WEEKDAY = 7
_NOMINAL_S = {"15min": 900, "hour": 3600, "day": 86400, "week": 604800, "month": 2678400}
_DAILY_BLOCKS = ("15min", "hour")

ET.register_namespace("", ATOM)
ET.register_namespace("espi", ESPI)


def _a(tag: str) -> str:
    return f"{{{ATOM}}}{tag}"


def _e(tag: str) -> str:
    return f"{{{ESPI}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    child = ET.SubElement(parent, tag)
    if text is not None:
        child.text = str(text)
    return child


# -- LocalTimeParameters -------------------------------------------------------------


@dataclass(frozen=True)
class TimeParameters:
    """ESPI TimeConfiguration of a zone (seconds; rules as the schema's bit map)."""

    dst_end_rule: int
    dst_offset: int
    dst_start_rule: int
    tz_offset: int


def dst_rule(
    month: int, operator: int, *, weekday: int = 0, day: int = 0, hour: int = 0, seconds: int = 0
) -> int:
    """The DstRuleType bit map: seconds 0-11, hour 12-16, weekday 17-19 (Monday 1),
    day of month 20-24, operator 25-27, month 28-31."""
    return (month << 28) | (operator << 25) | (day << 20) | (weekday << 17) | (hour << 12) | seconds


def _transitions(year: int, tz: ZoneInfo) -> list[datetime]:
    """UTC instants in ``year`` where ``tz`` changes its offset (hour resolution)."""
    out = []
    t = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    before = t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(hours=1)
        now = t.astimezone(tz).utcoffset()
        if now != before:
            out.append(t)
            before = now
    return out


def _rule(instant: datetime, tz: ZoneInfo) -> int:
    """The rule of one transition: its weekday's occurrence in the month (first to
    fourth, or last), at the local wall time just before it."""
    local = (instant - timedelta(seconds=1)).astimezone(tz) + timedelta(seconds=1)
    last = (local + timedelta(days=7)).month != local.month
    operator = _OP_LAST_WEEKDAY if last else _OP_FIRST_WEEKDAY + (local.day - 1) // 7
    return dst_rule(
        local.month,
        operator,
        weekday=local.isoweekday(),
        hour=local.hour,
        seconds=local.minute * 60 + local.second,
    )


def time_parameters(tz: ZoneInfo, year: int) -> TimeParameters:
    """The zone's standard offset, DST offset and rules as they are in ``year``."""
    changes = _transitions(year, tz)
    if len(changes) != 2:  # no DST (UTC), or a zone that changed its rules that year
        offset = datetime(year, 1, 1, tzinfo=UTC).astimezone(tz).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        return TimeParameters(DST_DISABLED, 0, DST_DISABLED, seconds)
    first, second = changes
    offsets = [c.astimezone(tz).utcoffset() for c in changes]
    standard, summer = sorted(int(o.total_seconds()) for o in offsets if o is not None)
    # Northern hemisphere: summer time starts at the first change of the year.
    starts_first = int((offsets[0] or timedelta()).total_seconds()) == summer
    start, end = (first, second) if starts_first else (second, first)
    return TimeParameters(_rule(end, tz), summer - standard, _rule(start, tz), standard)


# -- the feed --------------------------------------------------------------------------


def _id(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'myenergy:' + '/'.join(parts))}"


def _stamp(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(
    feed: ET.Element, ident: str, title: str, links: Sequence[tuple[str, str]], updated: str
) -> ET.Element:
    """An Atom entry (id, links, title, content, published, updated); returns its content."""
    entry = _sub(feed, _a("entry"))
    _sub(entry, _a("id"), ident)
    for rel, href in links:
        ET.SubElement(entry, _a("link"), {"rel": rel, "href": href})
    _sub(entry, _a("title"), title)
    # RFC 4287 4.1.3: content holding elements must say it is XML (no type = text)
    content = ET.SubElement(entry, _a("content"), {"type": "application/xml"})
    _sub(entry, _a("published"), updated)
    _sub(entry, _a("updated"), updated)
    return content


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def _blocks(
    intervals: Sequence[EnergyInterval], group_by: str, tz: ZoneInfo
) -> Iterator[list[EnergyInterval]]:
    """Intervals per IntervalBlock: one local day each (15min/hour), else all."""
    if group_by not in _DAILY_BLOCKS:
        if intervals:
            yield list(intervals)
        return
    day: date | None = None
    block: list[EnergyInterval] = []
    for iv in intervals:
        local_day = iv.interval_start.astimezone(tz).date()
        if block and local_day != day:
            yield block
            block = []
        day = local_day
        block.append(iv)
    if block:
        yield block


def wh(kwh: float | None) -> int | None:
    """kWh (3 decimals) back to whole Wh."""
    return None if kwh is None else round(kwh * 1000)


def espi_feed(
    site_id: str,
    intervals: Sequence[EnergyInterval],
    *,
    group_by: str,
    tz: ZoneInfo,
    updated: datetime,
    title: str = "MyEnergy",
) -> bytes:
    """The ESPI Atom feed (UTF-8 XML with declaration) of a site's energy intervals.

    ``updated``: the feed's time (the caller's clock, so the output is reproducible).
    """
    stamp = _stamp(updated)
    root = f"UsagePoint/{site_id}"
    feed = ET.Element(_a("feed"))
    _sub(feed, _a("id"), _id(site_id, "feed", group_by, *(_span(intervals))))
    _sub(feed, _a("title"), f"{title}: {site_id}")
    _sub(feed, _a("updated"), stamp)

    usage_point = _entry(
        feed,
        _id(site_id, "UsagePoint"),
        site_id,
        [
            ("self", root),
            ("up", "UsagePoint"),
            ("related", f"{root}/MeterReading"),
            ("related", "LocalTimeParameters/1"),
        ],
        stamp,
    )
    point = _sub(usage_point, _e("UsagePoint"))
    _sub(_sub(point, _e("ServiceCategory")), _e("kind"), SERVICE_ELECTRICITY)

    year = intervals[0].interval_start.year if intervals else updated.year
    params = time_parameters(tz, year)
    ltp = _sub(
        _entry(
            feed,
            _id(site_id, "LocalTimeParameters", tz.key),
            tz.key,
            [("self", "LocalTimeParameters/1"), ("up", "LocalTimeParameters")],
            stamp,
        ),
        _e("LocalTimeParameters"),
    )
    _sub(ltp, _e("dstEndRule"), f"{params.dst_end_rule:08X}")
    _sub(ltp, _e("dstOffset"), params.dst_offset)
    _sub(ltp, _e("dstStartRule"), f"{params.dst_start_rule:08X}")
    _sub(ltp, _e("tzOffset"), params.tz_offset)

    lengths = Counter(_epoch(iv.interval_end) - _epoch(iv.interval_start) for iv in intervals)
    interval_length = lengths.most_common(1)[0][0] if lengths else _NOMINAL_S.get(group_by, 0)
    blocks = list(_blocks(intervals, group_by, tz))
    for n, (name, flow, field) in enumerate(
        (("import", FLOW_FORWARD, "import_kwh"), ("export", FLOW_REVERSE, "export_kwh")), 1
    ):
        reading = f"{root}/MeterReading/{n}"
        reading_type = f"ReadingType/{n}"
        _sub(
            _entry(
                feed,
                _id(site_id, "MeterReading", name),
                f"{name} ({group_by})",
                [
                    ("self", reading),
                    ("up", f"{root}/MeterReading"),
                    ("related", f"{reading}/IntervalBlock"),
                    ("related", reading_type),
                ],
                stamp,
            ),
            _e("MeterReading"),
        )
        rt = _sub(
            _entry(
                feed,
                _id(site_id, "ReadingType", name, group_by),
                f"Wh {name}, {interval_length} s",
                [("self", reading_type), ("up", "ReadingType")],
                stamp,
            ),
            _e("ReadingType"),
        )
        # XSD order: accumulationBehaviour, commodity, ..., flowDirection,
        # intervalLength, kind, ..., powerOfTenMultiplier, ..., uom
        _sub(rt, _e("accumulationBehaviour"), ACCUMULATION_DELTA)
        _sub(rt, _e("commodity"), COMMODITY_SECONDARY_METERED)
        _sub(rt, _e("flowDirection"), flow)
        _sub(rt, _e("intervalLength"), interval_length)
        _sub(rt, _e("kind"), KIND_ENERGY)
        _sub(rt, _e("powerOfTenMultiplier"), 0)
        _sub(rt, _e("uom"), UOM_WH)
        for b, block in enumerate(blocks, 1):
            _interval_block(
                feed,
                block,
                site_id=site_id,
                name=name,
                reading=reading,
                number=b,
                field=field,
                stamp=stamp,
            )
    ET.indent(feed)
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data


def _span(intervals: Sequence[EnergyInterval]) -> tuple[str, ...]:
    if not intervals:
        return ()
    return (str(_epoch(intervals[0].interval_start)), str(_epoch(intervals[-1].interval_end)))


def _interval_block(
    feed: ET.Element,
    block: Sequence[EnergyInterval],
    *,
    site_id: str,
    name: str,
    reading: str,
    number: int,
    field: str,
    stamp: str,
) -> None:
    start = _epoch(block[0].interval_start)
    end = _epoch(block[-1].interval_end)
    content = _entry(
        feed,
        _id(site_id, "IntervalBlock", name, str(start), str(end)),
        f"{name} {block[0].interval_start.isoformat()}",
        [("self", f"{reading}/IntervalBlock/{number}"), ("up", f"{reading}/IntervalBlock")],
        stamp,
    )
    ib = _sub(content, _e("IntervalBlock"))
    period = _sub(ib, _e("interval"))
    _sub(period, _e("duration"), end - start)
    _sub(period, _e("start"), start)
    for iv in block:
        value = wh(getattr(iv, field))
        if value is None:
            continue  # a gap: ESPI has no null reading
        ir = _sub(ib, _e("IntervalReading"))
        if iv.completeness < 1.0:
            _sub(_sub(ir, _e("ReadingQuality")), _e("quality"), QUALITY_MIXED)
        tp = _sub(ir, _e("timePeriod"))
        _sub(tp, _e("duration"), _epoch(iv.interval_end) - _epoch(iv.interval_start))
        _sub(tp, _e("start"), _epoch(iv.interval_start))
        _sub(ir, _e("value"), value)


__all__ = [
    "ATOM",
    "ESPI",
    "MEDIA_TYPE",
    "TimeParameters",
    "dst_rule",
    "espi_feed",
    "time_parameters",
    "wh",
]
