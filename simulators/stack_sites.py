"""What ``myenergy-stack`` simulates: one site per meter, and how often it is polled.

Sites cycle through four templates, so three meters are three different panels
(a household with PV, two businesses) and the fourth is a single-phase household:

    demo-sdm630-1   Eastron SDM630     household, 6 kW PV
    demo-em340-2    Carlo Gavazzi EM340  business
    demo-pm5100-3   Schneider PM5100   business, larger, 30 kW PV
    demo-sdm120-4   Eastron SDM120     single-phase household
    demo-sdm630-5   ...                the cycle again, with other seeds

Seeds are fixed per slot, so the same ``--meters`` shows the same sites at the
same simulated time on every run.

Poll period under acceleration. Line timing on the pty is real time (a 9600 baud
line is 9600 baud whatever the clock says), while the agent's poll period is in
simulated seconds. At ``--speed 30`` an agent polling every simulated second would
need a poll every 33 ms of real time, ten times less than one SDM630 poll takes.
So each site polls at the shortest period that divides the minute and leaves the
line at most ``UTILISATION`` busy in real time: 1 s at speed 1, 15 s at speed 30.
Records stay complete (``samples == expected``); they just hold fewer polls.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware.maps import load_map
from hardware.model import MeterMap, SerialSettings
from hardware.planner import bus_time_s, plan_requests
from simulators.meter import meter_phases

__all__ = [
    "POLL_PERIODS_S",
    "UTILISATION",
    "Site",
    "SpeedError",
    "choose_poll_s",
    "max_speed",
    "plan_sites",
    "poll_plan",
]

# Poll periods the agent accepts that divide a minute (edge_agent.config), shortest first.
POLL_PERIODS_S = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0, 12.0, 15.0, 20.0, 30.0, 60.0)
# Share of the real poll period the line may be busy: the rest absorbs retries,
# thread scheduling and the other agents sharing this machine's cores.
UTILISATION = 0.7


class SpeedError(ValueError):
    """``--speed`` is too fast for a meter's line: not one poll fits in a simulated minute."""


@dataclass(frozen=True)
class _Template:
    model: str
    profile: str
    pv_kw: float
    scale: float
    what: str


_TEMPLATES = (
    _Template("sdm630", "household", 6.0, 1.0, "household, 6 kW PV"),
    _Template("em340", "business", 0.0, 1.0, "business"),
    _Template("pm5100", "business", 30.0, 2.5, "business x2.5, 30 kW PV"),
    _Template("sdm120", "household", 0.0, 1.0, "household, single phase"),
)
_SEED_BASE = 1000


@dataclass(frozen=True)
class Site:
    """One simulated panel: meter model, site load, and the agent's device id."""

    index: int  # 1-based position in the stack
    device_id: str
    meter_map: MeterMap
    profile: str
    pv_kw: float
    scale: float
    seed: int
    what: str  # a few words for people

    @property
    def model(self) -> str:
        return self.meter_map.model

    @property
    def phases(self) -> int:
        return meter_phases(self.meter_map)

    @property
    def serial(self) -> SerialSettings:
        """The line the simulator times: the model's own default settings."""
        return self.meter_map.serial

    @property
    def bus_time_s(self) -> float:
        """Real seconds the line is busy for one full poll."""
        return bus_time_s(plan_requests(self.meter_map), self.serial, self.meter_map.turnaround_s)


def plan_sites(count: int) -> list[Site]:
    """``count`` sites, cycling through the templates; fixed, distinct seeds."""
    if count < 1:
        raise ValueError(f"--meters must be at least 1, got {count}")
    sites = []
    for i in range(count):
        t = _TEMPLATES[i % len(_TEMPLATES)]
        sites.append(
            Site(
                index=i + 1,
                device_id=f"demo-{t.model}-{i + 1}",
                meter_map=load_map(t.model),
                profile=t.profile,
                pv_kw=t.pv_kw,
                scale=t.scale,
                seed=_SEED_BASE + i,
                what=t.what,
            )
        )
    return sites


def choose_poll_s(bus_s: float, speed: float) -> float | None:
    """The shortest poll period (simulated s) whose real duration the line can carry.

    None when even one poll a minute does not fit (see :func:`max_speed`).
    """
    for period in POLL_PERIODS_S:
        if bus_s * speed <= period * UTILISATION:
            return period
    return None


def max_speed(bus_s: float) -> float:
    """The highest ``--speed`` at which one poll a simulated minute still fits."""
    return POLL_PERIODS_S[-1] * UTILISATION / bus_s


def poll_plan(sites: list[Site], speed: float) -> dict[str, float]:
    """Poll period per device id; SpeedError naming the slowest line if one cannot keep up."""
    plan: dict[str, float] = {}
    for site in sites:
        bus_s = site.bus_time_s
        period = choose_poll_s(bus_s, speed)
        if period is None:
            s = site.serial
            slowest = min(max_speed(x.bus_time_s) for x in sites)
            raise SpeedError(
                f"--speed {speed:g} is too fast for {site.device_id}: one poll of the "
                f"{site.model} takes {bus_s * 1000:.0f} ms of real time on its "
                f"{s.baudrate} {s.bytesize}{s.parity}{s.stopbits} line, and at that speed a "
                f"simulated minute lasts {60_000 / speed:.0f} ms. Use --speed "
                f"{int(slowest)} or less with these meters."
            )
        plan[site.device_id] = period
    return plan
