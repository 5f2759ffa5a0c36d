"""The stack's mobile links: one flaky link with a schedule of cuts, and every modem's signal.

One device of the stack reaches the broker through a
:class:`~simulators.link.LinkProxy` whose schedule cuts, blackholes and throttles
the link now and then (real seconds, repeated), as a module at the edge of
coverage sees it; the others connect directly. Each module's "modem" reports its
signal strength through a file the agent reads (``[modem] signal_file``,
``STATE_DIR/<device>/signal-dbm``): a seeded random walk around a level typical
of its place, that drops while its link is cut (the modem lost the network) and
sags while it is throttled. So the status's ``signal_dbm`` moves the way a
portal user would expect from a weak site.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simulators.link import LinkProxy
from simulators.link_modes import LinkMode, parse_schedule

__all__ = [
    "FLAKY_SCHEDULE",
    "Radio",
    "RadioDevice",
    "signal_path",
]

# Real seconds: long enough in "pass" that a short demo or a test sees the device,
# then a cut (connections reset), a blackhole (bytes vanish, keepalive must notice)
# and a congested 2G-like fallback. Repeats for as long as the stack runs.
FLAKY_SCHEDULE = "90:pass,15:cut,60:pass,20:blackhole,60:pass,40:throttle:2000:300"
GOOD_DBM = -67.0  # a module in town, antenna outside the cabinet
WEAK_DBM = -97.0  # the flaky one: a metal cabinet at the edge of the cell
NO_SERVICE_DBM = -113  # what mmcli shows when the modem has lost the network
_STEP_S = 1.0


def signal_path(state_dir: Path, device_id: str) -> Path:
    """The file the device's agent reads its signal from."""
    return state_dir / device_id / "signal-dbm"


@dataclass
class RadioDevice:
    device_id: str
    path: Path
    level_dbm: float
    link: LinkProxy | None = None  # the flaky link it uploads through, if any


class Radio:
    """Writes every device's signal file once a second (a thread); owns the flaky links."""

    def __init__(self, devices: Sequence[RadioDevice], seed: int = 2026) -> None:
        self.devices = list(devices)
        self._rng = random.Random(seed)
        self._walk = {d.device_id: 0.0 for d in self.devices}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def flaky_link(broker_port: int, schedule: str = FLAKY_SCHEDULE) -> LinkProxy:
        """A started proxy on a free loopback port in front of the broker."""
        proxy = LinkProxy(
            "127.0.0.1",
            0,
            "127.0.0.1",
            broker_port,
            schedule=parse_schedule(schedule),
            repeat_schedule=True,
        )
        proxy.start()
        return proxy

    def start(self) -> None:
        self.write_all()  # before the agents read it the first time
        self._thread = threading.Thread(target=self._run, name="stack-radio", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        for device in self.devices:
            if device.link is not None:
                with contextlib.suppress(Exception):
                    device.link.stop()
                device.link = None

    def _run(self) -> None:
        while not self._stop.wait(_STEP_S):
            self.write_all()

    def level(self, device: RadioDevice) -> int:
        """The signal now: the walk around the device's level, or no service when cut."""
        mode: LinkMode | None = device.link.mode if device.link is not None else None
        if mode is not None and mode.kind in ("cut", "blackhole"):
            return NO_SERVICE_DBM
        # A bounded random walk: radio signal wanders a few dB, rarely more.
        walk = self._walk[device.device_id] + self._rng.gauss(0.0, 0.7)
        walk = max(-6.0, min(6.0, walk))
        self._walk[device.device_id] = walk
        sag = -8.0 if mode is not None and mode.kind == "throttle" else 0.0
        return round(device.level_dbm + walk + sag)

    def write_all(self) -> None:
        for device in self.devices:
            value = self.level(device)
            try:
                device.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = device.path.with_suffix(".tmp")
                tmp.write_text(f"{value}\n", encoding="utf-8")
                tmp.replace(device.path)  # the agent never reads half a number
            except OSError:
                continue  # the state directory went away: the agent reports "unknown"
