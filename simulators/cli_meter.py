"""``myenergy-sim meter``: a simulated meter on Modbus RTU (pty) and/or Modbus TCP."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from hardware.maps import available_models, load_map
from hardware.model import SerialSettings
from simulators.cli_common import host_port, wait_for_stop
from simulators.clock import SimClock
from simulators.control import ControlServer, meter_handler, split_address
from simulators.faults import FAULT_KINDS, parse_fault
from simulators.load import LoadModel
from simulators.load_profiles import PROFILES
from simulators.meter import SimulatedMeter, meter_phases
from simulators.rtu_pty import RtuPtyServer, RtuServer
from simulators.rtu_socket import RtuSocketServer
from simulators.tcp import TcpMeterServer
from simulators.wiring import parse_wiring

__all__ = ["add_parser", "run"]

_HELP = """\
Serve one simulated meter. Its registers follow the model's map file in hardware/maps/
and are filled from a deterministic site load (same --seed, same values at the same
simulated time).

When ready it prints one line per endpoint on stdout, then serves until Ctrl-C:
  rtu: /dev/pts/5 9600 8E1 slave 1
  rtu-tcp: 127.0.0.1:5021 9600 8E1 slave 1
  tcp: 127.0.0.1:5020 unit 1
  control: 127.0.0.1:40123

RTU keeps real line timing: t3.5 frame gaps, the meter's turnaround and one
character time per byte at the configured baud rate and parity. On the pty, open
the port with parity N: Linux ptys cannot store a parity bit and pyserial fails
with EINVAL when asked for one (the simulator still times the line as configured).
--rtu-tcp has the same timing over TCP, like an RS-485-to-Ethernet converter; with
pymodbus use ModbusTcpClient(host, port=..., framer=FramerType.RTU).

faults (--fault, repeatable; KIND[:COUNT][:key=value]..., no COUNT = until cleared):
  no_reply[:N]                        no answer (timeout)
  crc_error[:N]                       answer with a broken CRC
  exception[:N][:code=4]              Modbus exception response
  slow_reply[:N]:delay_s=1.5          answer late
  implausible[:N]:channel=u_l1_v:value=nan   a channel reads NaN, 1e9, ...
  counter_reset[:start_wh=0]          meter swapped: counters restart near 0
  turnaround:seconds=0.05             change the meter's turnaround time

wiring of the installation (--wiring, repeatable; what the meter's inputs see):
  reversed_ct:2                       CT of L2 mounted backwards: its power is negative
  missing_phase:3                     no voltage on L3 (blown fuse): ~0 V, no current
  ct_ratio:1=2.0                      meter set to twice the ratio of L1's real CT
  phase_sequence:reversed             L2 and L3 swapped at the voltage taps (L1-L3-L2):
                                      only a meter with a phase-sequence register shows it

On the pty the meter answers only a client whose port is set to its baud rate
(--baud): at another baud rate a frame is noise to it and gets no reply, as on a
real bus. Parity cannot be compared on a pty (see above).

examples:
  myenergy-sim meter --model sdm630 --rtu --baud 9600 --parity E
  myenergy-sim meter --model sdm630 --tcp 127.0.0.1:5020 --profile business --pv-kw 20
  myenergy-sim meter --rtu-tcp 127.0.0.1:5021 --parity E --start 2026-06-21T10:00Z --pv-kw 8
  myenergy-sim meter --rtu --control /tmp/meter.sock --fault no_reply:5
  myenergy-sim meter --rtu --baud 19200 --slave 37 --wiring reversed_ct:2 --wiring ct_ratio:1=2
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "meter",
        help="a simulated Modbus meter (RTU on a pty, or TCP)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    models = available_models()
    p.add_argument(
        "--model",
        default="sdm630",
        choices=models,
        metavar="MODEL",
        help=f"meter model, one of: {', '.join(models)} (default sdm630)",
    )
    where = p.add_argument_group("endpoints (any combination; --rtu if none given)")
    where.add_argument("--rtu", action="store_true", help="serve Modbus RTU on a new pty")
    where.add_argument("--tcp", metavar="HOST:PORT", help="serve Modbus TCP on a loopback port")
    where.add_argument(
        "--rtu-tcp",
        metavar="HOST:PORT",
        help="serve RTU frames with line timing on a loopback TCP port (RTU over TCP)",
    )
    line = p.add_argument_group("serial line (default: the model's own settings)")
    line.add_argument("--baud", type=int, help="baud rate, e.g. 9600")
    line.add_argument("--parity", choices=("N", "E", "O"), help="parity")
    line.add_argument("--stopbits", type=int, choices=(1, 2), help="stop bits")
    line.add_argument("--slave", type=int, default=1, help="slave id / unit id (default 1)")
    line.add_argument(
        "--turnaround-ms", type=float, help="meter turnaround in ms (default: from the map)"
    )
    load = p.add_argument_group("site load")
    load.add_argument("--seed", type=int, default=1, help="load model seed (default 1)")
    load.add_argument("--profile", choices=sorted(PROFILES), default="household", help="load shape")
    load.add_argument("--pv-kw", type=float, default=0.0, help="PV peak power in kW (default 0)")
    load.add_argument("--scale", type=float, default=1.0, help="multiply the load (default 1)")
    load.add_argument(
        "--start",
        help="simulated time to start at: ISO 8601 (2026-06-21T10:00Z) or unix seconds "
        "(default: now)",
    )
    load.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )
    ctl = p.add_argument_group("control")
    ctl.add_argument(
        "--control",
        metavar="HOST:PORT|PATH",
        help="JSON-lines control socket (loopback port, 0 = any, or unix socket path)",
    )
    ctl.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"inject a fault from the start; kinds: {', '.join(FAULT_KINDS)}",
    )
    ctl.add_argument(
        "--wiring",
        action="append",
        default=[],
        metavar="SPEC",
        help="a wiring fault of the installation: reversed_ct:N, missing_phase:N, "
        "ct_ratio:N=FACTOR, phase_sequence:reversed",
    )
    p.set_defaults(run=run)


