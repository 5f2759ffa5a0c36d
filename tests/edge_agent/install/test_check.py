"""``myenergy-install check`` against simulated miswired panels on ptys, and the results
it keeps for ``protocol`` (shared format, see docs/installer.md)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from edge_agent.install import results
from hardware.maps import load_map
from simulators.clock import FakeClock, SimClock
from simulators.meter import SimulatedMeter
from simulators.wiring import Wiring

from .conftest import T0, Install, PtyMeter, site_load

ITEMS_3P = {
    "voltage_l1",
    "voltage_l2",
    "voltage_l3",
    "phase_sequence",
    "ct_direction",
    "ct_ratio",
    "current_balance",
    "frequency",
    "counters",
    "signal",
}
RESULT_KEYS = {
    "kind",
    "version",
    "at",
    "port",
    "slave",
    "model",
    "baud",
    "parity",
    "verdict",
    "items",
    "signal_dbm",
    "impossible_reason",
    "meter_serial",
}


def _check(install: Install, server: Any, *extra: Any) -> tuple[int, dict[str, Any]]:
    status, out, err = install(
        "--json", "check", "--port", server.path, "--slave", server.meter.slave_id,
        "--model", server.meter.map.model, "--baud", server.serial.baudrate,
        "--parity", "N", "--seconds", 2, *extra,
    )  # fmt: skip
    assert out, err
    return status, json.loads(out)


def _item(result: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in result["items"] if i["id"] == item_id)


def _true_values(wiring: Wiring | None = None) -> dict[str, float]:
    """What the test meter shows at T0 (FakeClock: the same at every request)."""
    meter = SimulatedMeter(load_map("sdm630"), site_load(), FakeClock(T0), wiring=wiring)
    return meter.refresh()


def test_a_healthy_site_passes_with_the_counters_advancing(
    pty_meter: PtyMeter, install: Install, state_dir: Path
) -> None:
    # the simulated clock runs 120x: in 2 s the site uses a few Wh, more than the
    # SDM630 counters' 10 Wh step, so "counters advancing" is judged, not skipped
    server = pty_meter("sdm630", baud=9600, slave=4, clock=SimClock(speed=120, start=T0))
    status, result = _check(install, server, "--breaker-a", 63, "--ct-ratio", "100/5")
    assert result["verdict"] == "pass", result["items"]
    assert status == 0
    assert {i["id"] for i in result["items"]} == ITEMS_3P
    assert _item(result, "counters")["status"] == "pass"
    assert _item(result, "phase_sequence")["status"] == "skipped"  # no angles in the map
    assert _item(result, "signal")["status"] == "skipped"
    assert result["impossible_reason"] is None


def test_defaults_come_from_the_last_scan(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter("sdm630", baud=19200, slave=37)
    assert install("scan", "--port", server.path, "--slaves", "36-38", "--bauds", "19200")[0] == 0
    _, out, _ = install("--json", "check", "--seconds", 1)
    result = json.loads(out)
    assert (result["port"], result["slave"], result["model"]) == (server.path, 37, "sdm630")
    assert (result["baud"], result["parity"]) == (19200, "N")


def test_without_scan_or_port_it_refuses(install: Install) -> None:
    status, _, err = install("check", "--seconds", 1)
    assert status == 2 and "scan" in err


def test_reversed_ct_on_l2_fails_naming_l2(pty_meter: PtyMeter, install: Install) -> None:
    assert _true_values()["p_l2_w"] > 100  # the site imports on L2
    server = pty_meter(wiring=Wiring(reversed_ct={2}))
    status, result = _check(install, server)
    item = _item(result, "ct_direction")
    assert item["status"] == "fail"
    assert "L2" in item["message_en"] and "L2" in item["advice_en"]
    assert "L1" not in item["advice_en"] and "L3" not in item["advice_en"]
    assert "arrow towards the load" in item["advice_en"]
    assert result["verdict"] == "fail" and status == 1


def test_reversed_ct_with_pv_declared_is_still_suspect(
    pty_meter: PtyMeter, install: Install
) -> None:
    server = pty_meter(wiring=Wiring(reversed_ct={2}))
    status, result = _check(install, server, "--pv")
    assert _item(result, "ct_direction")["status"] == "warn"
    assert status == 3


def test_missing_l3_fails_naming_l3(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter(wiring=Wiring(missing_phase={3}))
    status, result = _check(install, server)
    item = _item(result, "voltage_l3")
    assert item["status"] == "fail"
    assert "L3" in item["message_en"] and "fuse / voltage tap of L3" in item["advice_en"]
    assert _item(result, "voltage_l1")["status"] == "pass"
    assert status == 1


def test_ct_ratio_set_twice_too_high_gives_an_impossible_current(
    pty_meter: PtyMeter, install: Install
) -> None:
    true_i = _true_values()["i_l3_a"]
    # a breaker whose 1.1x limit lies between the real current and twice it
    breaker = round(1.5 * true_i / 1.1, 1)
    assert true_i < breaker * 1.1 < 2 * true_i
    healthy = pty_meter(slave=1)
    _, result = _check(install, healthy, "--breaker-a", breaker)
    assert _item(result, "ct_ratio")["status"] == "pass"
    server = pty_meter(slave=2, wiring=Wiring(ct_ratio={3: 2.0}))
    status, result = _check(install, server, "--breaker-a", breaker)
    item = _item(result, "ct_ratio")
    assert item["status"] == "fail"
    assert "L3" in item["message_en"] and "CT ratio is set higher" in item["message_en"]
    assert status == 1


def test_no_coverage_fails_with_the_1_5_reason(
    pty_meter: PtyMeter, install: Install, tmp_path: Path, state_dir: Path
) -> None:
    signal = tmp_path / "signal_dbm"
    signal.write_text("-112\n")
    server = pty_meter(clock=SimClock(speed=120, start=T0))
    status, result = _check(install, server, "--signal-file", signal)
    item = _item(result, "signal")
    assert item["status"] == "fail" and item["values"]["signal_dbm"] == -112
    assert "1.5 (Appendix 3)" in item["message_en"]
    assert result["impossible_reason"] == "no_mobile_coverage"
    assert result["signal_dbm"] == -112
    assert status == 1
    saved = results.latest(state_dir, "check")
    assert saved is not None and saved["impossible_reason"] == "no_mobile_coverage"


def test_signal_from_a_command(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter()
    _, result = _check(install, server, "--signal-command", "echo modem.signal.lte.rssi : -99")
    assert _item(result, "signal")["status"] == "warn"
    assert result["signal_dbm"] == -99


def test_a_missing_signal_file_is_refused(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter()
    status, _, err = install(
        "check", "--port", server.path, "--slave", 1, "--model", "sdm630",
        "--signal-file", "/nonexistent/signal",
    )  # fmt: skip
    assert status == 2 and "no such file" in err


def test_json_has_every_item_and_the_shared_format(
    pty_meter: PtyMeter, install: Install, state_dir: Path
) -> None:
    server = pty_meter()
    _, result = _check(install, server, "--breaker-a", 40)
    assert set(result) >= RESULT_KEYS
    assert {i["id"] for i in result["items"]} == ITEMS_3P
    for item in result["items"]:
        assert set(item) == {
            "id", "status", "message_bg", "message_en", "advice_bg", "advice_en", "values"
        }  # fmt: skip
        assert item["status"] in ("pass", "warn", "fail", "skipped")
        assert item["message_bg"] and item["message_en"]
    saved_path = Path(result["saved"])
    assert saved_path.parent == state_dir / "results"
    assert saved_path.name.startswith("check-") and saved_path.suffix == ".json"
    assert stat.S_IMODE(saved_path.stat().st_mode) == 0o600
    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    assert set(saved) == RESULT_KEYS  # exactly the shared format, nothing else
    assert saved == {k: v for k, v in result.items() if k != "saved"}


def test_text_output_is_a_table_in_both_languages(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter(wiring=Wiring(missing_phase={3}))
    status, out, _ = install(
        "check", "--port", server.path, "--slave", 1, "--model", "sdm630", "--baud", 9600,
        "--parity", "N", "--seconds", 1,
    )  # fmt: skip
    assert status == 1
    assert "voltage_l3" in out and "FAIL" in out
    assert "липсва фаза" in out and "phase missing" in out


def test_a_meter_that_does_not_answer(empty_pty: str, install: Install) -> None:
    status, _, err = install(
        "check", "--port", empty_pty, "--slave", 1, "--model", "sdm630", "--seconds", 1
    )
    assert status == 1 and "does not answer" in err


@pytest.mark.parametrize(
    "argv", [["--seconds", "0"], ["--breaker-a", "-1"], ["--ct-ratio", "x"], ["--slave", "0"]]
)
def test_bad_arguments_exit_2(install: Install, argv: list[str]) -> None:
    status, _, _ = install("check", "--port", "/dev/null", "--slave", 1, "--model", "sdm630", *argv)
    assert status == 2


def test_results_are_atomic_private_and_latest_wins(tmp_path: Path) -> None:
    first = {"kind": "check", "version": 1, "at": "2026-11-22T10:00:00Z", "verdict": "fail"}
    second = {**first, "at": "2026-11-22T10:05:00Z", "verdict": "pass"}
    p2 = results.save(tmp_path, second)
    p1 = results.save(tmp_path, first)
    assert p1.name == "check-20261122T100000Z.json"
    assert stat.S_IMODE(p1.stat().st_mode) == 0o600
    assert results.latest(tmp_path, "check") == second  # by "at", not by file time
    again = results.save(tmp_path, second)
    assert again != p2 and again.name == "check-20261122T100500Z-1.json"
    (tmp_path / "results" / "check-20261122T235959Z.json").write_text("{broken")
    assert results.latest(tmp_path, "check") == second
    assert not list((tmp_path / "results").glob(".*.tmp"))
    assert results.latest(tmp_path, "scan") is None
    with pytest.raises(ValueError):
        results.save(tmp_path, {"kind": "other"})


def test_several_meters_in_the_scan_need_a_slave(install: Install, state_dir: Path) -> None:
    meter = {"port": "/dev/ttyUSB0", "baud": 9600, "parity": "N", "model": "sdm630"}
    scan = {
        "kind": "scan",
        "version": 1,
        "at": "2026-11-22T10:00:00Z",
        "meters": [{**meter, "slave": 1}, {**meter, "slave": 2}],
    }
    results.save(state_dir, scan)
    status, _, err = install("check", "--seconds", 1)
    assert status == 2 and "several meters" in err and "--slave" in err


# ------------------------------------------------------------ phase sequence (EM340)


def test_em340_phase_sequence_l1_l2_l3_passes(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter("em340", slave=6)
    _, result = _check(install, server)
    item = _item(result, "phase_sequence")
    assert item["status"] == "pass", item
    assert item["values"] == {"sequence": "L1-L2-L3", "register": 0}


def test_em340_reversed_phase_sequence_fails_with_what_to_do(
    pty_meter: PtyMeter, install: Install
) -> None:
    server = pty_meter("em340", slave=6, wiring=Wiring(sequence_reversed=True))
    status, result = _check(install, server)
    item = _item(result, "phase_sequence")
    assert item["status"] == "fail"
    assert item["message_en"] == "L2 and L3 are swapped at the voltage taps (sequence L1-L3-L2)"
    assert "L2 и L3" in item["message_bg"]
    assert "Swap two phases" in item["advice_en"] and "Разменете" in item["advice_bg"]
    assert item["values"] == {"sequence": "L1-L3-L2", "register": -1}
    # nothing else is wrong at this panel: the sequence alone fails the check
    others = [i for i in result["items"] if i["id"] != "phase_sequence"]
    assert all(i["status"] != "fail" for i in others), others
    assert result["verdict"] == "fail" and status == 1


def test_em340_phase_sequence_is_not_judged_with_a_phase_missing(
    pty_meter: PtyMeter, install: Install
) -> None:
    server = pty_meter("em340", wiring=Wiring(missing_phase={3}, sequence_reversed=True))
    _, result = _check(install, server)
    assert _item(result, "voltage_l3")["status"] == "fail"
    assert _item(result, "phase_sequence")["status"] == "skipped"


def test_phase_sequence_text_in_both_languages(pty_meter: PtyMeter, install: Install) -> None:
    server = pty_meter("em340", slave=2, wiring=Wiring(sequence_reversed=True))
    status, out, _ = install(
        "check", "--port", server.path, "--slave", 2, "--model", "em340", "--seconds", 1
    )
    assert status == 1
    flat = " ".join(out.split())
    assert "L1-L3-L2" in flat and "напреженовите" in out and "voltage" in out
