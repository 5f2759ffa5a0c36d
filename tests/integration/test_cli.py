"""The ``myenergy-agent`` command line, run as the installed console script.

``check-config`` prints the settings in force (file + environment) with secrets
masked; a wrong setting or a poll period the bus cannot carry is refused at start
with a reason and exit status 2; every command's ``--help`` reads as documentation.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.harness import AGENT_EXE, write_config

SECRET = "s3cret-Pa55"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MYENERGY_AGENT_")}
    full_env.update(env or {})
    return subprocess.run(
        [AGENT_EXE, *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # 9600 baud, the sdm630's default: one poll takes ~0.33 s of bus time
    return write_config(
        tmp_path,
        serial_port="/dev/ttyUSB0",
        mqtt_port=8883,
        extra={"meter": {"baudrate": 9600}, "mqtt": {"username": "site-it-0001"}},
    )


def test_check_config_prints_effective_settings_with_secrets_masked(config: Path) -> None:
    result = _run(
        "check-config",
        "--config",
        str(config),
        env={"MYENERGY_AGENT_MQTT_PASSWORD": SECRET, "MYENERGY_AGENT_METER_POLL_S": "5"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert SECRET not in out + result.stderr
    assert 'mqtt.password = "**********"' in out
    assert "meter.poll_s = 5.0" in out  # the environment wins over the file
    assert 'meter.port = "/dev/ttyUSB0"' in out
    assert "# bus: 2 requests per poll" in out
    assert "# configuration OK" in out


def test_a_wrong_setting_is_a_clear_error(config: Path) -> None:
    result = _run(
        "check-config", "--config", str(config), env={"MYENERGY_AGENT_METER_SLAVE_ID": "300"}
    )
    assert result.returncode == 2
    assert "meter.slave_id" in result.stderr
    assert "MYENERGY_AGENT_METER_SLAVE_ID" in result.stderr  # where the value came from


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_a_poll_period_the_bus_cannot_meet_is_refused(config: Path, command: str) -> None:
    result = _run(command, "--config", str(config), env={"MYENERGY_AGENT_METER_POLL_S": "0.2"})
    assert result.returncode == 2
    assert "meter.poll_s" in result.stderr
    assert "bus time" in result.stderr and "9600" in result.stderr


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        ((), ["run", "check-config", "models", "durable queue"]),
        (("run",), ["--config", "PUBACK", "MYENERGY_AGENT_", "refuses to start"]),
        (("check-config",), ["--config", "masked", "Exit status"]),
        (("models",), ["meter.model"]),
    ],
)
def test_help_reads_as_documentation(args: tuple[str, ...], phrases: list[str]) -> None:
    result = _run(*args, "--help")
    assert result.returncode == 0
    for phrase in phrases:
        assert phrase in result.stdout, phrase


def test_models_lists_the_maps() -> None:
    result = _run("models")
    assert result.returncode == 0
    assert "sdm630" in result.stdout and "9600" in result.stdout
