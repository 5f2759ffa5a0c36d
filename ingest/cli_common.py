"""Options shared by ``myenergy-ingest`` subcommands."""

from __future__ import annotations

import argparse
import os

from ingest.registry import DEFAULT_URL

URL_ENV = "MYENERGY_REGISTRY_URL"


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=os.environ.get(URL_ENV, DEFAULT_URL),
        help=f"registry database (SQLAlchemy URL; default ${URL_ENV} or {DEFAULT_URL})",
    )


def db_parent() -> argparse.ArgumentParser:
    """A parent parser holding `--db`, for ``parents=[...]`` of each action."""
    parent = argparse.ArgumentParser(add_help=False)
    add_db_option(parent)
    return parent
