"""The commands of ``myenergy-install``, in the order ``--help`` lists them.

A command is a module with ``add_parser(subparsers)``; its parser's ``func`` runs it.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from edge_agent.install import check, scan

__all__ = ["MODULES", "CommandModule"]


class CommandModule(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[Any]) -> None: ...


MODULES: tuple[CommandModule, ...] = (
    scan,  # find the meters on the RS-485 bus
    check,  # judge the installation from live values
)
