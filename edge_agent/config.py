"""The agent's settings: one typed schema, a TOML file, environment overrides.

``load_config(path, env)`` reads the TOML file (if any), then applies every
``MYENERGY_AGENT_<SECTION>_<KEY>`` environment variable on top of it (12-factor:
a container or a systemd unit can set the broker password without touching the
file), and validates the result before anything opens a port, a socket or the
queue. A wrong setting is a :class:`ConfigError` that lists *every* problem with
its dotted key and where the value came from (the file or the variable).

Unknown keys, sections and ``MYENERGY_AGENT_*`` variables are errors: a typo must
not silently fall back to a default. The file carries ``version = 1`` so a later
schema can tell old files apart. The reference of every key is
``docs/edge-agent.md``; ``edge_agent/agent.sample.toml`` is a commented example
that a test loads, so it cannot rot.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from protocol.topics import valid_device_id

if TYPE_CHECKING:
    # hardware/ is imported lazily: loading the config must not depend on import order.
    from hardware.maps import SerialSettings

__all__ = [
    "ENV_CONFIG_PATH",
    "ENV_PREFIX",
    "SAMPLE_CONFIG",
    "AgentConfig",
    "ConfigError",
    "DeviceConfig",
    "LiveConfig",
    "LogConfig",
    "MeterConfig",
    "ModemConfig",
    "MqttConfig",
    "Problem",
    "StatusConfig",
    "StoreConfig",
    "TlsConfig",
    "env_var",
    "leaf_keys",
    "load_config",
    "override",
]

ENV_PREFIX = "MYENERGY_AGENT_"
# Not a setting: the path of the config file, read by the CLI. Reserved here so it
# is not reported as an unknown variable.
ENV_CONFIG_PATH = "MYENERGY_AGENT_CONFIG"
SAMPLE_CONFIG = Path(__file__).with_name("agent.sample.toml")
SCHEMA_VERSION = 1

_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _problem(field: str, message: str) -> PydanticCustomError:
    """A cross-field problem, reported under ``<section>.<field>`` (see _errors)."""
    return PydanticCustomError("cross_field", "{message}", {"message": message, "field": field})


def _check_file(path: Path | None, field: str) -> None:
    if path is not None and not path.is_file():
        raise _problem(field, f"file not found: {path}")


class _Section(BaseModel):
    # Frozen: the configuration is shared by threads and never patched in place;
    # use override() to derive a changed, re-validated copy.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(_Section):
    id: str = Field(description="device id, also the MQTT topic segment")

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        # The protocol's rule: the id is a topic segment and part of ACL patterns.
        if not valid_device_id(value):
            raise ValueError("must be 3 to 32 characters of a-z, 0-9 and '-'")
        return value


class MeterConfig(_Section):
    model: str
    transport: Literal["rtu", "tcp"] = "rtu"
    port: str | None = None  # serial device, for rtu
    host: str | None = None  # for tcp (a Modbus TCP meter or an RTU gateway)
    tcp_port: int = Field(default=502, ge=1, le=65535)
    # Filled in from the meter map's serial defaults when not set (see _serial_defaults).
    baudrate: int
    parity: Literal["N", "E", "O"]
    bytesize: int = Field(ge=7, le=8)
    stopbits: int = Field(ge=1, le=2)
    slave_id: int = Field(default=1, ge=1, le=247)
    timeout_s: float = Field(default=1.0, gt=0, le=30)
    poll_s: float = Field(default=1.0, ge=0.2, le=60)
    retries: int = Field(default=2, ge=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _serial_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        serial = _map_serial(data.get("model"))
        missing = {k: v for k, v in serial.items() if k not in data}
        return {**data, **missing} if missing else data

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        try:
            from hardware.maps import MapError, available_models, load_map  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the package ships hardware/
            raise ValueError(f"cannot check the meter model: {exc}") from None
        models = sorted(available_models())
        if value not in models:
            raise ValueError(f"unknown meter model {value!r}; known: {', '.join(models)}")
        try:
            load_map(value)
        except MapError as exc:
            raise ValueError(f"the map of {value!r} does not load: {exc}") from None
        return value

    @field_validator("baudrate")
    @classmethod
    def _standard_baudrate(cls, value: int) -> int:
        if value not in _BAUDRATES:
            raise ValueError(f"must be one of {', '.join(map(str, _BAUDRATES))}")
        return value

    @field_validator("poll_s")
    @classmethod
    def _divides_minute(cls, value: float) -> float:
        # Records are whole minutes; a poll period that divides the minute gives every
        # minute the same expected sample count, so completeness is exact.
        polls = 60.0 / value
        if abs(polls - round(polls)) > 1e-9:
            raise ValueError("must divide 60 s into a whole number of polls (1, 2, 5, 0.5...)")
        return value

    @model_validator(mode="after")
    def _transport_target(self) -> MeterConfig:
        if self.transport == "rtu" and not self.port:
            raise _problem("port", "required when transport = 'rtu' (e.g. /dev/ttyUSB0)")
        if self.transport == "tcp" and not self.host:
            raise _problem("host", "required when transport = 'tcp'")
        return self

    @property
    def expected_per_minute(self) -> int:
        """Polls a complete minute has."""
        return round(60.0 / self.poll_s)

    def serial_settings(self) -> SerialSettings:
        """The line settings as ``hardware``'s type (for the planner's timing)."""
        from hardware.maps import SerialSettings  # noqa: PLC0415 - see TYPE_CHECKING import

        return SerialSettings(self.baudrate, self.parity, self.bytesize, self.stopbits)


def _map_serial(model: object) -> dict[str, object]:
    """The serial defaults of ``model``'s map; placeholders if it has none (then the
    model field reports the problem, and these never leave validation)."""
    placeholder: dict[str, object] = {"baudrate": 9600, "parity": "N", "bytesize": 8, "stopbits": 1}
    if not isinstance(model, str):
        return placeholder
    try:
        from hardware.maps import load_map  # noqa: PLC0415 - hardware is optional here

        serial = load_map(model).serial
    except Exception:  # any failure is reported by MeterConfig._known_model
        return placeholder
    return {
        "baudrate": serial.baudrate,
        "parity": serial.parity,
        "bytesize": serial.bytesize,
        "stopbits": serial.stopbits,
    }


class TlsConfig(_Section):
    enabled: bool = True
    ca_file: Path | None = None  # None: the system's trust store
    cert_file: Path | None = None  # client certificate (mutual TLS), with key_file
    key_file: Path | None = None

    @model_validator(mode="after")
    def _files(self) -> TlsConfig:
        if not self.enabled:
            return self
        if (self.cert_file is None) != (self.key_file is None):
            missing = "key_file" if self.key_file is None else "cert_file"
            raise _problem(missing, "cert_file and key_file go together")
        _check_file(self.ca_file, "ca_file")
        _check_file(self.cert_file, "cert_file")
        _check_file(self.key_file, "key_file")
        return self


class MqttConfig(_Section):
    host: str = Field(min_length=1)
    # "5" for production: a v5 PUBACK carries the reason code that reveals a publish
    # the broker's ACL refused (docs/decisions/0002-embedded-broker.md)
    protocol: Literal["5", "3.1.1"] = "5"
    port: int = Field(default=0, ge=0, le=65535)  # 0: 8883 with TLS, 1883 without
    tls: TlsConfig = Field(default_factory=TlsConfig)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    keepalive_s: int = Field(default=60, ge=10, le=3600)
    batch_max_records: int = Field(default=60, ge=1, le=1440)
    max_in_flight: int = Field(default=4, ge=1, le=64)
    # None: derived from upload_interval_s (see _consistent)
    fresh_window_s: float | None = Field(default=None, ge=0)
    # 15 minutes: the market's settlement period, and a batch of 15 records is what
    # keeps a month of uplink under 2 MB (docs/protocol.md, bench/uplink.py)
    upload_interval_s: float = Field(default=900.0, gt=0, le=3600)
    backoff_min_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> MqttConfig:
        if self.password is not None and self.password_file is not None:
            raise _problem("password_file", "set password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise _problem("username", "required when a password is set")
        _check_file(self.password_file, "password_file")
        if self.backoff_min_s > self.backoff_max_s:
            raise _problem("backoff_min_s", "must not exceed backoff_max_s")
        if self.port == 0:
            # Frozen model: the derived default is set once, here, before anyone sees it.
            object.__setattr__(self, "port", 8883 if self.tls.enabled else 1883)
        return self

    def fresh_window(self) -> float:
        """Seconds within which a record counts as fresh (sent first, not historical).

        Unless set, the records made since the last upload round plus slack for a
        slow round: anything older is a catch-up. Derived on each call because a
        ``config`` command may change ``upload_interval_s`` at run time.
        """
        if self.fresh_window_s is not None:
            return self.fresh_window_s
        return self.upload_interval_s + 120.0

    def password_value(self) -> str | None:
        """The broker password from ``password`` or ``password_file`` (read now, so a
        rotated file is picked up at the next connect); trailing newline stripped."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None


