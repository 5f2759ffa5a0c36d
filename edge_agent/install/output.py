"""How every ``myenergy-install`` command reports: text for people, ``--json`` for scripts.

A command builds one result (a JSON-ready mapping) and calls :func:`emit`; with
``--json`` that mapping is printed as one JSON document on stdout and nothing else
goes to stdout (progress goes to stderr), so a script can parse it. Errors are
:class:`InstallError`: a message for the technician, a stable ``code`` for scripts
and the exit status.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_WARN",
    "InstallError",
    "emit",
]

EXIT_OK = 0
EXIT_FAILED = 1  # the check failed, nothing found, the portal refused
EXIT_REFUSED = 2  # bad arguments or configuration: nothing was tried
EXIT_WARN = 3  # done, with warnings the technician should read


class InstallError(Exception):
    """A failure the technician can act on: ``message`` says what and what to do."""

    def __init__(self, code: str, message: str, *, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code

    def as_json(self) -> dict[str, object]:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


def emit(
    result: Mapping[str, Any],
    *,
    as_json: bool,
    text: Callable[[Mapping[str, Any]], str],
) -> None:
    """Print ``result`` as JSON or through ``text`` (the human rendering)."""
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text(result).rstrip() + "\n")
    sys.stdout.flush()
