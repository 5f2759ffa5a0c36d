"""The stack's console view: what the agents uploaded, decoded, as a rich table.

:func:`render` builds the whole screen from a :class:`StackState` snapshot; the
caller hands it to ``rich.live.Live``, which redraws it about twice a second.

    device        state   records  last gaps L1 kW L2 kW L3 kW import kWh export kWh queue received
    ───────────────────────────────────────────────────────────────────────────────────────────────
    demo-sdm630-1 online       12 14:03    0  0.41  0.30  0.10  18,671.93   1,560.15     0   1.2 kB
    sdm630 · 15 s

On a narrow terminal (80 columns) the headers take two lines and the state moves
under the device id, beside the model.

Per device: the meter model and the poll period in simulated seconds (second line
of the device cell), online/offline from the retained status (``waiting`` until one
arrived), records received, the minute of the newest record in Europe/Sofia,
sequence numbers missing between the first and the newest received, the mean
active power of the newest record per phase, its import/export energy counters,
the queue depth from the last status and every byte received on the device's
topics. While a device streams live, a second table shows its newest 1-second
sample. The footer names the broker and the simulated time, and adds up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from protocol.codec import STATE_OFFLINE, STATE_ONLINE
from simulators.stack_format import kw, kwh, local, size
from simulators.stack_state import PHASES, DeviceRow, StackState, Totals

__all__ = ["LIVE_SHOWN_S", "WIDE_COLUMNS", "ViewContext", "render"]

# A device's live sample stays on screen this long (real seconds) after it arrived.
LIVE_SHOWN_S = 5.0
# From this console width on, the table has a state column and one-line headers.
WIDE_COLUMNS = 100

_STATE_STYLE = {STATE_ONLINE: "bold green", STATE_OFFLINE: "bold red"}


@dataclass(frozen=True)
class ViewContext:
    """What the footer says about the stack itself."""

    broker: str  # "mosquitto" or "amqtt"
    address: str  # host:port
    mqtt_protocol: str  # "5" or "3.1.1"
    speed: float
    started: float  # time.monotonic() at start
    log_path: str
    keys: bool  # the keyboard works (a terminal on stdin)
    live_minutes: int
    # The cloud in the stack, one line: portal URL, what ingest stored (asked at each redraw).
    cloud: Callable[[], str] | None = None


def _device_cell(row: DeviceRow, wide: bool) -> Text:
    text = Text(row.device_id, style="bold")
    if wide:
        text.append(f"\n{row.model} · {row.poll_s:g} s", style="dim")
    else:  # the state moves here, under the id, to save a column
        text.append(f"\n{row.model} ", style="dim")
        text.append(row.state, style=_STATE_STYLE.get(row.state, "dim"))
    return text


def _state_cell(row: DeviceRow) -> Text:
    return Text(row.state, style=_STATE_STYLE.get(row.state, "dim"))


def _note(row: DeviceRow) -> str | None:
    """A problem worth a line of its own under the table."""
    if row.problem:
        return f"{row.device_id}: {row.problem}"
    if row.modbus_errors:
        return f"{row.device_id}: {row.modbus_errors} Modbus errors (see the log)"
    return None


def _num(value: float | None, style: str = "") -> Text:
    return Text("-" if value is None else f"{value:g}", style=style)


def _devices(rows: list[DeviceRow], now_ts: float, wide: bool) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=0,
        show_edge=False,
        header_style="bold",
    )
    # Narrow terminals (80 columns) get two-line headers and the state under the id.
    unit = " " if wide else "\n"
    table.add_column("device", no_wrap=True)
    if wide:
        table.add_column("state", no_wrap=True)
    table.add_column("records" if wide else "recs", justify="right")
    table.add_column("last", justify="right")
    table.add_column("gaps", justify="right")
    for ph in PHASES:
        table.add_column(f"{ph}{unit}kW", justify="right")
    table.add_column(f"import{unit}kWh", justify="right")
    table.add_column(f"export{unit}kWh", justify="right")
    table.add_column("queue", justify="right")
    table.add_column("received" if wide else "bytes", justify="right")
    for r in rows:
        # the newest record began over 4 simulated minutes ago: the next ones are overdue
        stale = r.last_ts is not None and now_ts - r.last_ts > 240
        cells = [_device_cell(r, wide)]
        if wide:
            cells.append(_state_cell(r))
        cells += [
            _num(r.records),
            Text("-" if r.last_ts is None else local(r.last_ts), style="yellow" if stale else ""),
            _num(r.missing, style="bold red" if r.missing else ""),
            *(Text(kw(r.power_w.get(ph))) for ph in PHASES),
            Text(kwh(r.import_wh, grouping=wide)),
            Text(kwh(r.export_wh, grouping=wide)),
            _num(r.queue_depth),
            Text(size(r.bytes)),
        ]
        table.add_row(*cells)
    return table


def _live(rows: list[DeviceRow]) -> Table | None:
    now = time.monotonic()
    live = [r for r in rows if r.live is not None and now - r.live.received <= LIVE_SHOWN_S]
    if not live:
        return None
    table = Table(
        title="live mode: newest sample",
        title_justify="left",
        title_style="bold magenta",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=0,
        show_edge=False,
        header_style="bold",
    )
    table.add_column("device", no_wrap=True)
    table.add_column("at", justify="right")
    for ph in PHASES:
        table.add_column(f"{ph} kW", justify="right")
    table.add_column("total kW", justify="right")
    table.add_column("samples", justify="right")
    table.add_column("until", justify="right")
    for r in live:
        assert r.live is not None
        p = r.live.power_w
        table.add_row(
            r.device_id,
            local(r.live.ts, "%H:%M:%S"),
            *(kw(p.get(ph)) for ph in PHASES),
            Text(kw(p.get("total")), style="bold"),
            str(r.live_samples),
            "-" if r.live_until is None else local(r.live_until, "%H:%M:%S"),
        )
    return table


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _footer(ctx: ViewContext, totals: Totals, now_ts: float, final: bool) -> Text:
    text = Text()
    text.append("broker ", style="dim")
    text.append(f"{ctx.broker} {ctx.address}", style="bold")
    text.append(f" (MQTT {ctx.mqtt_protocol})", style="dim")
    ran = "ran" if final else "running"
    text.append(f" · speed x{ctx.speed:g} · {ran} {_elapsed(time.monotonic() - ctx.started)}\n")
    text.append("simulated time ", style="dim")
    text.append(local(now_ts, "%a %d %b %Y %H:%M:%S"), style="bold")
    text.append(" Europe/Sofia\n", style="dim")
    if ctx.cloud is not None:
        text.append(ctx.cloud() + "\n")

    text.append(f"{totals.online}/{totals.devices} online", style="bold")
    text.append(f" · {totals.records} records in {totals.batches} batches")
    per_record = f" ({totals.up_bytes / totals.records:.0f} B/record)" if totals.records else ""
    text.append(f" · {size(totals.bytes)}{per_record} · gaps ")
    text.append(str(totals.missing), style="bold red" if totals.missing else "bold")
    if totals.bad_messages:
        text.append(f" · {totals.bad_messages} undecodable", style="bold red")
    text.append("\n")

    if final:
        text.append("stopped", style="bold")
    elif ctx.keys:
        text.append("l", style="bold")
        text.append(f" live {ctx.live_minutes} min  ", style="dim")
        text.append("s", style="bold")
        text.append(" stop live  ", style="dim")
        text.append("q", style="bold")
        text.append(" quit", style="dim")
    else:
        text.append("Ctrl-C to stop", style="dim")
    text.append(f" · log {ctx.log_path}", style="dim")
    return text


def render(
    state: StackState,
    ctx: ViewContext,
    now_ts: float,
    width: int = 80,
    height: int = 24,
    *,
    final: bool = False,
) -> RenderableType:
    """The whole screen for a console ``width`` x ``height``: devices, live, footer.

    ``final``: the picture left on the terminal after the stop (no live table).
    """
    rows = state.snapshot()
    totals = state.totals(rows)
    sections: list[RenderableType] = [_devices(rows, now_ts, wide=width >= WIDE_COLUMNS)]
    lines = 3 + 2 * len(rows)
    notes = [n for n in map(_note, rows) if n]
    if notes:
        sections.append(Text("\n".join(notes), style="yellow"))
        lines += len(notes)
    live = None if final else _live(rows)
    if live is not None:
        sections.append(live)
        lines += 3 + live.row_count
    sections.append(_footer(ctx, totals, now_ts, final))
    lines += 5 + (ctx.cloud is not None)  # title and footer
    parts: list[RenderableType] = [
        Text("MyEnergy stack · what the agents upload, decoded", style="bold")
    ]
    # A blank line between sections, unless the screen is too short for it.
    spaced = lines + len(sections) <= height
    for section in sections:
        if spaced:
            parts.append(Text(""))
        parts.append(section)
    return Group(*parts)
