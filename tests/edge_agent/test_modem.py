"""The modem's signal in the status: parsing, the two sources, timeouts, the cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edge_agent.agent import Agent
from edge_agent.config import ConfigError, ModemConfig, load_config
from edge_agent.modem import SignalReader, parse_signal
from protocol.codec import decode_status, encode_status

# What `mmcli -m any --signal-get --output-keyvalue` prints on an LTE module.
MMCLI = """\
modem.signal.refresh.rate          : 10
modem.signal.cdma1x.rssi           : --
modem.signal.evdo.rssi             : --
modem.signal.gsm.rssi              : --
modem.signal.umts.rssi             : -79.00
modem.signal.lte.rssi              : -71.00
modem.signal.lte.rsrq              : -9.00
modem.signal.lte.rsrp              : -98.00
modem.signal.lte.snr               : 11.20
"""


def test_parse_prefers_lte_and_reads_bare_numbers() -> None:
    assert parse_signal(MMCLI) == -71
    assert parse_signal(MMCLI.replace("lte.rssi              : -71.00", "lte.rssi : --")) == -79
    assert parse_signal("-83\n") == -83
    assert parse_signal("-82.6 dBm") == -83
    assert parse_signal("RSSI = -90") == -90
    for unknown in ("", "--", "modem.signal.lte.rssi : --", "error: no modem", "17", "rssi: 5"):
        assert parse_signal(unknown) is None, unknown


def test_file_source_and_cache(tmp_path: Path) -> None:
    path = tmp_path / "signal"
    now = [0.0]
    reader = SignalReader(ModemConfig(signal_file=path, cache_s=60), monotonic=lambda: now[0])
    assert reader.signal_dbm() is None  # not written yet: unknown
    path.write_text("-77\n")
    now[0] = 61.0
    assert reader.signal_dbm() == -77
    path.write_text("-95\n")
    now[0] = 90.0
    assert reader.signal_dbm() == -77  # cached
    now[0] = 122.0
    assert reader.signal_dbm() == -95


def test_command_source_with_timeout() -> None:
    script = f"print({MMCLI!r})"
    reader = SignalReader(ModemConfig(signal_command=[sys.executable, "-c", script]))
    assert reader.signal_dbm() == -71
    slow = SignalReader(
        ModemConfig(
            signal_command=[sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.3
        )
    )
    assert slow.signal_dbm() is None
    exit_3 = [sys.executable, "-c", "raise SystemExit(3)"]
    failing = SignalReader(ModemConfig(signal_command=exit_3))
    assert failing.signal_dbm() is None
    missing = SignalReader(ModemConfig(signal_command=["/nonexistent/mmcli"]))
    assert missing.signal_dbm() is None
    assert SignalReader(ModemConfig()).signal_dbm() is None  # no source: unknown


BASE = {
    "MYENERGY_AGENT_DEVICE_ID": "site-0001",
    "MYENERGY_AGENT_METER_MODEL": "sdm630",
    "MYENERGY_AGENT_METER_PORT": "/dev/ttyUSB0",
    "MYENERGY_AGENT_MQTT_HOST": "127.0.0.1",
    "MYENERGY_AGENT_MQTT_TLS_ENABLED": "false",
}


def test_config_from_environment_and_refusals(tmp_path: Path) -> None:
    config = load_config(
        None, {**BASE, "MYENERGY_AGENT_MODEM_SIGNAL_COMMAND": "mmcli -m any --signal-get"}
    )
    assert config.modem.signal_command == ["mmcli", "-m", "any", "--signal-get"]
    with pytest.raises(ConfigError, match=r"modem\.signal_file: set signal_command or"):
        load_config(
            None,
            {
                **BASE,
                "MYENERGY_AGENT_MODEM_SIGNAL_COMMAND": "mmcli",
                "MYENERGY_AGENT_MODEM_SIGNAL_FILE": str(tmp_path / "x"),
            },
        )
    with pytest.raises(ConfigError, match=r"modem\.signal_command"):
        load_config(None, {**BASE, "MYENERGY_AGENT_MODEM_SIGNAL_COMMAND": "'unclosed"})


def test_signal_reaches_the_agents_status(tmp_path: Path) -> None:
    signal_file = tmp_path / "signal-dbm"
    signal_file.write_text("-88\n")
    config = load_config(
        None,
        {
            **BASE,
            "MYENERGY_AGENT_STORE_PATH": str(tmp_path / "queue.sqlite3"),
            "MYENERGY_AGENT_MODEM_SIGNAL_FILE": str(signal_file),
        },
    )
    agent = Agent(config)
    try:
        status = agent.reporter.force(agent.status_inputs())
    finally:
        agent.queue.close()
    assert status["signal_dbm"] == -88
    assert decode_status(encode_status(status))["signal_dbm"] == -88
