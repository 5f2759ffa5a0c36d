"""``myenergy-install scan``: find the meters on the RS-485 bus and tell their models.

For each line setting, the most common first (9600 8N1, 9600 8E1, 9600 8O1, 19200
8N1 ...), one cheap read (the first phase voltage, see ``identify.presence_read``) goes
to every slave id with a short timeout; a device that answers is identified by
probing the register maps in ``hardware/maps``. Meters on one bus share its line
setting, so the scan ends with the first setting at which anything answered (all its
ids are scanned, to find several meters; ``--first`` stops at the first meter).

The result is kept in the state dir (``results.save``) for ``check``, ``provision``
and ``protocol``. Nothing found: exit 1 and what to check (A/B swapped, termination,
power, the meter's own settings).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edge_agent.install import results
from edge_agent.install.bus import LineNotSupportedError, auto_timeout, open_bus
from edge_agent.install.identify import identify, presence_read
from edge_agent.install.output import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, InstallError, emit
from hardware.maps import available_models, load_map
from hardware.model import MeterMap, SerialSettings

__all__ = ["add_parser", "line_settings", "parse_slaves", "run"]

DEFAULT_BAUDS = "9600,19200,2400,4800,38400,115200"
DEFAULT_PARITIES = "N,E,O"
_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

_HELP = """\
Find the meters on the RS-485 bus: every line setting in turn (baud rates and
parities, the most common first), slave ids 1-247 with a short timeout each, then the
model of each device that answers, by probing the register maps in hardware/maps.

The scan stops after the first line setting at which a device answered (meters on one
bus share it); --first stops at the first meter. The result is kept in the state dir:
`check` takes port, slave, model and line from it when they are not given.

Nothing found (exit 1): check that the meter is powered, A and B are not swapped, the
bus has its 120 ohm termination, and the meter's own Modbus settings (address, baud).

examples:
  myenergy-install scan --port /dev/ttyUSB0
  myenergy-install scan --port /dev/ttyUSB0 --bauds 9600 --parities N --slaves 1-10 --first
  myenergy-install --json scan --port /dev/serial/by-id/usb-FTDI_...-port0