class StoreConfig(_Section):
    path: Path = Path("/var/lib/myenergy/agent-queue.sqlite3")
    max_bytes: ByteSize = Field(default=ByteSize(64 * 1024 * 1024), ge=1024 * 1024)
    coarsen_period_s: int = Field(default=900, gt=60, le=86400)

    @field_validator("coarsen_period_s")
    @classmethod
    def _grid(cls, value: int) -> int:
        if value % 60 or 86400 % value:
            raise ValueError("must be whole minutes that divide a day (e.g. 300, 900, 3600)")
        return value


class LiveConfig(_Section):
    default_minutes: int = Field(default=5, ge=1)
    max_minutes: int = Field(default=30, ge=1, le=24 * 60)
    sample_s: float = Field(default=1.0, ge=0.2, le=60)

    @model_validator(mode="after")
    def _bounds(self) -> LiveConfig:
        if self.default_minutes > self.max_minutes:
            raise _problem("default_minutes", "must not exceed max_minutes")
        return self


class StatusConfig(_Section):
    interval_s: float = Field(default=3600.0, ge=60, le=86400)


class ModemConfig(_Section):
    """Where the status's ``signal_dbm`` (the modem's RSSI) comes from; neither: null."""

    # argv run with a timeout, e.g. ["mmcli", "-m", "any", "--signal-get",
    # "--output-keyvalue"]; a string (the environment variable) is split as a shell would.
    signal_command: list[str] | None = None
    signal_file: Path | None = None  # a file holding the dBm (the stack's simulated link)
    timeout_s: float = Field(default=2.0, gt=0, le=30)
    cache_s: float = Field(default=60.0, ge=0, le=3600)

    @field_validator("signal_command", mode="before")
    @classmethod
    def _argv(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"not a command line: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ModemConfig:
        if self.signal_command is not None and not self.signal_command:
            raise _problem("signal_command", "must name a program")
        if self.signal_command is not None and self.signal_file is not None:
            raise _problem("signal_file", "set signal_command or signal_file, not both")
        return self


class LogConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "console"] = "json"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class AgentConfig(_Section):
    version: int = SCHEMA_VERSION
    device: DeviceConfig
    meter: MeterConfig
    mqtt: MqttConfig
    store: StoreConfig = Field(default_factory=StoreConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)
    status: StatusConfig = Field(default_factory=StatusConfig)
    modem: ModemConfig = Field(default_factory=ModemConfig)
    log: LogConfig = Field(default_factory=LogConfig)

    @field_validator("version")
    @classmethod
    def _supported(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"this agent reads configuration version {SCHEMA_VERSION}")
        return value


