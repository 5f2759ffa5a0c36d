"""``myenergy-stack``: the whole stack on one machine, and a live view of what it uploads.

What runs is :mod:`simulators.stack_run`; what the view shows is
:mod:`simulators.stack_view` (a terminal) or :mod:`simulators.stack_lines`
(anything else). This module is the command line: options, signals, the main
loop, exit status (0 stopped cleanly, 1 an agent failed while running, 2 refused
to start). docs/stack.md is the user's guide.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from edge_agent.logging_setup import configure_logging
from portal_api.seed import DEMO_PASSWORD
from simulators.cli_common import sigterm_as_interrupt
from simulators.history import DAY_S
from simulators.stack_format import SITE_TZ, local_iso
from simulators.stack_keys import KeyReader, keys_available
from simulators.stack_lines import event_line, final_lines, logfmt
from simulators.stack_run import DEFAULT_METERS, FLAKY_AUTO, Stack, StackError, StackOptions
from simulators.stack_settings import (
    ENV_CONFIG_PATH,
    ConfigError,
    StackSettings,
    load_stack_settings,
)
from simulators.stack_state import Event
from simulators.stack_view import ViewContext, render

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
LOG_NAME = "stack.log"

_DESCRIPTION = """\
Run the whole of MyEnergy on this machine, and watch what the devices upload.

  broker    an MQTT broker on 127.0.0.1 (Mosquitto, or amqtt inside this process)
  ingest    the cloud's ingest worker in this process: consumer, validation,
            time-series store and rollups (SQLite under --state-dir), registry
  portal    the web portal on http://127.0.0.1:8000 (or the next free port),
            with demo customers, sites and logins; it prints them at start
  history   on a fresh --state-dir, 2 days of one-minute records per device,
            through ingest, so the portal has history from the first minute
  meters    N simulated meters (SDM630, EM340, PM5100, SDM120, then again), each
            on its own pseudo-terminal with real RS-485 line timing, each
            measuring a simulated site (households, businesses, PV)
  agents    one edge agent per meter, in this process: it polls its meter over
            Modbus RTU, builds one-minute records, keeps them in its own SQLite
            queue under --state-dir and uploads them to the broker (QoS 1); the
            SDM120's goes through a flaky mobile link (cuts, blackholes, 2G)
  viewer    an MQTT subscriber that decodes what the agents actually uploaded
            (records, retained status, live samples), as the cloud would

A configuration file (--config, or $MYENERGY_STACK_CONFIG) and MYENERGY_STACK_*
variables point the same command at Mosquitto, InfluxDB and PostgreSQL instead
of the embedded defaults (docs/stack.md, simulators/stack.sample.toml).

On a terminal the viewer is a live table, redrawn twice a second; otherwise (a
pipe, a file, --plain) it prints one logfmt line per message received. Keys in
the table: l = live mode on every device, s = stop live mode, q = quit.

Simulated time runs --speed times faster for meters and agents alike. At --speed
30 a one-minute record arrives every two seconds; the agents then poll every 15
or 30 simulated seconds, because the serial lines keep real time (see
docs/stack.md). Agent logs (JSON lines) go to STATE_DIR/stack.log.
"""

_EPILOG = """\
examples:
  myenergy-stack                          four meters in real time, until Ctrl-C
  myenergy-stack --speed 30               a minute every two seconds
  myenergy-stack --meters 3 --live all    without the SDM120; live mode at once
  myenergy-stack --config stack.toml      Mosquitto, InfluxDB, PostgreSQL of the file
  myenergy-stack --start 2026-06-21T12:00 --speed 30   midsummer noon: PV exports
  myenergy-stack --plain --duration 60 --speed 30 > run.log   for scripts

