"""``myenergy-install scan`` against simulated meters on ptys: unexpected baud rate and
slave id, model identification, the errors a technician meets (no port, busy port,
nothing on the bus)."""

from __future__ import annotations

import errno
import json

import pytest
import serial

from edge_agent.install import results
from edge_agent.install.bus import Answer, _open_error
from edge_agent.install.identify import identify, plausible_supply, presence_read
from edge_agent.install.scan import line_settings, parse_slaves
from hardware.maps import available_models, load_map

from .conftest import Install, PtyMeter


def test_meter_at_an_unexpected_baud_rate_and_slave_id_is_found_and_identified(
    pty_meter: PtyMeter, install: Install, state_dir
) -> None:
    server = pty_meter("sdm630", baud=19200, slave=37)
    status, out, err = install("--json", "scan", "--port", server.path, "--slaves", "30-40")
    assert status == 0, err
    result = json.loads(out)
    assert result["ok"] is True
    [meter] = result["meters"]
    assert (meter["model"], meter["slave"], meter["baud"]) == ("sdm630", 37, 19200)
    assert (meter["parity"], meter["bytesize"], meter["stopbits"]) == ("N", 8, 1)
    assert 200 < meter["values"]["u_l1_v"] < 260 and 49 < meter["values"]["f_hz"] < 51
    # 9600 came first and nothing answered there; E cannot be set on a pty
    assert result["settings_tried"] == ["9600 8N1", "9600 8O1", "19200 8N1"]
    assert [s["line"] for s in result["settings_skipped"]] == ["9600 8E1"]
    assert server.stats.wrong_baud > 0  # the meter really heard the 9600 frames as noise
    saved = results.latest(state_dir, "scan")
    assert saved is not None and saved["meters"] == result["meters"]


def test_text_output_names_the_meter_and_what_was_tried(
    pty_meter: PtyMeter, install: Install
) -> None:
    server = pty_meter("sdm630", baud=9600, slave=2)
    status, out, _ = install("scan", "--port", server.path, "--slaves", "1-3", "--first")
    assert status == 0
    assert "found: sdm630" in out and "9600 8N1 slave 2" in out
    assert "tried: 9600 8N1" in out


@pytest.mark.parametrize(("model", "baud"), [("sdm120", 2400), ("pm5100", 19200)])
def test_other_models_are_told_apart(
    pty_meter: PtyMeter, install: Install, model: str, baud: int
) -> None:
    server = pty_meter(model, baud=baud, slave=3)
    status, out, err = install(
        "--json", "scan", "--port", server.path, "--bauds", str(baud), "--parities", "N",
        "--slaves", "1-4",
    )  # fmt: skip
    assert status == 0, err
    [meter] = json.loads(out)["meters"]
    assert meter["model"] == model


def test_sdm630_is_not_taken_for_the_single_phase_sdm120(pty_meter: PtyMeter) -> None:
    # Both Eastron maps read the SDM630's first registers plausibly; only the SDM630 map
    # also reads its per-phase energies: the map explaining more registers wins.
    from edge_agent.install.bus import auto_timeout, open_bus

    server = pty_meter("sdm630", slave=9)
    maps = [load_map(m) for m in available_models()]
    line = server.serial
    with open_bus(server.path, line, auto_timeout(line, 0.05)) as bus:
        found, rejected = identify(bus, 9, maps)
    assert found is not None and found.model == "sdm630"
    assert "fewer plausible points" in rejected["sdm120"]
    assert "probe" in rejected["em340"]  # answered, but not the EM340's code 341


def test_nothing_on_the_bus_exits_1_naming_what_was_tried(
    empty_pty: str, install: Install, state_dir
) -> None:
    status, out, err = install(
        "scan", "--port", empty_pty, "--bauds", "9600,19200", "--parities", "N", "--slaves", "1-3"
    )
    assert status == 1
    assert out == ""
    assert "no meter found" in err
    assert "9600 8N1, 19200 8N1" in err and "1-3" in err
    assert "A and B are not swapped" in err and "termination" in err and "powered" in err
    saved = results.latest(state_dir, "scan")
    assert saved is not None and saved["ok"] is False and saved["meters"] == []


def test_nothing_found_as_json(empty_pty: str, install: Install) -> None:
    status, out, _ = install(
        "--json", "scan", "--port", empty_pty, "--bauds", "9600", "--parities", "N",
        "--slaves", "1",
    )  # fmt: skip
    assert status == 1
    result = json.loads(out)
    assert result["error"]["code"] == "no_meter_found"


