"""``myenergy-sim modem``: the simulated SIMCom A7670 on a pseudo-terminal."""

from __future__ import annotations

import argparse
import os
import pty
import signal
import sys
import tty
from types import FrameType
from typing import Any

from simulators.cli_common import wait_for_stop
from simulators.modem import ModemSettings, ModemSimulator

__all__ = ["add_parser", "run"]

_HELP = """\
Answer AT commands like a SIMCom A7670 LTE modem on a pseudo-terminal, with real
TCP/TLS connections (AT+CIPOPEN / AT+CCHOPEN) to loopback hosts only: the bridge
between firmware without sockets and a broker on this machine.

When ready it prints 'modem: /dev/pts/N 115200' and runs until Ctrl-C or SIGTERM.
Signals change its world while it runs:
  SIGUSR1   coverage lost (CEREG 2, CSQ 99, links and the data network close)
  SIGUSR2   coverage restored

examples:
  myenergy-sim modem --csq 18
  myenergy-sim modem --utc-offset-s 86400 --no-nitz --roaming
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "modem",
        help="a simulated LTE modem (AT commands) on a pty, bridging to loopback hosts",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--csq", type=int, default=20, help="signal as +CSQ index 0..31 (default 20)")
    p.add_argument("--imei", default=ModemSettings.imei, help="the IMEI it reports")
    p.add_argument("--roaming", action="store_true", help="register as roaming (CEREG 5)")
    p.add_argument(
        "--utc-offset-s",
        type=float,
        default=0.0,
        help="the simulated world's UTC minus this host's (CCLK, CNTP)",
    )
    p.add_argument("--no-nitz", action="store_true", help="no network time: CCLK shows 1980")
    p.add_argument("--no-ntp", action="store_true", help="AT+CNTP fails")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.csq <= 31:
        raise ValueError(f"--csq takes 0..31, got {args.csq}")
    settings = ModemSettings(
        imei=args.imei,
        csq=args.csq,
        roaming=args.roaming,
        utc_offset_s=args.utc_offset_s,
        nitz=not args.no_nitz,
        ntp_ok=not args.no_ntp,
    )
    master, slave = pty.openpty()
    tty.setraw(slave)  # bytes pass untouched: binary data follows the ">" prompt
    sim = ModemSimulator(master, settings).start()

    def coverage(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGUSR1:
            sim.lose_coverage()
        else:
            sim.restore_coverage()

    signal.signal(signal.SIGUSR1, coverage)
    signal.signal(signal.SIGUSR2, coverage)
    try:
        # our own slave descriptor stays open: a client closing the pty is no EOF
        print(f"modem: {os.ttyname(slave)} 115200", flush=True)
        wait_for_stop()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        os.close(slave)
        os.close(master)
    print("modem stopped", file=sys.stderr)
    return 0
