"""Settings of the portal's live link (:class:`LiveHubConfig`), validated before any I/O.

A plain frozen dataclass: ``portal_api.config`` (the portal's TOML + environment
schema) builds one from its ``[live]`` section; tests build one directly. The
broker settings mirror ingest's ``[mqtt]`` (host, port, TLS files, login), the
rest says how long a live window lasts and how often it is renewed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LiveHubConfig", "LiveTlsConfig"]

# protocol.messages: a live command asks for 1..1440 minutes.
MINUTES_MIN = 1
MINUTES_MAX = 1440
CLIENT_ID_MAX = 64  # MQTT v5 servers must accept 23; Mosquitto and EMQX take more


@dataclass(frozen=True)
class LiveTlsConfig:
    """TLS to the broker; the same fields as ingest's ``[mqtt.tls]``."""

    enabled: bool = False
    ca_file: Path | None = None  # None: the system's trust store
    cert_file: Path | None = None  # client certificate (mutual TLS), with key_file
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if not self.enabled:
            return
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("live.tls: cert_file and key_file go together")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"live.tls.{name}: file not found: {path}")


def _default_client_id() -> str:
    # Every portal instance needs its own id: two clients with one id throw each
    # other off the broker in turn.
    return "myenergy-portal-live-" + secrets.token_hex(4)


@dataclass(frozen=True)
class LiveHubConfig:
    """Broker connection and live-window timing of one portal process.

    ``minutes``: the live window each command asks for (the device caps it to its
    own maximum). ``renew_s``: how often a watched device's window is renewed;
    None means half the window, so one lost command never lets a watched device
    lapse. ``queue_size``: samples a subscriber may fall behind before its oldest
    are dropped.
    """

    host: str = "127.0.0.1"
    port: int = 0  # 0: 8883 with TLS, 1883 without
    tls: LiveTlsConfig = field(default_factory=LiveTlsConfig)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = field(default_factory=_default_client_id)
    minutes: int = 5
    renew_s: float | None = None
    keepalive_s: int = 30
    # "3.1.1" for a broker without MQTT v5 (the stack's in-process amqtt broker)
    protocol: str = "5"
    queue_size: int = 64
    # paho doubles the wait after each failed attempt, in whole seconds
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.host:
            problems.append("host: required")
        if not 0 <= self.port <= 65535:
            problems.append(f"port: must be 0..65535, got {self.port}")
        if not 1 <= len(self.client_id) <= CLIENT_ID_MAX:
            problems.append(f"client_id: 1..{CLIENT_ID_MAX} characters")
        if self.password is not None and not self.username:
            problems.append("username: required when a password is set")
        if isinstance(self.minutes, bool) or not MINUTES_MIN <= self.minutes <= MINUTES_MAX:
            problems.append(f"minutes: must be an integer {MINUTES_MIN}..{MINUTES_MAX}")
        if self.renew_s is not None and not 0 < self.renew_s < self.minutes * 60:
            # Renewing no faster than the window lasts would let it lapse while watched.
            problems.append(f"renew_s: must be > 0 and < minutes * 60 ({self.minutes * 60})")
        if not 5 <= self.keepalive_s <= 3600:
            problems.append("keepalive_s: must be 5..3600")
        if self.protocol not in ("5", "3.1.1"):
            problems.append(f'protocol: must be "5" or "3.1.1", got {self.protocol!r}')
        if not 1 <= self.queue_size <= 100_000:
            problems.append("queue_size: must be 1..100000")
        if not 1 <= self.reconnect_min_s <= self.reconnect_max_s:
            problems.append("reconnect_min_s: must be >= 1 and <= reconnect_max_s")
        if problems:
            raise ValueError("invalid live settings: " + "; ".join(problems))

    @property
    def broker_port(self) -> int:
        """The port to connect to (``port``, or the MQTT default for the transport)."""
        if self.port:
            return self.port
        return 8883 if self.tls.enabled else 1883

    @property
    def renew_interval_s(self) -> float:
        """Seconds between two live commands to a device that is still watched."""
        return self.renew_s if self.renew_s is not None else self.minutes * 60 / 2
