"""``myenergy-install``: parse the command line and run one command.

Every command module exposes ``add_parser(subparsers)`` (its options and help) and
sets ``func`` on its parser: ``func(args) -> exit status``. Common options: ``--json``
(one JSON document on stdout) and ``--state-dir`` (where results wait for ``sync``
while there is no coverage; ``MYENERGY_INSTALL_STATE_DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.install.output import EXIT_REFUSED, InstallError

if TYPE_CHECKING:
    from edge_agent.install.commands import CommandModule

__all__ = ["build_parser", "main"]

ENV_STATE_DIR = "MYENERGY_INSTALL_STATE_DIR"
DEFAULT_STATE_DIR = Path.home() / ".local" / "share" / "myenergy-install"

_DESCRIPTION = """\
MyEnergy installers' tool, at the meter panel (General Terms 1.4-1.6, Appendices 2
and 3): find the meter on the RS-485 bus, check the wiring, provision the
communication module, and produce the handover protocol or the statement of
findings. Works without coverage: results wait on disk and `sync` sends them.
"""

_EPILOG = """\
Exit status: 0 done, 1 failed (nothing found, a check failed, the portal refused),
2 refused to start (bad arguments), 3 done with warnings.
"""


def _commands() -> list[CommandModule]:
    # Imported here so that `--help` of one command does not pay for the others.
    from edge_agent.install import commands  # noqa: PLC0415

    return list(commands.MODULES)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myenergy-install",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (for scripts)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get(ENV_STATE_DIR, DEFAULT_STATE_DIR)),
        help=f"where results wait for `sync` (default ${ENV_STATE_DIR} or {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _commands():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except InstallError as error:
        if args.json:
            json.dump(error.as_json(), sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        print(f"myenergy-install: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("myenergy-install: interrupted", file=sys.stderr)
        return EXIT_REFUSED
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
