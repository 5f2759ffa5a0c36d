"""render_mosquitto: the files' content, permissions and atomic replacement."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ingest.registry import DeviceState, Listener, Registry, ServiceRole, render_mosquitto
from ingest.registry.credentials import mosquitto_verify
from ingest.registry.mosquitto import acl_text, conf_text, write_atomic


@pytest.fixture
def populated(registry: Registry) -> dict[str, str]:
    passwords = {
        device_id: registry.add_device(device_id, "site-1", "sdm630")
        for device_id in ("dev-a", "dev-b", "dev-c")
    }
    registry.set_state("dev-b", DeviceState.SUSPENDED)
    registry.set_state("dev-c", DeviceState.RETIRED)
    passwords["svc_ingest"] = registry.add_service_account("svc_ingest", ServiceRole.INGEST)
    passwords["svc_portal"] = registry.add_service_account("svc_portal", ServiceRole.PORTAL)
    return passwords


def test_password_file_has_active_devices_and_services_only(
    registry: Registry, populated: dict[str, str], tmp_path: Path
) -> None:
    files = render_mosquitto(registry, tmp_path)

    entries = dict(line.split(":", 1) for line in files.password_file.read_text().splitlines())
    assert sorted(entries) == ["dev-a", "svc_ingest", "svc_portal"]
    for user, stored in entries.items():
        assert mosquitto_verify(stored, populated[user])
    assert (files.devices, files.services) == (1, 2)
    assert all(p not in files.password_file.read_text() for p in populated.values())


def test_acl_grants_each_device_its_own_topics_and_each_role_its_own(
    registry: Registry, populated: dict[str, str], tmp_path: Path
) -> None:
    acl = render_mosquitto(registry, tmp_path).acl_file.read_text()

    blocks = {}
    for block in acl.split("\nuser ")[1:]:
        lines = [line for line in block.splitlines() if line and not line.startswith("#")]
        blocks[lines[0]] = lines[1:]
    assert blocks["dev-a"] == [
        "topic write myenergy/v1/dev-a/up",
        "topic write myenergy/v1/dev-a/status",
        "topic write myenergy/v1/dev-a/live",
        "topic read myenergy/v1/dev-a/cmd",
    ]
    assert "dev-b" not in acl and "dev-c" not in acl
    assert blocks["svc_ingest"] == [
        "topic read myenergy/v1/+/up",
        "topic read myenergy/v1/+/status",
        "topic read myenergy/v1/+/live",
        "topic read $share/ingest/myenergy/v1/+/up",
        "topic read $share/ingest/myenergy/v1/+/status",
        "topic read $share/ingest/myenergy/v1/+/live",
    ]
    assert blocks["svc_portal"] == [
        "topic write myenergy/v1/+/cmd",
        "topic read myenergy/v1/+/status",
        "topic read myenergy/v1/+/live",
    ]
    assert "pattern" not in acl  # explicit blocks: a user not rendered has no rights at all


def test_acl_refuses_an_id_that_would_widen_a_grant() -> None:
    with pytest.raises(ValueError, match="invalid device id"):
        acl_text(["dev-+"], [])


def test_files_are_private_and_replaced_atomically(
    registry: Registry, populated: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = render_mosquitto(registry, out)
    inode = first.password_file.stat().st_ino
    registry.rotate_password("dev-a")
    second = render_mosquitto(registry, out)

    assert second.password_file.stat().st_ino != inode  # a new file renamed over the old one
    for path in (second.password_file, second.acl_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == ["acl", "passwd"]  # no temp files left


def test_group_readable_files(
    registry: Registry, populated: dict[str, str], tmp_path: Path
) -> None:
    files = render_mosquitto(registry, tmp_path, group=os.getgid())
    assert stat.S_IMODE(files.acl_file.stat().st_mode) == 0o640
    assert files.acl_file.stat().st_gid == os.getgid()


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "passwd"
    write_atomic(target, "old\n")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # fails once the temp file is written
    with pytest.raises(OSError, match="No space"):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["passwd"]


def test_conf_snippet(registry: Registry, tmp_path: Path) -> None:
    listener = Listener(
        cafile=Path("/etc/mosquitto/ca.crt"),
        certfile=Path("/etc/mosquitto/server.crt"),
        keyfile=Path("/etc/mosquitto/server.key"),
    )
    files = render_mosquitto(registry, tmp_path / "out", listener=listener)

    assert files.conf_file is not None
    text = files.conf_file.read_text()
    assert text == conf_text(listener, files.password_file.resolve(), files.acl_file.resolve())
    lines = text.splitlines()
    for line in (
        "listener 8883",
        "cafile /etc/mosquitto/ca.crt",
        "require_certificate false",
        "allow_anonymous false",
        f"password_file {tmp_path / 'out' / 'passwd'}",
        f"acl_file {tmp_path / 'out' / 'acl'}",
    ):
        assert line in lines
