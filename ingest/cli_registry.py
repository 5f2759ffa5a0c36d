"""``myenergy-ingest registry``: register devices and service accounts, change their state.

A password is printed once, by ``add``, ``add-service`` and ``rotate-password``:
the registry keeps only salted hashes. Changes reach the broker at the next
``myenergy-ingest broker render`` and Mosquitto reload (SIGHUP).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable

from hardware.maps import available_models
from ingest.cli_common import db_parent
from ingest.registry import DeviceState, Registry, RegistryError, ServiceRole

RENDER_HINT = "takes effect on the broker after `myenergy-ingest broker render` and a SIGHUP"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "registry",
        help="devices and cloud service accounts allowed on the broker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    db = db_parent()

    add = actions.add_parser(
        "add",
        parents=[db],
        help="register an active device and print its password once",
        description=f"Register an active device and print its password once; {RENDER_HINT}.",
    )
    add.add_argument("device_id", help="3-32 characters of a-z, 0-9, '-' (its MQTT username)")
    add.add_argument("--site", required=True, help="id of the site the device measures")
    add.add_argument(
        "--model", required=True, choices=available_models(), help="meter model on its bus"
    )
    add.add_argument(
        "--installed-at",
        type=_utc_timestamp,
        help="ISO 8601 time with offset (default: now), e.g. 2026-11-20T09:30:00+02:00",
    )
    add.set_defaults(handler=_with_registry(_add))

    listing = actions.add_parser(
        "list", parents=[db], help="list devices", description="List devices, ordered by id."
    )
    listing.add_argument("--state", choices=[s.value for s in DeviceState])
    listing.add_argument("--site", help="only this site's devices")
    listing.set_defaults(handler=_with_registry(_list))

    for name, state, text in (
        ("suspend", DeviceState.SUSPENDED, "bar a device from the broker (reversible)"),
        ("activate", DeviceState.ACTIVE, "let a suspended device connect again"),
        ("retire", DeviceState.RETIRED, "retire a device for good (its id is never reused)"),
    ):
        sub = actions.add_parser(
            name, parents=[db], help=text, description=f"{text.capitalize()}; {RENDER_HINT}."
        )
        sub.add_argument("device_id")
        sub.set_defaults(handler=_with_registry(_set_state), state=state)

    rotate = actions.add_parser(
        "rotate-password",
        parents=[db],
        help="new password for a device or service account, printed once",
        description=f"Replace the password of a device or service account; {RENDER_HINT}.",
    )
    rotate.add_argument("name", help="device id, or service account name (svc_...)")
    rotate.set_defaults(handler=_with_registry(_rotate))

    service = actions.add_parser(
        "add-service",
        parents=[db],
        help="create a cloud service's broker login, printed once",
        description="Create a cloud service's broker login (ingest workers, portal); "
        f"its password is printed once; {RENDER_HINT}.",
    )
    service.add_argument("name", help="svc_ then 1-28 of a-z, 0-9, '-', e.g. svc_ingest")
    service.add_argument("--role", required=True, choices=[r.value for r in ServiceRole])
    service.set_defaults(handler=_with_registry(_add_service))


def _utc_timestamp(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset")
    return value.astimezone(dt.UTC)


def _print_password(name: str, password: str) -> None:
    print(f"Password for {name} (shown only now; the registry keeps only a hash):")
    print(password)


def _with_registry(
    action: Callable[[Registry, argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A handler that opens (and migrates) the registry, runs `action`, and turns
    registry errors into a message and exit status 1."""

    def handler(args: argparse.Namespace) -> int:
        try:
            with Registry.open(args.db) as registry:
                return action(registry, args)
        except RegistryError as exc:
            print(f"myenergy-ingest registry: {exc}", file=sys.stderr)
            return 1

    return handler


def _add(registry: Registry, args: argparse.Namespace) -> int:
    password = registry.add_device(
        args.device_id, args.site, args.model, installed_at=args.installed_at
    )
    _print_password(args.device_id, password)
    return 0


def _list(registry: Registry, args: argparse.Namespace) -> int:
    state = DeviceState(args.state) if args.state else None
    devices = registry.list(state=state, site_id=args.site)
    print(f"{'DEVICE':<32}  {'SITE':<20}  {'MODEL':<8}  {'STATE':<9}  INSTALLED (UTC)")
    for d in devices:
        installed = d.installed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        print(f"{d.id:<32}  {d.site_id:<20}  {d.meter_model:<8}  {d.state.value:<9}  {installed}")
    return 0


def _set_state(registry: Registry, args: argparse.Namespace) -> int:
    device = registry.set_state(args.device_id, args.state)
    print(f"{device.id}: {device.state.value} ({RENDER_HINT})")
    return 0


def _rotate(registry: Registry, args: argparse.Namespace) -> int:
    _print_password(args.name, registry.rotate_password(args.name))
    print(f"The old password stays valid until the broker reloads ({RENDER_HINT}).")
    return 0


def _add_service(registry: Registry, args: argparse.Namespace) -> int:
    _print_password(args.name, registry.add_service_account(args.name, ServiceRole(args.role)))
    return 0
