"""Logging for the agent: structlog, JSON lines by default, console for humans.

One pipeline for our own structlog loggers and for the standard-library loggers of
paho-mqtt and pymodbus, so journald / a log shipper sees one format. Secrets
never reach the output: any key that looks like a credential (``password``,
``secret``, ``token``...) is masked, at any depth of nested dicts, and
``pydantic.SecretStr`` values render as ``**********`` wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog
from pydantic import SecretStr

__all__ = ["MASK", "configure_logging", "mask_secrets"]

MASK = "**********"

# Key names whose values are credentials. "password_file" is a path, not a secret,
# but masking it costs nothing and keeps the rule simple.
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api_?key|authorization|credential", re.IGNORECASE
)


def _mask(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(k, str) and _SECRET_KEY.search(k) and v else _mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_mask(v) for v in value)
    return value


def mask_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask credential-like keys and SecretStr values."""
    for key, value in list(event_dict.items()):
        if key != "event" and _SECRET_KEY.search(key) and value:
            event_dict[key] = MASK
        else:
            event_dict[key] = _mask(value)
    return event_dict


def configure_logging(
    level: str = "INFO",
    fmt: Literal["json", "console"] = "json",
    stream: TextIO | None = None,
) -> None:
    """Configure structlog and the root stdlib logger. Safe to call again (tests, reload)."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_secrets,
    ]
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        out = stream or sys.stderr
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # pymodbus and paho log every timeout or reset as an error without context; the
    # poller and the uplink log each with context (and throttled), so the libraries
    # speak only when asked for debugging. Set here, with the rest of the process's
    # logging, never as a side effect of constructing an agent.
    quiet = logging.NOTSET if numeric <= logging.DEBUG else logging.CRITICAL
    for library in ("pymodbus", "paho"):
        logging.getLogger(library).setLevel(quiet)
