"""Writing the agent's configuration after provisioning (the format of edge_agent/config.py).

The file holds the broker password, so it is written with mode 0600, atomically (a
temporary file in the same directory, fsync, rename) and only after
:func:`edge_agent.config.load_config` accepted the temporary file: the agent never
finds a half-written or invalid configuration, and a failure leaves the old file as
it was. Settings of an existing file that provisioning does not decide (``[live]``,
``[modem]``, ``[log]``, timeouts...) are kept; the device, meter line, broker login
and queue path are replaced. A replaced file is kept beside it as ``<name>.bak``
(also 0600: it holds the old password).

TOML is written by a small emitter here (tomllib only reads): the values are
strings, numbers, booleans and lists of them, which JSON's string escapes encode
as valid TOML basic strings.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.config import SCHEMA_VERSION, load_config

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_QUEUE",
    "AgentSettings",
    "check_writable",
    "merge",
    "to_toml",
    "write_config",
]

DEFAULT_CONFIG = Path("/etc/myenergy/agent.toml")
DEFAULT_QUEUE = Path("/var/lib/myenergy/agent-queue.sqlite3")


@dataclass(frozen=True)
class AgentSettings:
    """What provisioning decides: the device, the meter's line, the broker login."""

    device_id: str
    model: str
    port: str
    slave_id: int
    baudrate: int
    parity: str
    bytesize: int
    stopbits: int
    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_protocol: str
    username: str
    password: str
    queue_path: Path
    ca_file: Path | None = None

    def sections(self) -> dict[str, Any]:
        mqtt: dict[str, Any] = {
            "host": self.mqtt_host,
            "port": self.mqtt_port,
            "protocol": self.mqtt_protocol,
            "username": self.username,
            "password": self.password,
            "tls": {"enabled": self.mqtt_tls},
        }
        if self.ca_file is not None:
            mqtt["tls"]["ca_file"] = str(self.ca_file)
        return {
            "version": SCHEMA_VERSION,
            "device": {"id": self.device_id},
            "meter": {
                "model": self.model,
                "transport": "rtu",
                "port": self.port,
                "slave_id": self.slave_id,
                "baudrate": self.baudrate,
                "parity": self.parity,
                "bytesize": self.bytesize,
                "stopbits": self.stopbits,
            },
            "mqtt": mqtt,
            "store": {"path": str(self.queue_path)},
        }


# Keys of an old file that contradict the new settings: an RTU meter has no TCP
# target; the password is in the file now, so a password_file would be refused.
_DROPPED = (("meter", "host"), ("meter", "tcp_port"), ("mqtt", "password_file"))


def merge(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """``old`` with ``new``'s keys replacing its own, table by table."""
    merged: dict[str, Any] = {k: v for k, v in old.items()}
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    for section, key in _DROPPED:
        table = merged.get(section)
        if isinstance(table, dict):
            table.pop(key, None)
    return merged


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "-_" for c in key) and key.isascii()
    return key if bare else json.dumps(key)


def to_toml(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text of nested tables of scalars (and lists of scalars)."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]

    def table(path: tuple[str, ...], values: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in values.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in values.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            lines.append("")
            lines.append("[" + ".".join(_key(p) for p in path) + "]")
        for k, v in scalars:
            lines.append(f"{_key(k)} = {_value(v)}")
        for k, v in tables:
            table((*path, k), v)

    table((), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot be written (None: it can): asked before the portal is called,
    so a technician without root learns it before any credentials are issued."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder}: not a folder"  # fails for root too, unlike the modes below
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: no permission to replace it"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder}: no permission to write there"
    return None


def _read_existing(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # unreadable or broken: replaced whole (the old one is kept as .bak)


def write_config(path: Path, settings: AgentSettings, *, header: str = "") -> dict[str, Any]:
    """Write ``settings`` (merged into the existing file) to ``path``; the data written.

    Raises :class:`~edge_agent.config.ConfigError` when the agent would refuse the
    result (nothing is changed then) and ``OSError`` when the file cannot be written.
    """
    data = merge(_read_existing(path), settings.sections())
    text = to_toml(data, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        # The agent's own loader, without the environment: the file alone must be valid.
        load_config(Path(tmp), {})
        if path.exists():
            # Copied, not moved: the agent's file is never missing, not even briefly.
            backup = path.with_name(path.name + ".bak")
            shutil.copyfile(path, backup)
            os.chmod(backup, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        # The rename is durable once the directory is synced.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return data
