"""Ingest inside ``myenergy-stack``: the cloud's data path on the same machine.

    agents --MQTT--> broker --> consumer (paho, MQTT v5, $share/ingest, manual ack)
                                 '--> Pipeline: decode, validate, store, rollups, state
                                        |-- time series:  STATE_DIR/ts.sqlite3, or InfluxDB
                                        |-- registry:     STATE_DIR/registry.sqlite3, or PostgreSQL
                                        '-- dead letters, device state:
                                                          STATE_DIR/ingest-state.sqlite3

The same classes ``myenergy-ingest run`` wires (``ingest.cli_run.build``), built
from the stack's settings instead of an ingest.toml: ``Pipeline`` with
``handle_batch`` and ``Consumer`` with a persistent session under the client id
``myenergy-stack-ingest``, so a stack restarted on the same state directory
(Mosquitto keeps its sessions there) gets what arrived while it was down.

Two things differ from a production worker, and why:

* the pipeline's clock is the stack's simulated clock: at ``--speed 30`` a record
  is hours "in the future" for the wall clock, and ingest refuses those;
* the in-process amqtt broker has no MQTT v5 (decision 0002), which the consumer
  needs. With it the viewer's subscription feeds the pipeline instead
  (:meth:`StackIngest.feed`, in a worker thread, retried while the store
  refuses): the same pipeline, without the broker's at-least-once guarantee.

Every demo device is registered in the registry (idempotent) before its agent
starts, installed before the history backfilled for it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ingest.cli_run import site_meters_of
from ingest.config import MqttConfig
from ingest.consumer import Consumer
from ingest.deadletter import DeadLetterStore
from ingest.device_state import DeviceStateStore
from ingest.metrics import Metrics
from ingest.pipeline import Message, Pipeline, RetryLaterError
from ingest.registry import Registry, UnknownError
from ingest.store import StoreError, TimeSeriesStore, open_store
from simulators.stack_settings import StackSettings

__all__ = ["INGEST_CLIENT_ID", "BrokerAccess", "DeviceEntry", "StackIngest", "StackIngestError"]

log = logging.getLogger(__name__)

INGEST_CLIENT_ID = "myenergy-stack-ingest"
STATE_FILE = "ingest-state.sqlite3"
_FEED_BATCH = 200
_RETRY_S = 1.0
_SUBSCRIBE_WAIT_S = 10.0


class StackIngestError(RuntimeError):
    """Ingest could not start (store, registry or broker); the message says why."""


@dataclass(frozen=True)
class BrokerAccess:
    """How the stack's cloud services reach the broker."""

    host: str
    port: int
    mqtt5: bool
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class DeviceEntry:
    """A device of the stack as the registry knows it."""

    device_id: str
    site_id: str
    meter_model: str


