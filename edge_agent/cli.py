"""``myenergy-agent``: the command line of the edge agent.

One function per subcommand (``run``, ``check-config``, ``models``); each has
help text that reads as its documentation (``myenergy-agent <command> --help``).
Exit status: 0 done, 1 failed while running, 2 refused to start (bad
configuration, a poll period the bus cannot carry, an unusable store).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from edge_agent import __version__
from edge_agent.config import (
    ENV_CONFIG_PATH,
    ENV_PREFIX,
    AgentConfig,
    ConfigError,
    load_config,
)

__all__ = ["main"]

DEFAULT_CONFIG = Path("/etc/myenergy/agent.toml")
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
_MASK = "**********"
_SECRETS = {("mqtt", "password")}

_DESCRIPTION = """\
MyEnergy edge agent: polls the site's meter over Modbus (RTU on RS-485, or TCP),
keeps one-minute records in a durable queue on disk, and uploads them over MQTT
(TLS, QoS 1) to the MyEnergy cloud. Records leave the queue only when the broker
has acknowledged them, so nothing is lost to a coverage gap, a broker restart or
a power cut.
"""

_CONFIG_HELP = f"""\
Configuration: a TOML file (see edge_agent/agent.sample.toml and docs/edge-agent.md)
given with --config, or in ${ENV_CONFIG_PATH}, or {DEFAULT_CONFIG}. Every setting
can be overridden by an environment variable {ENV_PREFIX}<SECTION>_<KEY>, e.g.
{ENV_PREFIX}MQTT_PASSWORD or {ENV_PREFIX}METER_POLL_S; the environment wins.
"""

_RUN_DESCRIPTION = f"""\
Run the agent until SIGTERM or SIGINT.

Every poll period (meter.poll_s, 1 s by default) the agent reads the meter, checks
each value against the meter map's range and the physical bounds of the channel
(values outside, and NaN, are dropped and counted, never uploaded), and builds
one record per minute: mean, min and max of every instantaneous quantity, the
energy counters at the end of the minute, and how many polls contributed.

Each record is written to the queue (store.path) first. The uplink sends the
newest records first, then any backlog oldest first, marked historical, and
deletes them when the broker's PUBACK arrives. While offline the queue grows;
when it reaches store.max_bytes, old minutes are merged into 15-minute records.

The device's status (queue depth, age of the oldest unsent record, Modbus error
counts, clock state, version) is published retained on its status topic on
change and hourly; if the connection dies, the broker publishes "offline".

The agent refuses to start, with the reason, when the configuration is invalid
or the poll period is shorter than the bus needs for one poll.

{_CONFIG_HELP}"""

_CHECK_DESCRIPTION = f"""\
Validate the configuration and print the settings in force, file and environment
combined, with secrets masked. Also checks that the serial bus can carry one poll
within the poll period. Opens no port, socket or file other than the config.

Exit status 0 when the agent would start with this configuration, 2 when not;
every problem is listed with its key and where the value came from.

{_CONFIG_HELP}"""


def _config_path(arg: str | None, env: Mapping[str, str]) -> Path:
    if arg:
        return Path(arg)
    if env.get(ENV_CONFIG_PATH):
        return Path(env[ENV_CONFIG_PATH])
    return DEFAULT_CONFIG


def _load(args: argparse.Namespace) -> AgentConfig:
    return load_config(_config_path(args.config, os.environ), os.environ)


# -- check-config --------------------------------------------------------------------


def effective_settings(config: AgentConfig) -> list[tuple[str, Any]]:
    """``(dotted key, value)`` of every setting, secrets masked."""

    def walk(data: Mapping[str, Any], prefix: tuple[str, ...]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for key, value in data.items():
            path = (*prefix, key)
            if isinstance(value, Mapping):
                out.extend(walk(value, path))
            elif path in _SECRETS and value is not None:
                out.append((".".join(path), _MASK))
            else:
                out.append((".".join(path), value))
        return out

    return walk(config.model_dump(mode="json"), ())


def cmd_check_config(args: argparse.Namespace) -> int:
    from edge_agent.agent import check_bus  # noqa: PLC0415 - imports pymodbus, paho
    from hardware.maps import load_map  # noqa: PLC0415
    from hardware.planner import BusBudgetError, plan_requests  # noqa: PLC0415

    try:
        config = _load(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    for key, value in effective_settings(config):
        print(f"{key} = {json.dumps(value)}")
    meter_map = load_map(config.meter.model)
    requests = plan_requests(meter_map)
    try:
        busy = check_bus(meter_map, requests, config, config.meter.poll_s)
    except BusBudgetError as exc:
        print(f"error: meter.poll_s: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if config.meter.transport == "rtu":
        print(
            f"# bus: {len(requests)} requests per poll take {busy * 1000:.1f} ms "
            f"of the {config.meter.poll_s * 1000:.0f} ms poll period"
        )
    print("# configuration OK")
    return EXIT_OK


# -- run ------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from edge_agent.agent import Agent  # noqa: PLC0415 - heavy imports after validation
    from edge_agent.logging_setup import configure_logging  # noqa: PLC0415
    from edge_agent.queue import QueueError  # noqa: PLC0415
    from hardware.planner import BusBudgetError  # noqa: PLC0415

    try:
        config = _load(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    configure_logging(config.log.level, config.log.format)
    try:
        agent = Agent(config)
    except BusBudgetError as exc:
        print(f"error: meter.poll_s: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except QueueError as exc:
        print(f"error: store.path: cannot open the queue: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as exc:  # e.g. a TLS certificate or key that does not load
        print(f"error: cannot start: {exc}", file=sys.stderr)
        return EXIT_REFUSED

    def on_signal(signum: int, frame: FrameType | None) -> None:
        agent.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        agent.run()
    except Exception:  # the loop survives the meter and the network; this is a bug
        import structlog  # noqa: PLC0415

        structlog.get_logger(__name__).exception("agent failed")
        return EXIT_FAILED
    return EXIT_OK


# -- models ---------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    from hardware.maps import available_models, load_map  # noqa: PLC0415

    for model in available_models():
        m = load_map(model)
        print(f"{model:10} {m.maker} {m.title} ({m.serial})")
    return EXIT_OK


# -- parser ---------------------------------------------------------------------------


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, width=88)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="myenergy-agent",
        description=_DESCRIPTION,
        epilog="Run 'myenergy-agent <command> --help' for the documentation of a command.",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    config_arg = argparse.ArgumentParser(add_help=False)
    config_arg.add_argument(
        "--config",
        "-c",
        metavar="PATH",
        help=f"configuration file (default: ${ENV_CONFIG_PATH}, else {DEFAULT_CONFIG})",
    )

    run = sub.add_parser(
        "run",
        parents=[config_arg],
        help="poll the meter and upload records until stopped",
        description=_RUN_DESCRIPTION,
        formatter_class=_formatter,
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser(
        "check-config",
        parents=[config_arg],
        help="validate the configuration and print the settings in force",
        description=_CHECK_DESCRIPTION,
        formatter_class=_formatter,
    )
    check.set_defaults(func=cmd_check_config)

    models = sub.add_parser(
        "models",
        help="list the meter models the agent can read",
        description=textwrap.dedent(
            """\
            List the meter models with a register map in hardware/maps, with their
            default serial line settings. The name goes into meter.model."""
        ),
        formatter_class=_formatter,
    )
    models.set_defaults(func=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