# --- loading --------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One invalid setting: its dotted key, what is wrong, and where it came from."""

    key: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message} ({self.source})"


class ConfigError(ValueError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        n = len(problems)
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid agent configuration ({n} problem{'s' * (n != 1)}):\n{lines}")


def leaf_keys(model: type[BaseModel] = AgentConfig) -> Iterator[tuple[str, ...]]:
    """Every setting's key path, e.g. ``("mqtt", "tls", "ca_file")``."""
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for sub in leaf_keys(ann):
                yield (name, *sub)
        else:
            yield (name,)


def env_var(key: tuple[str, ...]) -> str:
    """The environment variable that overrides ``key``."""
    return ENV_PREFIX + "_".join(key).upper()


_ENV_KEYS = {env_var(k): k for k in leaf_keys()}
assert len(_ENV_KEYS) == len(list(leaf_keys())), "two settings map to one variable"

_SECRET_KEYS = {("mqtt", "password")}


def _flatten(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for k, v in data.items():
        if isinstance(v, Mapping):
            yield from _flatten(v, (*prefix, k))
        else:
            yield (*prefix, k)


def _set(data: dict[str, Any], key: tuple[str, ...], value: object) -> None:
    node = data
    for part in key[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[key[-1]] = value


def _unset(data: dict[str, Any], key: tuple[str, ...]) -> None:
    node: Any = data
    for part in key[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(key[-1], None)


def _describe(key: tuple[str, ...], sources: Mapping[tuple[str, ...], str]) -> str:
    for n in range(len(key), 0, -1):
        if key[:n] in sources:
            return sources[key[:n]]
    for known, source in sources.items():  # a whole section, e.g. an unknown [table]
        if known[: len(key)] == key:
            return source
    if key in _ENV_KEYS.values():
        return f"not set; set it in the file or with {env_var(key)}"
    return "default"


def _errors(exc: ValidationError, sources: Mapping[tuple[str, ...], str]) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "cross_field":
            loc = (*loc, str(ctx["field"]))
            message = str(ctx["message"])
        elif err["type"] == "missing":
            message = "required"
        elif err["type"] == "extra_forbidden":
            message = "unknown setting"
        else:
            message = err["msg"].removeprefix("Value error, ")
            # Our own messages say what they need; pydantic's gain from the value.
            # Never echo a secret.
            plain = not isinstance(err.get("input"), dict)
            if err["type"] != "value_error" and loc not in _SECRET_KEYS and plain:
                message += f", got {err.get('input')!r}"
        problems.append(Problem(".".join(loc), message, _describe(loc, sources)))
    return problems


def _validate(data: dict[str, Any], sources: dict[tuple[str, ...], str]) -> AgentConfig:
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_errors(exc, sources)) from None


def load_config(path: Path | None, env: Mapping[str, str]) -> AgentConfig:
    """Read ``path`` (TOML; None: no file), apply ``MYENERGY_AGENT_*`` from ``env``, validate.

    An empty variable unsets the key (the file's value, else the default applies).
    Raises :class:`ConfigError` listing every problem; does no I/O beyond reading
    the file and checking that the files it names exist.
    """
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    problems: list[Problem] = []
    if path is not None:
        where = f"file {path}"
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError([Problem("(file)", f"cannot read: {exc.strerror}", where)]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([Problem("(file)", f"not valid TOML: {exc}", where)]) from None
        if "version" not in data:
            problems.append(Problem("version", f"required: add version = {SCHEMA_VERSION}", where))
        sources.update((k, where) for k in _flatten(data))

    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name == ENV_CONFIG_PATH:
            continue
        key = _ENV_KEYS.get(name)
        if key is None:
            problems.append(Problem(name, "unknown setting", f"env {name}"))
        elif env[name] == "":
            _unset(data, key)
            sources.pop(key, None)
        else:
            _set(data, key, env[name])
            sources[key] = f"env {name}"

    try:
        config = _validate(data, sources)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return config


def override(config: AgentConfig, changes: Mapping[str, object], source: str) -> AgentConfig:
    """A re-validated copy of ``config`` with dotted-key ``changes`` applied (e.g. the
    cloud's ``config`` command: ``{"meter.poll_s": 5}``); ConfigError names ``source``."""
    data = config.model_dump()
    sources: dict[tuple[str, ...], str] = {}
    problems = []
    for dotted, value in changes.items():
        key = tuple(dotted.split("."))
        if key not in _ENV_KEYS.values():
            problems.append(Problem(dotted, "unknown setting", source))
            continue
        _set(data, key, value)
        sources[key] = source
    if problems:
        raise ConfigError(problems)
    return _validate(data, sources)
