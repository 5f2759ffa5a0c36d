"""``myenergy-sim link``: a TCP proxy that behaves like a flaky mobile link."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from simulators.cli_common import host_port, wait_for_stop
from simulators.control import ControlServer, link_handler, split_address
from simulators.link import LinkProxy
from simulators.link_modes import parse_mode, parse_schedule

__all__ = ["add_parser", "run"]

_HELP = """\
Forward TCP connections from --listen to --target (agent -> proxy -> MQTT broker)
and misbehave on demand like a mobile link. Loopback addresses only.

modes:
  pass                        forward bytes both ways
  cut                         reset every connection; accept and close new ones
  blackhole                   keep connections open, drop every byte both ways (dead
                              coverage: TCP just stalls); connections that lost bytes
                              are reset when the link comes back
  throttle:RATE[:LATENCY_MS]  at most RATE bytes/s each way, plus one-way latency

schedule (--schedule): DURATION_S:MODE,... run in order (with --repeat, forever):
  60:pass,30:cut,30:blackhole,60:throttle:2000:300

When ready it prints 'link: LISTEN -> TARGET' (and 'control: ADDRESS'), then the byte
counters every --report-s seconds and on exit:
  link: pass up=1234 down=5678 dropped_up=0 dropped_down=0 connections=1 active=1

examples:
  myenergy-sim link --listen 127.0.0.1:18830 --target 127.0.0.1:1883
  myenergy-sim link --listen 127.0.0.1:18830 --target 127.0.0.1:1883 \\
      --schedule 60:pass,30:cut,30:blackhole --repeat --control /tmp/link.sock
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "link",
        help="a TCP proxy emulating a flaky mobile link",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--listen", required=True, metavar="HOST:PORT", help="where the agent connects")
    p.add_argument("--target", required=True, metavar="HOST:PORT", help="the broker")
    p.add_argument("--mode", default="pass", help="initial mode (default pass)")
    p.add_argument("--schedule", metavar="SPEC", help="timed modes, e.g. 60:pass,30:cut")
    p.add_argument("--repeat", action="store_true", help="repeat the schedule forever")
    p.add_argument(
        "--control", metavar="HOST:PORT|PATH", help="JSON-lines control socket (see docs)"
    )
    p.add_argument(
        "--report-s",
        type=float,
        default=10.0,
        help="print counters every N seconds (0: only on exit; default 10)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    listen = host_port(args.listen, "--listen")
    target = host_port(args.target, "--target")
    mode = parse_mode(args.mode)
    schedule = parse_schedule(args.schedule) if args.schedule else None
    if args.control:
        split_address(args.control)
    proxy = LinkProxy(*listen, *target, mode=mode, schedule=schedule, repeat_schedule=args.repeat)

    def report() -> None:
        s = proxy.stats()
        print(
            f"link: {s.mode} up={s.bytes_up} down={s.bytes_down} dropped_up={s.dropped_up} "
            f"dropped_down={s.dropped_down} connections={s.connections} active={s.active}",
            flush=True,
        )

    control: ControlServer | None = None
    proxy.start()
    try:
        if args.control:
            control = ControlServer(args.control, link_handler(proxy))
        print(f"link: {listen[0]}:{proxy.port} -> {args.target}", flush=True)
        if control is not None:
            print(f"control: {control.address}", flush=True)
        wait_for_stop(args.report_s if args.report_s > 0 else None, report)
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM, even right after the ready line: the normal stop
    finally:
        if control is not None:
            control.stop()
        proxy.stop()
        report()
    print("link stopped", file=sys.stderr)
    return 0
