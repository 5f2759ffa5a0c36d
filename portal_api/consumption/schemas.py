"""Response models of the consumption API, field for field as decision 0004 shows them.

The service returns these models and the web layer serialises them as they are,
so the JSON cannot drift from what the service computed. Times are aware
datetimes serialised with ``isoformat()``: always an explicit offset
(``+02:00``, ``+00:00``), never ``Z``, the same text as in the CSV export.
Energy is kWh to 3 decimals (1 Wh, the register's step); completeness 0..1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from portal_api.consumption.calendar import GroupBy, Resolution

IsoDatetime = Annotated[datetime, PlainSerializer(lambda t: t.isoformat(), return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class EnergyInterval(_Model):
    """Imported and exported energy of one interval; a gap has null energy, completeness 0."""

    interval_start: IsoDatetime
    interval_end: IsoDatetime
    import_kwh: float | None
    export_kwh: float | None
    completeness: float


class EnergyPage(_Model):
    """GET /sites/{site_id}/consumption."""

    site_id: str
    group_by: GroupBy
    tz: str
    unit: Literal["kWh"] = "kWh"
    count: int
    page: int
    page_size: int
    next: str | None
    previous: str | None
    results: list[EnergyInterval]


class PhaseValues(_Model):
    """Means over an interval of one phase; power also its lowest and highest mean."""

    p_w: float | None
    p_w_min: float | None
    p_w_max: float | None
    u_v: float | None
    i_a: float | None
    pf: float | None


class TotalValues(_Model):
    """Means over an interval of the three phases together."""

    p_w: float | None
    p_w_min: float | None
    p_w_max: float | None
    pf: float | None


class PhaseInterval(_Model):
    """One interval of the per-phase series; a gap has nulls and completeness 0."""

    interval_start: IsoDatetime
    interval_end: IsoDatetime
    completeness: float
    l1: PhaseValues
    l2: PhaseValues
    l3: PhaseValues
    total: TotalValues


class PhasePage(_Model):
    """GET /devices/{device_id}/phases."""

    device_id: str
    resolution: Resolution
    tz: str
    count: int
    page: int
    page_size: int
    next: str | None
    previous: str | None
    results: list[PhaseInterval]


class LatestValues(_Model):
    """GET /devices/{device_id}/latest: the newest record (its period's means) and the
    meter's registers at the end of that period."""

    device_id: str
    interval_start: IsoDatetime
    interval_end: IsoDatetime
    l1: PhaseValues
    l2: PhaseValues
    l3: PhaseValues
    total: TotalValues
    f_hz: float | None
    import_kwh: float | None
    export_kwh: float | None


class DeviceStatusView(_Model):
    """GET /devices/{device_id}/status.

    ``last_seen``: the newest of the device's own status message, the end of its
    newest record and its newest live sample. ``online``: the device's own
    status says online (the broker's last will says offline) and it was seen
    within the service's online window. ``state`` is the raw state of the newest
    status (``online``/``offline``), null when it never sent one.
    """

    device_id: str
    last_seen: IsoDatetime | None
    online: bool
    state: str | None
    status_at: IsoDatetime | None
    queue_depth: int | None
    signal_dbm: int | None
    clock: str | None
    version: str | None
    live_until: IsoDatetime | None
    records_dropped: int | None
    oldest_unsent_age_s: int | None


__all__ = [
    "DeviceStatusView",
    "EnergyInterval",
    "EnergyPage",
    "IsoDatetime",
    "LatestValues",
    "PhaseInterval",
    "PhasePage",
    "PhaseValues",
    "TotalValues",
]
