"""Store configuration: which store, where, with which credentials and retention."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingest.store.base import Retention


@dataclass(frozen=True)
class InfluxConfig:
    """Where and how to reach InfluxDB through its v1 API (``/write``, ``/query``).

    url: e.g. ``http://127.0.0.1:8086`` (no trailing slash needed).
    database: 1.x database; on 2.x/3.x the database name of the DBRP mapping
        (2.x) or the database (3.x) the bucket is reached by.
    rp / rp_raw / rp_live: retention policies for long-lived data (coarsened
        records, energy), raw 1-minute records and live samples. On 1.x
        `init()` creates them (``provision``); on 2.x each
        (database, rp) pair is a DBRP mapping to a bucket with that retention.
        Empty string = the database's default policy.
    retention_mode: "policies" = each kind of data goes to its own retention
        policy and the server expires it (`apply_retention` does nothing);
        "delete" = everything in ``rp`` and `apply_retention` issues InfluxQL
        DELETE (InfluxDB 1.x only: 2.x's v1 API and 3.x refuse DELETE).
    provision: `init()` creates the database and the policies (1.x). False on
        2.x/3.x, where buckets and DBRP mappings are provisioned by the operator.
    token: sent as ``Authorization: Token`` (2.x, 3.x); otherwise username and
        password as HTTP basic auth (1.x with auth enabled).
    """

    url: str
    database: str
    rp: str = "forever"
    rp_raw: str = "raw"
    rp_live: str = "live"
    retention_mode: Literal["policies", "delete"] = "policies"
    provision: bool = True
    token: str = ""
    username: str = ""
    password: str = ""
    retention: Retention = field(default_factory=Retention)
    timeout_s: float = 10.0
    connect_timeout_s: float = 3.0
    retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_batch_lines: int = 5000  # InfluxDB's recommended batch size
    max_batch_bytes: int = 1_000_000  # far below the 25 MB max-body-size
    max_batch_delay_s: float = 1.0  # InfluxStore.batch(): flush when the oldest line is this old

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", self.url.rstrip("/"))
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"influx url must be http(s)://..., got {self.url!r}")
        if self.retention_mode not in ("policies", "delete"):
            raise ValueError(f"retention_mode must be policies or delete: {self.retention_mode!r}")
        if not self.database:
            raise ValueError("influx database must not be empty")


@dataclass(frozen=True)
class SqliteConfig:
    """The embedded store: one SQLite file."""

    path: Path | str = "myenergy-ts.sqlite3"
    retention: Retention = field(default_factory=Retention)