def _start_time(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ValueError(f"--start must be ISO 8601 or unix seconds, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    # validate everything before opening anything (STYLE 8)
    meter_map = load_map(args.model)
    base = meter_map.serial
    serial = SerialSettings(
        baudrate=args.baud or base.baudrate,
        parity=args.parity or base.parity,
        bytesize=base.bytesize,
        stopbits=args.stopbits or base.stopbits,
    )
    if serial.baudrate <= 0:
        raise ValueError("--baud must be > 0")
    faults = [parse_fault(spec) for spec in args.fault]
    wiring = parse_wiring(args.wiring, meter_phases(meter_map))
    tcp = host_port(args.tcp, "--tcp") if args.tcp else None
    rtu_tcp = host_port(args.rtu_tcp, "--rtu-tcp") if args.rtu_tcp else None
    if args.control:
        split_address(args.control)
    clock = SimClock(speed=args.speed, start=_start_time(args.start))
    # a single-phase meter (no L2/L3 points) measures a site whose load is all on L1
    phases = meter_phases(meter_map)
    load = LoadModel(args.seed, args.profile, args.pv_kw, scale=args.scale, phases=phases)
    turnaround = None if args.turnaround_ms is None else args.turnaround_ms / 1000.0
    meter = SimulatedMeter(
        meter_map, load, clock, args.slave, turnaround_s=turnaround, wiring=wiring
    )
    for kind, count, params in faults:
        meter.faults.inject(kind, count, **params)

    servers: list[RtuServer | TcpMeterServer] = []
    control: ControlServer | None = None
    try:
        if args.rtu or (tcp is None and rtu_tcp is None):
            servers.append(RtuPtyServer(meter, serial).start())
        if rtu_tcp is not None:
            servers.append(RtuSocketServer(meter, serial, *rtu_tcp).start())
        if tcp is not None:
            servers.append(TcpMeterServer(meter, tcp[0], tcp[1]).start())
        if args.control:
            control = ControlServer(args.control, meter_handler(meter))
        for server in servers:
            print(server.describe(), flush=True)
        if control is not None:
            print(f"control: {control.address}", flush=True)
        wait_for_stop()
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM, even right after the ready lines: the normal stop
    finally:
        if control is not None:
            control.stop()
        for server in servers:
            server.stop()
    print(f"served {meter.requests} requests", file=sys.stderr)
    return 0
