"""``myenergy-sim``: run the simulators from a shell.

    myenergy-sim meter --model sdm630 --rtu --baud 9600 --parity E --tcp 127.0.0.1:5020
    myenergy-sim link --listen 127.0.0.1:18830 --target 127.0.0.1:1883 --schedule 60:pass,30:cut
    myenergy-sim modem --csq 18

Each subcommand lives in its own module (``cli_meter``, ``cli_link``, ``cli_modem``); this one only
assembles the parser. Every simulator prints one machine-readable line per endpoint
on stdout when it is ready (``rtu: /dev/pts/5 9600 8E1 slave 1``) and runs until
Ctrl-C or SIGTERM. See docs/simulators.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simulators import cli_link, cli_meter, cli_modem
from simulators.cli_common import sigterm_as_interrupt

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myenergy-sim",
        description=(
            "Simulators for MyEnergy development and tests: a Modbus meter with a "
            "realistic site load (RTU on a pseudo-terminal with real line timing, or "
            "Modbus TCP), and a TCP proxy that behaves like a flaky mobile link. "
            "Everything listens on loopback only."
        ),
        epilog="Run 'myenergy-sim COMMAND --help' for the options of each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_meter.add_parser(sub)
    cli_link.add_parser(sub)
    cli_modem.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with sigterm_as_interrupt():
            code: int = args.run(args)
    except KeyboardInterrupt:
        return 130  # stopped before it was ready
    except (ValueError, KeyError, OSError) as exc:
        # configuration errors found after parsing (bad fault spec, port in use...)
        print(f"myenergy-sim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
