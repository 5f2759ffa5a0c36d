"""``myenergy-install check``: read live values and judge the installation.

Reads the meter's whole map several times over ``--seconds`` (a progress bar on
stderr) and its map's diagnostic registers once (the phase sequence), then
:func:`edge_agent.install.judge.judge` rates each point PASS / WARN / FAIL / SKIPPED
with what to do; the overall verdict is the worst item. The modem's
signal comes from ``--signal-command`` / ``--signal-file`` through the agent's own
reader (:mod:`edge_agent.modem`). The result is kept in the state dir
(:mod:`edge_agent.install.results`) for ``protocol``: a FAIL for ``no_mobile_coverage``
is a ground for the statement of findings (General Terms 1.5, Appendix 3).

Port, slave, model and line default to the last ``scan``'s meter.
Exit status: 0 pass, 3 warnings, 1 fail.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from edge_agent.config import ModemConfig
from edge_agent.install import results
from edge_agent.install.bus import Bus, LineNotSupportedError, auto_timeout, open_bus
from edge_agent.install.judge import Declared, Window, judge, overall, parse_ct_ratio
from edge_agent.install.output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_WARN,
    InstallError,
    emit,
)
from edge_agent.modem import SignalReader
from hardware.maps import available_models, load_map
from hardware.model import TYPES, MeterMap, SerialSettings
from hardware.planner import decode_request, plan_requests
from hardware.registers import decode_point
from hardware.vocabulary import CHANNELS, COUNTER

__all__ = ["add_parser", "counter_resolution_wh", "read_diagnostics", "read_sample", "run"]

_EXIT = {"pass": EXIT_OK, "warn": EXIT_WARN, "fail": EXIT_FAILED}
# Eastron float counters count in kWh with 0.01 kWh steps on the display; we assume the
# registers move in the same 10 Wh steps (not stated in the maker's documents).
_FLOAT_COUNTER_STEP_WH = 10.0
_MIN_INTERVAL_S = 1.0
_SAMPLES = 10
_MARK = {"pass": "✔ PASS", "warn": "! WARN", "fail": "✘ FAIL", "skipped": "- SKIP"}

_HELP = """\
Read the meter's live values for --seconds and judge the installation, item by item,
with what to do: each phase's voltage (230 V ±10 %, EN 50160), the phase sequence
(when the meter reports it, e.g. the EM340), a current transformer mounted backwards (a
phase exporting while the others import, without --pv), the CT ratio against the
breaker (--breaker-a, --ct-ratio), the frequency (50 Hz ±1 %), the energy counters
advancing, and with the module's modem the signal: below -105 dBm there is no usable
coverage, a ground for the statement of findings (General Terms 1.5, Appendix 3).

Port, slave, model and line default to the meter of the last `scan`.
Exit status: 0 all passed, 3 warnings, 1 something failed (or no answer).

examples:
  myenergy-install check --breaker-a 40
  myenergy-install check --port /dev/ttyUSB0 --slave 1 --model sdm630 --baud 9600 \\
      --parity N --breaker-a 63 --ct-ratio 100/5 --seconds 30 \\
      --signal-command "mmcli -m any --signal-get --output-keyvalue"
  myenergy-install --json check --pv --signal-file /run/myenergy/signal_dbm
"""


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="judge the installation from live values (voltages, CTs, counters, signal)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("the meter (default: the last scan's)")
    where.add_argument("--port", help="serial port, e.g. /dev/ttyUSB0")
    where.add_argument("--slave", type=int, help="Modbus slave id 1-247")
    where.add_argument("--model", choices=available_models(), help="meter model")
    where.add_argument("--baud", type=int, help="baud rate (default: scan's, else the map's)")
    where.add_argument("--parity", choices=("N", "E", "O"), help="parity")
    where.add_argument("--stopbits", type=int, choices=(1, 2), help="stop bits")
    where.add_argument("--timeout", type=float, help="seconds to wait for a reply")
    site = parser.add_argument_group("the site")
    site.add_argument("--breaker-a", type=float, help="rating of the main breaker, A")
    site.add_argument("--ct-ratio", help="current transformers mounted, e.g. 100/5")
    site.add_argument(
        "--pv", action="store_true", help="the site has generation (PV): export is expected"
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="how long to watch (default 20)"
    )
    modem = parser.add_mutually_exclusive_group()
    modem.add_argument(
        "--signal-command",
        help='program printing the RSSI, e.g. "mmcli -m any --signal-get --output-keyvalue"',
    )
    modem.add_argument("--signal-file", type=Path, help="file holding the RSSI in dBm")
    parser.add_argument(
        "--lang", choices=("bg", "en", "both"), default="both", help="language of the table"
    )
    parser.set_defaults(func=run)


# ---------------------------------------------------------------- the meter


def _scanned(args: argparse.Namespace) -> dict[str, Any] | None:
    """The last scan's meter that matches what was given (None: no scan to lean on)."""
    scan = results.latest(args.state_dir, "scan")
    if scan is None:
        return None
    matching = [
        dict(meter)
        for meter in scan.get("meters", [])
        if isinstance(meter, dict)
        and (args.port is None or meter.get("port") == args.port)
        and (args.slave is None or meter.get("slave") == args.slave)
        and (args.model is None or meter.get("model") == args.model)
    ]
    if len(matching) > 1:
        found = ", ".join(f"{m.get('model')} slave {m.get('slave')}" for m in matching)
        raise InstallError(
            "several_meters",
            f"сканирането намери няколко мултимера / the scan found several meters ({found}): "
            "choose one with --slave",
            exit_code=EXIT_REFUSED,
        )
    return matching[0] if matching else None


