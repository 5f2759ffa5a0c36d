"""``myenergy-ingest run``: the ingest worker (consume, validate, store, roll up).

    myenergy-ingest run --config /etc/myenergy/ingest.toml

Settings come from the TOML file and ``MYENERGY_INGEST_*`` variables
(ingest/config.py, docs/ingest.md); ``--config`` defaults to
``$MYENERGY_INGEST_CONFIG``. Runs until SIGTERM or SIGINT; stopping never
acknowledges an unprocessed message (the broker keeps it for the next start).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import structlog

from ingest.config import ENV_CONFIG_PATH, ConfigError, IngestConfig, load_config
from ingest.consumer import Consumer
from ingest.deadletter import DeadLetterStore
from ingest.device_state import DeviceStateStore
from ingest.metrics import Metrics
from ingest.pipeline import Pipeline
from ingest.registry import DeviceState, Registry
from ingest.rollup_writer import SiteMeter
from ingest.store import open_store
from ingest.validate import Limits

log = structlog.get_logger("ingest.run")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="consume device messages from the broker into the stores",
        description=(__doc__ or "").replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    default = os.environ.get(ENV_CONFIG_PATH)
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(default) if default else None,
        help=f"TOML settings file (default ${ENV_CONFIG_PATH}; none: defaults + environment)",
    )
    parser.set_defaults(handler=handle)


def configure_logging(level: str) -> None:
    """JSON lines on stderr; config secrets are never passed to a logger."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def site_meters_of(registry: Registry) -> Callable[[str], list[SiteMeter]]:
    def site_meters(site_id: str) -> list[SiteMeter]:
        # Retired meters no longer report: counting them would leave every later
        # site row incomplete. Suspended ones still belong to the site.
        return [
            SiteMeter(d.id, int(d.installed_at.timestamp()))
            for d in registry.list(site_id=site_id)
            if d.state != DeviceState.RETIRED
        ]

    return site_meters


def build(config: IngestConfig, registry: Registry, metrics: Metrics) -> tuple[Pipeline, Consumer]:
    """The pipeline and its consumer, not started."""
    store = open_store(config.store.store_config())
    state_path = config.state.path
    pipeline = Pipeline(
        store,
        registry,
        site_meters_of(registry),
        deadletters=DeadLetterStore(state_path),
        state=DeviceStateStore(state_path, config.state.silent_after_s),
        metrics=metrics,
        limits=Limits(
            config.validation.future_tolerance_s, config.validation.before_install_tolerance_s
        ),
        max_wh_per_s=config.validation.max_power_w / 3600,
        rollover_wh=config.validation.rollover_wh,
        tz=config.rollup.tz,
        lookback_s=config.rollup.lookback_s,
    )
    consumer = Consumer(
        config.mqtt,
        pipeline.handle,
        backoff_min_s=config.retry.backoff_min_s,
        backoff_max_s=config.retry.backoff_max_s,
        on_ack=metrics.acks.inc,
        batch_handler=pipeline.handle_batch,
        batch_max_messages=config.batch.max_messages,
        batch_max_bytes=config.batch.max_bytes,
        batch_max_delay_s=config.batch.max_delay_ms / 1000,
    )
    return pipeline, consumer


def handle(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(config.log.level)
    metrics = Metrics()
    if config.metrics.enabled:
        port = metrics.serve(config.metrics.port, config.metrics.host)
        log.info("metrics endpoint", host=config.metrics.host, port=port)
    registry = Registry.open(config.registry.url)
    pipeline, consumer = build(config, registry, metrics)
    done = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    consumer.start(wait_s=0)
    log.info("ingest running", client_id=config.mqtt.client_id, group=config.mqtt.share_group)
    done.wait()
    consumer.stop()
    pipeline.store.close()
    pipeline.deadletters.close()
    pipeline.state.close()
    registry.close()
    return 0
