"""``myenergy-portal``: the installed console script, run as a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.fixtures.smtp import SmtpTestServer
from tests.portal.web.server import SECRET

EXE = str(Path(sys.executable).with_name("myenergy-portal"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "MYENERGY_PORTAL_SECURITY_SECRET_KEY": SECRET,
        "MYENERGY_PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "MYENERGY_PORTAL_STORE_SQLITE_PATH": str(tmp_path / "ts.sqlite3"),
        **extra,
    }


def _run(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(tmp_path, **env),
        timeout=120,
        check=False,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    out = _run(tmp_path, "--help").stdout
    for command in ("run", "migrate", "user", "seed-demo", "outbox"):
        assert command in out
    assert "add" in _run(tmp_path, "user", "--help").stdout
    assert "send" in _run(tmp_path, "outbox", "--help").stdout


def test_configuration_is_checked_first(tmp_path: Path) -> None:
    done = _run(tmp_path, "migrate", MYENERGY_PORTAL_SECURITY_SECRET_KEY="short")
    assert done.returncode == 2
    assert "secret_key" in done.stderr and "short" not in done.stderr


def test_migrate_seed_and_users(tmp_path: Path) -> None:
    assert _run(tmp_path, "migrate").returncode == 0
    seeded = _run(tmp_path, "seed-demo")
    assert seeded.returncode == 0 and "3 customers" in seeded.stdout
    added = _run(
        tmp_path,
        "user",
        "add",
        "Petya.Staff",
        "--role",
        "operator",
        "--email",
        "petya@example.bg",
        "--password-stdin",
        stdin="operator-pass-2026\n",
    )
    assert added.returncode == 0, added.stderr
    assert "petya.staff" in added.stdout
    customer = _run(
        tmp_path,
        "user",
        "add",
        "ivan2",
        "--role",
        "customer",
        "--customer",
        "3100000017",
        "--password-stdin",
        stdin="customer-pass-2026\n",
    )
    assert customer.returncode == 0, customer.stderr
    unknown = _run(
        tmp_path,
        "user",
        "add",
        "nobody",
        "--role",
        "customer",
        "--customer",
        "9999999999",
        "--password-stdin",
        stdin="customer-pass-2026\n",
    )
    assert unknown.returncode == 1
    short = _run(tmp_path, "user", "passwd", "petya.staff", "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    changed = _run(
        tmp_path, "user", "passwd", "petya.staff", "--password-stdin", stdin="changed-pass-2026\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert "changed-pass-2026" not in changed.stdout + changed.stderr


def test_outbox_send(tmp_path: Path, smtp_server: SmtpTestServer) -> None:
    smtp = {
        "MYENERGY_PORTAL_SMTP_HOST": smtp_server.host,
        "MYENERGY_PORTAL_SMTP_PORT": str(smtp_server.port),
    }
    assert _run(tmp_path, "seed-demo").returncode == 0
    # A reset request through the app queues one e-mail; the CLI sends it.
    from portal_api.config import load_config
    from portal_api.web.services import build_services

    config = load_config(None, _env(tmp_path, **smtp))
    services = build_services(config, with_live=False)
    try:
        services.accounts.request_reset("ivan.georgiev", "http://127.0.0.1:8080")
    finally:
        services.close()
    sent = _run(tmp_path, "outbox", "send", **smtp)
    assert sent.returncode == 0, sent.stderr
    assert "sent 1" in sent.stdout
    message = smtp_server.wait_for(1)[0]
    assert message["To"] == "ivan.georgiev@example.bg"
    assert "/reset?token=" in message.get_content()


def test_run_serves_the_portal(tmp_path: Path) -> None:
    from tests.fixtures.ports import free_port, wait_for_port

    port = free_port()
    process = subprocess.Popen(
        [EXE, "run", "--port", str(port)],
        env=_env(
            tmp_path,
            MYENERGY_PORTAL_SECURITY_COOKIE_SECURE="false",
            MYENERGY_PORTAL_MQTT_PORT=str(free_port()),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30, alive=lambda: process.poll() is None)
        answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert answer.status_code == 200 and "MyEnergy" in answer.text
    finally:
        process.terminate()
        process.wait(timeout=15)
