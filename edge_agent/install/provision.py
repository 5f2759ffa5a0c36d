"""``myenergy-install provision``: register the module with the portal, write the agent's
configuration, and wait until the first upload reaches the cloud (clauses 1.4, 1.6).

1. The meter: its model and line (port, slave id, baud rate, parity) from the last
   ``scan`` result in the state dir (or ``--scan-result FILE``); ``--port --slave
   --baud --parity --model`` give or override them.
2. The portal: an installer's login (``--user``; the password from ``--password-env``
   or asked) or a one-time provisioning code from the contract (``--code``).
   ``POST /api/v1/installations/provision`` registers the module and its meter and
   answers the device id and its MQTT login (the password only in that answer).
   Provisioning the same module again is safe: same device, a new password.
3. The agent's configuration (``--config``, default /etc/myenergy/agent.toml): written
   0600 and atomically, only once the agent's own loader accepts it. Whether it can be
   written is checked before the portal is called.
4. The first upload: ``GET /api/v1/installations/{device}/first-upload`` every few
   seconds (with the device's own login) until the portal has a record of it, or
   ``--wait`` seconds pass (exit 1 with what to check). ``--no-wait`` skips it.

Without coverage the portal cannot be reached, so no credentials: the command says so
and writes nothing (exit 1). Progress goes to stderr; ``--json`` prints one document.
The broker password is written to the configuration file only, never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from edge_agent.config import ENV_CONFIG_PATH, ConfigError
from edge_agent.install import results
from edge_agent.install.agent_config import (
    DEFAULT_CONFIG,
    DEFAULT_QUEUE,
    AgentSettings,
    check_writable,
    write_config,
)
from edge_agent.install.output import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, InstallError, emit
from edge_agent.install.portal_client import (
    PortalClient,
    PortalError,
    add_portal_options,
    open_portal,
)
from hardware.maps import available_models

__all__ = ["Meter", "add_parser", "meter_from", "run", "wait_for_upload"]

_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
POLL_S = 5.0

_HELP = """\
Register the communication module with the portal, write the agent's configuration
and wait for the first upload (General Terms 1.4, 1.6).

The meter's model and line settings come from the last `scan` (or --scan-result);
--port --slave --baud --parity --model give or override them. Log in as an installer
(--user, password from $MYENERGY_INSTALL_PASSWORD or --password-env, else asked) or
use the one-time code from the contract (--code). The configuration is written with
mode 0600 (it holds the broker password) and only if the agent accepts it.

Examples:
  myenergy-install provision --portal https://portal.example --user stoyan \\
      --contract MYE-2026-0042 --site varna-0009
  myenergy-install provision --portal https://portal.example --code ABCDE-FGHJK \\
      --contract MYE-2026-0042 --site varna-0009 --port /dev/ttyUSB0 --slave 7 \\
      --baud 19200 --parity E --model sdm630 --no-wait
"""


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "provision",
        help="register the module with the portal, write the agent config, await 1st upload",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_portal_options(parser)
    parser.add_argument("--contract", required=True, help="contract number, e.g. MYE-2026-0042")
    parser.add_argument("--site", required=True, help="the site's id in the contract")
    parser.add_argument(
        "--module-id", help="the communication module's id (default: cm-<site>, from the site)"
    )
    meter = parser.add_argument_group("meter (default: from the last scan)")
    meter.add_argument(
        "--scan-result",
        default="latest",
        metavar="latest|FILE|none",
        help="the scan result to take the meter from (default: the latest in the state dir)",
    )
    meter.add_argument("--port", help="serial port, e.g. /dev/ttyUSB0")
    meter.add_argument("--slave", type=int, help="Modbus slave id, 1-247")
    meter.add_argument("--baud", type=int, choices=_BAUDS, help="baud rate")
    meter.add_argument("--parity", choices=("N", "E", "O"), help="parity")
    meter.add_argument("--stopbits", type=int, choices=(1, 2), help="stop bits (default 1)")
    meter.add_argument("--model", choices=available_models(), help="meter model (hardware map)")
    meter.add_argument("--serial", help="the meter's serial number (from its label)")
    agent = parser.add_argument_group("agent configuration")
    agent.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get(ENV_CONFIG_PATH, DEFAULT_CONFIG)),
        help=f"the agent's configuration file (default ${ENV_CONFIG_PATH} or {DEFAULT_CONFIG})",
    )
    agent.add_argument(
        "--queue",
        type=Path,
        default=DEFAULT_QUEUE,
        help=f"the agent's queue (default {DEFAULT_QUEUE})",
    )
    agent.add_argument(
        "--ca-file", type=Path, help="CA certificate of the broker (default: system)"
    )
    wait = parser.add_argument_group("first upload")
    wait.add_argument(
        "--wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for the first upload (default 300)",
    )
    wait.add_argument("--no-wait", action="store_true", help="do not wait for the first upload")
    wait.add_argument("--poll", type=float, default=POLL_S, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


# -- the meter ------------------------------------------------------------------------------


class Meter:
    """The meter's model and line: what provisioning registers and the agent polls."""

    def __init__(
        self,
        *,
        model: str,
        port: str,
        slave: int,
        baud: int,
        parity: str,
        bytesize: int = 8,
        stopbits: int = 1,
        serial: str | None = None,
        source: str = "command line",
    ) -> None:
        self.model = model
        self.port = port
        self.slave = slave
        self.baud = baud
        self.parity = parity
        self.bytesize = bytesize
        self.stopbits = stopbits
        self.serial = serial
        self.source = source

    def body(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "serial": self.serial,
            "slave": self.slave,
            "baud": self.baud,
            "parity": self.parity,
            "stopbits": self.stopbits,
        }


