"""The JSON-lines control socket, over loopback TCP and a unix socket."""

from __future__ import annotations

import pytest

from simulators.clock import SimClock
from simulators.control import ControlServer, link_handler, meter_handler, request
from simulators.link import LinkProxy
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter


@pytest.fixture(params=["tcp", "unix"])
def control_address(request, tmp_path):
    return "127.0.0.1:0" if request.param == "tcp" else str(tmp_path / "meter.sock")


def test_meter_commands(meter, control_address):
    server = ControlServer(control_address, meter_handler(meter))
    try:
        addr = server.address
        reply = request(addr, {"fault": "no_reply", "count": 5})
        assert reply["ok"] and reply["faults"]["active"] == [{"fault": "no_reply", "remaining": 5}]
        reply = request(addr, {"fault": "implausible", "channel": "u_l1_v", "value": "nan"})
        assert reply["ok"]
        assert meter.begin_request().no_reply
        status = request(addr, {"status": True})
        assert status["ok"] and status["model"] == "sdm630" and status["slave"] == 1
        assert status["readings"]["u_l1_v"] == "nan"  # JSON has no NaN
        assert request(addr, {"clear": "no_reply"})["faults"]["active"][0]["fault"] == "implausible"
        assert request(addr, {"clear": True})["faults"]["active"] == []
        bad = request(addr, {"fault": "meltdown"})
        assert not bad["ok"] and "unknown fault" in bad["error"]
        assert not request(addr, {"what": 1})["ok"]
        t0 = meter.clock.now()
        assert request(addr, {"advance": 3600})["time"] == pytest.approx(t0 + 3600)
    finally:
        server.stop()


def test_advance_needs_an_advanceable_clock(sdm630):
    class Frozen:
        def now(self) -> float:
            return 1_782_036_000.0

    meter = SimulatedMeter(sdm630, LoadModel(1), Frozen())
    reply = meter_handler(meter)
    with pytest.raises(ValueError, match="cannot be advanced"):
        reply({"advance": 1})


def test_sim_clock_advance_and_speed():
    clock = SimClock(speed=60.0, start=1_000.0)
    assert 1_000.0 <= clock.now() < 1_060.0
    assert clock.advance(3600) >= 4_600.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_link_commands():
    with LinkProxy("127.0.0.1", 0, "127.0.0.1", 9) as proxy:
        server = ControlServer("127.0.0.1:0", link_handler(proxy))
        try:
            assert request(server.address, {"mode": "blackhole"})["mode"] == "blackhole"
            assert proxy.mode.kind == "blackhole"
            reply = request(server.address, {"mode": "throttle:2000:300"})
            assert reply["mode"] == "throttle:2000:300"
            assert request(server.address, {"schedule": "5:cut"})["ok"]
            status = request(server.address, {"status": True})
            assert status["bytes_up"] == 0 and status["connections"] == 0
            assert not request(server.address, {"mode": "warp"})["ok"]
        finally:
            server.stop()


def test_control_address_must_be_loopback():
    with pytest.raises(ValueError, match="loopback"):
        ControlServer("0.0.0.0:0", lambda cmd: {})
    with pytest.raises(ValueError, match="HOST:PORT"):
        ControlServer("localhost", lambda cmd: {})
