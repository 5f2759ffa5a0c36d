"""The stack's simulated meters: one per site, on a pty, with counters that survive a restart.

A :class:`~simulators.load.LoadModel` starts its energy counters at the same
seeded readings whenever it is created. For one run that is right; across runs of
the stack it is not: the agents' queues and sequence numbers carry over, and a
cloud would see every counter step back at each restart, as if the meter had
been swapped. So when a meter stops, its counters are saved beside its agent's
queue (``STATE_DIR/<device>/meter.json``), and the next run's meter goes on from
them (:class:`ResumedLoad`). The energy "used" while the stack was not running
is simply not there: as if the site had been switched off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.clock import Clock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer
from simulators.stack_sites import Site

__all__ = [
    "ResumedLoad",
    "StackMeter",
    "meter_load",
    "meter_state_path",
    "save_meter",
    "start_meter",
]

log = logging.getLogger(__name__)


class ResumedLoad(LoadModel):
    """A load model whose counters continue from ``carry`` (readings a previous run ended at)."""

    def __init__(
        self,
        seed: int,
        profile: str,
        pv_kw: float,
        *,
        carry: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed, profile, pv_kw, **kwargs)
        self._carry = dict(carry or {})
        self._offsets: dict[str, float] | None = None

    def counters_at(self, t: float) -> dict[str, float]:
        counters = super().counters_at(t)
        if self._offsets is None:
            # What this model starts at, and how far the carried readings are ahead of it.
            initial = super().counters_at(self.start)
            self._offsets = {
                ch: max(0.0, self._carry[ch] - initial[ch]) for ch in initial if ch in self._carry
            }
        return {ch: value + self._offsets.get(ch, 0.0) for ch, value in counters.items()}


@dataclass
class StackMeter:
    site: Site
    sim: SimulatedMeter
    server: RtuPtyServer

    @property
    def path(self) -> str:
        """The pty the agent opens."""
        return self.server.path


def meter_state_path(state_dir: Path, device_id: str) -> Path:
    return state_dir / device_id / "meter.json"


def _carried(site: Site, state_dir: Path) -> dict[str, float]:
    path = meter_state_path(state_dir, site.device_id)
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    if not isinstance(saved, dict) or (saved.get("model"), saved.get("seed")) != (
        site.model,
        site.seed,
    ):
        return {}  # another meter lived here: start afresh
    counters = saved.get("counters")
    if not isinstance(counters, dict):
        return {}
    return {str(k): float(v) for k, v in counters.items() if isinstance(v, int | float)}


def meter_load(site: Site, state_dir: Path, start: float | None = None) -> ResumedLoad:
    """The site's load, its counters going on from the last run's; from ``start`` if given.

    With ``start`` the counters are ``C0 = load.counters_at(start)`` there and grow
    from that instant on, whenever the meter is first asked: the stack's history
    backfill (:mod:`simulators.history`) ends at the same ``start`` with the same C0.
    """
    return ResumedLoad(
        site.seed,
        site.profile,
        site.pv_kw,
        carry=_carried(site, state_dir),
        start=start,
        scale=site.scale,
        phases=site.phases,
    )


def start_meter(
    site: Site, clock: Clock, state_dir: Path, *, load: ResumedLoad | None = None
) -> StackMeter:
    """The site's meter, serving on a new pty with the model's own line timing."""
    if load is None:
        load = meter_load(site, state_dir)
    sim = SimulatedMeter(site.meter_map, load, clock, slave_id=1)
    server = RtuPtyServer(sim, site.serial).start()
    return StackMeter(site, sim, server)


def save_meter(meter: StackMeter, state_dir: Path) -> None:
    """Remember the meter's counters for the next run (nothing if it never answered)."""
    load = meter.sim.load
    try:
        counters = load.counters_at(load.t)
    except RuntimeError:  # never polled: nothing to carry
        return
    path = meter_state_path(state_dir, meter.site.device_id)
    data = {"model": meter.site.model, "seed": meter.site.seed, "t": load.t, "counters": counters}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1) + "\n")
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot save the meter's counters to %s: %s", path, exc)