def _refuse(code: str, bg: str, en: str) -> PortalError:
    return PortalError(code, bg, en, exit_code=EXIT_REFUSED)


def _scan_result(args: argparse.Namespace) -> tuple[dict[str, Any] | None, str]:
    choice = args.scan_result
    if choice == "none":
        return None, "none"
    if choice == "latest":
        return results.latest(args.state_dir, "scan"), f"latest scan in {args.state_dir}"
    path = Path(choice)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _refuse(
            "bad_arguments",
            f"резултатът от сканиране {path} не се чете",
            f"cannot read the scan result {path}: {exc}",
        ) from None
    return (data if isinstance(data, dict) else None), str(path)


def _pick(meters: list[dict[str, Any]], slave: int | None) -> dict[str, Any] | None:
    if slave is not None:
        return next((m for m in meters if m.get("slave") == slave), None)
    if len(meters) > 1:
        found = ", ".join(f"{m.get('model')} slave {m.get('slave')}" for m in meters)
        raise _refuse(
            "several_meters",
            f"сканирането намери няколко мултиметъра ({found}): изберете с --slave",
            f"the scan found several meters ({found}): choose one with --slave",
        )
    return meters[0] if meters else None


def meter_from(args: argparse.Namespace) -> Meter:
    """The meter from the scan result, with the command line's values over it."""
    scan, where = _scan_result(args)
    meters = [m for m in (scan or {}).get("meters", []) if isinstance(m, dict)]
    found = _pick(meters, args.slave) or {}
    values = {
        "model": args.model or found.get("model"),
        "port": args.port or found.get("port"),
        "slave": args.slave if args.slave is not None else found.get("slave"),
        "baud": args.baud or found.get("baud"),
        "parity": args.parity or found.get("parity"),
    }
    missing = [f"--{k}" for k, v in values.items() if v in (None, "")]
    if missing:
        raise _refuse(
            "no_meter",
            "няма данни за мултиметъра (пуснете `myenergy-install scan` или дайте "
            f"{' '.join(missing)})",
            f"the meter is not known: run `myenergy-install scan` first or give "
            f"{' '.join(missing)} ({where}: {'no meter' if not found else 'incomplete'})",
        )
    model = str(values["model"])
    if model not in available_models():
        raise _refuse(
            "bad_arguments",
            f"непознат модел {model!r}",
            f"unknown meter model {model!r}; known: {', '.join(available_models())}",
        )
    slave = int(values["slave"])  # type: ignore[arg-type]
    baud = int(values["baud"])  # type: ignore[arg-type]
    if not 1 <= slave <= 247 or baud not in _BAUDS:
        raise _refuse(
            "bad_arguments",
            "адресът е 1-247, скоростта стандартна",
            f"slave id must be 1-247 and the baud rate one of {', '.join(map(str, _BAUDS))}",
        )
    return Meter(
        model=model,
        port=str(values["port"]),
        slave=slave,
        baud=baud,
        parity=str(values["parity"]),
        bytesize=int(found.get("bytesize", 8)),
        stopbits=args.stopbits or int(found.get("stopbits", 1)),
        serial=args.serial,
        source="command line" if not found else where,
    )


