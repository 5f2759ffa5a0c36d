"""Compile the register maps (hardware/maps/*.toml) into a compact MicroPython module.

The device has no TOML parser and no RAM to spare for the loader's dataclasses, so
the build turns every packaged map, validated by ``hardware.loader`` and planned by
``hardware.planner`` (the same read blocks the edge agent uses), into plain tuples of
ints, floats and short strings: ``meter_maps``, installed as
/lib/firmware/meter_maps.py(.mpy) and imported as ``from firmware import meter_maps``.

Layout of the generated module (one dict keyed by model, tuples and bytes)::

    MAPS[model] = (baudrate, parity, bytesize, stopbits, turnaround_ms,
                   probe, blocks, channels, rows, numbers)
    probe    = (fc, address, type, order, (expected values...)) or None
    blocks   = ((fc, address, count), ...)          # the planner's order
    channels = (channel, ...)                       # one per point, sorted
    rows     = bytes, ROW (7) per point, same order: block, offset, type, order,
               scale, lo, hi - the last three index ``numbers``
    numbers  = (float, ...)                         # the distinct scales and bounds

``type``/``order`` index ``TYPES``/``ORDERS``; ``offset`` is in registers from the
block's start; ``lo``/``hi`` is the plausible range already narrowed to the channel's
physical bounds (protocol/channels.py), the two checks the agent makes in one.
Points are packed into bytes rather than a tuple each because RAM is what the module
lacks: measured on the MicroPython port, the four maps as tuples of tuples take
~14 KB of heap imported from source (~27 KB from .mpy), packed ~5 KB (~9 KB); a
frozen module costs no heap at all (its bytes and tuples stay in flash).
Only ``[[points]]`` are compiled: ``[[diagnostics]]`` are read by the installers'
``check`` on a laptop, never by a module in the field.

The output is deterministic (models and points sorted), so an unchanged map gives a
byte-identical module and the build can be reproduced.
"""

from __future__ import annotations

from pathlib import Path

from hardware.maps import MODELS, load_map, map_path
from hardware.model import ORDERS, TYPES, MeterMap, Point
from hardware.planner import plan_requests
from hardware.vocabulary import CHANNELS

__all__ = ["MODULE", "ORDER_CODES", "ROW", "TYPE_CODES", "render", "write"]

MODULE = "meter_maps.py"
ROW = 7  # bytes per point in ``rows``
TYPE_CODES: tuple[str, ...] = tuple(TYPES)  # index = code in the generated module
ORDER_CODES: tuple[str, ...] = ORDERS


def _num(value: float) -> str:
    """A float literal MicroPython parses back to the same value (repr round-trips)."""
    return repr(float(value))


def _model(meter_map: MeterMap) -> str:
    s = meter_map.serial
    probe = "None"
    if meter_map.probe is not None:
        pr = meter_map.probe
        expect = "".join(f"{v}, " for v in pr.expect)
        probe = (
            f"({pr.fc}, {pr.address}, {TYPE_CODES.index(pr.type)}, "
            f"{ORDER_CODES.index(pr.order)}, ({expect.rstrip()}))"
        )
    requests = plan_requests(meter_map)
    blocks = "".join(f"({r.fc}, {r.address}, {r.count}), " for r in requests)
    located: list[tuple[str, int, int, Point]] = []
    for index, request in enumerate(requests):
        located.extend((p.channel, index, p.address - request.address, p) for p in request.points)
    located.sort(key=lambda row: row[0])
    bounds = []
    for _, _, _, p in located:
        spec = CHANNELS[p.channel]
        bounds.append((p.scale, max(p.valid_min, spec.minimum), min(p.valid_max, spec.maximum)))
    numbers = sorted({x for row in bounds for x in row})
    if len(numbers) > 255 or len(requests) > 255:
        raise ValueError(f"{meter_map.model}: too many distinct numbers or blocks to pack")
    rows = bytearray()
    for (_, block, offset, p), (scale, lo, hi) in zip(located, bounds, strict=True):
        rows += bytes(
            (
                block,
                offset,  # < 125: a request reads at most 125 registers
                TYPE_CODES.index(p.type),
                ORDER_CODES.index(p.order),
                numbers.index(scale),
                numbers.index(lo),
                numbers.index(hi),
            )
        )
    channels = "".join(f"{c!r}, " for c, _, _, _ in located)
    return (
        f"    {meter_map.model!r}: (\n"
        f"        {s.baudrate}, {s.parity!r}, {s.bytesize}, {s.stopbits}, "
        f"{round(meter_map.turnaround_s * 1000)},\n"
        f"        {probe},\n"
        f"        ({blocks.rstrip()}),\n"
        f"        ({channels.rstrip()}),\n"
        f"        {bytes(rows)!r},\n"
        f"        ({''.join(f'{_num(x)}, ' for x in numbers).rstrip()}),\n"
        f"    ),\n"
    )


def render() -> str:
    """The source of ``meter_maps`` for every packaged model (deterministic)."""
    models = sorted(MODELS)
    files = ", ".join(f"hardware/maps/{map_path(m).name}" for m in models)
    body = "".join(_model(load_map(m)) for m in models)
    names = "".join(f"{m!r}, " for m in models)
    return (
        '"""Meter register maps for the firmware (generated; see firmware/host/regmaps.py)."""\n'
        "\n"
        "# GENERATED by firmware/host/regmaps.py from " + files + ".\n"
        "# Do not edit: change the map file and rebuild.\n"
        "# MAPS[model] = (baudrate, parity, bytesize, stopbits, turnaround_ms,\n"
        "#                probe, blocks, channels, rows, numbers)\n"
        "# probe = (fc, address, type, order, (expected...)) or None\n"
        "# blocks = ((fc, address, count), ...)\n"
        "# rows: ROW bytes per channel: block, offset, type, order, and the indexes\n"
        "# into numbers of its scale, lo and hi\n"
        "\n"
        f"ROW = {ROW}\n"
        f"TYPES = {TYPE_CODES!r}\n"
        f"ORDERS = {ORDER_CODES!r}\n"
        f"MODELS = ({names.rstrip()})\n"
        "\n"
        "MAPS = {\n" + body + "}\n"
        "\n"
        "\n"
        "def get(model):\n"
        '    """The compiled map of ``model``; KeyError naming the known ones."""\n'
        "    try:\n"
        "        return MAPS[model]\n"
        "    except KeyError:\n"
        '        known = ", ".join(MODELS)\n'
        '        raise KeyError("unknown meter model %r (known: %s)" % (model, known))\n'
    )


def write(dest_dir: str | Path) -> Path:
    """Write ``meter_maps.py`` into ``dest_dir`` (created if needed); its path."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / MODULE
    path.write_text(render(), encoding="utf-8")
    return path
