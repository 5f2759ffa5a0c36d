"""Fixtures: simulated meters on pseudo-terminals, and the CLI run in-process.

``pty_meter(model, baud=..., slave=..., wiring=..., clock=...)`` starts a
:class:`~simulators.rtu_pty.RtuPtyServer` and returns it (``.path`` is the port,
``.meter`` the :class:`~simulators.meter.SimulatedMeter`); every one is stopped at
teardown. On a pty the simulated meter answers only a client at its own baud rate,
like a real one; parity cannot be set on a pty (see docs/simulators.md), so the
meters here run at N and a scan skips E with a note.

``install(*argv)`` runs ``myenergy-install --state-dir <tmp> *argv`` and returns
``(exit status, stdout, stderr)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.install.cli import main
from hardware.maps import load_map
from hardware.model import SerialSettings
from simulators.clock import Clock, FakeClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter, meter_phases
from simulators.rtu_pty import RtuPtyServer
from simulators.wiring import Wiring

T0 = 1_782_036_000.0  # 2026-06-21 10:00 UTC, midday in Varna: a household with load on
SEED = 11

PtyMeter = Callable[..., RtuPtyServer]
Install = Callable[..., tuple[int, str, str]]


def site_load(model: str = "sdm630", *, pv_kw: float = 0.0, scale: float = 2.0) -> LoadModel:
    """The load the test meters measure; same arguments, same values at the same time."""
    phases = meter_phases(load_map(model))
    return LoadModel(SEED, "household", pv_kw=pv_kw, scale=scale, phases=phases)


@pytest.fixture
def pty_meter() -> Iterator[PtyMeter]:
    servers: list[RtuPtyServer] = []

    def start(
        model: str = "sdm630",
        *,
        baud: int = 9600,
        slave: int = 1,
        wiring: Wiring | None = None,
        clock: Clock | None = None,
        load: LoadModel | None = None,
    ) -> RtuPtyServer:
        meter = SimulatedMeter(
            load_map(model),
            load if load is not None else site_load(model),
            clock if clock is not None else FakeClock(T0),
            slave_id=slave,
            wiring=wiring,
        )
        server = RtuPtyServer(meter, SerialSettings(baud, "N", 8, 1)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def empty_pty() -> Iterator[str]:
    """A pty nobody answers on: a bus with no meter (or a dead one)."""
    master, slave = os.openpty()
    try:
        yield os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def install(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> Install:
    def run(*argv: Any) -> tuple[int, str, str]:
        capsys.readouterr()  # drop what came before
        status = main(["--state-dir", str(state_dir), *map(str, argv)])
        out, err = capsys.readouterr()
        return status, out, err

    return run
