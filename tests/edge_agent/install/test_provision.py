"""``myenergy-install provision`` against a running portal (real HTTP, uvicorn in a thread):
the meter from a real scan of a simulated meter on a pty, an installer's login or a
one-time code, the agent configuration the agent's own loader accepts (0600, no
password printed), the wait for the first upload, and the failures a technician
meets: portal down (no coverage), a wrong password, a used code, no upload in time,
no meter known, a configuration that cannot be written.
"""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from edge_agent.config import load_config
from edge_agent.install.agent_config import AgentSettings, merge, to_toml, write_config
from edge_agent.install.portal_client import PortalClient, PortalError
from edge_agent.install.provision import wait_for_upload
from ingest.registry.service import Registry
from portal_api.seed import DEMO_PASSWORD
from tests.edge_agent.install.conftest import Install, PtyMeter
from tests.fixtures.ports import free_port
from tests.portal.web.conftest import NOW, Portal, fresh_portal
from tests.portal.web.meterdata import minute_records
from tests.portal.web.test_installations_api import (
    DEVICE,
    NEW_SITE,
    sign_contract_for_new_site,
    with_registry,
)

__all__ = ["fresh_portal"]  # the fixture this module uses

PASSWORD_ENV = "MYENERGY_INSTALL_PASSWORD"


@dataclass
class Setup:
    portal: Portal
    contract: str
    registry_url: str
    config: Path

    def args(self, *extra: object, login: bool = True) -> list[object]:
        who: list[object] = ["--user", "installer"] if login else []
        return [
            "provision",
            "--portal",
            self.portal.url,
            *who,
            "--contract",
            self.contract,
            "--site",
            NEW_SITE,
            "--config",
            self.config,
            "--queue",
            self.config.parent / "queue.sqlite3",
            *extra,
        ]


@pytest.fixture
def setup(fresh_portal: Portal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.setenv(PASSWORD_ENV, DEMO_PASSWORD)
    url = with_registry(fresh_portal, tmp_path)
    contract = sign_contract_for_new_site(fresh_portal.services)
    yield Setup(fresh_portal, contract, url, tmp_path / "etc" / "agent.toml")


LINE = ("--port", "/dev/ttyUSB0", "--slave", "7", "--baud", "19200", "--parity", "E")


def test_provision_from_the_last_scan_writes_a_config_the_agent_loads(
    setup: Setup, install: Install, pty_meter: PtyMeter
) -> None:
    meter = pty_meter("sdm630", baud=19200, slave=7)
    status, _, err = install(
        "scan", "--port", meter.path, "--bauds", "19200", "--parities", "N", "--slaves", "5-9"
    )
    assert status == 0, err
    status, out, err = install("--json", *setup.args("--no-wait", "--serial", "SDM630-2410099"))
    assert status == 0, err
    result = json.loads(out)  # stdout is one JSON document; progress went to stderr
    assert result["ok"] is True and result["device_id"] == DEVICE
    assert result["meter"]["port"] == meter.path and result["meter"]["slave"] == 7
    assert result["meter"]["source"].startswith("latest scan")
    assert result["first_upload"] is None
    assert "password" not in json.dumps(result["mqtt"])
    assert "регистриране / provisioning" in err

    assert stat.S_IMODE(setup.config.stat().st_mode) == 0o600
    config = load_config(setup.config, {})
    assert config.device.id == DEVICE
    assert (config.meter.model, config.meter.port, config.meter.slave_id) == (
        "sdm630",
        meter.path,
        7,
    )
    assert (config.meter.baudrate, config.meter.parity) == (19200, "N")
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.tls.enabled) == (
        "127.0.0.1",
        1883,
        False,
    )
    assert config.mqtt.username == DEVICE
    assert config.store.path == setup.config.parent / "queue.sqlite3"
    password = config.mqtt.password_value()
    assert password is not None and password not in out and password not in err
    with Registry.open(setup.registry_url) as registry:
        assert registry.verify_password(DEVICE, password)


def test_a_code_then_the_first_upload(setup: Setup, install: Install) -> None:
    with closing(setup.portal.api("operator")) as staff:
        code = staff.post(
            f"/api/v1/contracts/{setup.contract}/provisioning-codes", json={"site_id": NEW_SITE}
        ).json()["code"]
    # The module was quick: its first records are in the store already.
    start = int(NOW.timestamp()) - 120
    store = setup.portal.services.consumption.store
    store.write_records(DEVICE, NEW_SITE, "sdm630", minute_records(start, start + 120))
    argv = setup.args(
        "--code", code, *LINE, "--model", "sdm630", "--scan-result", "none", login=False
    )
    status, out, err = install(*argv, "--wait", "30", "--poll", "0.1")
    assert status == 0, err
    assert "първото изпращане е получено / first upload received: 2" in out
    assert f"конфигурация / config: {setup.config} (0600)" in out
    first = setup.config.read_bytes()

    status, out, err = install("--json", *argv, "--no-wait")
    assert status == 1
    error = json.loads(out)["error"]
    assert error["code"] == "code_used" and error["status"] == 401
    assert "вече е използван" in error["message_bg"] and "already been used" in error["message_en"]
    assert "вече е използван" in err
    assert setup.config.read_bytes() == first  # nothing touched


def test_no_upload_in_time_says_what_to_check(setup: Setup, install: Install) -> None:
    status, _, err = install(
        *setup.args(*LINE, "--model", "sdm630", "--scan-result", "none"),
        "--wait",
        "0.3",
        "--poll",
        "0.1",
    )
    assert status == 1
    assert "systemctl status myenergy-agent" in err
    assert load_config(setup.config, {}).device.id == DEVICE  # the config is in place


