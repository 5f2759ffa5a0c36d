"""Shapes of a site's day: what a household or a small business draws, and the sun.

Pure, vectorised functions of local time (numpy arrays in, arrays out) used by
:mod:`simulators.load`. No randomness here: the noise and the appliance events are
added by the load model from its seeded generators, so these curves are the
"expected" load and can be plotted or checked on their own.

Numbers are plausible for north-east Bulgaria (Varna area, 43.2 N 27.9 E):
households with electric water heating and cooking, evening peak larger than the
morning one, more consumption in winter; businesses (a shop or an office) that run
on weekdays 08-18 with a lunch dip and a standing base load (fridges, servers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PROFILES", "Profile", "business_kw", "household_kw", "pv_fraction"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

LATITUDE_DEG = 43.2
LONGITUDE_DEG = 27.9


def _bump(hour: FloatArray, centre: float, width: float) -> FloatArray:
    """A Gaussian bump over the hour of day (wraps around midnight)."""
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def _ramp(hour: FloatArray, on: float, off: float, edge: float) -> FloatArray:
    """A smooth 0..1 plateau between ``on`` and ``off`` hours (logistic edges)."""
    up = 1.0 / (1.0 + np.exp(-(hour - on) / edge))
    down = 1.0 / (1.0 + np.exp((hour - off) / edge))
    return up * down


def _season(doy: FloatArray) -> FloatArray:
    """1 +/- 0.2: more in mid-January (heating, light), less in mid-July."""
    return 1.0 + 0.2 * np.cos(2.0 * np.pi * (doy - 15.0) / 365.25)


def household_kw(hour: FloatArray, weekday: IntArray, doy: FloatArray) -> FloatArray:
    """Expected household load in kW for local ``hour`` (0..24), ``weekday`` (Mon=0)."""
    weekend = weekday >= 5
    morning_at = np.where(weekend, 9.0, 7.0)
    d = (hour - morning_at + 12.0) % 24.0 - 12.0
    morning = 1.1 * np.exp(-0.5 * (d / 1.0) ** 2)
    midday = np.where(weekend, 0.7, 0.15) * _bump(hour, 13.0, 2.0)
    evening = 2.0 * _bump(hour, 19.5, 1.7)
    base = 0.25 + 0.1 * _bump(hour, 3.0, 2.5)  # fridge, standby, night-rate water heater
    return (base + morning + midday + evening) * _season(doy)


def business_kw(hour: FloatArray, weekday: IntArray, doy: FloatArray) -> FloatArray:
    """Expected small-business load in kW: weekday working hours, base load otherwise."""
    base = 2.0
    work = 12.0 * _ramp(hour, 7.8, 18.2, 0.35) * (1.0 - 0.15 * _bump(hour, 12.5, 0.4))
    saturday = 4.0 * _ramp(hour, 9.0, 14.0, 0.3)
    day = np.where(weekday < 5, work, np.where(weekday == 5, saturday, 0.0))
    # cooling in summer matters more to a shop than heating in winter
    summer = 1.0 + 0.15 * np.cos(2.0 * np.pi * (doy - 200.0) / 365.25)
    return (base + day) * summer


@dataclass(frozen=True)
class Profile:
    """A named load shape and the appliances that switch on top of it."""

    name: str
    shape_kw: Callable[[FloatArray, IntArray, FloatArray], FloatArray]
    events_per_kw_hour: float  # mean appliance switch-ons per hour per kW of expected load
    event_kw: tuple[float, float]  # range of one appliance's power
    event_s: tuple[float, float]  # range of how long it runs
    event_pf: tuple[float, ...]  # power factors to pick from (1.0 = resistive)


PROFILES: dict[str, Profile] = {
    "household": Profile(
        name="household",
        shape_kw=household_kw,
        events_per_kw_hour=1.2,
        event_kw=(0.4, 2.2),  # kettle, oven, washing machine heater, hair dryer
        event_s=(60.0, 1500.0),
        event_pf=(1.0, 1.0, 0.95, 0.85),
    ),
    "business": Profile(
        name="business",
        shape_kw=business_kw,
        events_per_kw_hour=0.25,
        event_kw=(1.0, 5.0),  # compressors, air conditioning, small motors
        event_s=(120.0, 2400.0),
        event_pf=(0.8, 0.85, 0.9, 1.0),
    ),
}


def pv_fraction(t_utc: FloatArray, doy: float) -> FloatArray:
    """Clear-sky PV output as a fraction of the peak power, for UTC times ``t_utc``.

    A sun-elevation bell: zero at night, highest at solar noon (about 10:10 UTC
    here), about 0.8 of the nameplate at noon in June and 0.3 in December.
    """
    lat = np.radians(LATITUDE_DEG)
    decl = np.radians(23.44) * np.sin(2.0 * np.pi * (284.0 + doy) / 365.0)
    solar_hour = (t_utc % 86400.0) / 3600.0 + LONGITUDE_DEG / 15.0
    hour_angle = np.radians(15.0 * (solar_hour - 12.0))
    sin_el = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return np.asarray(0.88 * np.clip(sin_el, 0.0, None) ** 1.2, dtype=np.float64)
