"""The module's configuration: /config.json on flash, plus what the cloud changed.

Two JSON files, read at boot:

* ``/config.json``: written by the installer (``mpremote fs cp``) - the device
  id, MQTT credentials, pins, APN. Never written by the firmware.
* ``/config.cloud.json``: the settings a ``config`` command changed (poll_s,
  upload_s, status_s, live_sample_s), written atomically (temporary file, then
  rename: LittleFS renames atomically) so a power cut leaves the old or the new
  file, never half of one. They outlive a restart: a module on a pole has nobody
  to re-apply them.

Every value is checked against :data:`SCHEMA` (type and range). A bad
``/config.json`` stops the boot with every problem listed (the installer sees it
on the serial console); a bad entry in the cloud file is ignored and reported.
Values are read as ``cfg.get("meter.poll_s")``: dotted keys keep the schema,
the defaults and the lookups in one flat table that costs little RAM.
"""

import json
import os

from protocol.topics import valid_device_id

try:
    from typing import Any
except ImportError:
    pass

CONFIG_PATH = "/config.json"
CLOUD_PATH = "/config.cloud.json"

_INT = "int"
_NUM = "number"
_STR = "str"
_BOOL = "bool"
_REQUIRED = object()

# key: (type, minimum, maximum, default). For strings min/max bound the length;
# _REQUIRED as default: the installer must give it.
SCHEMA = {
    "device_id": (_STR, 3, 32, _REQUIRED),
    "meter.model": (_STR, 1, 16, _REQUIRED),
    "meter.slave": (_INT, 1, 247, 1),
    "meter.uart": (_INT, 0, 2, 1),
    "meter.tx": (_INT, 0, 48, 17),
    "meter.rx": (_INT, 0, 48, 16),
    "meter.de": (_INT, 0, 48, 4),
    "meter.baudrate": (_INT, 0, 115200, 0),  # 0: the model's default line settings
    "meter.poll_s": (_NUM, 0.2, 60, 1.0),
    "meter.timeout_ms": (_INT, 50, 2000, 500),
    "modem.uart": (_INT, 0, 2, 2),
    "modem.tx": (_INT, 0, 48, 27),
    "modem.rx": (_INT, 0, 48, 26),
    "modem.pwrkey": (_INT, -1, 48, -1),  # -1: no power-key pin wired
    "modem.baudrate": (_INT, 9600, 921600, 115200),
    "modem.apn": (_STR, 0, 64, "internet"),
    "mqtt.host": (_STR, 1, 128, _REQUIRED),
    "mqtt.port": (_INT, 1, 65535, 8883),
    "mqtt.tls": (_BOOL, 0, 1, True),
    "mqtt.username": (_STR, 0, 64, ""),
    "mqtt.password": (_STR, 0, 128, ""),
    "mqtt.ca_file": (_STR, 0, 64, ""),  # PEM of the broker's CA on flash; "" = the modem's own
    "mqtt.keepalive_s": (_INT, 10, 1200, 60),
    "mqtt.upload_s": (_NUM, 1, 3600, 60),
    "mqtt.batch_max": (_INT, 1, 240, 60),
    "status.interval_s": (_NUM, 60, 86400, 900),
    "live.sample_s": (_NUM, 0.2, 60, 1.0),
    "live.max_minutes": (_INT, 1, 1440, 30),
    "store.partition": (_STR, 1, 16, "records"),
    "watchdog_ms": (_INT, 5000, 120000, 30000),
    "loop_idle_ms": (_INT, 1, 100, 5),
}

# The protocol's ``config`` command fields and the settings they change.
CLOUD_KEYS = {
    "poll_s": "meter.poll_s",
    "upload_s": "mqtt.upload_s",
    "status_s": "status.interval_s",
    "live_sample_s": "live.sample_s",
}


