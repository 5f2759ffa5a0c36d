"""The portal's settings: one typed schema, a TOML file, environment overrides.

``load_config(path, env)`` reads the TOML file (if any), applies every
``MYENERGY_PORTAL_<SECTION>_<KEY>`` variable on top of it and validates the
result before a socket or a database is opened; every problem is reported at
once in a :class:`ConfigError` (the loader is ``ingest.config_loader``, shared
with ingest). ``portal_api/portal.sample.toml`` is the commented example a test
loads.

The secret key is required: it is the HMAC pepper of personal numbers and the
source of their Fernet key, so a database dump alone reveals none of them. It
never leaves the server (no client-side signing: sessions are random tokens).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from ingest.config import StoreSection, TlsConfig
from ingest.config_loader import (
    ConfigError,
    Problem,
    Section,
    check_file,
    check_login,
    cross_field_problem,
    load_settings,
    read_secret,
)
from portal_api.domain.identifiers import IdentifierKeys, derive_keys

ENV_PREFIX = "MYENERGY_PORTAL_"
# The path of the config file (read by the CLI), not a setting.
ENV_CONFIG_PATH = "MYENERGY_PORTAL_CONFIG"
SAMPLE_CONFIG = Path(__file__).with_name("portal.sample.toml")
SCHEMA_VERSION = 1
MIN_SECRET_KEY_LENGTH = 32


class HttpSection(Section):
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535)
    # What users type: links in e-mails (password reset) are built from it.
    base_url: str = "http://127.0.0.1:8080"
    # Addresses (or networks) of the load balancers whose X-Forwarded-For is believed;
    # the login throttle keys on the client address, so it must not be spoofable.
    trusted_proxies: tuple[str, ...] = ()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        # From the environment the list comes as "10.0.0.1,10.0.0.0/24".
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {item!r}") from None
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be http(s)://...")
        return value.rstrip("/")


class DatabaseSection(Section):
    # SQLite by default; production: postgresql+psycopg://user@host/db
    url: str = Field(default="sqlite:///var/portal.sqlite3", min_length=1)


class RegistrySection(Section):
    url: str = Field(default="sqlite:///var/registry.sqlite3", min_length=1)


class PortalMqttSection(Section):
    """The live hub's link to the broker (live-mode commands, live samples)."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=0, ge=0, le=65535)  # 0: 8883 with TLS, 1883 without
    tls: TlsConfig = Field(default_factory=TlsConfig)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    # One per portal instance: two instances with the same id would kick each other off.
    client_id: str = Field(default="myenergy-portal-1", min_length=1, max_length=64)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    # "3.1.1" only for a broker without MQTT v5 (the stack's in-process amqtt broker).
    protocol: Literal["5", "3.1.1"] = "5"

    @model_validator(mode="after")
    def _consistent(self) -> PortalMqttSection:
        check_login(self.username, self.password, self.password_file)
        if self.port == 0:
            object.__setattr__(self, "port", 8883 if self.tls.enabled else 1883)
        return self

    def password_value(self) -> str | None:
        """The password from ``password`` or ``password_file`` (read at each connect)."""
        return read_secret(self.password, self.password_file)


class LiveSection(Section):
    # How long a device streams after one live command; renewed while watched.
    minutes: int = Field(default=5, ge=1, le=60)
    # Renewal period; None: half the live period (0004).
    renew_s: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _renew(self) -> LiveSection:
        if self.renew_s is not None and self.renew_s >= self.minutes * 60:
            raise cross_field_problem("renew_s", "must be shorter than the live period")
        return self

    @property
    def renew_interval_s(self) -> float:
        return self.renew_s if self.renew_s is not None else self.minutes * 60 / 2


class SmtpSection(Section):
    # false: mail waits in the outbox (``myenergy-portal outbox send`` delivers it later)
    enabled: bool = True
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=0, ge=0, le=65535)  # 0: 465 with ssl, 587 with starttls, else 25
    starttls: bool = False
    ssl: bool = False  # implicit TLS (SMTPS)
    ca_file: Path | None = None  # the server's CA; None: the system's trust store
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    sender: str = Field(default="MyEnergy <noreply@energo-pro.bg>", min_length=3)
    timeout_s: float = Field(default=10.0, gt=0)
    # Retries of a failing message: backoff doubles from backoff_s up to backoff_max_s.
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    poll_s: float = Field(default=5.0, gt=0)  # how often the outbox worker looks

    @model_validator(mode="after")
    def _consistent(self) -> SmtpSection:
        if self.ssl and self.starttls:
            raise cross_field_problem("starttls", "choose ssl or starttls, not both")
        check_login(self.username, self.password, self.password_file)
        check_file(self.ca_file, "ca_file")
        if "@" not in self.sender:
            raise cross_field_problem("sender", "must contain an e-mail address")
        if self.port == 0:
            port = 465 if self.ssl else 587 if self.starttls else 25
            object.__setattr__(self, "port", port)
        return self

    def password_value(self) -> str | None:
        return read_secret(self.password, self.password_file)


