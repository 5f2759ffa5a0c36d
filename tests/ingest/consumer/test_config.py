"""Ingest configuration: the sample loads, env overrides, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.cli import main
from ingest.config import SAMPLE_CONFIG, ConfigError, load_config
from ingest.store import InfluxConfig, SqliteConfig


def test_sample_config_loads() -> None:
    config = load_config(SAMPLE_CONFIG, {})
    assert config.mqtt.share_group == "ingest"
    assert config.mqtt.session_expiry_s > 0
    assert config.metrics.host == "127.0.0.1"
    assert isinstance(config.store.store_config(), SqliteConfig)


def test_env_overrides_file_and_secrets_stay_secret() -> None:
    env = {
        "MYENERGY_INGEST_STORE_KIND": "influx",
        "MYENERGY_INGEST_STORE_INFLUX_TOKEN": "s3cret-token",
        "MYENERGY_INGEST_MQTT_PASSWORD": "hunter2",
        "MYENERGY_INGEST_METRICS_PORT": "0",
    }
    config = load_config(SAMPLE_CONFIG, env)
    store = config.store.store_config()
    assert isinstance(store, InfluxConfig)
    assert store.token == "s3cret-token"
    assert config.mqtt.password_value() == "hunter2"
    assert "hunter2" not in repr(config) and "s3cret" not in repr(config)


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('version = 1\n[mqtt]\nport = 70000\ntypo = 1\n[metrics]\nhost = "0.0.0.0"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, {"MYENERGY_INGEST_NOPE": "1", "MYENERGY_INGEST_MQTT_PASSWORD": "pw-42"})
    keys = {p.key for p in info.value.problems}
    assert {"mqtt.port", "mqtt.typo", "metrics.host", "MYENERGY_INGEST_NOPE"} <= keys
    assert "pw-42" not in str(info.value)


def test_password_needs_username() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, {"MYENERGY_INGEST_MQTT_PASSWORD": "pw-42"})
    assert [p.key for p in info.value.problems] == ["mqtt.username"]
    assert "pw-42" not in str(info.value)


def test_missing_version_and_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[mqtt]\n")
    with pytest.raises(ConfigError, match="version"):
        load_config(path, {})
    path.write_text("[mqtt\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, {})


def test_run_refuses_a_bad_config_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("version = 1\n[mqtt]\nport = -1\n")
    assert main(["run", "--config", str(path)]) == 2
    assert "mqtt.port" in capsys.readouterr().err