class ConfigError(ValueError):
    """The configuration cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def problem(key: str, value: object) -> str | None:
    """Why ``value`` is not valid for ``key``, or None."""
    spec = SCHEMA.get(key)
    if spec is None:
        return "%s: unknown setting" % key
    kind, lo, hi = spec[0], spec[1], spec[2]
    if kind == _STR:
        if not isinstance(value, str) or not lo <= len(value) <= hi:
            return "%s: must be text of %d..%d characters" % (key, lo, hi)
        return None
    if kind == _BOOL:
        return None if isinstance(value, bool) else "%s: must be true or false" % key
    if isinstance(value, bool) or not isinstance(value, int if kind == _INT else (int, float)):
        return "%s: must be %s" % (key, "an integer" if kind == _INT else "a number")
    if not lo <= value <= hi:
        return "%s: must be in %s..%s" % (key, lo, hi)
    if key == "meter.poll_s" and 60000 % round(value * 1000):
        # Records are whole minutes: every minute must hold the same number of polls.
        return "%s: must divide 60 s into a whole number of polls (1, 2, 5, 0.5...)" % key
    return None


def flatten(tree: "dict[str, Any]", prefix: str = "") -> "dict[str, Any]":
    """{"a": {"b": 1}} -> {"a.b": 1}."""
    out = {}
    for name, value in tree.items():
        key = prefix + name
        if isinstance(value, dict):
            out.update(flatten(value, key + "."))
        else:
            out[key] = value
    return out


def _read_json(path: str) -> object:
    try:
        with open(path) as f:
            return json.load(f)
    except OSError:
        return None


class Config:
    """The settings in force: defaults < /config.json < /config.cloud.json."""

    def __init__(
        self,
        installed: "dict[str, Any]",
        cloud: "dict[str, Any] | None" = None,
        cloud_path: str = CLOUD_PATH,
    ) -> None:
        self.cloud_path = cloud_path
        self.ignored = {}  # cloud keys that could not be applied at boot: key -> reason
        problems = []
        values = {}
        given = flatten(installed)
        for key, value in given.items():
            why = problem(key, value)
            if why:
                problems.append(why)
            else:
                values[key] = value
        for key, spec in SCHEMA.items():
            if key not in values:
                if spec[3] is _REQUIRED:
                    if key not in given:
                        problems.append("%s: required" % key)
                else:
                    values[key] = spec[3]
        if problems:
            raise ConfigError(problems)
        self._values = values
        self.cloud = {}
        for name, value in (cloud or {}).items():
            setting = CLOUD_KEYS.get(name)
            why = problem(setting, value) if setting else "%s: not a cloud setting" % name
            if why or setting is None:
                self.ignored[name] = why or name
            else:
                self.cloud[name] = value
                values[setting] = value
        if not valid_device_id(values["device_id"]):
            raise ConfigError(["device_id: 3-32 characters of a-z, 0-9 and '-'"])

    def get(self, key: str) -> object:
        return self._values[key]

    def apply_cloud(self, changes: "dict[str, Any]") -> "tuple[dict[str, Any], dict[str, Any]]":
        """Apply a ``config`` command's fields; returns (applied, refused) and persists them."""
        applied = {}
        refused = {}
        for name, value in changes.items():
            key = CLOUD_KEYS.get(name)
            why = problem(key, value) if key else "not a setting that can change at run time"
            if why:
                refused[name] = why
            else:
                applied[name] = value
        if applied:
            merged = dict(self.cloud)
            merged.update(applied)
            save_atomic(self.cloud_path, merged)
            self.cloud = merged
            for name, value in applied.items():
                self._values[CLOUD_KEYS[name]] = value
        return applied, refused


def save_atomic(path: str, obj: object) -> None:
    """Write ``obj`` as JSON to ``path`` so that a power cut leaves old or new, never half."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    try:
        os.remove(path)  # rename() over an existing file fails on some VFS
    except OSError:
        pass
    os.rename(tmp, path)


def load(path: str = CONFIG_PATH, cloud_path: str = CLOUD_PATH) -> Config:
    """The configuration from flash; ConfigError when /config.json is missing or invalid."""
    installed = _read_json(path)
    if not isinstance(installed, dict):
        raise ConfigError(["%s: missing or not a JSON object" % path])
    cloud = _read_json(cloud_path)
    if cloud is None and _exists(cloud_path + ".tmp"):
        # A cut between remove() and rename(): the temporary file is the newest complete one.
        cloud = _read_json(cloud_path + ".tmp")
    return Config(installed, cloud if isinstance(cloud, dict) else None, cloud_path)


def _exists(path: str) -> bool:
    try:
        os.stat(path)
        return True
    except OSError:
        return False
