"""``myenergy-ingest``: the cloud ingest's command line; this module only dispatches.

One module per subcommand, each with ``register(subparsers)`` that adds its
parser and sets ``handler`` (a function taking the parsed arguments and
returning the exit status):

    myenergy-ingest registry ...   ingest/cli_registry.py   devices and service accounts
    myenergy-ingest broker ...     ingest/cli_broker.py     Mosquitto password/ACL/config files
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ingest import cli_broker, cli_registry, cli_run

# Explicit, greppable registration: a new subcommand (e.g. `run`) is one import and one line.
SUBCOMMANDS = (cli_registry, cli_broker, cli_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myenergy-ingest",
        description="MyEnergy cloud ingest: device registry and broker security files.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