def test_portal_down_writes_nothing(setup: Setup, install: Install) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    argv = setup.args(*LINE, "--model", "sdm630", "--scan-result", "none", "--no-wait")
    argv[argv.index(setup.portal.url)] = down
    status, out, err = install("--json", *argv)
    assert status == 1
    assert json.loads(out)["error"]["code"] == "portal_unreachable"
    assert f"порталът {down} е недостъпен" in err and "unreachable" in err
    assert "no MQTT credentials: nothing was written" in err
    assert not setup.config.exists() and not setup.config.parent.exists()


def test_wrong_password_is_login_refused(
    setup: Setup, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    status, _, err = install(
        *setup.args(*LINE, "--model", "sdm630", "--scan-result", "none", "--no-wait")
    )
    assert status == 1
    assert "login refused" in err and "входът е отказан" in err
    assert not setup.config.exists()


def test_a_customer_may_not_provision(setup: Setup, install: Install) -> None:
    argv = setup.args(*LINE, "--model", "sdm630", "--scan-result", "none", "--no-wait")
    argv[argv.index("installer")] = "ivan.georgiev"
    status, _, err = install(*argv)
    assert status == 1 and "installer's account" in err


def test_without_a_meter_nothing_is_tried(setup: Setup, install: Install) -> None:
    status, out, err = install("--json", *setup.args("--no-wait", "--port", "/dev/ttyUSB0"))
    assert status == 2
    error = json.loads(out)["error"]
    assert error["code"] == "no_meter"
    assert "--slave" in error["message_en"] and "myenergy-install scan" in err


def test_a_config_that_cannot_be_written_is_found_before_the_portal(
    setup: Setup, install: Install, tmp_path: Path
) -> None:
    """The configuration's folder is a file: no one can write there, root included (a
    mode-0500 folder would not stop the root these tests run as)."""
    blocker = tmp_path / "etc-myenergy"
    blocker.write_text("not a folder\n")
    argv = setup.args(*LINE, "--model", "sdm630", "--scan-result", "none", "--no-wait")
    argv[argv.index(setup.config)] = blocker / "agent.toml"
    status, out, err = install("--json", *argv)
    assert status == 2 and "sudo" in err and "not a folder" in err
    assert json.loads(out)["error"]["code"] == "permission_denied"
    with Registry.open(setup.registry_url) as registry:
        assert registry.list() == []  # the portal was not called


def test_the_wait_polls_through_a_lost_connection_until_the_upload() -> None:
    """wait_for_upload on a fake clock: a dropped connection is retried, the answer that
    says uploaded ends the wait; the wait's end is the clock's, never the wall's."""
    answers: list[httpx.Response | Exception] = [
        httpx.Response(200, json={"uploaded": False, "records": 0}),
        httpx.ConnectError("no coverage"),
        httpx.Response(200, json={"uploaded": True, "records": 0, "status_at": "t"}),
    ]
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    now = [0.0]
    said: list[str] = []
    client = PortalClient("http://127.0.0.1:9", transport=httpx.MockTransport(handler))
    result = wait_for_upload(
        client,
        "cm-x-m1",
        ("cm-x-m1", "secret"),
        wait_s=60,
        poll_s=5,
        say=said.append,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert result["uploaded"] is True and result["waited_s"] == 10.0
    assert seen == [f"Basic {base64.b64encode(b'cm-x-m1:secret').decode()}"] * 3
    assert said[0].endswith("0/60 s") and "unreachable" in said[1]
    answers.append(httpx.Response(200, json={"uploaded": False, "records": 0}))
    answers.append(httpx.Response(200, json={"uploaded": False, "records": 0}))
    now[0] = 0.0
    late = wait_for_upload(
        client,
        "cm-x-m1",
        ("cm-x-m1", "secret"),
        wait_s=4,
        poll_s=5,
        say=said.append,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
    )
    assert late["uploaded"] is False and late["waited_s"] == 4.0 and not answers


def test_plain_http_only_to_this_machine() -> None:
    with pytest.raises(PortalError) as caught:
        PortalClient("http://portal.example.bg")
    assert caught.value.code == "bad_arguments" and "https" in caught.value.message


def test_an_existing_config_keeps_its_other_settings(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        'version = 1\n[device]\nid = "old-0001"\n[meter]\nmodel = "em340"\nport = "/dev/x"\n'
        'timeout_s = 2.5\n[mqtt]\nhost = "old.example"\npassword_file = "/nonexistent"\n'
        'username = "old-0001"\n[log]\nlevel = "DEBUG"\n'
    )
    settings = AgentSettings(
        "new-0001", "sdm630", "/dev/ttyUSB0", 3, 9600, "N", 8, 1,
        "127.0.0.1", 8883, True, "5", "new-0001", 'pa"ss\\word', tmp_path / "q.sqlite3",
    )  # fmt: skip
    write_config(path, settings)
    config = load_config(path, {})
    assert (config.device.id, config.meter.model, config.meter.timeout_s) == (
        "new-0001",
        "sdm630",
        2.5,
    )
    assert config.log.level == "DEBUG" and config.mqtt.password_value() == 'pa"ss\\word'
    assert (tmp_path / "agent.toml.bak").read_text().count("old-0001") == 2
    assert stat.S_IMODE((tmp_path / "agent.toml.bak").stat().st_mode) == 0o600
    assert to_toml(merge({}, {"a": {"b": {"c": 1}}})) == "[a.b]\nc = 1\n"