"""


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_slaves(text: str) -> list[int]:
    """``"1-10,37"`` -> [1..10, 37]; ValueError outside 1..247."""
    ids: list[int] = []
    for part in _csv(text):
        first, sep, last = part.partition("-")
        try:
            lo, hi = int(first), int(last) if sep else int(first)
        except ValueError:
            raise ValueError(f"not a slave id or range: {part!r}") from None
        if not 1 <= lo <= hi <= 247:
            raise ValueError(f"slave ids are 1..247: {part!r}")
        ids.extend(i for i in range(lo, hi + 1) if i not in ids)
    if not ids:
        raise ValueError("no slave id given")
    return ids


def line_settings(bauds: str, parities: str) -> list[SerialSettings]:
    """Every (baud, parity) in the given order: baud rates outer, parities inner."""
    settings: list[SerialSettings] = []
    for b in _csv(bauds):
        if not b.isdigit() or int(b) not in _BAUDS:
            raise ValueError(f"baud rate {b!r} is not one of {', '.join(map(str, _BAUDS))}")
        for p in _csv(parities):
            parity = p.upper()
            if parity not in ("N", "E", "O"):
                raise ValueError(f"parity {p!r} is not N, E or O")
            settings.append(SerialSettings(int(b), parity, 8, 1))
    if not settings:
        raise ValueError("no line setting to try")
    return settings


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="find the meters on the RS-485 bus (baud, parity, slave id, model)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    parser.add_argument(
        "--bauds", default=DEFAULT_BAUDS, help=f"baud rates in order (default {DEFAULT_BAUDS})"
    )
    parser.add_argument(
        "--parities", default=DEFAULT_PARITIES, help="parities in order (default N,E,O)"
    )
    parser.add_argument("--slaves", default="1-247", help="slave ids, e.g. 1-247 or 1-10,37")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait per slave id (default: from the line speed and the slowest "
        "meter turnaround in the maps, about 0.1 s at 9600 baud)",
    )
    parser.add_argument("--first", action="store_true", help="stop at the first meter found")
    parser.add_argument(
        "--model",
        action="append",
        choices=available_models(),
        help="only consider this model (repeatable; default: every map in hardware/maps)",
    )
    parser.set_defaults(func=run)


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[tuple[Progress | None, Any]]:
    if not enabled:
        yield None, None
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        yield progress, progress.add_task("scan", total=total)


def _scan(
    args: argparse.Namespace,
    settings: Sequence[SerialSettings],
    slaves: Sequence[int],
    maps: Sequence[MeterMap],
) -> dict[str, Any]:
    fc, address, count = presence_read(maps)
    turnaround = max(m.turnaround_s for m in maps)
    meters: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    tried: list[str] = []
    skipped: list[dict[str, str]] = []
    show = not args.json and sys.stderr.isatty()
    with _progress(show, len(settings) * len(slaves)) as (bar, task):
        for line in settings:
            if bar is not None:
                bar.update(task, description=f"{line}  found {len(meters)}")
            timeout = args.timeout if args.timeout is not None else auto_timeout(line, turnaround)
            try:
                bus = open_bus(args.port, line, timeout)
            except LineNotSupportedError as exc:
                skipped.append({"line": str(line), "reason": str(exc)})
                if bar is not None:
                    bar.advance(task, len(slaves))
                continue
            tried.append(str(line))
            with bus:
                for slave in slaves:
                    answer = bus.read(fc, address, count, slave)
                    if bar is not None:
                        bar.advance(task)
                    if not answer.device_present:
                        continue
                    where = {
                        "port": args.port,
                        "baud": line.baudrate,
                        "parity": line.parity,
                        "bytesize": line.bytesize,
                        "stopbits": line.stopbits,
                        "slave": slave,
                    }
                    found, rejected = identify(bus, slave, maps)
                    if found is None:
                        unknown.append({**where, "answer": answer.kind, "rejected": rejected})
                        continue
                    meters.append({**where, **found.as_json()})
                    if bar is not None:
                        bar.update(task, description=f"{line}  found {len(meters)}")
                    if args.first:
                        break
            if meters or unknown:
                break  # one bus, one line setting: the others cannot hold more meters
    return {
        "meters": meters,
        "unidentified": unknown,
        "settings_tried": tried,
        "settings_skipped": skipped,
    }


def _text(result: Any) -> str:
    lines: list[str] = []
    for m in result["meters"]:
        v = m["values"]
        volts = " ".join(f"{v[c]:.1f}" for c in ("u_l1_v", "u_l2_v", "u_l3_v") if c in v)
        lines.append(
            f"намерен / found: {m['model']} ({m['title']}) на / at {m['port']} "
            f"{m['baud']} {m['bytesize']}{m['parity']}{m['stopbits']} slave {m['slave']}"
            f"  U = {volts} V, f = {v.get('f_hz', float('nan')):.2f} Hz"
        )
    for u in result["unidentified"]:
        lines.append(
            f"неразпознато устройство / unidentified device at {u['baud']} "
            f"{u['bytesize']}{u['parity']}{u['stopbits']} slave {u['slave']}: "
            "no map in hardware/maps fits it"
        )
    tried = ", ".join(result["settings_tried"]) or "-"
    lines.append(f"опитани / tried: {tried}; slave ids {result['slaves']}")
    for s in result["settings_skipped"]:
        lines.append(f"пропуснати / skipped: {s['line']} ({s['reason']})")
    lines.append(f"време / time: {result['seconds']:.1f} s; записано / saved: {result['saved']}")
    return "\n".join(lines)


def _nothing_found(result: dict[str, Any]) -> tuple[str, str]:
    """The error code and message when no meter was identified."""
    if result["unidentified"]:
        u = result["unidentified"][0]
        return "meter_not_identified", (
            f"устройство отговаря на {u['baud']} {u['bytesize']}{u['parity']}{u['stopbits']} "
            f"slave {u['slave']}, но не е познат модел / a device answers at that setting but "
            "no map in hardware/maps fits it: check the meter's model and that it measures "
            "a live supply"
        )
    tried = ", ".join(result["settings_tried"]) or "none"
    return "no_meter_found", (
        f"не е намерен мултимер на {result['port']} / no meter found on {result['port']} "
        f"(tried {tried}; slave ids {result['slaves']}). Проверете / check: захранването на "
        "мултимера / the meter is powered; A и B не са разменени / A and B are not swapped; "
        "терминиращ резистор 120 Ω / 120 ohm termination; адреса и скоростта в настройките на "
        "мултимера / the meter's own address and baud rate."
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = line_settings(args.bauds, args.parities)
        slaves = parse_slaves(args.slaves)
    except ValueError as exc:
        raise InstallError("bad_arguments", str(exc), exit_code=EXIT_REFUSED) from None
    if args.timeout is not None and not 0 < args.timeout <= 5:
        raise InstallError("bad_arguments", "--timeout is 0..5 s", exit_code=EXIT_REFUSED)
    maps = [load_map(m) for m in (args.model or available_models())]
    started = time.monotonic()
    at = datetime.now(UTC)
    found = _scan(args, settings, slaves, maps)
    result: dict[str, Any] = {
        "kind": "scan",
        "version": 1,
        "at": results.utc_iso(at),
        "port": args.port,
        "ok": bool(found["meters"]),
        **found,
        "slaves": args.slaves,
        "seconds": round(time.monotonic() - started, 2),
    }
    result["saved"] = str(results.save(args.state_dir, result))
    if not result["ok"]:
        code, message = _nothing_found(result)
        result["error"] = {"code": code, "message": message}
        if args.json:
            emit(result, as_json=True, text=_text)
        else:
            print(f"myenergy-install: {message}", file=sys.stderr)
        return EXIT_FAILED
    emit(result, as_json=args.json, text=_text)
    return EXIT_OK
