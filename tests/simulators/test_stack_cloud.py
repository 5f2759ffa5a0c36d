"""``myenergy-stack`` with the cloud inside: ingest, history, the portal, real servers.

Unit tests: the stack's settings (sample file, environment, refusals), the device
behind the flaky link, the radio's signal files.

End to end, the real command as a subprocess for a short run at ``--speed 30``:

* embedded (Mosquitto child, SQLite stores): each device gets its history
  through ingest, then its live records reach the store through ingest's
  consumer; the counters run on from the history without a step, ingest sees no
  gap and no dead letter, every status carries the modem's ``signal_dbm``; a second
  run backfills nothing and numbers on;
* the portal: the stack prints its URL, the demo logins and PIKs; a demo customer logs
  in through the API and sees its sites; SIGTERM stops everything cleanly;
* configuration alone (environment) points the same command at a running
  Mosquitto, InfluxDB and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from ingest.registry import Registry
from ingest.store import InfluxConfig, InfluxStore, SqliteStore, TimeSeriesStore
from portal_api.seed import DEMO_PASSWORD
from simulators.link_modes import LinkMode
from simulators.stack_lines import parse_logfmt
from simulators.stack_radio import NO_SERVICE_DBM, Radio, RadioDevice
from simulators.stack_run import Stack, StackError, StackOptions
from simulators.stack_settings import (
    SAMPLE_CONFIG,
    ConfigError,
    StackSettings,
    load_stack_settings,
)
from tests.fixtures.influxdb import InfluxServer
from tests.fixtures.mosquitto import MosquittoBroker

STACK_EXE = str(Path(sys.executable).with_name("myenergy-stack"))
SPEED = "30"
DEVICES = ["demo-sdm630-1", "demo-em340-2", "demo-pm5100-3", "demo-sdm120-4"]
SITES = {
    "demo-sdm630-1": "varna-0001",
    "demo-em340-2": "shumen-0001",
    "demo-pm5100-3": "dobrich-0002",
    "demo-sdm120-4": "dobrich-0001",
}


def _lines(out: str) -> list[tuple[str, dict[str, str]]]:
    return [parse_logfmt(line) for line in out.splitlines() if line.strip()]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [STACK_EXE, "--plain", "--speed", SPEED, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


# -- settings --------------------------------------------------------------------------


def test_sample_settings_load_and_are_the_defaults() -> None:
    assert load_stack_settings(SAMPLE_CONFIG, {}) == StackSettings()


def test_environment_points_the_stack_at_real_servers(tmp_path: Path) -> None:
    settings = load_stack_settings(
        None,
        {
            "MYENERGY_STACK_BROKER_HOST": "127.0.0.1",
            "MYENERGY_STACK_BROKER_PORT": "1884",
            "MYENERGY_STACK_STORE_KIND": "influx",
            "MYENERGY_STACK_STORE_INFLUX_URL": "http://127.0.0.1:8087",
            "MYENERGY_STACK_DATABASE_PORTAL_URL": "postgresql://me@127.0.0.1/myenergy",
            "MYENERGY_STACK_HISTORY_DAYS": "0.5",
        },
    )
    assert settings.broker.external and settings.broker.port == 1884
    store = settings.store.store_config(tmp_path)
    assert isinstance(store, InfluxConfig) and store.url == "http://127.0.0.1:8087"
    assert settings.portal_database_url(tmp_path) == "postgresql://me@127.0.0.1/myenergy"
    assert settings.registry_url(tmp_path) == f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    assert settings.history.days == 0.5
    # What an external broker means for the stack: no broker of its own, MQTT v5.
    stack = Stack(StackOptions(state_dir=tmp_path, settings=settings))
    assert (stack.broker_kind, stack.mqtt_protocol) == ("external", "5")


def test_bad_settings_are_refused_with_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_settings(
            None,
            {
                "MYENERGY_STACK_STORE_KIND": "mongo",
                "MYENERGY_STACK_BROKER_PASSWORD": "s3cret-value",
                "MYENERGY_STACK_NO_SUCH": "1",
            },
        )
    text = str(caught.value)
    assert "store.kind" in text and "broker.username" in text and "MYENERGY_STACK_NO_SUCH" in text
    assert "s3cret-value" not in text


def test_flaky_link_device_is_the_sdm120_or_named(tmp_path: Path) -> None:
    assert Stack(StackOptions(state_dir=tmp_path)).flaky == "demo-sdm120-4"
    assert Stack(StackOptions(meters=3, state_dir=tmp_path)).flaky is None
    named = Stack(StackOptions(state_dir=tmp_path, flaky="demo-em340-2"))
    assert named.flaky == "demo-em340-2"
    assert Stack(StackOptions(state_dir=tmp_path, flaky="none")).flaky is None
    with pytest.raises(StackError, match="no such device"):
        Stack(StackOptions(state_dir=tmp_path, flaky="demo-nope-9"))
    assert Stack(StackOptions(meters=5, state_dir=tmp_path)).site_ids["demo-sdm630-5"] == "demo-5"


def test_radio_signal_drops_while_the_link_is_cut(tmp_path: Path) -> None:
    proxy = Radio.flaky_link(1, schedule="60:cut")  # nothing listens on port 1: fine, cut
    try:
        flaky = RadioDevice("demo-sdm120-4", tmp_path / "a" / "signal-dbm", -97.0, proxy)
        good = RadioDevice("demo-sdm630-1", tmp_path / "b" / "signal-dbm", -67.0)
        radio = Radio([flaky, good])
        radio.write_all()
        assert int(flaky.path.read_text()) == NO_SERVICE_DBM
        assert -75 <= int(good.path.read_text()) <= -59
        proxy.set_mode(LinkMode("pass"))
        radio.write_all()
        assert -105 <= int(flaky.path.read_text()) <= -89
    finally:
        proxy.stop()


# -- end to end: embedded ----------------------------------------------------------------


def _store_checks(store: TimeSeriesStore, load_start: int) -> None:
    for device in DEVICES:
        history = store.records(device, load_start - 6 * 3600, load_start)
        assert len(history) == 360, device  # 0.25 day of minutes, all stored
        live = store.records(device, load_start, load_start + 86_400)
        assert live, f"{device}: no live record reached the store through ingest"
        readings = store.counter_readings(device, "e_imp_wh", load_start - 6 * 3600, 2**40)
        values = [r.wh for r in readings]
        assert values == sorted(values), f"{device}: a counter stepped back at the join"
        # The modem's signal went agent -> broker -> ingest -> store, for the portal.
        status = store.latest_status(device)
        assert status is not None and status.signal_dbm is not None, device
        assert -120 <= status.signal_dbm <= -50, device


@pytest.mark.integration
def test_embedded_stack_backfills_then_ingests_live_data(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    args = ["--state-dir", str(state_dir), "--history-days", "0.25", "--no-portal"]
    proc = _run([*args, "--duration", "20"])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = _lines(proc.stdout)
    history = {f["device"]: f for k, f in lines if k == "history"}
    assert sorted(history) == sorted(DEVICES)
    assert all(f["records"] == "360" for f in history.values())
    meters = {f["device"]: f for k, f in lines if k == "meter"}
    assert {d: f["site_id"] for d, f in meters.items()} == SITES

    # The modem's signal reaches the status (the radio's files, read by the agents).
    for device in DEVICES:
        statuses = [
            f
            for k, f in lines
            if k == "status" and f["device"] == device and f["state"] == "online"
        ]
        assert statuses, device
        assert all(-120 <= int(f["signal_dbm"]) <= -50 for f in statuses), device

    ingest = [f for k, f in lines if k == "ingest" and "records" in f][-1]
    assert ingest["history"] == str(4 * 360)
    assert int(ingest["records"]) > 4 * 360
    assert (ingest["dead_letters"], ingest["missing"]) == ("0", "0")

    store = SqliteStore(state_dir / "ts.sqlite3")
    store.init()
    try:
        # History records hold 60 one-second samples; live ones (polls every 15 or
        # 30 simulated seconds at --speed 30) fewer: where the history ends, live begins.
        load_start = max(
            r.ts + 60 for d in DEVICES for r in store.records(d, 0, 2**40) if r.samples == 60
        )
        _store_checks(store, load_start)
    finally:
        store.close()
    with Registry.open(f"sqlite:///{state_dir / 'registry.sqlite3'}") as registry:
        assert {d.id: d.site_id for d in registry.list()} == SITES

    # A second run: the store has the devices' records, so no history; numbering goes on.
    again = _run([*args, "--duration", "8"])
    assert again.returncode == 0, again.stderr
    lines2 = _lines(again.stdout)
    assert not [f for k, f in lines2 if k == "history"]
    ups = [f for k, f in lines2 if k == "up"]
    assert ups and all(int(f["seq"].split("-")[0]) > 360 for f in ups)
    ingest2 = [f for k, f in lines2 if k == "ingest" and "records" in f][-1]
    assert (ingest2["dead_letters"], ingest2["missing"]) == ("0", "0")


# -- end to end: the portal ------------------------------------------------------------------


@pytest.mark.integration
def test_portal_serves_the_demo_customer_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    state_dir = tmp_path / "stack"
    # Yesterday's noon in Sofia: "today" of the simulated clock has hours of data whatever
    # the real time (a run just after local midnight would otherwise see an empty day).
    sofia = ZoneInfo("Europe/Sofia")
    noon = dt.datetime.combine(
        dt.datetime.now(sofia).date() - dt.timedelta(days=1), dt.time(12, 0), sofia
    )
    proc = subprocess.Popen(
        [
            *(STACK_EXE, "--plain", "--speed", SPEED, "--state-dir", str(state_dir)),
            *("--history-days", "0.1", "--portal-port", "18000"),
            *("--start", noon.isoformat()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[tuple[str, dict[str, str]]] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(k == "up" for k, _ in seen) < 4:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(parse_logfmt(line))
        portal = next(f for k, f in seen if k == "portal")
        logins = {f["user"]: f for k, f in seen if k == "login"}
        assert {f["role"] for f in logins.values()} == {
            "customer",
            "operator",
            "installer",
            "admin",
        }
        assert all(f["password"] == DEMO_PASSWORD for f in logins.values())
        piks = [f for k, f in seen if k == "pik"]
        assert len(piks) == 3, piks  # one per demo customer, for the Virtual CSC login
        with httpx.Client(base_url=portal["url"], timeout=10) as http:
            # The printed "ЕИК/ЕГН" + PIK log in (issue 6).
            for pik in piks:
                by_pik = http.post(
                    "/api/v1/auth/pik-token",
                    data={"identifier": pik["identifier"], "pik": pik["pik"]},
                )
                assert by_pik.status_code == 200, (pik["customer"], by_pik.text)
            token = http.post(
                "/api/v1/auth/token",
                data={"username": "ivan.georgiev", "password": DEMO_PASSWORD},
            )
            assert token.status_code == 200, token.text
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            sites = http.get("/api/v1/sites", headers=bearer)
            assert sites.status_code == 200, sites.text
            by_id = {s["id"]: s for s in sites.json()}
            assert set(by_id) == {"varna-0001", "dobrich-0001"}  # only the customer's own
            assert by_id["varna-0001"]["today_kwh"] is not None
            # The history is there: the hour before the stack started is complete.
            started = dt.datetime.fromisoformat(next(f for k, f in seen if k == "stack")["start"])
            end = started.replace(minute=started.minute // 15 * 15, second=0)
            energy = http.get(
                "/api/v1/sites/varna-0001/consumption",
                params={
                    "period_from": (end - dt.timedelta(hours=1)).isoformat(),
                    "period_to": end.isoformat(),
                    "group_by": "15min",
                },
                headers=bearer,
            )
            assert energy.status_code == 200, energy.text
            rows = energy.json()["results"]
            assert len(rows) == 4 and all(r["completeness"] == 1.0 for r in rows)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert _lines(out)[-1][0] == "summary"
    with pytest.raises(httpx.ConnectError):
        httpx.get(portal["url"], timeout=2)


# -- end to end: real servers by configuration ---------------------------------------------


@pytest.mark.postgres
@pytest.mark.integration
def test_configuration_alone_uses_mosquitto_influxdb_and_postgresql(
    tmp_path: Path, mosquitto: MosquittoBroker, influxdb: InfluxServer, pg_url: str
) -> None:
    database = f"stack_{uuid.uuid4().hex[:8]}"
    config = tmp_path / "stack.toml"
    config.write_text(
        "version = 1\n"
        f'[broker]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n'
        f'[store]\nkind = "influx"\ninflux_url = "{influxdb.url}"\n'
        f'influx_database = "{database}"\n'
        "[history]\ndays = 0.25\n"
    )
    env = {
        **os.environ,
        "MYENERGY_STACK_CONFIG": str(config),
        "MYENERGY_STACK_DATABASE_REGISTRY_URL": pg_url,
        "MYENERGY_STACK_DATABASE_PORTAL_URL": pg_url,
    }
    state_dir = tmp_path / "stack"
    proc = _run(["--state-dir", str(state_dir), "--duration", "20", "--no-portal"], env=env)
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc.stdout)
    stack_line = next(f for k, f in lines if k == "stack")
    assert stack_line["broker"] == "external"
    assert stack_line["address"] == f"127.0.0.1:{mosquitto.port}"
    assert not (state_dir / "mosquitto").exists() and not (state_dir / "ts.sqlite3").exists()
    ingest = [f for k, f in lines if k == "ingest" and "records" in f][-1]
    assert ingest["store"].startswith("influx")
    assert (ingest["dead_letters"], ingest["missing"]) == ("0", "0")

    store = InfluxStore(InfluxConfig(url=influxdb.url, database=database))
    store.init()
    try:
        load_start = max(
            r.ts + 60 for d in DEVICES for r in store.records(d, 0, 2**40) if r.samples == 60
        )
        _store_checks(store, load_start)
    finally:
        store.close()
    with Registry.open(pg_url) as registry:
        assert {d.id: d.site_id for d in registry.list()} == SITES
