"""Registry fixtures: a migrated SQLite registry per test, and a real Mosquitto
running the configuration rendered from it (TLS, password file, ACL)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.registry import Listener, Registry, render_mosquitto
from ingest.registry.mosquitto import ACL_FILE, PASSWORD_FILE, conf_text
from tests.conftest import _register_log
from tests.fixtures.mosquitto import MosquittoBroker, MqttCredentials
from tests.fixtures.tls import issue_cert, make_ca


class SteppingClock:
    """A clock that moves one second per reading, from a fixed UTC instant."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(START)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


@pytest.fixture
def registry(db_url: str, clock: SteppingClock) -> Iterator[Registry]:
    with Registry.open(db_url, clock=clock) as opened:
        yield opened


class RegistryBroker(MosquittoBroker):
    """Mosquitto whose listener, password file and ACL are exactly what
    `render_mosquitto` writes from `registry` (TLS with client certificates).

    `render()` re-renders the files; `reload()` sends SIGHUP as production does.
    """

    def __init__(self, workdir: Path, registry: Registry) -> None:
        super().__init__(workdir, name="mosquitto-registry", persistence=False)
        self.registry = registry
        self.security_dir = workdir / "security"
        self.ca = make_ca()
        tls_dir = workdir / "tls"
        tls_dir.mkdir(parents=True, exist_ok=True)
        self.cafile = self.ca.write_cert(tls_dir / "ca.crt")
        self.server = issue_cert(self.ca, "localhost", server=True).write(tls_dir, "server")
        self.clients_dir = tls_dir / "clients"

    def listener(self) -> Listener:
        return Listener(
            cafile=self.cafile,
            certfile=self.server.certfile,
            keyfile=self.server.keyfile,
            port=self.port,
            bind_address=self.host,
            require_certificate=True,
        )

    def listener_lines(self) -> list[str]:
        # the rendered snippet itself, so the test runs what production runs
        text = conf_text(
            self.listener(),
            (self.security_dir / PASSWORD_FILE).resolve(),
            (self.security_dir / ACL_FILE).resolve(),
        )
        return text.splitlines()

    def render(self) -> None:
        render_mosquitto(self.registry, self.security_dir)

    def write_files(self) -> None:
        self.render()
        super().write_files()

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password and ACL files."""
        marks = self.log_text().count("Reloading config")
        assert self.pid is not None
        os.kill(self.pid, signal.SIGHUP)
        assert self.wait_for_log_count("Reloading config", marks + 1)

    def wait_for_log_count(self, text: str, count: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log_text().count(text) >= count:
                return True
            time.sleep(0.02)
        return False

    def login(self, username: str, password: str) -> MqttCredentials:
        """Credentials with a client certificate (CN = username) of this broker's CA."""
        files = issue_cert(self.ca, username).write(self.clients_dir, username)
        return MqttCredentials(username, password, self.cafile, files.certfile, files.keyfile)


@pytest.fixture
def registry_broker(
    request: pytest.FixtureRequest, tmp_path: Path, registry: Registry
) -> Iterator[RegistryBroker]:
    """A RegistryBroker, NOT started: register devices first, then start()."""
    broker = RegistryBroker(tmp_path / "broker", registry)
    _register_log(request.node, broker)  # its log is attached to a failing test's report
    yield broker
    broker.close()