class StackIngest:
    """Build with the settings, :meth:`open`, :meth:`register`, :meth:`start`, :meth:`stop`."""

    def __init__(
        self, settings: StackSettings, state_dir: Path, clock: Callable[[], float]
    ) -> None:
        self.settings = settings
        self.state_dir = state_dir
        self.clock = clock
        self.metrics = Metrics()
        self.store: TimeSeriesStore | None = None
        self.registry: Registry | None = None
        self.pipeline: Pipeline | None = None
        self.consumer: Consumer | None = None
        self._deadletters: DeadLetterStore | None = None
        self._state: DeviceStateStore | None = None
        self._feed: queue.Queue[Message] = queue.Queue()
        self._feeding = False
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    @property
    def store_label(self) -> str:
        s = self.settings.store
        return "sqlite" if s.kind == "sqlite" else f"influx {s.influx_url}"

    # -- open ---------------------------------------------------------------------

    def open(self) -> Pipeline:
        """Open the stores and the registry (migrated); the pipeline, not consuming yet."""
        try:
            self.store = open_store(self.settings.store.store_config(self.state_dir))
        except (StoreError, OSError) as exc:
            raise StackIngestError(f"the time-series store did not open: {exc}") from exc
        try:
            self.registry = Registry.open(self.settings.registry_url(self.state_dir))
        except Exception as exc:  # SQLAlchemy / Alembic / driver errors, all fatal here
            raise StackIngestError(f"the device registry did not open: {exc}") from exc
        path = self.state_dir / STATE_FILE
        self._deadletters = DeadLetterStore(path)
        self._state = DeviceStateStore(path)
        self.pipeline = Pipeline(
            self.store,
            self.registry,
            site_meters_of(self.registry),
            deadletters=self._deadletters,
            state=self._state,
            metrics=self.metrics,
            clock=self.clock,
        )
        return self.pipeline

    def register(self, devices: Sequence[DeviceEntry], installed_at: dt.datetime) -> list[str]:
        """Register the devices not registered yet; their ids (passwords are not kept:
        the stack's broker is anonymous on loopback)."""
        assert self.registry is not None
        added = []
        for entry in devices:
            try:
                self.registry.get(entry.device_id)
                continue
            except UnknownError:
                pass
            self.registry.add_device(
                entry.device_id, entry.site_id, entry.meter_model, installed_at=installed_at
            )
            added.append(entry.device_id)
        return added

    def has_records(self, device_id: str) -> bool:
        assert self.store is not None
        return self.store.latest(device_id) is not None

    @property
    def records_stored(self) -> int:
        return int(self.metrics.value("myenergy_ingest_records_written_total"))

    @property
    def missing(self) -> int:
        """Records missing between the sequence numbers ingest received, all devices."""
        assert self._state is not None
        return self._state.missing_total()

    @property
    def dead_letters(self) -> int:
        assert self._deadletters is not None
        return self._deadletters.count()

    # -- consume ------------------------------------------------------------------

    def start(self, broker: BrokerAccess) -> None:
        """Consume from the broker (MQTT v5), or from :meth:`feed` (amqtt: no v5)."""
        assert self.pipeline is not None
        if not broker.mqtt5:
            self._feeding = True
            self._worker = threading.Thread(target=self._work, name="stack-ingest", daemon=True)
            self._worker.start()
            return
        config = MqttConfig(
            host=broker.host,
            port=broker.port,
            username=broker.username,
            password=SecretStr(broker.password) if broker.password is not None else None,
            client_id=INGEST_CLIENT_ID,
            keepalive_s=20,
        )
        self.consumer = Consumer(
            config,
            self.pipeline.handle,
            backoff_min_s=0.2,
            backoff_max_s=5.0,
            on_ack=self.metrics.acks.inc,
            batch_handler=self.pipeline.handle_batch,
        )
        self.consumer.start(wait_s=_SUBSCRIBE_WAIT_S)
        if not self.consumer.subscribed:
            raise StackIngestError(
                f"ingest could not subscribe at {broker.host}:{broker.port} (see the log)"
            )

    def feed(self, topic: str, payload: bytes, retained: bool) -> None:
        """A message the viewer received (amqtt mode); ignored when the consumer runs."""
        if self._feeding:
            self._feed.put((topic, payload, retained))

    def _work(self) -> None:
        assert self.pipeline is not None
        while not self._stop.is_set():
            try:
                first = self._feed.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < _FEED_BATCH:
                try:
                    batch.append(self._feed.get_nowait())
                except queue.Empty:
                    break
            while not self._stop.is_set():
                try:
                    self.pipeline.handle_batch(batch)
                    break
                except RetryLaterError as exc:
                    log.warning("ingest: not stored, retrying: %s", exc)
                    self._stop.wait(_RETRY_S)

    # -- stop ---------------------------------------------------------------------

    def stop(self) -> None:
        """Stop consuming (nothing unprocessed is acknowledged), close everything. Idempotent."""
        self._stop.set()
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                self.consumer.stop()
            self.consumer = None
        if self._worker is not None:
            self._worker.join(10.0)
            self._worker = None
        for close in (
            self.store.close if self.store is not None else None,
            self._deadletters.close if self._deadletters is not None else None,
            self._state.close if self._state is not None else None,
            self.registry.close if self.registry is not None else None,
        ):
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        self.store = self.registry = self.pipeline = None
        self._deadletters = self._state = None
