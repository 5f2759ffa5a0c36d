"""Where ``myenergy-stack`` keeps the cloud's data: embedded defaults, or real servers.

With no configuration everything is embedded under the state directory: the
stack's own MQTT broker on 127.0.0.1, a SQLite time-series store, SQLite device
registry and portal database. A TOML file (``--config`` or
``$MYENERGY_STACK_CONFIG``) and ``MYENERGY_STACK_<SECTION>_<KEY>`` variables point
the same command at Mosquitto, InfluxDB and PostgreSQL instead; the loader is
``ingest.config_loader`` (unknown keys are errors, every problem reported at once,
secrets never echoed). ``simulators/stack.sample.toml`` is the commented example
a test loads; docs/stack.md is the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from ingest.config_loader import (
    ConfigError,
    Section,
    check_file,
    cross_field_problem,
    load_settings,
)
from ingest.store import InfluxConfig, SqliteConfig

__all__ = [
    "ENV_CONFIG_PATH",
    "ENV_PREFIX",
    "SAMPLE_CONFIG",
    "BrokerSection",
    "ConfigError",
    "StackSettings",
    "load_stack_settings",
]

ENV_PREFIX = "MYENERGY_STACK_"
ENV_CONFIG_PATH = "MYENERGY_STACK_CONFIG"
SAMPLE_CONFIG = Path(__file__).with_name("stack.sample.toml")
SCHEMA_VERSION = 1


class BrokerSection(Section):
    """An MQTT broker that is already running; empty host: the stack starts its own."""

    host: str = ""
    port: int = Field(default=1883, ge=1, le=65535)
    # One account for every client of the stack (agents, ingest, portal, viewer): a
    # development broker's, allowed to read and write myenergy/v1/#.
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BrokerSection:
        if self.password is not None and self.password_file is not None:
            raise cross_field_problem("password_file", "set password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise cross_field_problem("username", "required when a password is set")
        check_file(self.password_file, "password_file")
        return self

    @property
    def external(self) -> bool:
        return bool(self.host)

    def password_value(self) -> str | None:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return None


class StoreSection(Section):
    """The time-series store ingest writes and the portal reads."""

    kind: Literal["sqlite", "influx"] = "sqlite"  # sqlite: STATE_DIR/ts.sqlite3
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = "myenergy"
    influx_rp: str = "forever"
    influx_provision: bool = True  # false on InfluxDB 2.x/3.x (the operator provisions)
    influx_token: SecretStr | None = None
    influx_username: str = ""
    influx_password: SecretStr | None = None

    @model_validator(mode="after")
    def _url(self) -> StoreSection:
        if self.kind == "influx" and not self.influx_url.startswith(("http://", "https://")):
            raise cross_field_problem("influx_url", "must be http(s)://...")
        return self

    def store_config(self, state_dir: Path) -> InfluxConfig | SqliteConfig:
        if self.kind == "sqlite":
            return SqliteConfig(state_dir / "ts.sqlite3")
        return InfluxConfig(
            url=self.influx_url,
            database=self.influx_database,
            rp=self.influx_rp,
            provision=self.influx_provision,
            token=self.influx_token.get_secret_value() if self.influx_token else "",
            username=self.influx_username,
            password=self.influx_password.get_secret_value() if self.influx_password else "",
        )


class DatabaseSection(Section):
    # SQLAlchemy URLs; empty: SQLite files under the state directory.
    portal_url: str = ""  # e.g. postgresql+psycopg://myenergy@127.0.0.1/myenergy
    registry_url: str = ""  # ingest's device registry; may be the same database


class PortalSection(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)  # the first of 20 ports tried


class HistorySection(Section):
    # Days of one-minute records each demo device gets before its live meter starts
    # (only when the store has none of its records yet); 0: none.
    days: float = Field(default=2.0, ge=0, le=400)


class StackSettings(Section):
    version: int = SCHEMA_VERSION
    broker: BrokerSection = Field(default_factory=BrokerSection)
    store: StoreSection = Field(default_factory=StoreSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    portal: PortalSection = Field(default_factory=PortalSection)
    history: HistorySection = Field(default_factory=HistorySection)

    @model_validator(mode="after")
    def _version(self) -> StackSettings:
        if self.version != SCHEMA_VERSION:
            raise cross_field_problem(
                "version", f"this stack reads configuration version {SCHEMA_VERSION}"
            )
        return self

    def portal_database_url(self, state_dir: Path) -> str:
        return self.database.portal_url or f"sqlite:///{state_dir / 'portal.sqlite3'}"

    def registry_url(self, state_dir: Path) -> str:
        return self.database.registry_url or f"sqlite:///{state_dir / 'registry.sqlite3'}"


def load_stack_settings(path: Path | None, env: Mapping[str, str]) -> StackSettings:
    """The file (None: none) with ``MYENERGY_STACK_*`` applied; ConfigError lists problems."""
    return load_settings(
        StackSettings,
        path,
        env,
        prefix=ENV_PREFIX,
        version=SCHEMA_VERSION,
        ignore_env=(ENV_CONFIG_PATH,),
        what="stack",
    )