def _target(args: argparse.Namespace) -> tuple[str, int, MeterMap, SerialSettings]:
    if args.slave is not None and not 1 <= args.slave <= 247:
        raise InstallError("bad_arguments", "--slave is 1..247", exit_code=EXIT_REFUSED)
    scanned = _scanned(args) or {}
    port = args.port or scanned.get("port")
    slave = args.slave if args.slave is not None else scanned.get("slave")
    model = args.model or scanned.get("model")
    if port is None or slave is None or model is None:
        raise InstallError(
            "no_meter_given",
            "няма данни за мултимера / no meter given: run `myenergy-install scan` first, or "
            "give --port, --slave and --model",
            exit_code=EXIT_REFUSED,
        )
    if not 1 <= int(slave) <= 247:
        raise InstallError("bad_arguments", "--slave is 1..247", exit_code=EXIT_REFUSED)
    meter_map = load_map(str(model))
    default = meter_map.serial
    line = SerialSettings(
        int(args.baud or scanned.get("baud") or default.baudrate),
        str(args.parity or scanned.get("parity") or default.parity),
        int(scanned.get("bytesize") or default.bytesize),
        int(args.stopbits or scanned.get("stopbits") or default.stopbits),
    )
    return str(port), int(slave), meter_map, line


def read_sample(
    bus: Bus, slave: int, meter_map: MeterMap
) -> tuple[dict[str, float], dict[str, float]]:
    """One poll: instant values and counters (Wh), only what answered and is finite and
    inside the map's and the vocabulary's ranges (as the agent's poller keeps them)."""
    instant: dict[str, float] = {}
    counters: dict[str, float] = {}
    for request in plan_requests(meter_map):
        answer = bus.read(request.fc, request.address, request.count, slave, attempts=2)
        if answer.kind != "registers":
            continue
        for channel, value in decode_request(request, answer.registers).items():
            point = meter_map.point(channel)
            spec = CHANNELS[channel]
            if not (math.isfinite(value) and point.plausible(value)):
                continue
            if not spec.minimum <= value <= spec.maximum:
                continue
            (counters if spec.kind == COUNTER else instant)[channel] = value
    return instant, counters


def read_diagnostics(
    bus: Bus, slave: int, meter_map: MeterMap
) -> dict[str, tuple[int, str | None]]:
    """The map's diagnostic registers (``[[diagnostics]]``), each read once on its own:
    ``{name: (raw value, documented meaning or None)}``, only those that answered."""
    out: dict[str, tuple[int, str | None]] = {}
    for d in meter_map.diagnostics:
        answer = bus.read(d.fc, d.address, d.words, slave, attempts=2)
        if answer.kind != "registers":
            continue
        raw = int(decode_point(d.point(), answer.registers))
        out[d.name] = (raw, d.meaning(raw))
    return out


def counter_resolution_wh(meter_map: MeterMap, counters: dict[str, float]) -> dict[str, float]:
    """The step each counter moves in: an integer register's scale; for a float32, the
    larger of its precision at the current value and the meter's assumed 10 Wh step."""
    out: dict[str, float] = {}
    for channel, value in counters.items():
        point = meter_map.point(channel)
        if TYPES[point.type].is_float:
            raw = abs(value / point.scale) if point.scale else 0.0
            ulp = 2.0 ** (math.frexp(raw)[1] - 24) * abs(point.scale) if raw else 0.0
            out[channel] = max(ulp, _FLOAT_COUNTER_STEP_WH)
        else:
            out[channel] = abs(point.scale)
    return out


def _watch(
    bus: Bus, slave: int, meter_map: MeterMap, seconds: float, show: bool
) -> tuple[list[dict[str, float]], dict[str, float], dict[str, float], float]:
    interval = max(_MIN_INTERVAL_S, seconds / _SAMPLES)
    samples: list[dict[str, float]] = []
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not show,
    )
    started = time.monotonic()
    first_at = last_at = started
    with progress:
        task = progress.add_task("четене / reading", total=seconds)
        while True:
            now = time.monotonic()
            instant, counters = read_sample(bus, slave, meter_map)
            if instant or counters:
                samples.append(instant)
                if not first:
                    first, first_at = counters, now
                last, last_at = counters, now
            elif not samples:
                raise InstallError(
                    "meter_not_answering",
                    f"мултимерът не отговаря / the meter does not answer at {bus.port} "
                    f"{bus.line} slave {slave}: run `myenergy-install scan`",
                )
            elapsed = time.monotonic() - started
            progress.update(task, completed=min(elapsed, seconds))
            if elapsed >= seconds and len(samples) >= 2:
                break
            time.sleep(max(0.0, min(interval, seconds - elapsed) if elapsed < seconds else 0.0))
    return samples, first, last, last_at - first_at


