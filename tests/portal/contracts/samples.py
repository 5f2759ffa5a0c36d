"""Sample data shared by the contract tests: a price list (4.1), moments, interruptions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal_api.contracts.domain.contract import VoltageLevel
from portal_api.contracts.domain.interruptions import Interruption
from portal_api.contracts.domain.prices import PriceList

LV, MV, HV = VoltageLevel.LV, VoltageLevel.MV, VoltageLevel.HV

# A price list in force from 2026-01-01: monthly unit prices per site (euro) by
# voltage level and subscription period, and the price of each additional device.
PRICES = PriceList(
    effective_from=dt.date(2026, 1, 1),
    items={
        (LV, 12): Decimal("19.90"),
        (LV, 24): Decimal("17.90"),
        (MV, 12): Decimal("39.90"),
        (MV, 24): Decimal("35.90"),
        (HV, 12): Decimal("59.90"),
        (HV, 24): Decimal("54.90"),
    },
    additional_device=Decimal("9.95"),
)

SOFIA = ZoneInfo("Europe/Sofia")


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    """A Europe/Sofia wall-clock moment."""
    return dt.datetime(y, mo, d, h, mi, tzinfo=SOFIA)


def planned(start: dt.datetime, end: dt.datetime, **kw: object) -> Interruption:
    return Interruption(kind="planned", start=start, end=end, **kw)  # type: ignore[arg-type]


def unplanned(start: dt.datetime, end: dt.datetime | None, **kw: object) -> Interruption:
    return Interruption(kind="unplanned", start=start, end=end, **kw)  # type: ignore[arg-type]
