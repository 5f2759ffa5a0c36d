"""``myenergy-ingest registry ...`` and ``broker render``, through ingest.cli.main."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.cli import build_parser, main
from ingest.registry import DeviceState, Listener, Registry
from ingest.registry.credentials import mosquitto_verify
from ingest.registry.mosquitto import conf_text

Capture = pytest.CaptureFixture[str]

COMMANDS = [
    [],
    ["registry"],
    ["registry", "add"],
    ["registry", "list"],
    ["registry", "suspend"],
    ["registry", "activate"],
    ["registry", "retire"],
    ["registry", "rotate-password"],
    ["registry", "add-service"],
    ["broker"],
    ["broker", "render"],
    ["run"],
]


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def password_of(out: str) -> str:
    """The password line: `add` prints a sentence, then the password alone."""
    lines = out.splitlines()
    assert "shown only now" in lines[0]
    return lines[1]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_of_every_command(command: list[str], capsys: Capture) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: myenergy-ingest")


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> set[tuple[str, ...]]:
    found = {prefix}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _commands(sub, (*prefix, name))
    return found


def test_every_command_is_covered_by_the_help_test() -> None:
    assert _commands(build_parser()) == {tuple(c) for c in COMMANDS}


def test_add_prints_the_password_once_and_stores_only_its_hashes(
    db_url: str, capsys: Capture
) -> None:
    status, out, _ = run(
        capsys, "registry", "add", "dev-001", "--site", "site-1", "--model", "sdm630",
        "--installed-at", "2026-11-20T09:30:00+02:00", "--db", db_url,
    )  # fmt: skip
    assert status == 0
    password = password_of(out)
    assert len(password) == 32
    with Registry.open(db_url) as registry:
        assert registry.verify_password("dev-001", password)
        assert registry.get("dev-001").installed_at.isoformat() == "2026-11-20T07:30:00+00:00"

    status, out, _ = run(capsys, "registry", "list", "--db", db_url)
    assert status == 0 and password not in out
    assert out.splitlines()[1].split() == [
        "dev-001", "site-1", "sdm630", "active", "2026-11-20T07:30:00Z",
    ]  # fmt: skip


def test_errors_are_reported_without_a_traceback(db_url: str, capsys: Capture) -> None:
    status, _, err = run(capsys, "registry", "suspend", "dev-404", "--db", db_url)
    assert status == 1 and "no device 'dev-404'" in err
    status, _, err = run(
        capsys, "registry", "add", "Bad_Id", "--site", "s", "--model", "sdm630", "--db", db_url
    )
    assert status == 1 and "invalid device id" in err
    with pytest.raises(SystemExit):
        main(["registry", "add", "dev-001", "--site", "s", "--model", "nope", "--db", db_url])
    with pytest.raises(SystemExit):
        main(["registry", "add", "dev-001", "--site", "s", "--model", "sdm630",
              "--installed-at", "2026-11-20T09:30:00", "--db", db_url])  # fmt: skip


def test_state_changes_and_rotation(db_url: str, capsys: Capture) -> None:
    run(capsys, "registry", "add", "dev-001", "--site", "s", "--model", "sdm630", "--db", db_url)
    for action, state in (("suspend", "suspended"), ("activate", "active"), ("retire", "retired")):
        status, out, _ = run(capsys, "registry", action, "dev-001", "--db", db_url)
        assert status == 0 and out.startswith(f"dev-001: {state}")
    status, _, err = run(capsys, "registry", "rotate-password", "dev-001", "--db", db_url)
    assert status == 1 and "retired" in err
    with Registry.open(db_url) as registry:
        assert registry.get("dev-001").state is DeviceState.RETIRED


def test_render_after_rotation_serves_the_new_password(
    db_url: str, tmp_path: Path, capsys: Capture
) -> None:
    run(capsys, "registry", "add", "dev-001", "--site", "s", "--model", "sdm630", "--db", db_url)
    status, out, _ = run(
        capsys, "registry", "add-service", "svc_ingest", "--role", "ingest", "--db", db_url
    )
    assert status == 0
    status, out, _ = run(capsys, "registry", "rotate-password", "dev-001", "--db", db_url)
    new_password = password_of(out)

    out_dir = tmp_path / "mosquitto"
    status, out, _ = run(
        capsys, "broker", "render", "--out", str(out_dir), "--db", db_url,
        "--cafile", "ca.crt", "--certfile", "server.crt", "--keyfile", "server.key",
        "--port", "8884", "--require-certificate",
    )  # fmt: skip
    assert status == 0 and "(1 devices, 1 services)" in out and "kill -HUP" in out
    entries = dict(line.split(":", 1) for line in (out_dir / "passwd").read_text().splitlines())
    assert mosquitto_verify(entries["dev-001"], new_password)
    conf = (out_dir / "myenergy.conf").read_text().splitlines()
    assert "listener 8884" in conf and "require_certificate true" in conf
    assert f"cafile {Path('ca.crt').resolve()}" in conf


def test_render_needs_all_three_tls_files(db_url: str, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="go together"):
        main(["broker", "render", "--out", str(tmp_path), "--cafile", "ca.crt", "--db", db_url])


def test_module_entry_point(db_url: str) -> None:
    """`python -m ingest.cli` is what the console script `myenergy-ingest` runs."""
    done = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "registry", "list", "--db", db_url],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("DEVICE")


def test_the_documented_render_command_and_snippet(db_url: str, tmp_path: Path) -> None:
    """docs/broker-security.md: the command parses and the snippet is what we render."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "broker-security.md").read_text()
    snippet = doc.split("for example:\n\n  ```\n", 1)[1].split("  ```", 1)[0]
    documented = [line.strip() for line in snippet.splitlines()]
    listener = Listener(
        cafile=Path("/etc/mosquitto/certs/ca.crt"),
        certfile=Path("/etc/mosquitto/certs/broker.crt"),
        keyfile=Path("/etc/mosquitto/certs/broker.key"),
    )
    out = Path("/etc/mosquitto/myenergy")
    rendered = conf_text(listener, out / "passwd", out / "acl").splitlines()
    assert documented == rendered[1:]  # all but the "rendered by" comment

    args = build_parser().parse_args(
        ["broker", "render", "--out", str(out), "--group", "mosquitto",
         "--cafile", "/etc/mosquitto/certs/ca.crt",
         "--certfile", "/etc/mosquitto/certs/broker.crt",
         "--keyfile", "/etc/mosquitto/certs/broker.key", "--db", db_url]
    )  # fmt: skip
    assert args.out == out and args.port == 8883 and not args.require_certificate