def _signal(args: argparse.Namespace) -> tuple[bool, float | None]:
    if args.signal_command is None and args.signal_file is None:
        return False, None
    if args.signal_file is not None and not args.signal_file.is_file():
        raise InstallError(
            "bad_arguments",
            f"няма такъв файл / no such file: {args.signal_file}",
            exit_code=EXIT_REFUSED,
        )
    try:
        config = ModemConfig(
            signal_command=args.signal_command, signal_file=args.signal_file, cache_s=0
        )
    except ValueError as exc:
        raise InstallError("bad_arguments", str(exc), exit_code=EXIT_REFUSED) from None
    # the agent's reader logs through structlog, which prints to stdout by default:
    # keep stdout for the result (--json must stay parseable)
    with contextlib.redirect_stdout(sys.stderr):
        dbm = SignalReader(config).signal_dbm()
    return True, None if dbm is None else float(dbm)


# ------------------------------------------------------------------ output


def _text(lang: str) -> Callable[[Any], str]:
    def render(result: Any) -> str:
        table = Table(
            title=f"{result['model']} slave {result['slave']} @ {result['port']} "
            f"{result['baud']} {result['parity']}",
            show_lines=True,
        )
        table.add_column("")
        table.add_column("проверка / item")
        table.add_column("резултат / result")
        table.add_column("какво да се направи / what to do")
        for item in result["items"]:
            message = _pick(lang, item["message_bg"], item["message_en"])
            advice = _pick(lang, item["advice_bg"], item["advice_en"])
            table.add_row(_MARK[item["status"]], item["id"], message, advice)
        width = shutil.get_terminal_size((120, 24)).columns
        console = Console(width=width, force_terminal=False, no_color=True)
        with console.capture() as captured:
            console.print(table)
        verdict = {"pass": "ИЗПРАВНО / PASS", "warn": "ЗАБЕЛЕЖКИ / WARN", "fail": "ГРЕШКА / FAIL"}
        tail = f"общо / overall: {verdict[result['verdict']]}"
        if result.get("impossible_reason"):
            tail += f"  (1.5: {result['impossible_reason']})"
        return f"{captured.get()}{tail}\nзаписано / saved: {result['saved']}"

    return render


def _pick(lang: str, bg: str, en: str) -> str:
    if lang == "bg" or not en or en == bg:
        return bg
    if lang == "en" or not bg:
        return en
    return f"{bg}\n{en}"


# --------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.seconds <= 3600:
        raise InstallError("bad_arguments", "--seconds is 1..3600", exit_code=EXIT_REFUSED)
    if args.breaker_a is not None and not args.breaker_a > 0:
        raise InstallError("bad_arguments", "--breaker-a must be > 0", exit_code=EXIT_REFUSED)
    try:
        ct_ratio = parse_ct_ratio(args.ct_ratio) if args.ct_ratio else None
    except ValueError as exc:
        raise InstallError("bad_arguments", str(exc), exit_code=EXIT_REFUSED) from None
    port, slave, meter_map, line = _target(args)
    has_signal, dbm = _signal(args)
    timeout = args.timeout or max(0.5, auto_timeout(line, meter_map.turnaround_s))
    at = datetime.now(UTC)
    try:
        bus = open_bus(port, line, timeout)
    except LineNotSupportedError as exc:
        raise InstallError("line_not_supported", str(exc), exit_code=EXIT_REFUSED) from None
    with bus:
        samples, first, last, seconds = _watch(
            bus, slave, meter_map, args.seconds, show=not args.json and sys.stderr.isatty()
        )
        diagnostics = read_diagnostics(bus, slave, meter_map)
    window = Window(
        samples=samples,
        counters_first=first,
        counters_last=last,
        counter_resolution_wh=counter_resolution_wh(meter_map, last),
        seconds=seconds,
        channels=frozenset(meter_map.channels),
        diagnostic_names=frozenset(d.name for d in meter_map.diagnostics),
        diagnostics=diagnostics,
    )
    declared = Declared(
        breaker_a=args.breaker_a,
        ct_ratio=ct_ratio,
        pv=args.pv,
        signal_source=has_signal,
        signal_dbm=dbm,
    )
    items = judge(window, declared)
    verdict = overall(items)
    reason = next((i.reason for i in items if i.reason is not None), None)
    result: dict[str, Any] = {
        "kind": "check",
        "version": 1,
        "at": results.utc_iso(at),
        "port": port,
        "slave": slave,
        "model": meter_map.model,
        "baud": line.baudrate,
        "parity": line.parity,
        "verdict": verdict,
        "items": [i.as_json() for i in items],
        "signal_dbm": dbm,
        "impossible_reason": reason,
        "meter_serial": None,  # no map in hardware/maps has a serial-number point yet
    }
    saved = results.save(args.state_dir, result)
    emit({**result, "saved": str(saved)}, as_json=args.json, text=_text(args.lang))
    return _EXIT[verdict]
