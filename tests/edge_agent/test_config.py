"""edge_agent.config: schema, TOML + environment, every problem reported before any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import (
    SAMPLE_CONFIG,
    AgentConfig,
    ConfigError,
    env_var,
    leaf_keys,
    load_config,
    override,
)

MINIMAL = """
version = 1
[device]
id = "site-0042"
[meter]
model = "sdm630"
port = "/dev/ttyUSB0"
[mqtt]
host = "broker.example"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[ConfigError]) -> dict[str, tuple[str, str]]:
    return {p.key: (p.message, p.source) for p in exc.value.problems}


def test_sample_config_loads_and_matches_the_defaults() -> None:
    # STYLE 8: the commented sample is loaded here, so it cannot rot.
    config = load_config(SAMPLE_CONFIG, {})
    assert config.version == 1
    assert config.device.id == "site-0001"
    assert config.meter.model == "sdm630"
    assert config.mqtt.port == 8883
    assert config.store.max_bytes == 64 * 1024 * 1024
    assert config.store.coarsen_period_s == 900
    assert config.status.interval_s == 3600
    # Everything the sample leaves at its default equals the schema's default.
    minimal = load_config(
        None,
        {
            "MYENERGY_AGENT_DEVICE_ID": "site-0001",
            "MYENERGY_AGENT_METER_MODEL": "sdm630",
            "MYENERGY_AGENT_METER_PORT": "/dev/ttyUSB0",
            "MYENERGY_AGENT_MQTT_HOST": "mqtt.myenergy.example",
        },
    )
    assert minimal == config


def test_serial_settings_default_to_the_meter_map() -> None:
    from hardware.maps import load_map

    config = load_config(SAMPLE_CONFIG, {})
    serial = load_map("sdm630").serial
    meter = config.meter
    assert (meter.baudrate, meter.parity, meter.bytesize, meter.stopbits) == (
        serial.baudrate,
        serial.parity,
        serial.bytesize,
        serial.stopbits,
    )
    assert meter.serial_settings() == serial
    assert meter.expected_per_minute == 60


def test_file_values_override_map_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL.replace(
            'port = "/dev/ttyUSB0"', 'port = "/dev/ttyUSB0"\nbaudrate = 19200\nparity = "E"'
        ),
    )
    meter = load_config(path, {}).meter
    assert (meter.baudrate, meter.parity) == (19200, "E")


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "MYENERGY_AGENT_MQTT_HOST": "other.example",
        "MYENERGY_AGENT_MQTT_USERNAME": "site-0042",
        "MYENERGY_AGENT_MQTT_PASSWORD": "hunter2",
        "MYENERGY_AGENT_MQTT_TLS_ENABLED": "false",
        "MYENERGY_AGENT_METER_POLL_S": "2",
        "MYENERGY_AGENT_STORE_MAX_BYTES": "8MiB",
        "MYENERGY_AGENT_LOG_LEVEL": "debug",
        "MYENERGY_AGENT_CONFIG": "/etc/myenergy/agent.toml",  # the CLI's, not a setting
        "PATH": "/usr/bin",  # unrelated variables are ignored
    }
    config = load_config(write(tmp_path, MINIMAL), env)
    assert config.mqtt.host == "other.example"
    assert config.mqtt.password_value() == "hunter2"
    assert config.mqtt.tls.enabled is False
    assert config.mqtt.port == 1883  # the default follows TLS
    assert config.meter.poll_s == 2.0
    assert config.meter.expected_per_minute == 30
    assert config.store.max_bytes == 8 * 1024 * 1024
    assert config.log.level == "DEBUG"
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config.model_dump())


def test_empty_variable_unsets_the_file_value(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "[log]\nlevel = 'ERROR'\n")
    assert load_config(path, {"MYENERGY_AGENT_LOG_LEVEL": ""}).log.level == "INFO"


def test_environment_alone_is_a_complete_configuration() -> None:
    env = {
        "MYENERGY_AGENT_DEVICE_ID": "site-0042",
        "MYENERGY_AGENT_METER_MODEL": "sdm630",
        "MYENERGY_AGENT_METER_TRANSPORT": "tcp",
        "MYENERGY_AGENT_METER_HOST": "10.0.0.5",
        "MYENERGY_AGENT_MQTT_HOST": "broker.example",
    }
    config = load_config(None, env)
    assert config.meter.transport == "tcp"
    assert config.meter.host == "10.0.0.5"
    assert config.meter.tcp_port == 502