class SecuritySettings(Section):
    """Secrets and limits of accounts (portal_api/accounts)."""

    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    session_ttl_s: int = Field(default=8 * 3600, ge=60)
    api_token_ttl_s: int = Field(default=8 * 3600, ge=60)
    cookie_secure: bool = True  # the local stack on http://127.0.0.1 sets false
    login_max_failures: int = Field(default=5, ge=1, le=100)
    lockout_s: int = Field(default=900, ge=1)
    ip_window_s: int = Field(default=300, ge=1)
    ip_max_attempts: int = Field(default=30, ge=1)
    reset_ttl_s: int = Field(default=3600, ge=60)
    password_min_length: int = Field(default=10, ge=8, le=128)

    @model_validator(mode="after")
    def _secret(self) -> SecuritySettings:
        if self.secret_key is not None and self.secret_key_file is not None:
            raise cross_field_problem("secret_key_file", "set secret_key or secret_key_file")
        if self.secret_key is None and self.secret_key_file is None:
            raise cross_field_problem(
                "secret_key",
                f"required: set secret_key_file or {ENV_PREFIX}SECURITY_SECRET_KEY",
            )
        check_file(self.secret_key_file, "secret_key_file")
        given = self.secret_key.get_secret_value() if self.secret_key else None
        if given is not None and len(given) < MIN_SECRET_KEY_LENGTH:
            raise cross_field_problem("secret_key", f"at least {MIN_SECRET_KEY_LENGTH} characters")
        return self

    def secret_key_value(self) -> str:
        """The secret key (the file is read at each call: rotate by restarting)."""
        value = read_secret(self.secret_key, self.secret_key_file)
        if value is None or len(value) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"secret key shorter than {MIN_SECRET_KEY_LENGTH} characters")
        return value

    def identifier_keys(self) -> IdentifierKeys:
        """The HMAC pepper and Fernet key of personal numbers, derived from the secret key."""
        return derive_keys(self.secret_key_value())


class LogSection(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class StatutoryRate(Section):
    """One half-year of the statutory interest rate (4.4): BNB base rate + 10 points."""

    from_: dt.date = Field(alias="from")
    annual_rate: Decimal = Field(ge=0)  # percent a year: 10.15 means 10.15 %


class BillingSection(Section):
    """The seller's bank account on invoices (4.3), VAT and the BGN dual display period."""

    iban: str = Field(min_length=15)
    bic: str = Field(min_length=8)
    bank: str = Field(min_length=1)
    vat_rate: Decimal = Field(default=Decimal("0.20"), ge=0, lt=1)
    dual_display_until: dt.date | None = None
    statutory_rates: list[StatutoryRate] = Field(default_factory=list)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        try:
            return str(stdnum_iban.validate(value))
        except ValidationError as exc:
            raise ValueError(f"not a valid IBAN ({exc})") from exc

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str) -> str:
        try:
            return str(stdnum_bic.validate(value))
        except ValidationError as exc:
            raise ValueError(f"not a valid BIC ({exc})") from exc


class PortalConfig(Section):
    version: int = SCHEMA_VERSION
    http: HttpSection = Field(default_factory=HttpSection)
    database: DatabaseSection = Field(default_factory=DatabaseSection)
    store: StoreSection = Field(default_factory=StoreSection)
    registry: RegistrySection = Field(default_factory=RegistrySection)
    mqtt: PortalMqttSection = Field(default_factory=PortalMqttSection)
    live: LiveSection = Field(default_factory=LiveSection)
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    # Always validated (see _security_present): the secret key has no default.
    security: SecuritySettings
    log: LogSection = Field(default_factory=LogSection)
    billing: BillingSection | None = None  # required by ``myenergy-portal daily``

    @model_validator(mode="before")
    @classmethod
    def _security_present(cls, data: object) -> object:
        # A missing [security] section is validated as an empty one, so the
        # problem names the missing key instead of failing inside a default factory.
        if isinstance(data, dict) and "security" not in data:
            return {**data, "security": {}}
        return data

    @model_validator(mode="after")
    def _version(self) -> PortalConfig:
        if self.version != SCHEMA_VERSION:
            raise cross_field_problem(
                "version", f"this portal reads configuration version {SCHEMA_VERSION}"
            )
        return self


def load_config(path: Path | None, env: Mapping[str, str]) -> PortalConfig:
    """Read ``path`` (TOML; None: no file), apply ``MYENERGY_PORTAL_*`` from ``env``, validate.

    An empty variable unsets the key. Raises :class:`ConfigError` listing every problem.
    """
    return load_settings(
        PortalConfig,
        path,
        env,
        prefix=ENV_PREFIX,
        version=SCHEMA_VERSION,
        ignore_env=(ENV_CONFIG_PATH,),
        what="portal",
    )


__all__ = [
    "ENV_CONFIG_PATH",
    "ENV_PREFIX",
    "SAMPLE_CONFIG",
    "ConfigError",
    "DatabaseSection",
    "HttpSection",
    "LiveSection",
    "PortalConfig",
    "PortalMqttSection",
    "Problem",
    "SecuritySettings",
    "SmtpSection",
    "load_config",
]
