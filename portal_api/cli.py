"""``myenergy-portal``: the portal's command line.

    myenergy-portal run           serve the portal (uvicorn); migrates the database first
    myenergy-portal migrate       apply the database migrations and exit
    myenergy-portal user add      create a login (customer or staff)
    myenergy-portal user passwd   set a login's password (asked twice, or from stdin)
    myenergy-portal seed-demo     add the demo customers, sites, devices and users
    myenergy-portal outbox send   send the queued e-mails (once, or --loop)
    myenergy-portal interruptions scan   propose interruptions for devices silent > 6 h (5.2)

Every command reads the configuration from ``--config`` (or the file named by
MYENERGY_PORTAL_CONFIG) with MYENERGY_PORTAL_<SECTION>_<KEY> overrides, and
validates it before any I/O. Passwords are never taken on the command line
(they would stay in the shell history and the process list).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from portal_api.config import ENV_CONFIG_PATH, ConfigError, PortalConfig, load_config

if TYPE_CHECKING:
    from portal_api.web.services import Services

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, PortalConfig], int]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- run / migrate ------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace, config: PortalConfig) -> int:
    import uvicorn  # noqa: PLC0415 - only the server command needs it

    from portal_api.web.app import create_app  # noqa: PLC0415

    host = args.host or config.http.host
    port = args.port if args.port is not None else config.http.port
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=config.log.level.lower(),
        proxy_headers=bool(config.http.trusted_proxies),
        forwarded_allow_ips=list(config.http.trusted_proxies) or None,
    )
    return 0


def cmd_migrate(args: argparse.Namespace, config: PortalConfig) -> int:
    from portal_api.db.migrate import migrate  # noqa: PLC0415

    del args
    migrate(config.database.url)
    print("database migrated")
    return 0


# -- users ---------------------------------------------------------------------------------


def _read_password(args: argparse.Namespace, minimum: int) -> str | None:
    """The new password from stdin (``--password-stdin``) or asked twice on the terminal."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            print("the passwords differ", file=sys.stderr)
            return None
    if len(password) < minimum:
        print(f"the password needs at least {minimum} characters", file=sys.stderr)
        return None
    return password


def _services(config: PortalConfig) -> Services:
    from portal_api.web.services import build_services  # noqa: PLC0415

    return build_services(config, with_live=False)


def cmd_user_add(args: argparse.Namespace, config: PortalConfig) -> int:
    from portal_api.accounts.errors import AccountError  # noqa: PLC0415

    password = _read_password(args, config.security.password_min_length)
    if password is None:
        return 2
    services = _services(config)
    try:
        customer_id = None
        if args.customer:
            customer_id = services.directory.customer_id_by_number(args.customer)
            if customer_id is None:
                print(f"no customer with number {args.customer}", file=sys.stderr)
                return 1
        created = services.accounts.create_user(
            args.username,
            args.role,
            args.name or args.username,
            email=args.email,
            customer_id=customer_id,
            language=args.language,
            password=password,
        )
    except AccountError as exc:
        print(f"not added: {exc.message_en}", file=sys.stderr)
        return 1
    finally:
        services.close()
    user = created.user
    print(f"user {user.username} added (id {user.id}, role {user.role.value})")
    return 0


def cmd_user_passwd(args: argparse.Namespace, config: PortalConfig) -> int:
    from portal_api.accounts.errors import AccountError  # noqa: PLC0415

    password = _read_password(args, config.security.password_min_length)
    if password is None:
        return 2
    services = _services(config)
    try:
        user = services.accounts.find_user(args.username)
        if user is None:
            print(f"no user {args.username.lower()}", file=sys.stderr)
            return 1
        services.accounts.set_password(user.id, password)
    except AccountError as exc:
        print(f"password not set: {exc.message_en}", file=sys.stderr)
        return 1
    finally:
        services.close()
    print(f"password of {user.username} set")
    return 0


# -- seed-demo / outbox ----------------------------------------------------------------------


def cmd_seed_demo(args: argparse.Namespace, config: PortalConfig) -> int:
    from portal_api.db.engine import make_engine, session_factory  # noqa: PLC0415
    from portal_api.db.migrate import migrate  # noqa: PLC0415
    from portal_api.seed import seed_demo  # noqa: PLC0415

    del args
    migrate(config.database.url)
    engine = make_engine(config.database.url)
    try:
        result = seed_demo(session_factory(engine), config.security.identifier_keys(), now=_now())
    finally:
        engine.dispose()
    print(
        f"demo data: {result.customers} customers, {result.sites} sites, "
        f"{result.devices} devices, {result.users} users added"
    )
    return 0


def cmd_outbox_send(args: argparse.Namespace, config: PortalConfig) -> int:
    from portal_api.db.engine import make_engine, session_factory  # noqa: PLC0415
    from portal_api.notify.smtp import SmtpSender  # noqa: PLC0415

    engine = make_engine(config.database.url)
    sender = SmtpSender(config.smtp, session_factory(engine))
    try:
        while True:
            report = sender.deliver_pending()
            print(
                f"sent {report.sent}, retrying {report.retrying}, given up {report.given_up}",
                flush=True,
            )
            if not args.loop:
                return 0 if report.given_up == 0 else 1
            time.sleep(config.smtp.poll_s)
    except KeyboardInterrupt:
        return 0
    finally:
        engine.dispose()