exit status: 0 stopped (Ctrl-C, SIGTERM, q or --duration), 1 an agent failed
while running, 2 refused to start (bad option, broker missing, state dir busy).
"""


def _positive(kind: type[float] | type[int], what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{what} must be > 0, got {text}")
        return value

    return parse


def _non_negative(what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{what} must be >= 0, got {text}")
        return value

    return parse


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0..65535, got {port}")
    return port


def _start_time(text: str) -> float:
    """ISO 8601 (no offset = Europe/Sofia, where the sites are) or unix seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--start takes ISO 8601 (2026-06-21T12:00, Sofia time unless an offset is "
            f"given) or unix seconds, got {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=SITE_TZ)
    return when.timestamp()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="myenergy-stack",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = p.add_argument_group("what runs")
    what.add_argument(
        "--meters",
        type=_positive(int, "--meters"),
        default=DEFAULT_METERS,
        metavar="N",
        help=f"number of simulated meters and agents (default {DEFAULT_METERS}: SDM630, "
        "EM340, PM5100 and a single-phase SDM120; then the models repeat)",
    )
    what.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ[ENV_CONFIG_PATH]) if os.environ.get(ENV_CONFIG_PATH) else None,
        metavar="FILE",
        help=f"stack settings (TOML; default ${ENV_CONFIG_PATH}): an external broker, "
        "InfluxDB, PostgreSQL instead of the embedded defaults; MYENERGY_STACK_<SECTION>_"
        "<KEY> variables override it",
    )
    what.add_argument(
        "--history-days",
        type=_non_negative("--history-days"),
        metavar="D",
        help="days of one-minute history each device gets through ingest when the store "
        "has none of its records yet (default: the settings' history.days, 2; 0: none)",
    )
    what.add_argument(
        "--no-portal",
        action="store_true",
        help="do not start the web portal (ingest still runs)",
    )
    what.add_argument(
        "--portal-port",
        type=_port,
        metavar="PORT",
        help="first port the portal tries on 127.0.0.1 (default 8000; the next free one "
        "if it is taken)",
    )
    what.add_argument(
        "--flaky-link",
        default=FLAKY_AUTO,
        metavar="DEVICE",
        help="the device whose agent reaches the broker through a flaky mobile link "
        "(cuts, blackholes, throttling; default auto: the SDM120; 'none': no such link)",
    )
    what.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "amqtt"),
        default="auto",
        help="auto (default): Mosquitto if installed, else amqtt in this process, and "
        "the agents then speak MQTT 3.1.1; mosquitto: fail if it is not installed",
    )
    what.add_argument(
        "--mqtt-port",
        type=_port,
        default=0,
        metavar="PORT",
        help="broker port on 127.0.0.1 (default 0: a free port, shown in the view)",
    )
    what.add_argument(
        "--state-dir",
        type=Path,
        default=Path("var/stack"),
        metavar="DIR",
        help="the agents' queues (DIR/<device>/queue.sqlite3), the meters' counters, "
        "the simulated clock, Mosquitto's data and stack.log (default ./var/stack). "
        "All carry over to the next run, as on a real module; remove DIR to start afresh",
    )
    time_ = p.add_argument_group("time")
    time_.add_argument(
        "--speed",
        type=_positive(float, "--speed"),
        default=1.0,
        metavar="X",
        help="simulated seconds per real second for meters and agents (default 1; "
        "try 30). Too fast for a meter's serial line is refused with the limit",
    )
    time_.add_argument(
        "--start",
        type=_start_time,
        metavar="TIME",
        help="simulated time at start: ISO 8601, Sofia time unless an offset is given "
        "(2026-06-21T12:00), or unix seconds (default: now, or where the last run on "
        "--state-dir ended if that is later: simulated time never goes back)",
    )
    time_.add_argument(
        "--duration",
        type=_positive(float, "--duration"),
        metavar="S",
        help="stop by itself after S real seconds (default: run until Ctrl-C, SIGTERM or q)",
    )
    view = p.add_argument_group("view")
    view.add_argument(
        "--plain",
        action="store_true",
        help="print one line per message received instead of the table (the default "
        "when stdout is not a terminal)",
    )
    view.add_argument(
        "--live",
        action="append",
        default=[],
        metavar="DEVICE",
        help="send the live command to DEVICE (a device id, or 'all') as soon as it "
        "is online: it streams per-phase power every poll while live mode lasts. "
        "Repeatable",
    )
    view.add_argument(
        "--live-minutes",
        type=_positive(int, "--live-minutes"),
        default=5,
        metavar="N",
        help="simulated minutes live mode lasts, for --live and the l key (default 5; "
        "the agent caps it at its live.max_minutes, 30)",
    )
    return p