def test_every_problem_is_listed_with_key_and_source(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
version = 1
[device]
id = "Site_42"
[meter]
model = "nosuchmeter"
port = "/dev/ttyUSB0"
slave_id = 300
[mqtt]
host = "broker.example"
typo_key = 1
[store]
coarsen_period_s = 1000
[nonsense]
x = 1
""",
    )
    env = {"MYENERGY_AGENT_MQTT_PORT": "70000", "MYENERGY_AGENT_MQTT_HOSTNAME": "x"}
    with pytest.raises(ConfigError) as exc:
        load_config(path, env)
    found = problems(exc)
    where = f"file {path}"
    assert found["device.id"] == ("must be 3 to 32 characters of a-z, 0-9 and '-'", where)
    assert "unknown meter model 'nosuchmeter'" in found["meter.model"][0]
    assert "sdm630" in found["meter.model"][0]  # names the choices
    assert found["meter.slave_id"][1] == where
    assert found["mqtt.typo_key"] == ("unknown setting", where)
    assert found["nonsense"] == ("unknown setting", where)
    assert found["store.coarsen_period_s"][1] == where
    assert found["mqtt.port"][1] == "env MYENERGY_AGENT_MQTT_PORT"
    assert "70000" in found["mqtt.port"][0]
    assert found["MYENERGY_AGENT_MQTT_HOSTNAME"] == (
        "unknown setting",
        "env MYENERGY_AGENT_MQTT_HOSTNAME",
    )
    assert len(found) == 8
    text = str(exc.value)
    assert text.startswith("invalid agent configuration (8 problems):")
    assert "  mqtt.port: " in text


def test_missing_required_settings_name_their_variable() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(None, {})
    found = problems(exc)
    assert set(found) == {"device", "meter", "mqtt"}
    env = {"MYENERGY_AGENT_DEVICE_ID": "site-0042", "MYENERGY_AGENT_METER_MODEL": "sdm630"}
    with pytest.raises(ConfigError) as exc:
        load_config(None, env)
    found = problems(exc)
    assert found["mqtt"][0] == "required"
    assert found["meter.port"] == (
        "required when transport = 'rtu' (e.g. /dev/ttyUSB0)",
        "not set; set it in the file or with MYENERGY_AGENT_METER_PORT",
    )


def test_missing_nested_key_names_its_variable(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('host = "broker.example"', "keepalive_s = 30"))
    with pytest.raises(ConfigError) as exc:
        load_config(path, {})
    assert problems(exc)["mqtt.host"] == (
        "required",
        "not set; set it in the file or with MYENERGY_AGENT_MQTT_HOST",
    )


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        (MINIMAL.replace("version = 1", ""), "version", "required: add version = 1"),
        (MINIMAL.replace("version = 1", "version = 2"), "version", "version 1"),
        (
            MINIMAL.replace('port = "/dev/ttyUSB0"', 'transport = "tcp"'),
            "meter.host",
            "required when transport = 'tcp'",
        ),
        (MINIMAL + "poll_s = 7\n", "mqtt.poll_s", "unknown setting"),
        (
            MINIMAL.replace("[mqtt]", "[mqtt]\nbackoff_min_s = 10\nbackoff_max_s = 5"),
            "mqtt.backoff_min_s",
            "must not exceed backoff_max_s",
        ),
        (MINIMAL.replace("[mqtt]", "[meter.x]\n[mqtt]"), "meter.x", "unknown setting"),
        (MINIMAL + "[live]\ndefault_minutes = 40\n", "live.default_minutes", "max_minutes"),
        (MINIMAL + "[store]\nmax_bytes = '10kB'\n", "store.max_bytes", "greater than or equal"),
        (MINIMAL + "[log]\nformat = 'xml'\n", "log.format", "'json' or 'console'"),
        (
            MINIMAL.replace('port = "/dev/ttyUSB0"', 'port = "/dev/ttyUSB0"\nbaudrate = 9601'),
            "meter.baudrate",
            "must be one of",
        ),
        (
            MINIMAL.replace('port = "/dev/ttyUSB0"', 'port = "/dev/ttyUSB0"\npoll_s = 7'),
            "meter.poll_s",
            "whole number of polls",
        ),
    ],
)
def test_single_problems(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text), {})
    found = problems(exc)
    assert key in found, found
    assert fragment in found[key][0]


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml", {})
    with pytest.raises(ConfigError, match="not valid TOML") as exc:
        load_config(write(tmp_path, "version = \n"), {})
    assert exc.value.problems[0].source == f"file {tmp_path / 'agent.toml'}"


def test_password_rules(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    base = {"MYENERGY_AGENT_MQTT_USERNAME": "site-0042"}
    path = write(tmp_path, MINIMAL)
    config = load_config(path, {**base, "MYENERGY_AGENT_MQTT_PASSWORD_FILE": str(secret)})
    assert config.mqtt.password_value() == "s3cret"  # newline stripped
    with pytest.raises(ConfigError) as exc:
        load_config(
            path,
            {
                **base,
                "MYENERGY_AGENT_MQTT_PASSWORD_FILE": str(secret),
                "MYENERGY_AGENT_MQTT_PASSWORD": "hunter2",
            },
        )
    assert problems(exc)["mqtt.password_file"][0] == "set password or password_file, not both"
    assert "hunter2" not in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_config(path, {"MYENERGY_AGENT_MQTT_PASSWORD": "hunter2"})
    assert "mqtt.username" in problems(exc)
    assert "hunter2" not in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load_config(path, {**base, "MYENERGY_AGENT_MQTT_PASSWORD_FILE": str(tmp_path / "nope")})
    assert problems(exc)["mqtt.password_file"][0].startswith("file not found")


def test_tls_files(tmp_path: Path) -> None:
    cert = tmp_path / "device.pem"
    cert.write_text("x", encoding="utf-8")
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as exc:
        load_config(path, {"MYENERGY_AGENT_MQTT_TLS_CERT_FILE": str(cert)})
    assert problems(exc)["mqtt.tls.key_file"] == (
        "cert_file and key_file go together",
        "not set; set it in the file or with MYENERGY_AGENT_MQTT_TLS_KEY_FILE",
    )
    with pytest.raises(ConfigError) as exc:
        load_config(path, {"MYENERGY_AGENT_MQTT_TLS_CA_FILE": str(tmp_path / "ca.pem")})
    assert problems(exc)["mqtt.tls.ca_file"] == (
        f"file not found: {tmp_path / 'ca.pem'}",
        "env MYENERGY_AGENT_MQTT_TLS_CA_FILE",
    )
    # Not checked when TLS is off.
    config = load_config(
        path,
        {
            "MYENERGY_AGENT_MQTT_TLS_CA_FILE": str(tmp_path / "ca.pem"),
            "MYENERGY_AGENT_MQTT_TLS_ENABLED": "0",
        },
    )
    assert config.mqtt.port == 1883


def test_config_is_immutable_and_override_revalidates() -> None:
    config = load_config(SAMPLE_CONFIG, {})
    with pytest.raises(Exception, match="frozen"):
        config.meter.poll_s = 5
    changed = override(config, {"meter.poll_s": 5, "live.max_minutes": 60}, "command config")
    assert changed.meter.poll_s == 5.0
    assert changed.live.max_minutes == 60
    assert config.meter.poll_s == 1.0
    with pytest.raises(ConfigError) as exc:
        override(config, {"meter.poll_s": 7, "meter.nope": 1}, "command config")
    assert problems(exc) == {"meter.nope": ("unknown setting", "command config")}
    with pytest.raises(ConfigError) as exc:
        override(config, {"meter.poll_s": 7}, "command config")
    assert problems(exc)["meter.poll_s"][1] == "command config"


def test_override_keeps_secrets() -> None:
    env = {"MYENERGY_AGENT_MQTT_USERNAME": "u", "MYENERGY_AGENT_MQTT_PASSWORD": "hunter2"}
    config = load_config(SAMPLE_CONFIG, env)
    assert override(config, {"meter.poll_s": 2}, "test").mqtt.password_value() == "hunter2"


def test_every_setting_has_a_distinct_variable() -> None:
    keys = list(leaf_keys())
    names = [env_var(k) for k in keys]
    assert len(set(names)) == len(names)
    assert env_var(("mqtt", "tls", "ca_file")) == "MYENERGY_AGENT_MQTT_TLS_CA_FILE"
    assert ("version",) in keys
    assert AgentConfig.model_fields["version"].default == 1