def cmd_daily(args: argparse.Namespace, config: PortalConfig) -> int:
    """The contract engine's day (issue 5): invoices, interest, proposals, notices."""
    from ingest.store import open_store  # noqa: PLC0415
    from ingest.store.base import TimeSeriesStore  # noqa: PLC0415
    from portal_api.consumption.service import ConsumptionService  # noqa: PLC0415
    from portal_api.contracts.daily import SOFIA, run_daily  # noqa: PLC0415
    from portal_api.contracts.settings import billing_settings, rate_table  # noqa: PLC0415
    from portal_api.db.engine import make_engine, session_factory  # noqa: PLC0415
    from portal_api.domain.workdays import WorkingDays  # noqa: PLC0415

    if config.billing is None:
        print("the [billing] section is required for the daily run", file=sys.stderr)
        return 2
    now = _now()
    on = args.date if args.date is not None else now.astimezone(SOFIA).date()
    billing = billing_settings(config.billing)
    rates = rate_table(config.billing)
    engine = make_engine(config.database.url)
    # 5.2: the silence scan reads the time-series store; a store that cannot be opened
    # costs the scan, never the day's invoices, interest and notices (exit 1 says so).
    try:
        store: TimeSeriesStore | None = open_store(config.store.store_config())
    except Exception as exc:
        store = None
        store_problem = f"{type(exc).__name__}: {exc}"
    try:
        report = run_daily(
            session_factory(engine),
            on,
            calendar=WorkingDays(),
            rates=rates,
            billing=billing,
            now=now,
            statuses=None if store is None else ConsumptionService(store),
        )
    finally:
        if store is not None:
            store.close()
        engine.dispose()
    if store is None:
        report.failed.append(("silence scan", f"the time-series store: {store_problem}"))
    for line in report.lines():
        print(line, flush=True)
    return 0 if not report.failed else 1


def _aware(value: str) -> dt.datetime:
    """An ISO 8601 time with its UTC offset (argparse type); a naive one is refused."""
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise argparse.ArgumentTypeError("give the time with its UTC offset, e.g. +02:00 or Z")
    return moment


def cmd_interruptions_scan(args: argparse.Namespace, config: PortalConfig) -> int:
    """5.2: propose an unplanned interruption for every device silent more than 6 hours."""
    from ingest.store import open_store  # noqa: PLC0415
    from portal_api.consumption.service import ConsumptionService  # noqa: PLC0415
    from portal_api.contracts.daily_interruptions import silence_step  # noqa: PLC0415
    from portal_api.db.engine import make_engine, session_factory  # noqa: PLC0415

    now = args.at if args.at is not None else _now()
    engine = make_engine(config.database.url)
    store = open_store(config.store.store_config())
    try:
        report = silence_step(session_factory(engine), ConsumptionService(store), now)
    finally:
        store.close()
        engine.dispose()
    for line in report.lines():
        print(line, flush=True)
    for decision_id in report.proposed:
        print(f"  proposed: decision {decision_id}", flush=True)
    return 0


# -- parser ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myenergy-portal",
        description="MyEnergy portal: web dashboards and API, accounts, e-mail outbox.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"portal TOML file (default: ${ENV_CONFIG_PATH}; see portal_api/portal.sample.toml)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="serve the portal with uvicorn")
    run.add_argument("--host", help="listen address (default: [http] host)")
    run.add_argument("--port", type=int, help="listen port (default: [http] port)")
    run.set_defaults(handler=cmd_run)

    migrate = commands.add_parser("migrate", help="apply the database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    user = commands.add_parser("user", help="logins: add, passwd")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="create a login; the password is asked")
    add.add_argument("username")
    add.add_argument(
        "--role", required=True, choices=["customer", "operator", "installer", "admin"]
    )
    add.add_argument("--customer", help="customer number (10 digits), for role customer")
    add.add_argument("--email", help="e-mail address (password reset links go there)")
    add.add_argument("--name", help="display name")
    add.add_argument("--language", choices=["bg", "en"], default="bg")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(handler=cmd_user_add)
    passwd = user_commands.add_parser("passwd", help="set a login's password; unlocks it")
    passwd.add_argument("username")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    passwd.set_defaults(handler=cmd_user_passwd)

    seed = commands.add_parser("seed-demo", help="add the demo customers, sites and users")
    seed.set_defaults(handler=cmd_seed_demo)

    outbox = commands.add_parser("outbox", help="the e-mail outbox")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    send = outbox_commands.add_parser("send", help="send the queued e-mails through SMTP")
    send.add_argument("--loop", action="store_true", help="keep sending every [smtp] poll_s")
    send.set_defaults(handler=cmd_outbox_send)
    daily = commands.add_parser(
        "daily", help="the contract engine's day: invoices, interest, proposals, notices"
    )
    daily.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day to run (default: today in Europe/Sofia); re-running a day is safe",
    )
    daily.set_defaults(handler=cmd_daily)
    interruptions = commands.add_parser("interruptions", help="interruptions of the service")
    interruption_commands = interruptions.add_subparsers(
        dest="interruptions_command", required=True, metavar="ACTION"
    )
    scan = interruption_commands.add_parser(
        "scan", help="propose interruptions for devices silent more than 6 hours (5.2)"
    )
    scan.add_argument(
        "--at",
        type=_aware,
        default=None,
        metavar="ISO",
        help="the moment to judge silence at (default: now), with its UTC offset",
    )
    scan.set_defaults(handler=cmd_interruptions_scan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = args.config
    if path is None and os.environ.get(ENV_CONFIG_PATH):
        path = Path(os.environ[ENV_CONFIG_PATH])
    try:
        config = load_config(path, os.environ)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    handler: Handler = args.handler
    return handler(args, config)


if __name__ == "__main__":
    sys.exit(main())
