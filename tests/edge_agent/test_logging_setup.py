"""edge_agent.logging_setup: JSON or console, and never a secret in the output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from edge_agent.logging_setup import MASK, configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_secrets_masked() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", out)
    log = structlog.get_logger("edge_agent.test")
    log.info(
        "mqtt.connect",
        host="broker.example",
        password="hunter2",
        settings={"mqtt": {"username": "u", "password": "hunter2", "token": "abc"}},
        secret_value=SecretStr("hunter2"),
        items=[{"api_key": "k"}],
    )
    log.debug("hidden")
    [entry] = lines(out)
    assert "hunter2" not in out.getvalue()
    assert entry["event"] == "mqtt.connect"
    assert entry["level"] == "info"
    assert entry["host"] == "broker.example"
    assert entry["password"] == MASK
    assert entry["settings"] == {"mqtt": {"username": "u", "password": MASK, "token": MASK}}
    assert entry["secret_value"] == MASK
    assert entry["items"] == [{"api_key": MASK}]
    assert str(entry["timestamp"]).endswith("Z")


def test_stdlib_loggers_share_the_format() -> None:
    out = io.StringIO()
    configure_logging("debug", "json", out)
    logging.getLogger("pymodbus.client").warning("no response from %s", "slave 1")
    [entry] = lines(out)
    assert entry["event"] == "no response from slave 1"
    assert entry["level"] == "warning"
    assert entry["logger"] == "pymodbus.client"


def test_console_format_and_reconfiguration() -> None:
    out = io.StringIO()
    configure_logging("WARNING", "console", out)
    configure_logging("WARNING", "console", out)  # again: still one handler
    log = structlog.get_logger("edge_agent.test")
    log.info("dropped")
    log.warning("queue.over_budget", password="hunter2")
    text = out.getvalue()
    assert "dropped" not in text
    assert text.count("queue.over_budget") == 1
    assert "hunter2" not in text


def test_library_noise_is_quiet_unless_debugging() -> None:
    out = io.StringIO()
    configure_logging("INFO", "json", out)
    logging.getLogger("pymodbus.client").error("no response received")
    logging.getLogger("paho.mqtt").error("connection reset")
    assert lines(out) == []
    configure_logging("DEBUG", "json", out)
    logging.getLogger("pymodbus.client").error("no response received")
    assert [e["event"] for e in lines(out)] == ["no response received"]
