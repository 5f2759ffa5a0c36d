"""The ingest worker's settings: one typed schema, a TOML file, environment overrides.

``load_config(path, env)`` reads the TOML file (if any), applies every
``MYENERGY_INGEST_<SECTION>_<KEY>`` variable on top of it (a container sets the
broker password without touching the file) and validates the result before a
socket or a database is opened. Every problem is reported at once in a
:class:`ConfigError`, each with its dotted key and where the value came from —
the same pattern as ``edge_agent/config.py``.

Unknown keys, sections and ``MYENERGY_INGEST_*`` variables are errors: a typo must
not silently fall back to a default. ``ingest/ingest.sample.toml`` is the
commented example a test loads; docs/ingest.md is the reference of every key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ingest.store import InfluxConfig, SqliteConfig

ENV_PREFIX = "MYENERGY_INGEST_"
# The path of the config file (read by the CLI), not a setting.
ENV_CONFIG_PATH = "MYENERGY_INGEST_CONFIG"
SAMPLE_CONFIG = Path(__file__).with_name("ingest.sample.toml")
SCHEMA_VERSION = 1
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def _problem(field: str, message: str) -> PydanticCustomError:
    """A cross-field problem, reported under ``<section>.<field>``."""
    return PydanticCustomError("cross_field", "{message}", {"message": message, "field": field})


def _check_file(path: Path | None, field: str) -> None:
    if path is not None and not path.is_file():
        raise _problem(field, f"file not found: {path}")


class _Section(BaseModel):
    # Frozen: threads share the configuration and nobody patches it in place.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsConfig(_Section):
    enabled: bool = False
    ca_file: Path | None = None  # None: the system's trust store
    cert_file: Path | None = None  # client certificate (mutual TLS), with key_file
    key_file: Path | None = None

    @model_validator(mode="after")
    def _files(self) -> TlsConfig:
        if not self.enabled:
            return self
        if (self.cert_file is None) != (self.key_file is None):
            raise _problem("key_file" if self.key_file is None else "cert_file", "go together")
        _check_file(self.ca_file, "ca_file")
        _check_file(self.cert_file, "cert_file")
        _check_file(self.key_file, "key_file")
        return self


class MqttConfig(_Section):
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=0, ge=0, le=65535)  # 0: 8883 with TLS, 1883 without
    tls: TlsConfig = Field(default_factory=TlsConfig)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    # Stable per worker: the persistent session (and its un-acked messages) is keyed by it.
    client_id: str = Field(default="myenergy-ingest-1", min_length=1, max_length=64)
    share_group: str = Field(default="ingest", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    # How long the broker keeps the session (subscriptions + queued messages) of a
    # worker that is gone: long enough to survive a deploy or a crash loop.
    session_expiry_s: int = Field(default=7 * 86400, ge=0, le=0xFFFFFFFF)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    subscribe_live: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> MqttConfig:
        if self.password is not None and self.password_file is not None:
            raise _problem("password_file", "set password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise _problem("username", "required when a password is set")
        _check_file(self.password_file, "password_file")
        if self.port == 0:
            object.__setattr__(self, "port", 8883 if self.tls.enabled else 1883)
        return self

    def password_value(self) -> str | None:
        """The password from ``password`` or ``password_file`` (read at each connect)."""
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        return None


class StoreSection(_Section):
    kind: Literal["sqlite", "influx"] = "sqlite"
    sqlite_path: Path = Path("myenergy-ts.sqlite3")
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "myenergy"
    influx_rp: str = "forever"
    influx_provision: bool = True
    influx_token: SecretStr | None = None
    influx_username: str = ""
    influx_password: SecretStr | None = None
    influx_timeout_s: float = Field(default=10.0, gt=0)
    influx_retries: int = Field(default=3, ge=0, le=20)

    @model_validator(mode="after")
    def _url(self) -> StoreSection:
        if self.kind == "influx" and not self.influx_url.startswith(("http://", "https://")):
            raise _problem("influx_url", "must be http(s)://...")
        return self

    def store_config(self) -> InfluxConfig | SqliteConfig:
        """What ``ingest.store.open_store`` takes."""
        if self.kind == "sqlite":
            return SqliteConfig(self.sqlite_path)
        return InfluxConfig(
            url=self.influx_url,
            database=self.influx_database,
            rp=self.influx_rp,
            provision=self.influx_provision,
            token=self.influx_token.get_secret_value() if self.influx_token else "",
            username=self.influx_username,
            password=self.influx_password.get_secret_value() if self.influx_password else "",
            timeout_s=self.influx_timeout_s,
            retries=self.influx_retries,
        )


class RegistrySection(_Section):
    url: str = "sqlite:///myenergy-registry.sqlite3"


class StateSection(_Section):
    # Dead letters and device state: small SQLite tables owned by ingest.
    path: Path = Path("myenergy-ingest-state.sqlite3")
    silent_after_s: int = Field(default=6 * 3600, gt=0)


class MetricsSection(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)

    @model_validator(mode="after")
    def _loopback(self) -> MetricsSection:
        # The endpoint has no authentication: scrape it through a local agent or sidecar.
        if self.host not in LOOPBACK_HOSTS:
            raise _problem("host", f"must be a loopback address ({', '.join(LOOPBACK_HOSTS)})")
        return self


class ValidationSection(_Section):
    future_tolerance_s: int = Field(default=300, ge=0)
    # Installers' laptops and meters drift: a record a little before the registered
    # installation time is still that meter's.
    before_install_tolerance_s: int = Field(default=86400, ge=0)
    max_power_w: float = Field(default=100_000.0, gt=0)
    # Counters wrap at this modulus if the register does (None: it never wraps).
    rollover_wh: int | None = Field(default=None, gt=0)
    unanchored: Literal["dead_letter"] = "dead_letter"


class RollupSection(_Section):
    tz: str = "Europe/Sofia"
    lookback_s: int = Field(default=3600, ge=900)


class RetrySection(_Section):
    backoff_min_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)


class BatchSection(_Section):
    """How many consecutive messages go to the store in one write (docs/ingest.md)."""

    max_messages: int = Field(default=500, ge=1, le=100_000)
    max_bytes: int = Field(default=4_000_000, ge=1)  # MQTT payload bytes
    # After the first message, how long to wait for more when the queue is empty.
    max_delay_ms: int = Field(default=100, ge=0, le=60_000)


class LogSection(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class IngestConfig(_Section):
    version: int = SCHEMA_VERSION
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    store: StoreSection = Field(default_factory=StoreSection)
    registry: RegistrySection = Field(default_factory=RegistrySection)
    state: StateSection = Field(default_factory=StateSection)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    validation: ValidationSection = Field(default_factory=ValidationSection)
    rollup: RollupSection = Field(default_factory=RollupSection)
    retry: RetrySection = Field(default_factory=RetrySection)
    batch: BatchSection = Field(default_factory=BatchSection)
    log: LogSection = Field(default_factory=LogSection)

    @model_validator(mode="after")
    def _version(self) -> IngestConfig:
        if self.version != SCHEMA_VERSION:
            raise _problem("version", f"this ingest reads configuration version {SCHEMA_VERSION}")
        return self


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
        super().__init__(f"invalid ingest configuration ({n} problem{'s' * (n != 1)}):\n{lines}")


def leaf_keys(model: type[BaseModel] = IngestConfig) -> Iterator[tuple[str, ...]]:
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
_SECRET_KEYS = {("mqtt", "password"), ("store", "influx_token"), ("store", "influx_password")}


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
            plain = not isinstance(err.get("input"), dict)
            # Never echo a secret back into a log or a terminal.
            if err["type"] != "value_error" and loc not in _SECRET_KEYS and plain:
                message += f", got {err.get('input')!r}"
        problems.append(Problem(".".join(loc), message, _describe(loc, sources)))
    return problems


def load_config(path: Path | None, env: Mapping[str, str]) -> IngestConfig:
    """Read ``path`` (TOML; None: no file), apply ``MYENERGY_INGEST_*`` from ``env``, validate.

    An empty variable unsets the key. Raises :class:`ConfigError` listing every problem.
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
        config = IngestConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_errors(exc, sources))
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config


__all__ = [
    "ENV_CONFIG_PATH",
    "ENV_PREFIX",
    "SAMPLE_CONFIG",
    "ConfigError",
    "IngestConfig",
    "MqttConfig",
    "Problem",
    "env_var",
    "leaf_keys",
    "load_config",
]