def _live_targets(wanted: Sequence[str], devices: Sequence[str]) -> list[str]:
    if not wanted:
        return []
    if "all" in wanted:
        return list(devices)
    unknown = [d for d in wanted if d not in devices]
    if unknown:
        raise StackError(
            f"--live {unknown[0]}: no such device; this stack runs: {', '.join(devices)} (or 'all')"
        )
    return list(dict.fromkeys(wanted))


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """Shutdown must finish (or Mosquitto, a child process, would be left running)."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Run:
    """One run of the stack: the chosen output, the stop conditions, the keys."""

    def __init__(self, args: argparse.Namespace, plain: bool, settings: StackSettings) -> None:
        self.args = args
        self.plain = plain
        self.events: queue.Queue[Event] = queue.Queue()
        self.quit = threading.Event()
        self.deadline: float | None = None  # set once started: the backfill takes a while
        self.started = time.monotonic()
        self.history = _HistoryView(plain)
        self.stack = Stack(
            StackOptions(
                meters=args.meters,
                speed=args.speed,
                start=args.start,
                broker=args.broker,
                mqtt_port=args.mqtt_port,
                state_dir=args.state_dir,
                settings=settings,
                history_days=args.history_days,
                portal=not args.no_portal,
                portal_port=args.portal_port,
                flaky=args.flaky_link,
            ),
            on_event=self.events.put if plain else None,
            on_history=self.history.update,
        )
        self.live = _live_targets(args.live, self.stack.device_ids())

    def started_now(self) -> None:
        self.started = time.monotonic()
        if self.args.duration is not None:
            self.deadline = self.started + self.args.duration

    def expired(self) -> bool:
        return self.quit.is_set() or (
            self.deadline is not None and time.monotonic() > self.deadline
        )

    def on_key(self, key: str) -> None:
        devices = self.stack.device_ids()
        if key in "lL":
            self.stack.request_live(devices, self.args.live_minutes)
        elif key in "sS":
            self.stack.stop_live(devices)
        elif key in "qQ":
            self.quit.set()

    # -- plain lines --------------------------------------------------------------------

    def print_start(self) -> None:
        stack = self.stack
        print(
            logfmt(
                "stack",
                {
                    "broker": stack.broker_kind,
                    "address": stack.address,
                    "mqtt": stack.mqtt_protocol,
                    "speed": f"{self.args.speed:g}",
                    "start": local_iso(stack.clock.now(), "seconds"),
                    "state_dir": str(stack.state_dir),
                    "log": str(stack.state_dir / LOG_NAME),
                },
            )
        )
        ingest = stack.ingest_summary()
        print(logfmt("ingest", {"store": ingest["store"], "history": ingest["history"]}))
        if stack.portal is not None:
            print(logfmt("portal", {"url": stack.portal.url}))
            for login in stack.logins:
                print(
                    logfmt(
                        "login",
                        {"user": login.username, "role": login.role, "password": DEMO_PASSWORD},
                    )
                )
            for pik in stack.piks:
                print(
                    logfmt(
                        "pik",
                        {
                            "customer": pik.customer_number,
                            "identifier": pik.identifier,
                            "pik": pik.code,
                        },
                    )
                )
        for meter in stack.meters:
            site, s = meter.site, meter.site.serial
            print(
                logfmt(
                    "meter",
                    {
                        "device": site.device_id,
                        "model": site.model,
                        "pty": meter.server.path,
                        "line": f"{s.baudrate}/{s.bytesize}{s.parity}{s.stopbits}",
                        "poll_s": f"{stack.poll_s[site.device_id]:g}",
                        "seed": site.seed,
                        "site": site.what,
                        "site_id": stack.site_ids[site.device_id],
                        "link": "flaky" if site.device_id == stack.flaky else "direct",
                    },
                )
            )
        sys.stdout.flush()

    def print_events(self, wait_s: float) -> None:
        try:
            event = self.events.get(timeout=wait_s)
        except queue.Empty:
            return
        while True:
            line = event_line(event)
            if line is not None:
                print(line)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
        sys.stdout.flush()

    def run_plain(self) -> None:
        self.print_start()
        while not self.expired():
            self.print_events(0.2)

    def finish_plain(self) -> None:
        self.print_events(0.0)
        print(logfmt("ingest", self.stack.ingest_summary()))
        rows = self.stack.state.snapshot()
        for line in final_lines(rows, self.stack.state.totals(rows)):
            print(line)
        sys.stdout.flush()

    # -- the table ------------------------------------------------------------------------

    def context(self, keys: bool) -> ViewContext:
        stack = self.stack
        return ViewContext(
            broker=stack.broker_kind,
            address=stack.address,
            mqtt_protocol=stack.mqtt_protocol,
            speed=self.args.speed,
            started=self.started,
            log_path=str(stack.state_dir / LOG_NAME),
            keys=keys,
            live_minutes=self.args.live_minutes,
            cloud=self.cloud_line,
        )

    def cloud_line(self) -> str:
        ingest = self.stack.ingest_summary()
        portal = self.stack.portal
        where = f"portal {portal.url} · " if portal is not None else ""
        return (
            f"{where}ingest {ingest.get('records', 0)} records stored "
            f"({ingest.get('history', 0)} history) in {ingest.get('store', '-')}"
        )


class _HistoryView:
    """Progress of the history backfill: a bar per device (terminal) or a line per device."""

    def __init__(self, plain: bool) -> None:
        self.plain = plain
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def update(self, device_id: str, done: int, total: int) -> None:
        if self.plain:
            if done >= total:
                days = f"{total * 60 / DAY_S:g}"
                print(logfmt("history", {"device": device_id, "records": done, "days": days}))
                sys.stdout.flush()
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("history [bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("one-minute records"),
            )
            self._progress.start()
        if device_id not in self._tasks:
            self._tasks[device_id] = self._progress.add_task(device_id, total=total)
        self._progress.update(self._tasks[device_id], completed=done)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _configure_logs(state_dir: Path) -> None:
    # The agents log to a file: the view owns the terminal.
    state_dir.mkdir(parents=True, exist_ok=True)
    stream = (state_dir / LOG_NAME).open("a", encoding="utf-8", buffering=1)
    configure_logging("INFO", "json", stream=stream)


def _refuse(message: str) -> int:
    print(f"myenergy-stack: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _print_portal(run: _Run, console: Console) -> None:
    """The portal's address and the demo logins, above the table."""
    portal = run.stack.portal
    if portal is None:
        return
    console.print(f"[bold]MyEnergy portal[/] {portal.url}   (Ctrl-C stops everything)")
    console.print(f"demo logins, password [bold]{DEMO_PASSWORD}[/]:")
    for login in run.stack.logins:
        console.print(f"  [bold]{login.username:<16}[/] {login.role:<10} {login.who}")
    if run.stack.piks:
        console.print(
            "Virtual CSC: log in with ЕИК/ЕГН + ПИК (demo identities, new PIKs each start):"
        )
        for pik in run.stack.piks:
            console.print(f"  [bold]{pik.identifier:<16}[/] {pik.code:<10} {pik.name}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plain = args.plain or not sys.stdout.isatty()
    with sigterm_as_interrupt():
        try:
            settings = load_stack_settings(args.config, os.environ)
            run = _Run(args, plain, settings)
            _configure_logs(args.state_dir)
        except (StackError, ConfigError, OSError) as exc:
            return _refuse(str(exc))
        console = Console()
        keys = not plain and keys_available()
        try:
            run.stack.start()  # stops what it started if it fails
        except StackError as exc:
            return _refuse(str(exc))
        except KeyboardInterrupt:
            with _signals_ignored():
                run.stack.stop()
            return EXIT_OK
        finally:
            run.history.close()
        run.started_now()
        try:
            if run.stack.rewind_s > 0:
                print(
                    f"myenergy-stack: warning: --start is {run.stack.rewind_s / 3600:.1f} h before "
                    f"where the last run on {args.state_dir} ended: new records repeat earlier "
                    "timestamps (use another --state-dir for a separate timeline)",
                    file=sys.stderr,
                )
            run.stack.request_live(run.live, args.live_minutes, at_birth=True)
            if plain:
                run.run_plain()
            else:
                _print_portal(run, console)
                _run_table(run, console, keys)
        except KeyboardInterrupt:
            pass  # Ctrl-C or SIGTERM: the normal way to stop
        finally:
            with _signals_ignored():
                if not plain:
                    console.print("[dim]stopping: agents flush their queues and go offline…[/]")
                run.stack.stop()
        if plain:
            run.finish_plain()
        else:
            _print_table_once(run, console)
    failed = run.stack.failed
    for device_id, why in failed.items():
        print(f"myenergy-stack: {device_id}: {why}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _run_table(run: _Run, console: Console, keys: bool) -> None:
    ctx = run.context(keys)

    def screen() -> RenderableType:
        return render(run.stack.state, ctx, run.stack.clock.now(), console.width, console.height)

    reader = KeyReader(run.on_key) if keys else contextlib.nullcontext()
    live = Live(get_renderable=screen, console=console, refresh_per_second=2, transient=True)
    with live, reader:
        while not run.expired():
            run.quit.wait(0.25)


def _print_table_once(run: _Run, console: Console) -> None:
    # The last picture stays on the terminal: every device offline, the totals final.
    ctx = run.context(keys=False)
    now = run.stack.clock.now()
    console.print(render(run.stack.state, ctx, now, console.width, console.height, final=True))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
