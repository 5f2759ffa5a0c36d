"""Render Mosquitto's password file, ACL file and listener config from the registry.

    render_mosquitto(registry, Path("/etc/mosquitto/myenergy"), listener=Listener(...))
    # then: kill -HUP $(pidof mosquitto)   (reloads password_file and acl_file)

Only active devices get a password line, so a suspended or retired device
cannot log in after the next reload. Each device gets an explicit ``user``
block granting exactly its own topics (protocol/topics.py); service accounts
get their role's grants. Mosquitto's ACL is deny-by-default, so anything not
listed here is refused. Files are replaced atomically (temp file + rename in
the same directory): a broker reloading mid-render sees the old or the new
file, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.registry.domain import BrokerLogin, ServiceAccount, ServiceRole
from ingest.registry.service import Registry
from protocol import topics

PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
CONF_FILE = "myenergy.conf"

# What a device may do: publish its records, status (and last will) and live
# samples; receive its commands. (kind, access) in ACL order.
DEVICE_GRANTS: tuple[tuple[str, str], ...] = (
    ("write", topics.UP),
    ("write", topics.STATUS),
    ("write", topics.LIVE),
    ("read", topics.COMMAND),
)

# Service roles. Shared-subscription filters are listed too: brokers that check
# the full "$share/<group>/..." filter (EMQX, newer Mosquitto) then agree with
# Mosquitto 2.0, which checks the filter without its $share prefix.
ROLE_GRANTS: dict[ServiceRole, tuple[tuple[str, str], ...]] = {
    ServiceRole.INGEST: (
        ("read", topics.ALL_UPLINK),
        ("read", topics.ALL_STATUS),
        ("read", topics.ALL_LIVE),
        ("read", topics.SHARED_UPLINK),
        ("read", topics.SHARED_STATUS),
        ("read", topics.SHARED_LIVE),
    ),
    ServiceRole.PORTAL: (
        ("write", topics.PREFIX + "+/" + topics.COMMAND),
        # the portal shows who is online and streams live power while watched
        # (protocol/topics.py: "the portal watching one kind of every device")
        ("read", topics.ALL_STATUS),
        ("read", topics.ALL_LIVE),
    ),
}


@dataclass(frozen=True)
class Listener:
    """The TLS listener of the rendered mosquitto.conf snippet."""

    cafile: Path
    certfile: Path
    keyfile: Path
    port: int = 8883
    bind_address: str = ""  # "" = all interfaces
    require_certificate: bool = False  # True: a client certificate signed by cafile, too
    tls_version: str = "tlsv1.2"  # the minimum; 1.3 is negotiated when both sides have it


@dataclass(frozen=True)
class RenderedFiles:
    password_file: Path
    acl_file: Path
    conf_file: Path | None
    devices: int  # active devices with a password line
    services: int


def password_text(logins: Iterable[BrokerLogin]) -> str:
    """Mosquitto password file: ``username:$7$...`` lines."""
    return "".join(f"{login.username}:{login.broker_hash}\n" for login in logins)


def _grant_lines(grants: Sequence[tuple[str, str]], device_id: str | None = None) -> list[str]:
    lines = []
    for access, topic in grants:
        full = topics.PREFIX + device_id + "/" + topic if device_id else topic
        lines.append(f"topic {access} {full}")
    return lines


def acl_text(device_ids: Iterable[str], services: Iterable[ServiceAccount]) -> str:
    """Mosquitto ACL file: one ``user`` block per active device and per service account."""
    lines = [
        "# MyEnergy broker ACL, rendered by ingest.registry.mosquitto: do not edit.",
        "# Deny by default: a user may only use the topics in its block.",
    ]
    for service in services:
        lines += ["", f"# service, role {service.role.value}", f"user {service.name}"]
        lines += _grant_lines(ROLE_GRANTS[service.role])
    for device_id in device_ids:
        # validated at registration, checked again: an id with '+', '#' or '/'
        # would widen the grant to other devices' topics
        if not topics.valid_device_id(device_id):
            raise ValueError(f"refusing to render ACL for invalid device id {device_id!r}")
        lines += ["", f"user {device_id}"]
        lines += _grant_lines(DEVICE_GRANTS, device_id)
    return "\n".join(lines) + "\n"


def conf_text(listener: Listener, password_file: Path, acl_file: Path) -> str:
    """A mosquitto.conf snippet (for ``include_dir``, or appended to mosquitto.conf).

    Without ``per_listener_settings``, password_file / acl_file / allow_anonymous
    are global in Mosquitto 2.0: they apply to every listener of the broker.
    """
    listen = f"listener {listener.port}"
    if listener.bind_address:
        listen += f" {listener.bind_address}"
    lines = [
        "# MyEnergy TLS listener, rendered by ingest.registry.mosquitto",
        listen,
        "protocol mqtt",
        f"cafile {listener.cafile}",
        f"certfile {listener.certfile}",
        f"keyfile {listener.keyfile}",
        f"tls_version {listener.tls_version}",
        f"require_certificate {'true' if listener.require_certificate else 'false'}",
        "allow_anonymous false",
        f"password_file {password_file}",
        f"acl_file {acl_file}",
    ]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str, *, mode: int = 0o600, group: int | None = None) -> None:
    """Replace `path` with `text` atomically, created with `mode` (never world-readable
    for a moment: permissions are set before the content is written)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        if group is not None:
            os.fchown(fd, -1, group)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def render_mosquitto(
    registry: Registry,
    out_dir: Path,
    *,
    listener: Listener | None = None,
    group: int | None = None,
) -> RenderedFiles:
    """Write ``passwd``, ``acl`` (and ``myenergy.conf`` if `listener`) into `out_dir`.

    Mode 0600, or 0640 with `group` (a gid: Mosquitto 2.0 reads the files after
    dropping privileges to its own user, so give them group ``mosquitto``).
    Mosquitto picks the new files up on SIGHUP.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = 0o640 if group is not None else 0o600
    device_logins, service_logins = registry.broker_logins()
    password_file = out_dir / PASSWORD_FILE
    acl_file = out_dir / ACL_FILE
    logins = [login for _, login in service_logins] + device_logins
    write_atomic(password_file, password_text(logins), mode=mode, group=group)
    write_atomic(
        acl_file,
        acl_text([login.username for login in device_logins], [s for s, _ in service_logins]),
        mode=mode,
        group=group,
    )
    conf_file = None
    if listener is not None:
        conf_file = out_dir / CONF_FILE
        text = conf_text(listener, password_file.resolve(), acl_file.resolve())
        write_atomic(conf_file, text, mode=mode, group=group)
    return RenderedFiles(
        password_file, acl_file, conf_file, len(device_logins), len(service_logins)
    )