# -- waiting for the first upload ----------------------------------------------------------------


def wait_for_upload(
    client: PortalClient,
    device_id: str,
    login: tuple[str, str],
    *,
    wait_s: float,
    poll_s: float,
    say: Callable[[str], None],
    since: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll first-upload (uploads from ``since``, the provisioning answer's time, on)
    until it says uploaded or ``wait_s`` pass: the last answer, with ``waited_s``. A
    portal out of reach meanwhile is tried again (coverage at a panel comes and goes);
    a refusal is raised."""
    started = clock()
    last: dict[str, Any] = {"uploaded": False, "records": 0, "last_seen": None}
    path = f"/installations/{device_id}/first-upload"
    if since:
        path += "?" + urlencode({"since": since})
    while True:
        try:
            last = client.get_json(path, auth=login)
        except PortalError as error:
            if error.code != "portal_unreachable":
                raise
            say("порталът е недостъпен, нов опит / portal unreachable, retrying")
        waited = clock() - started
        if last.get("uploaded"):
            return {**last, "waited_s": round(waited, 1)}
        if waited >= wait_s:
            return {**last, "waited_s": round(waited, 1)}
        say(
            f"чакане на първото изпращане / waiting for the first upload: "
            f"{waited:.0f}/{wait_s:.0f} s"
        )
        sleep(min(poll_s, max(0.0, wait_s - waited)))


# -- the command ---------------------------------------------------------------------------


def _say(line: str) -> None:
    """Progress for the technician: stderr, so ``--json``'s stdout stays one document."""
    print(line, file=sys.stderr, flush=True)


def _settings(answer: Mapping[str, Any], meter: Meter, args: argparse.Namespace) -> AgentSettings:
    mqtt = answer["mqtt"]
    return AgentSettings(
        device_id=str(answer["device_id"]),
        model=meter.model,
        port=meter.port,
        slave_id=meter.slave,
        baudrate=meter.baud,
        parity=meter.parity,
        bytesize=meter.bytesize,
        stopbits=meter.stopbits,
        mqtt_host=str(mqtt["host"]),
        mqtt_port=int(mqtt["port"]),
        mqtt_tls=bool(mqtt["tls"]),
        mqtt_protocol=str(mqtt.get("protocol", "5")),
        username=str(mqtt["username"]),
        password=str(mqtt["password"]),
        queue_path=args.queue,
        ca_file=args.ca_file,
    )


def _text(result: Mapping[str, Any]) -> str:
    mqtt = result["mqtt"]
    lines = [
        f"регистрирано / provisioned: {result['device_id']} (модул / module "
        f"{result['module_id']}, обект / site {result['site_id']}, договор / contract "
        f"{result['contract']}){'' if result['created'] else ' — повторно / again'}",
        f"мултиметър / meter: {result['meter']['model']} на / at {result['meter']['port']} "
        f"{result['meter']['baud']} {result['meter']['parity']} slave {result['meter']['slave']}",
        f"MQTT: {mqtt['host']}:{mqtt['port']} {'TLS' if mqtt['tls'] else 'без TLS / no TLS'}, "
        f"потребител / user {mqtt['username']}",
        f"конфигурация / config: {result['config']} (0600)",
    ]
    upload = result.get("first_upload")
    if upload is None:
        lines.append("първо изпращане: не е изчакано / first upload: not awaited (--no-wait)")
    elif upload.get("uploaded") and upload.get("records"):
        lines.append(
            f"първото изпращане е получено / first upload received: {upload.get('records')} "
            f"записа / records, последно / last seen {upload.get('last_seen')}"
        )
    elif upload.get("uploaded"):
        lines.append(
            "първото изпращане е получено: модулът е на линия, записите идват със следващото "
            "изпращане (по подразбиране на 15 мин) / first upload received: the module is "
            "online (its status reached the portal at "
            f"{upload.get('status_at')}); its records follow with the next upload round "
            "(every 15 min by default)"
        )
    return "\n".join(lines)


def _not_uploaded(args: argparse.Namespace, device_id: str) -> str:
    return (
        f"няма изпращане от {device_id} за {args.wait:.0f} s. Проверете: услугата на агента "
        "работи (`systemctl status myenergy-agent`, `journalctl -u myenergy-agent`); "
        "мобилното покритие; че конфигурацията е "
        f"{args.config} / no upload from {device_id} within {args.wait:.0f} s. Check: the agent "
        "service is running (`systemctl status myenergy-agent`, `journalctl -u "
        "myenergy-agent`); the mobile coverage; that the agent reads "
        f"{args.config}. Provisioning again is safe."
    )


def _no_credentials(error: PortalError) -> PortalError:
    """Out of coverage, provisioning cannot work offline like the other commands: say so."""
    if error.code != "portal_unreachable":
        return error
    return PortalError(
        error.code,
        f"{error.message_bg}. Без портала модулът не получава данни за вход (MQTT): "
        "нищо не е записано; регистрирайте отново, когато има покритие",
        f"{error.message_en}. Without the portal the module gets no MQTT credentials: "
        "nothing was written; provision again where there is coverage",
    )


def run(args: argparse.Namespace) -> int:
    if args.wait <= 0 or args.poll <= 0:
        raise InstallError("bad_arguments", "--wait and --poll must be > 0", exit_code=EXIT_REFUSED)
    meter = meter_from(args)
    problem = check_writable(args.config)
    if problem is not None:
        raise PortalError(
            "permission_denied",
            f"конфигурацията не може да се запише ({problem}): пуснете със sudo или дайте --config",
            f"cannot write the configuration ({problem}): run with sudo or give --config",
            exit_code=EXIT_REFUSED,
        )
    say = _say
    body: dict[str, Any] = {
        "contract_number": args.contract,
        "site_id": args.site,
        "meter": meter.body(),
    }
    if args.module_id:
        body["module_id"] = args.module_id
    try:
        client = open_portal(args)
    except PortalError as error:
        raise _no_credentials(error) from None
    with client:
        if not client.logged_in:
            body["provisioning_code"] = args.code
        say(f"регистриране / provisioning at {client.base_url} ...")
        try:
            answer = client.post_json("/installations/provision", body)
        except PortalError as error:
            raise _no_credentials(error) from None
        settings = _settings(answer, meter, args)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            write_config(
                args.config,
                settings,
                header=(
                    f"MyEnergy agent configuration, written by `myenergy-install provision` "
                    f"at {stamp}\nfor contract {args.contract}, site {args.site}. Holds the "
                    "broker password: keep it 0600.\nReference: docs/edge-agent.md"
                ),
            )
        except ConfigError as exc:
            raise PortalError(
                "config_invalid",
                "агентът не би приел конфигурацията; нищо не е променено",
                f"the agent would refuse the configuration, nothing was changed: {exc}",
            ) from None
        except OSError as exc:
            raise PortalError(
                "permission_denied" if isinstance(exc, PermissionError) else "write_failed",
                f"конфигурацията не е записана ({exc.strerror}): пуснете отново със sudo; "
                "повторната регистрация е безопасна",
                f"the configuration was not written ({exc}): run again with sudo; "
                "provisioning again is safe",
            ) from None
        say(f"конфигурацията е записана / configuration written: {args.config}")
        result: dict[str, Any] = {
            "ok": True,
            "kind": "provision",
            "device_id": settings.device_id,
            "module_id": answer.get("module_id"),
            "site_id": args.site,
            "contract": args.contract,
            "created": bool(answer.get("created", True)),
            "meter": {**meter.body(), "port": meter.port, "source": meter.source},
            # Never the password: it is in the configuration file only.
            "mqtt": {k: answer["mqtt"][k] for k in ("host", "port", "tls", "username")},
            "config": str(args.config),
            "first_upload": None,
        }
        if not args.no_wait:
            upload = wait_for_upload(
                client,
                settings.device_id,
                (settings.username, settings.password),
                wait_s=args.wait,
                poll_s=args.poll,
                say=say,
                since=answer.get("provisioned_at"),
            )
            result["first_upload"] = upload
            if not upload.get("uploaded"):
                message = _not_uploaded(args, settings.device_id)
                result["ok"] = False
                result["error"] = {"code": "no_upload", "message": message}
                if args.json:
                    emit(result, as_json=True, text=_text)
                print(f"myenergy-install: {message}", file=sys.stderr)
                return EXIT_FAILED
    emit(result, as_json=args.json, text=_text)
    return EXIT_OK