def test_wrong_port_says_no_such_port(install: Install, tmp_path) -> None:
    status, out, err = install("scan", "--port", tmp_path / "ttyUSB7")
    assert status == 1
    assert "no such port" in err and "ttyUSB7" in err
    status, out, _ = install("--json", "scan", "--port", tmp_path / "ttyUSB7")
    assert json.loads(out)["error"]["code"] == "no_such_port"


def test_busy_port_is_named(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter()
    holder = serial.Serial(server.path, exclusive=True)  # e.g. the agent
    try:
        status, _, err = install("scan", "--port", server.path, "--slaves", "1")
    finally:
        holder.close()
    assert status == 1
    assert "port busy" in err


def test_permission_denied_tells_about_dialout() -> None:
    # the tests run as root here, so a chmod cannot make the kernel refuse: the mapping
    # from the errno pyserial reports is checked instead
    error = _open_error("/dev/ttyUSB0", serial.SerialException(errno.EACCES, "denied"))
    assert error.code == "permission_denied"
    assert "dialout" in error.message and "permission denied" in error.message


def test_a_file_is_not_a_serial_port(install: Install, tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x")
    status, _, err = install("scan", "--port", path, "--slaves", "1")
    assert status == 1 and "not a serial port" in err


def test_bad_arguments_exit_2(install: Install) -> None:
    assert install("scan", "--port", "/dev/null", "--slaves", "0-3")[0] == 2
    assert install("scan", "--port", "/dev/null", "--bauds", "1234")[0] == 2
    assert install("scan", "--port", "/dev/null", "--parities", "X")[0] == 2


def test_slave_ranges_and_line_order() -> None:
    assert parse_slaves("1-3,37,2") == [1, 2, 3, 37]
    assert parse_slaves("1-247")[-1] == 247
    for bad in ("0", "248", "5-3", "a", ""):
        with pytest.raises(ValueError):
            parse_slaves(bad)
    order = [str(s) for s in line_settings("9600,19200", "N,E")]
    assert order == ["9600 8N1", "9600 8E1", "19200 8N1", "19200 8E1"]


def test_presence_read_comes_from_the_maps() -> None:
    maps = [load_map(m) for m in available_models()]
    # u_l1_v at FC4 address 0 (2 registers) is shared by SDM630, SDM120 and EM340
    assert presence_read(maps) == (4, 0, 2)
    assert presence_read([load_map("pm5100")]) == (3, 3027, 2)


def test_plausible_supply_rules() -> None:
    assert plausible_supply({"u_l1_v": 230.0, "f_hz": 50.0}) is None
    assert plausible_supply({"u_l1_v": 230.0, "u_l2_v": 0.0, "f_hz": 50.0}) is None
    assert plausible_supply({"u_l1_v": 230.0, "f_hz": 70.0}) is not None
    assert plausible_supply({"u_l1_v": 40.0, "f_hz": 50.0}) is not None
    assert plausible_supply({"u_l1_v": 900.0, "f_hz": 50.0}) is not None
    assert plausible_supply({"u_l1_v": float("nan"), "f_hz": 50.0}) is not None


def test_any_answer_proves_a_device() -> None:
    assert Answer("exception", exception_code=2).device_present
    assert Answer("garbled").device_present
    assert not Answer("silent").device_present


# ------------------------------------------------- identified through their probes


@pytest.mark.parametrize(
    ("model", "baud", "code"), [("em340", 9600, 341), ("pm5100", 19200, 15270)]
)
def test_em340_and_pm5100_are_identified_through_their_probes(
    pty_meter: PtyMeter, install: Install, model: str, baud: int, code: int
) -> None:
    server = pty_meter(model, baud=baud, slave=21)
    status, out, err = install(
        "--json", "scan", "--port", server.path, "--bauds", str(baud), "--parities", "N",
        "--slaves", "20-22",
    )  # fmt: skip
    assert status == 0, err
    [meter] = json.loads(out)["meters"]
    assert (meter["model"], meter["slave"], meter["probe"]) == (model, 21, code)


def test_em340_probe_decides_against_the_other_maps(pty_meter: PtyMeter) -> None:
    from edge_agent.install.bus import auto_timeout, open_bus

    server = pty_meter("em340", slave=8)
    maps = [load_map(m) for m in available_models()]
    line = server.serial
    with open_bus(server.path, line, auto_timeout(line, 0.05)) as bus:
        found, rejected = identify(bus, 8, maps)
    assert found is not None and (found.model, found.probe) == ("em340", 341)
    # the one-word read answered the code; the full poll still read V L3-L1 right
    assert 200 < found.values["u_l1_v"] < 260
    assert set(rejected) == set(available_models()) - {"em340"}
