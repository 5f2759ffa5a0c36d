"""The ingest worker's settings: one typed schema, a TOML file, environment overrides.

``load_config(path, env)`` reads the TOML file (if any), applies every
``MYENERGY_INGEST_<SECTION>_<KEY>`` variable on top of it (a container sets the
broker password without touching the file) and validates the result before a
socket or a database is opened. Every problem is reported at once in a
:class:`ConfigError`, each with its dotted key and where the value came from —
the same pattern as ``edge_agent/config.py``. The generic loading lives in
``ingest/config_loader.py``, shared with the portal; this module holds the schema.

Unknown keys, sections and ``MYENERGY_INGEST_*`` variables are errors: a typo must
not silently fall back to a default. ``ingest/ingest.sample.toml`` is the
commented example a test loads; docs/ingest.md is the reference of every key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from ingest import config_loader
from ingest.config_loader import ConfigError, Problem, check_login, read_secret
from ingest.config_loader import Section as _Section
from ingest.config_loader import check_file as _check_file
from ingest.config_loader import cross_field_problem as _problem
from ingest.store import InfluxConfig, SqliteConfig

ENV_PREFIX = "MYENERGY_INGEST_"
# The path of the config file (read by the CLI), not a setting.
ENV_CONFIG_PATH = "MYENERGY_INGEST_CONFIG"
SAMPLE_CONFIG = Path(__file__).with_name("ingest.sample.toml")
SCHEMA_VERSION = 1
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


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
        check_login(self.username, self.password, self.password_file)
        if self.port == 0:
            object.__setattr__(self, "port", 8883 if self.tls.enabled else 1883)
        return self

    def password_value(self) -> str | None:
        """The password from ``password`` or ``password_file`` (read at each connect)."""
        return read_secret(self.password, self.password_file)


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


def leaf_keys(model: type[BaseModel] = IngestConfig) -> Iterator[tuple[str, ...]]:
    """Every setting's key path, e.g. ``("mqtt", "tls", "ca_file")``."""
    return config_loader.leaf_keys(model)


def env_var(key: tuple[str, ...]) -> str:
    """The environment variable that overrides ``key``."""
    return config_loader.env_var(ENV_PREFIX, key)


def load_config(path: Path | None, env: Mapping[str, str]) -> IngestConfig:
    """Read ``path`` (TOML; None: no file), apply ``MYENERGY_INGEST_*`` from ``env``, validate.

    An empty variable unsets the key. Raises :class:`ConfigError` listing every problem.
    """
    return config_loader.load_settings(
        IngestConfig,
        path,
        env,
        prefix=ENV_PREFIX,
        version=SCHEMA_VERSION,
        ignore_env=(ENV_CONFIG_PATH,),
        what="ingest",
    )


__all__ = [
    "ENV_CONFIG_PATH",
    "ENV_PREFIX",
    "SAMPLE_CONFIG",
    "ConfigError",
    "IngestConfig",
    "MqttConfig",
    "Problem",
    "StoreSection",
    "TlsConfig",
    "env_var",
    "leaf_keys",
    "load_config",
]
