"""``myenergy-ingest broker render``: write Mosquitto's password, ACL and listener files.

Renders from the registry: only active devices get a login; each device may
publish only myenergy/v1/<id>/{up,status,live} and read myenergy/v1/<id>/cmd;
service accounts get their role's topics. Files are replaced atomically; then
make Mosquitto reload them:

    kill -HUP "$(pidof mosquitto)"      # or: systemctl reload mosquitto
"""

from __future__ import annotations

import argparse
import grp
import sys
from pathlib import Path

from ingest.cli_common import db_parent
from ingest.registry import Listener, Registry, RegistryError, render_mosquitto


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "broker",
        help="Mosquitto security files rendered from the registry",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    render = actions.add_parser(
        "render",
        parents=[db_parent()],
        help="write passwd, acl (and myenergy.conf) into a directory",
        description="Write passwd and acl into --out (mode 0600, or 0640 with --group); "
        "with --cafile/--certfile/--keyfile also a myenergy.conf listener snippet "
        "for Mosquitto's include_dir. Reload Mosquitto afterwards (SIGHUP).",
    )
    render.add_argument("--out", required=True, type=Path, metavar="DIR")
    render.add_argument("--group", help="group that may read the files, e.g. mosquitto (mode 0640)")
    tls = render.add_argument_group("TLS listener (myenergy.conf is written only with these)")
    tls.add_argument("--cafile", type=Path, help="CA of client certificates")
    tls.add_argument("--certfile", type=Path, help="broker certificate (PEM)")
    tls.add_argument("--keyfile", type=Path, help="broker private key (PEM)")
    tls.add_argument("--port", type=int, default=8883, help="default 8883")
    tls.add_argument("--bind", default="", metavar="ADDRESS", help="default: all interfaces")
    tls.add_argument(
        "--require-certificate",
        action="store_true",
        help="clients also need a certificate signed by --cafile",
    )
    render.set_defaults(handler=_render)


def _listener(args: argparse.Namespace) -> Listener | None:
    given = [args.cafile, args.certfile, args.keyfile]
    if not any(given):
        return None
    if not all(given):
        raise SystemExit(
            "myenergy-ingest broker render: --cafile, --certfile, --keyfile go together"
        )
    return Listener(
        cafile=args.cafile.resolve(),
        certfile=args.certfile.resolve(),
        keyfile=args.keyfile.resolve(),
        port=args.port,
        bind_address=args.bind,
        require_certificate=args.require_certificate,
    )


def _render(args: argparse.Namespace) -> int:
    listener = _listener(args)
    gid = grp.getgrnam(args.group).gr_gid if args.group else None
    try:
        with Registry.open(args.db) as registry:
            files = render_mosquitto(registry, args.out, listener=listener, group=gid)
    except RegistryError as exc:
        print(f"myenergy-ingest broker: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {files.password_file} ({files.devices} devices, {files.services} services)")
    print(f"wrote {files.acl_file}")
    if files.conf_file is not None:
        print(f"wrote {files.conf_file}")
    print("reload Mosquitto to apply: kill -HUP $(pidof mosquitto)")
    return 0
