"""The edge agent's configuration for each site of ``myenergy-stack``.

Built through the agent's own loader (``edge_agent.config.load_config`` with an
environment-like mapping, no file), so the stack gets exactly the validation a
real module gets and a setting the agent does not know is an error here too.

What differs from a production module, and why:

* the meter is a pty opened with parity N: a Linux pty stores no parity bit (the
  simulator still times the line with the model's parity);
* plain MQTT, no TLS: the broker is local (or a development broker named in the
  stack's settings, with one account for every client);
* the modem's signal comes from a file the stack's radio writes
  (:mod:`simulators.stack_radio`);
* ``mqtt.upload_interval_s`` is 10 s instead of 60 s, so a record shows up in the
  view a few seconds after its minute closes; reconnect backoff is short;
* the poll period follows ``--speed`` (see :mod:`simulators.stack_sites`);
* with the in-process amqtt broker the agent speaks MQTT 3.1.1 (amqtt has no v5).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from edge_agent.config import AgentConfig, env_var, load_config
from simulators.stack_sites import Site

__all__ = [
    "MQTT_V5",
    "MQTT_V311",
    "UPLOAD_INTERVAL_S",
    "agent_config",
    "agent_settings",
    "queue_path",
]

MQTT_V5 = "5"
MQTT_V311 = "3.1.1"
UPLOAD_INTERVAL_S = 10.0
SIGNAL_CACHE_S = 5.0


def queue_path(state_dir: Path, device_id: str) -> Path:
    """Each agent's durable queue, as on a module: one SQLite file per device."""
    return state_dir / device_id / "queue.sqlite3"


def agent_settings(
    site: Site,
    *,
    serial_port: str,
    mqtt_port: int,
    poll_s: float,
    state_dir: Path,
    mqtt_protocol: str = MQTT_V5,
    mqtt_host: str = "127.0.0.1",
    mqtt_username: str | None = None,
    mqtt_password: str | None = None,
    signal_file: Path | None = None,
) -> dict[tuple[str, ...], object]:
    """The settings that differ from the agent's defaults, by key path."""
    serial = site.serial
    settings: dict[tuple[str, ...], object] = {
        ("device", "id"): site.device_id,
        ("meter", "model"): site.model,
        ("meter", "transport"): "rtu",
        ("meter", "port"): serial_port,
        ("meter", "baudrate"): serial.baudrate,
        ("meter", "parity"): "N",  # a pty stores no parity bit; see the module docstring
        ("meter", "bytesize"): serial.bytesize,
        ("meter", "stopbits"): serial.stopbits,
        ("meter", "poll_s"): poll_s,
        ("mqtt", "host"): mqtt_host,
        ("mqtt", "port"): mqtt_port,
        ("mqtt", "protocol"): mqtt_protocol,  # "3.1.1" only for amqtt (decision 0002)
        ("mqtt", "tls", "enabled"): False,
        ("mqtt", "keepalive_s"): 20,
        ("mqtt", "upload_interval_s"): UPLOAD_INTERVAL_S,
        ("mqtt", "backoff_min_s"): 0.5,
        ("mqtt", "backoff_max_s"): 5.0,
        ("store", "path"): str(queue_path(state_dir, site.device_id)),
        ("status", "interval_s"): 60,
        ("log", "level"): "INFO",
        ("log", "format"): "json",
    }
    if mqtt_username:
        settings["mqtt", "username"] = mqtt_username
    if mqtt_password is not None:
        settings["mqtt", "password"] = mqtt_password
    if signal_file is not None:
        # The stack's radio rewrites it every second; read it every few real seconds.
        settings["modem", "signal_file"] = str(signal_file)
        settings["modem", "cache_s"] = SIGNAL_CACHE_S
    return settings


def _as_env(settings: Mapping[tuple[str, ...], object]) -> dict[str, str]:
    def text(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {env_var(key): text(value) for key, value in settings.items()}


def agent_config(
    site: Site,
    *,
    serial_port: str,
    mqtt_port: int,
    poll_s: float,
    state_dir: Path,
    mqtt_protocol: str = MQTT_V5,
    mqtt_host: str = "127.0.0.1",
    mqtt_username: str | None = None,
    mqtt_password: str | None = None,
    signal_file: Path | None = None,
) -> AgentConfig:
    """The validated AgentConfig; ConfigError (every problem listed) if the agent refuses it."""
    settings = agent_settings(
        site,
        serial_port=serial_port,
        mqtt_port=mqtt_port,
        poll_s=poll_s,
        state_dir=state_dir,
        mqtt_protocol=mqtt_protocol,
        mqtt_host=mqtt_host,
        mqtt_username=mqtt_username,
        mqtt_password=mqtt_password,
        signal_file=signal_file,
    )
    return load_config(None, _as_env(settings))
