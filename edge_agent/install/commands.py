"""The commands of ``myenergy-install``, in the order ``--help`` lists them.

A command is a module with ``add_parser(subparsers)``; its parser's ``func`` runs it.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from edge_agent.install import check, protocol, provision, scan, sync

__all__ = ["MODULES", "CommandModule"]


class CommandModule(Protocol):
    def add_parser(self, subparsers: argparse._SubParsersAction[Any]) -> None: ...


MODULES: tuple[CommandModule, ...] = (
    scan,  # find the meters on the RS-485 bus
    check,  # judge the installation from live values
    provision,  # register the module with the portal, write the agent config
    protocol,  # the handover protocol (App. 2) or statement of findings (App. 3)
    sync,  # send what was kept while there was no coverage
)
