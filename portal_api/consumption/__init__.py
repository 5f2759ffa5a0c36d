"""The portal's read side over ingest's time-series store (decision 0004).

ConsumptionService     service.py      energy by interval, phases, latest, device status
QueryError             errors.py       a refused query (naive time, span, unit, zone)
parse_instant          validation.py   a query bound: ISO 8601 with offset, or a local date
calendar               calendar.py     minutes, quarter-hours, local hours/days/ISO weeks/months
paginate, Page         paging.py       order and page a computed list
schemas                schemas.py      the pydantic response models (the API's JSON)
csv_lines              csv_export.py   RFC 4180 CSV, streamed line by line
espi_feed              espi.py         Green Button (NAESB ESPI) Atom feed
"""

from __future__ import annotations

from portal_api.consumption.calendar import GROUP_BYS, RESOLUTIONS, GroupBy, Resolution, zone
from portal_api.consumption.csv_export import csv_lines
from portal_api.consumption.errors import QueryError
from portal_api.consumption.espi import espi_feed
from portal_api.consumption.paging import Order, Page, paginate
from portal_api.consumption.schemas import (
    DeviceStatusView,
    EnergyInterval,
    EnergyPage,
    LatestValues,
    PhaseInterval,
    PhasePage,
    PhaseValues,
    TotalValues,
)
from portal_api.consumption.service import ConsumptionService
from portal_api.consumption.validation import parse_instant

__all__ = [
    "GROUP_BYS",
    "RESOLUTIONS",
    "ConsumptionService",
    "DeviceStatusView",
    "EnergyInterval",
    "EnergyPage",
    "GroupBy",
    "LatestValues",
    "Order",
    "Page",
    "PhaseInterval",
    "PhasePage",
    "PhaseValues",
    "QueryError",
    "Resolution",
    "TotalValues",
    "csv_lines",
    "espi_feed",
    "paginate",
    "parse_instant",
    "zone",
]
