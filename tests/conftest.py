"""Shared pytest fixtures: real servers on loopback (see docs/testing.md).

    mosquitto           a started Mosquitto broker (plain MQTT, anonymous, persistent)
    mosquitto_factory   makes more brokers: mosquitto_factory(**options), .tls(**options)
    mosquitto_tls       a Mosquitto TLS broker, not started: add clients, then start()
    embedded_broker     the stack's in-process amqtt broker, started
    mqtt_clients        makes paho test clients, closed at teardown

Tests that use a server fixture are marked `integration` automatically. When a
test fails, the logs of its Mosquitto brokers are attached to the report and
copied to test-artifacts/brokers/.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from tests.fixtures.mosquitto import MosquittoBroker, MosquittoFactory, MosquittoTLS
from tests.fixtures.mqtt import MqttTestClient

if TYPE_CHECKING:
    from simulators.broker import EmbeddedBroker

pytest_plugins = ["pytester"]  # tests/infra checks the hooks below on a throw-away project

SERVER_FIXTURES = frozenset(
    {
        "mosquitto",
        "mosquitto_factory",
        "mosquitto_tls",
        "embedded_broker",
        "influxdb",
        "postgres",
        "pg_url",
        "smtp_server",
        "browser",
    }
)
LOG_TAIL_LINES = 200


class LogSource(Protocol):
    name: str

    def log_text(self) -> str: ...


class Address(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


_LOG_SOURCES = pytest.StashKey[list[LogSource]]()


def _register_log(item: pytest.Item, source: LogSource) -> None:
    item.stash.setdefault(_LOG_SOURCES, []).append(source)


# -- hooks ------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        for source in item.stash.get(_LOG_SOURCES, []):
            text = source.log_text()
            tail = "\n".join(text.splitlines()[-LOG_TAIL_LINES:])
            report.sections.append((f"{source.name} log (last {LOG_TAIL_LINES} lines)", tail))
            _save_artifact(item, source.name, text)
    return report


def _save_artifact(item: pytest.Item, name: str, text: str) -> None:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")[:150]
    directory = Path(item.config.rootpath, "test-artifacts", "brokers", safe)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.log").write_text(text)


# -- Mosquitto ----------------------------------------------------------------


@pytest.fixture
def mosquitto_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MosquittoFactory]:
    """Make Mosquitto brokers; all are stopped at teardown.

    factory(**options) -> started MosquittoBroker (options: see MosquittoBroker,
    e.g. max_inflight_messages=1, extra_config="..."; start=False to configure
    first). factory.tls(**options) -> MosquittoTLS, not started.
    """
    factory = MosquittoFactory(
        tmp_path / "brokers", on_create=lambda b: _register_log(request.node, b)
    )
    yield factory
    factory.close_all()


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> MosquittoBroker:
    """A started Mosquitto: 127.0.0.1:<free port>, anonymous, persistence on,
    unlimited queue for offline persistent sessions. Has host, port, stop(),
    start(), restart() (sessions survive), kill() (SIGKILL), pause()/resume(),
    log_text()."""
    return mosquitto_factory()


@pytest.fixture
def mosquitto_tls(mosquitto_factory: MosquittoFactory) -> MosquittoTLS:
    """A Mosquitto TLS broker (client certificate + password per client, ACL per
    device), NOT started: add_device(id) / add_cloud_client() / add_user(...)
    return MqttCredentials; then start()."""
    return mosquitto_factory.tls()


# -- embedded broker and clients ---------------------------------------------


@pytest.fixture
def embedded_broker() -> Iterator[EmbeddedBroker]:
    """The stack's in-process amqtt broker on 127.0.0.1:<free port>, started."""
    from simulators.broker import EmbeddedBroker  # amqtt is slow to import: only when used

    broker = EmbeddedBroker()
    broker.start()
    yield broker
    broker.stop()


class MqttClientFactory:
    """mqtt_clients(broker, client_id, **options) -> a new MqttTestClient (not connected)."""

    def __init__(self) -> None:
        self.clients: list[MqttTestClient] = []

    def __call__(self, broker: Address, client_id: str = "", **options: Any) -> MqttTestClient:
        client = MqttTestClient(broker.host, broker.port, client_id, **options)
        self.clients.append(client)
        return client

    def close_all(self) -> None:
        for client in reversed(self.clients):
            client.close()


@pytest.fixture
def mqtt_clients() -> Iterator[MqttClientFactory]:
    """Make paho-mqtt test clients (tests/fixtures/mqtt.py); closed at teardown."""
    factory = MqttClientFactory()
    yield factory
    factory.close_all()


# -- InfluxDB -------------------------------------------------------------------

from tests.fixtures.influxdb import InfluxServer  # noqa: E402 - appended with its fixture


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """A started InfluxDB 1.x (Debian's influxd) on 127.0.0.1:<free port>, shared by
    the session: give each test its own database. Has url, port, stop(), start()
    (same port, data kept), log_text()."""
    server = InfluxServer(tmp_path_factory.mktemp("influxdb"))
    server.start()
    yield server
    server.close()


# -- PostgreSQL -------------------------------------------------------------------

from tests.fixtures.postgres import PostgresServer  # noqa: E402 - appended with its fixture


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A started PostgreSQL (Debian's server binaries, run as the `postgres` user
    under root) on 127.0.0.1:<free port>, shared by the session, trust auth on
    loopback only. Has url(db), create_database(), drop_database(), log_text()."""
    server = PostgresServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (SQLAlchemy URL, psycopg 3);
    dropped at teardown. Mark the test `postgres`."""
    name = postgres.create_database()
    yield postgres.url(name)
    postgres.drop_database(name)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.integration]),
    ]
)
def portal_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for the portal, once SQLite (a file) and once PostgreSQL:
    tests taking it run on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    return url


# -- SMTP ---------------------------------------------------------------------------

from tests.fixtures.smtp import SmtpTestServer  # noqa: E402 - appended with its fixture


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpTestServer]:
    """A started aiosmtpd SMTP server on 127.0.0.1:<free port> (plain, no auth);
    .received / .messages() / .wait_for(n) give the parsed EmailMessage objects.
    For STARTTLS + AUTH build SmtpTestServer(dir, starttls=True, username=.., password=..)."""
    server = SmtpTestServer(tmp_path / "smtp")
    server.start()
    yield server
    server.stop()


# -- Browser: tests/browser/conftest.py (package-scoped there, see its docstring) ---------
