"""``myenergy-stack``: the device side on one machine, and its view of what is uploaded.

Unit tests (no servers): the site plan, the poll period under ``--speed``, the
agents' configuration, gap detection and decoding in the viewer's state, the
plain-output format, the table's width, and the refusals of the command line.

End to end (Mosquitto, as in production): the real command as a subprocess with
``--plain``, fast enough that every device uploads several one-minute records in
about 20 s; every record decodes, no sequence number is missing, every device
said "online", live mode streams, and the stack exits 0 on ``--duration`` and on
SIGTERM with nothing left running.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from edge_agent.config import ConfigError
from protocol import topics
from protocol.codec import Batch, Record, encode_batch, encode_live, encode_status
from simulators import stack, stack_run
from simulators.broker import find_mosquitto
from simulators.clock import FakeClock
from simulators.stack_config import MQTT_V5, MQTT_V311, agent_config, queue_path
from simulators.stack_lines import logfmt, parse_logfmt
from simulators.stack_meters import meter_state_path, save_meter, start_meter
from simulators.stack_sites import (
    UTILISATION,
    SpeedError,
    choose_poll_s,
    plan_sites,
    poll_plan,
)
from simulators.stack_state import BadMessage, SeqLine, StackState, phase_power_w
from simulators.stack_view import WIDE_COLUMNS, ViewContext, render

STACK_EXE = str(Path(sys.executable).with_name("myenergy-stack"))
T0 = 1_772_445_600  # 2026-03-02 10:00 UTC
SPEED = 30.0  # a simulated minute every 2 s

# scripts/test installs Mosquitto: where it is missing these tests fail, not skip
needs_mosquitto = pytest.mark.integration


# -- the site plan and the poll period -----------------------------------------------------


def test_three_different_meters_by_default_and_a_single_phase_fourth() -> None:
    sites = plan_sites(3)
    assert [s.device_id for s in sites] == ["demo-sdm630-1", "demo-em340-2", "demo-pm5100-3"]
    assert len({s.seed for s in plan_sites(8)}) == 8  # distinct
    assert [s.seed for s in plan_sites(3)] == [s.seed for s in sites]  # fixed
    assert {s.profile for s in sites} == {"household", "business"}
    assert any(s.pv_kw > 0 for s in sites)
    fourth = plan_sites(4)[3]
    assert (fourth.model, fourth.phases) == ("sdm120", 1)
    assert all(topics.valid_device_id(s.device_id) for s in plan_sites(9))


def test_poll_period_keeps_the_real_line_within_budget() -> None:
    sites = plan_sites(4)
    assert set(poll_plan(sites, 1.0).values()) == {1.0}  # real time: poll every second
    for speed in (10.0, 30.0, 60.0):
        for site, poll_s in zip(sites, poll_plan(sites, speed).values(), strict=True):
            assert 60 % poll_s == 0
            assert site.bus_time_s * speed <= poll_s * UTILISATION
            shorter = [p for p in (1.0, 2.0, 5.0) if p < poll_s]
            assert all(choose_poll_s(site.bus_time_s, speed) != p for p in shorter)


def test_too_fast_for_a_line_is_refused_with_the_limit() -> None:
    with pytest.raises(SpeedError, match=r"demo-sdm120-4.*Use --speed 6\d or less"):
        poll_plan(plan_sites(4), 100.0)
    poll_plan(plan_sites(3), 100.0)  # without the 2400-baud SDM120 it fits


def test_agent_config_opens_the_pty_without_parity(tmp_path: Path) -> None:
    site = plan_sites(3)[2]  # the PM5100 runs 19200 8E1
    config = agent_config(
        site, serial_port="/dev/pts/9", mqtt_port=1884, poll_s=15.0, state_dir=tmp_path
    )
    assert site.serial.parity == "E"
    assert (config.meter.parity, config.meter.baudrate) == ("N", 19200)
    assert (config.meter.port, config.meter.poll_s) == ("/dev/pts/9", 15.0)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls.enabled) == (
        "127.0.0.1",
        1884,
        False,
    )
    assert config.store.path == queue_path(tmp_path, "demo-pm5100-3")
    assert config.device.id == "demo-pm5100-3"
    assert config.mqtt.protocol == "5"
    amqtt = agent_config(
        site,
        serial_port="/dev/pts/9",
        mqtt_port=1884,
        poll_s=15.0,
        state_dir=tmp_path,
        mqtt_protocol=MQTT_V311,
    )
    assert amqtt.mqtt.protocol == "3.1.1"


def test_meter_counters_and_time_carry_over_between_runs(tmp_path: Path) -> None:
    site = plan_sites(1)[0]
    clock = FakeClock(T0)
    meter = start_meter(site, clock, tmp_path)
    try:
        meter.sim.refresh()
        clock.advance(3600)
        before = meter.sim.refresh()["e_imp_wh"]
    finally:
        meter.server.stop()
    save_meter(meter, tmp_path)
    assert meter_state_path(tmp_path, site.device_id).exists()

    again = start_meter(site, FakeClock(T0 + 7200), tmp_path)
    try:
        after = again.sim.refresh()["e_imp_wh"]
    finally:
        again.server.stop()
    assert before <= after <= before + 10  # where it stopped, within one 10 Wh step

    stack_run.save_clock(tmp_path, T0 + 99_999)
    assert stack_run.saved_clock(tmp_path) == T0 + 99_999


@needs_mosquitto
def test_simulated_time_resumes_where_the_last_run_ended(tmp_path: Path) -> None:
    stack_run.save_clock(tmp_path, time.time() + 86_400)
    options = stack_run.StackOptions(state_dir=tmp_path, broker="mosquitto")
    resumed = stack_run.Stack(options)
    assert resumed.clock.now() >= time.time() + 86_000
    assert resumed.rewind_s == 0
    rewound = stack_run.Stack(dataclasses.replace(options, start=time.time()))
    assert rewound.rewind_s == pytest.approx(86_400, abs=5)


@needs_mosquitto
def test_one_stack_per_state_dir(tmp_path: Path) -> None:
    options = stack_run.StackOptions(state_dir=tmp_path, broker="mosquitto")
    first = stack_run.Stack(options)
    first._lock_state_dir()
    try:
        with pytest.raises(stack_run.StackError, match="another myenergy-stack is running"):
            stack_run.Stack(options).start()
    finally:
        first.stop()
    assert not (tmp_path / "mosquitto").exists()  # refused before the broker started


# -- the viewer's state --------------------------------------------------------------------


def _record(seq: int, span: int = 1, p: float = 500.0) -> Record:
    return Record(
        seq=seq,
        ts=T0 + 60 * (seq - 1),
        period_s=60,
        clock=0,
        samples=4,
        expected=4,
        span=span,
        stats={"p_l1_w": (p, p, p), "p_total_w": (3 * p, 3 * p, 3 * p)},
        counters={"e_imp_wh": 1_000_000 + seq, "e_exp_wh": 0},
    )


def test_seq_line_counts_holes_and_closes_them() -> None:
    line = SeqLine()
    assert line.missing == 0
    line.add(10)
    line.add(11, span=2)
    line.add(15)
    assert line.missing == 2  # 13 and 14
    assert line.add(13, span=2) == 2
    assert line.missing == 0
    assert line.add(12) == 0  # a duplicate: at-least-once delivery


def test_state_decodes_batches_status_and_live() -> None:
    sites = plan_sites(4)
    state = StackState(sites, poll_plan(sites, 1.0))
    dev = "demo-sdm630-1"
    state.on_message(topics.status(dev), encode_status({"state": "online", "queue_depth": 2}), True)
    up = encode_batch(Batch(dev, [_record(1), _record(2), _record(4, p=700.0)]))
    event = state.on_message(topics.uplink(dev), up)
    live = encode_live(dev, [(T0 * 1000, {"p_l1_w": 100.0, "p_total_w": 300.0})])
    state.on_message(topics.live(dev), live)
    assert state.on_message(topics.uplink("someone-else"), up) is None
    bad = state.on_message(topics.uplink("demo-em340-2"), b"garbage")

    assert event is not None and getattr(event, "missing", None) == 1
    assert isinstance(bad, BadMessage)
    rows = {r.device_id: r for r in state.snapshot()}
    row = rows[dev]
    assert (row.state, row.records, row.missing, row.queue_depth) == ("online", 3, 1, 2)
    assert row.power_w["L1"] == 700.0 and row.import_wh == 1_000_004
    assert row.live is not None and row.live.power_w["L1"] == 100.0
    assert row.bytes == len(up) + len(live) + len(
        encode_status({"state": "online", "queue_depth": 2})
    )
    assert rows["demo-em340-2"].problem is not None
    assert rows["demo-sdm120-4"].state == "waiting"
    assert state.totals().bad_messages == 1


def test_single_phase_power_is_l1() -> None:
    assert phase_power_w({"p_total_w": 2300.0}) == {"total": 2300.0, "L1": 2300.0}
    three = phase_power_w({"p_l1_w": 1.0, "p_l2_w": 2.0, "p_l3_w": 3.0, "p_total_w": 6.0})
    assert three == {"L1": 1.0, "L2": 2.0, "L3": 3.0, "total": 6.0}


def test_logfmt_round_trip() -> None:
    fields = {"device": "demo-sdm630-1", "site": 'household, "6 kW" PV', "ok": True, "none": None}
    kind, parsed = parse_logfmt(logfmt("meter", fields))
    assert kind == "meter"
    assert parsed == {
        "device": "demo-sdm630-1",
        "site": 'household, "6 kW" PV',
        "ok": "true",
        "none": "-",
    }


@pytest.mark.parametrize("width", [80, WIDE_COLUMNS])
def test_table_fits_the_terminal(width: int) -> None:
    sites = plan_sites(4)
    state = StackState(sites, poll_plan(sites, 30.0))
    for site in sites:
        state.on_message(topics.status(site.device_id), encode_status({"state": "offline"}))
        batch = Batch(site.device_id, [_record(s, p=-12_345.0) for s in range(1, 1000)])
        state.on_message(topics.uplink(site.device_id), encode_batch(batch))
    ctx = ViewContext(
        broker="mosquitto",
        address="127.0.0.1:65535",
        mqtt_protocol=MQTT_V5,
        speed=30,
        started=time.monotonic(),
        log_path="var/stack/stack.log",
        keys=True,
        live_minutes=5,
    )
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(render(state, ctx, T0 + 3600, width, 40))
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines())
    assert "…" not in text  # nothing cut
    assert "demo-sdm120-4" in text and "offline" in text and "-12.35" in text
    assert ("state" in text.splitlines()[2]) == (width >= WIDE_COLUMNS)


# -- the command line's refusals -------------------------------------------------------------


def test_help_reads_as_documentation(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        stack.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for words in ("--speed", "--live", "--duration", "--broker", "exit status", "examples"):
        assert words in out


def test_mosquitto_asked_for_but_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(stack_run, "find_mosquitto", lambda: None)
    code = stack.main(["--broker", "mosquitto", "--state-dir", str(tmp_path), "--plain"])
    assert code == 2
    assert "Mosquitto is not installed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


def test_auto_falls_back_to_amqtt_and_mqtt_311(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_run, "find_mosquitto", lambda: None)
    fallback = stack_run.Stack(stack_run.StackOptions(broker="auto"))
    assert (fallback.broker_kind, fallback.mqtt_protocol) == ("amqtt", "3.1.1")
    monkeypatch.setattr(stack_run, "find_mosquitto", lambda: "/usr/sbin/mosquitto")
    normal = stack_run.Stack(stack_run.StackOptions(broker="auto"))
    assert (normal.broker_kind, normal.mqtt_protocol) == ("mosquitto", "5")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--live", "demo-nope-9"], "no such device"),
        (["--speed", "500"], "too fast"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert stack.main([*args, "--state-dir", str(tmp_path), "--plain"]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_config_error_names_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConfigError([])

    monkeypatch.setattr(stack_run, "agent_config", refuse)
    with pytest.raises(stack_run.StackError, match="demo-sdm630-1"):
        stack_run.Stack(stack_run.StackOptions(broker="mosquitto" if find_mosquitto() else "amqtt"))


# -- the documentation (STYLE 11) -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _doc_commands() -> list[list[str]]:
    commands = []
    for doc in (ROOT / "docs" / "stack.md", ROOT / "README.md"):
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), flags=re.DOTALL):
            for line in block.splitlines():
                words = shlex.split(line.split("#")[0].split(">")[0])
                if words and Path(words[0]).name in ("myenergy-stack", "run-stack"):
                    commands.append(words[1:])
    return commands


def test_documented_commands_parse() -> None:
    commands = _doc_commands()
    assert len(commands) >= 5
    for argv in commands:
        stack.build_parser().parse_args(argv)


def test_documented_plain_output_parses() -> None:
    text = (ROOT / "docs" / "stack.md").read_text()
    block = text.split("## Plain output", 1)[1].split("```", 2)[1]
    kinds = {parse_logfmt(line)[0] for line in block.splitlines()[1:] if line}
    assert {"stack", "meter", "up", "status", "live", "final", "summary"} <= kinds


# -- end to end ------------------------------------------------------------------------------


def _lines(out: str) -> list[tuple[str, dict[str, str]]]:
    return [parse_logfmt(line) for line in out.splitlines() if line.strip()]


def _no_broker_left(state_dir: Path) -> None:
    conf = str(state_dir / "mosquitto" / "mosquitto.conf").encode()
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if conf in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:  # the process ended meanwhile
            continue
    assert not left, f"mosquitto still running: pids {left}"


@needs_mosquitto
@pytest.mark.integration
def test_stack_uploads_every_device_without_gaps(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    proc = subprocess.run(
        [
            STACK_EXE,
            "--plain",
            "--speed",
            str(SPEED),
            "--duration",
            "20",
            "--state-dir",
            str(state_dir),
            "--live",
            "all",
            "--live-minutes",
            "2",
            # The device side only: the cloud in the stack has its own test (test_stack_cloud).
            "--no-portal",
            "--history-days",
            "0",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc.stdout)
    kinds = [k for k, _ in lines]
    assert kinds[0] == "stack" and kinds[-1] == "summary"
    stack_line = lines[0][1]
    assert stack_line["broker"] == "mosquitto" and stack_line["mqtt"] == "5"
    meters = [f for k, f in lines if k == "meter"]
    devices = [f["device"] for f in meters]
    assert devices == ["demo-sdm630-1", "demo-em340-2", "demo-pm5100-3", "demo-sdm120-4"]
    # The single-phase household is the one behind the flaky mobile link.
    assert [f["link"] for f in meters] == ["direct", "direct", "direct", "flaky"]

    for device in devices:
        ups = [f for k, f in lines if k == "up" and f["device"] == device]
        complete = [f for f in ups if f["samples"].split("/")[0] == f["samples"].split("/")[1]]
        assert len(complete) >= 2, f"{device}: {len(complete)} complete records"
        assert all(f["missing"] == "0" for f in ups)
        assert all(float(f["import_kwh"]) > 0 for f in ups)
        statuses = [f for k, f in lines if k == "status" and f["device"] == device]
        assert any(f["state"] == "online" and f["retained"] == "false" for f in statuses)
        assert statuses[-1]["state"] == "offline"  # said goodbye on the way out
        live = [f for k, f in lines if k == "live" and f["device"] == device]
        assert len(live) >= 3, f"{device}: live mode did not stream"
        final = next(f for k, f in lines if k == "final" and f["device"] == device)
        assert final["missing"] == "0" and final["problem"] == "-"
        assert int(final["records"]) == sum(int(f["records"]) for f in ups)
    summary = lines[-1][1]
    assert (summary["missing"], summary["bad"]) == ("0", "0")
    assert "Traceback" not in proc.stderr
    _no_broker_left(state_dir)
    for device in devices:
        assert queue_path(state_dir, device).exists()


@pytest.mark.integration
def test_amqtt_fallback_carries_the_data_on_mqtt_311(tmp_path: Path) -> None:
    # What a machine without Mosquitto gets: the in-process broker, agents on 3.1.1.
    state_dir = tmp_path / "stack"
    proc = subprocess.run(
        [
            *(STACK_EXE, "--plain", "--broker", "amqtt", "--meters", "2", "--no-portal"),
            *("--history-days", "0"),
            *("--speed", str(SPEED), "--duration", "15", "--state-dir", str(state_dir)),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc.stdout)
    assert (lines[0][1]["broker"], lines[0][1]["mqtt"]) == ("amqtt", "3.1.1")
    for device in ("demo-sdm630-1", "demo-em340-2"):
        ups = [f for k, f in lines if k == "up" and f["device"] == device]
        complete = [f for f in ups if f["samples"].split("/")[0] == f["samples"].split("/")[1]]
        assert len(complete) >= 2, f"{device}: {len(complete)} complete records"
        assert all(f["missing"] == "0" for f in ups)
        statuses = [f for k, f in lines if k == "status" and f["device"] == device]
        assert any(f["state"] == "online" and f["retained"] == "false" for f in statuses)
        assert statuses[-1]["state"] == "offline"
    assert lines[-1][0] == "summary" and lines[-1][1]["bad"] == "0"
    # Without MQTT v5 the viewer's subscription feeds the stack's ingest.
    ingest = [f for k, f in lines if k == "ingest" and "records" in f][-1]
    assert int(ingest["records"]) > 0 and ingest["dead_letters"] == "0"
    assert not (state_dir / "mosquitto").exists()


@needs_mosquitto
@pytest.mark.integration
def test_sigterm_stops_cleanly_and_sequence_numbers_carry_over(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    args = [STACK_EXE, "--plain", "--speed", str(SPEED), "--meters", "1", "--no-portal"]
    args += ["--history-days", "0"]
    first = subprocess.run(
        [*args, "--duration", "8", "--state-dir", str(state_dir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    first_ups = [f for k, f in _lines(first.stdout) if k == "up"]
    last_seq = max(int(f["seq"].split("-")[-1]) for f in first_ups)
    last_import = max(float(f["import_kwh"]) for f in first_ups)

    proc = subprocess.Popen(
        [*args, "--state-dir", str(state_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[tuple[str, dict[str, str]]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line:
                seen.append(parse_logfmt(line))
            if sum(k == "up" for k, _ in seen) >= 2:
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    lines = seen + _lines(out)
    ups = [f for k, f in lines if k == "up"]
    # The queue survived the restart: numbering goes on, nothing is missing.
    assert int(ups[0]["seq"].split("-")[0]) <= last_seq + 1
    assert max(int(f["seq"].split("-")[-1]) for f in ups) > last_seq
    assert all(f["missing"] == "0" for f in ups)
    # The meter's counters and the simulated time carried over too: nothing steps back.
    assert all(float(f["import_kwh"]) >= last_import for f in ups)
    assert lines[-1][0] == "summary"
    _no_broker_left(state_dir)
