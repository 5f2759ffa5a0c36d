"""Parse and validate one register-map TOML file into a ``MeterMap``.

Every rule a map must obey is checked here, before anything talks to a meter, and a
broken map is refused with a ``MapError`` whose message names the file and, for a point,
its position, channel and address. The rules (see docs/hardware.md for the file format):

* only the known tables and fields, each of the right type; nothing missing;
* ``fc`` 3 or 4; at most 125 registers per request (the Modbus PDU limit for FC 3/4);
* every point's channel is in the vocabulary, used once, with the vocabulary's unit and
  kind; its type and byte order are known; its scale is a positive finite number;
* its value fits in the 16-bit address space and, when the map declares ``alignment``,
  a multi-register value starts on a multiple of it (Eastron answers an exception to a
  read that splits a float); two values of one function code never share a register;
* ``range`` is [min, max] with min < max, inside the channel's physical bounds;
* when ``number_offset`` is given, every documented number equals address + offset,
  which catches the commonest map typo: one of the two copied wrong;
* ``[[diagnostics]]`` (registers only the installers' ``check`` reads): a known name
  (``hardware.model.DIAGNOSTICS``), used once, an integer type, raw values that fit it
  with meanings the name allows, and no register shared with a point.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hardware.fields import (
    MapContext,
    MapError,
    get_int,
    get_str,
    is_int,
    is_number,
    require_fields,
)
from hardware.model import (
    DIAGNOSTICS,
    ORDERS,
    TYPES,
    Diagnostic,
    MeterMap,
    Point,
    Probe,
    SerialSettings,
)
from hardware.vocabulary import CHANNELS

__all__ = ["MapError", "parse_map", "read_map_file"]

_TOP = {"meter", "probe", "points", "diagnostics"}
_METER_REQUIRED = {
    "model",
    "maker",
    "title",
    "source",
    "fc",
    "max_registers_per_request",
    "max_gap_registers",
    "serial",
    "turnaround_ms",
    "register_numbering",
}
_METER_OPTIONAL = {"alignment", "number_offset"}
_SERIAL_FIELDS = {"baudrate", "parity", "bytesize", "stopbits"}
_POINT_REQUIRED = {
    "channel",
    "address",
    "number",
    "type",
    "order",
    "scale",
    "unit",
    "kind",
    "range",
}
_POINT_OPTIONAL = {"fc"}
_PROBE_REQUIRED = {"fc", "address", "number", "type", "order", "expect", "note"}
_DIAGNOSTIC_REQUIRED = {"name", "fc", "address", "number", "type", "order", "meanings", "note"}
_ALIGNMENTS = (1, 2, 4)
_MAX_ADDRESS = 0xFFFF
_MAX_REGISTERS_PER_REQUEST = 125  # Modbus application protocol limit for FC 3 and 4


def _serial(ctx: MapContext, raw: Any) -> SerialSettings:
    where = "[meter].serial"
    require_fields(ctx, where, raw, _SERIAL_FIELDS, set())
    parity = raw["parity"]
    if parity not in ("N", "E", "O"):
        raise ctx.fail(where, f"parity must be 'N', 'E' or 'O', got {parity!r}")
    return SerialSettings(
        baudrate=get_int(ctx, where, raw, "baudrate", lo=300, hi=1_000_000),
        parity=parity,
        bytesize=get_int(ctx, where, raw, "bytesize", lo=7, hi=8),
        stopbits=get_int(ctx, where, raw, "stopbits", lo=1, hi=2),
    )


def _type_and_order(ctx: MapContext, where: str, raw: Mapping[str, Any]) -> tuple[str, str]:
    type_, order = raw["type"], raw["order"]
    if type_ not in TYPES:
        raise ctx.fail(where, f"unknown type {type_!r} (known: {', '.join(TYPES)})")
    if order not in ORDERS:
        raise ctx.fail(where, f"unknown order {order!r} (known: {', '.join(ORDERS)})")
    return str(type_), str(order)


def _place(ctx: MapContext, where: str, raw: Mapping[str, Any], type_: str, align: int) -> int:
    """Check that the value fits the address space and, if required, is aligned."""
    address = get_int(ctx, where, raw, "address", lo=0, hi=_MAX_ADDRESS)
    words = TYPES[type_].words
    if address + words - 1 > _MAX_ADDRESS:
        raise ctx.fail(where, f"{type_} at {address} runs past the last address {_MAX_ADDRESS}")
    if words > 1 and address % align:
        raise ctx.fail(
            where, f"{type_} at {address} is misaligned: this map requires multiples of {align}"
        )
    return address


def _range(ctx: MapContext, where: str, raw: Any, channel: str) -> tuple[float, float]:
    if not isinstance(raw, list) or len(raw) != 2 or not all(is_number(v) for v in raw):
        raise ctx.fail(where, f"range must be [min, max] with two finite numbers, got {raw!r}")
    lo, hi = float(raw[0]), float(raw[1])
    if lo >= hi:
        raise ctx.fail(where, f"range min {lo} must be below max {hi}")
    spec = CHANNELS[channel]
    if lo < spec.minimum or hi > spec.maximum:
        raise ctx.fail(
            where,
            f"range [{lo}, {hi}] leaves the channel's bounds [{spec.minimum}, {spec.maximum}]",
        )
    return lo, hi


def _point(ctx: MapContext, index: int, raw: Any, meter: Mapping[str, Any]) -> Point:
    channel = raw.get("channel", "?") if isinstance(raw, Mapping) else "?"
    address = raw.get("address", "?") if isinstance(raw, Mapping) else "?"
    where = f"point {index} (channel {channel}, address {address})"
    require_fields(ctx, where, raw, _POINT_REQUIRED, _POINT_OPTIONAL)
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise ctx.fail(where, f"unknown channel {channel!r} (not in protocol/channels.py)")
    spec = CHANNELS[channel]
    if raw["unit"] != spec.unit:
        raise ctx.fail(where, f"unit {raw['unit']!r} does not match the channel's {spec.unit!r}")
    if raw["kind"] != spec.kind:
        raise ctx.fail(where, f"kind {raw['kind']!r} does not match the channel's {spec.kind!r}")
    type_, order = _type_and_order(ctx, where, raw)
    fc = get_int(ctx, where, raw, "fc", lo=3, hi=4) if "fc" in raw else int(meter["fc"])
    address = _place(ctx, where, raw, type_, int(meter.get("alignment", 1)))
    if TYPES[type_].words > meter["max_registers_per_request"]:
        raise ctx.fail(where, f"{type_} is longer than max_registers_per_request")
    number = get_int(ctx, where, raw, "number", lo=0, hi=999_999)
    offset = meter.get("number_offset")
    if offset is not None and number != address + offset:
        raise ctx.fail(where, f"number {number} is not address {address} + offset {offset}")
    scale = raw["scale"]
    if not is_number(scale) or scale <= 0:
        raise ctx.fail(where, f"scale must be a positive finite number, got {scale!r}")
    lo, hi = _range(ctx, where, raw["range"], channel)
    return Point(
        channel=channel,
        address=address,
        number=number,
        fc=fc,
        type=type_,
        order=order,
        scale=float(scale),
        unit=spec.unit,
        kind=spec.kind,
        valid_min=lo,
        valid_max=hi,
    )


def _check_unique(ctx: MapContext, points: list[Point]) -> None:
    first_of: dict[str, int] = {}
    for i, p in enumerate(points):
        if p.channel in first_of:
            j = first_of[p.channel]
            raise ctx.fail(
                f"point {i} (channel {p.channel}, address {p.address})",
                f"duplicate channel: point {j} (address {points[j].address}) already has it",
            )
        first_of[p.channel] = i
    order = sorted(range(len(points)), key=lambda k: (points[k].fc, points[k].address))
    for a, b in itertools.pairwise(order):
        pa, pb = points[a], points[b]
        if pa.fc == pb.fc and pb.address < pa.end:
            what = "duplicate address" if pa.address == pb.address else "overlapping addresses"
            raise ctx.fail(
                f"point {b} (channel {pb.channel}, address {pb.address})",
                f"{what}: point {a} (channel {pa.channel}) occupies FC{pa.fc} "
                f"{pa.address}..{pa.end - 1}",
            )


def _probe(ctx: MapContext, raw: Any, meter: Mapping[str, Any]) -> Probe:
    where = "[probe]"
    require_fields(ctx, where, raw, _PROBE_REQUIRED, set())
    type_, order = _type_and_order(ctx, where, raw)
    info = TYPES[type_]
    if info.is_float:
        raise ctx.fail(where, "a probe must be an integer type: it is compared for equality")
    # Not checked against the points: a probe may share an address with one (the EM340
    # answers its model code only to a one-word read of the high word of V L3-L1).
    address = _place(ctx, where, raw, type_, int(meter.get("alignment", 1)))
    number = get_int(ctx, where, raw, "number", lo=0, hi=999_999)
    offset = meter.get("number_offset")
    if offset is not None and number != address + offset:
        raise ctx.fail(where, f"number {number} is not address {address} + offset {offset}")
    expect = raw["expect"]
    if not isinstance(expect, list) or not expect:
        raise ctx.fail(where, f"expect must be a non-empty list of integers, got {expect!r}")
    for v in expect:
        if not is_int(v) or not info.minimum <= v <= info.maximum:
            raise ctx.fail(where, f"expect value {v!r} does not fit {type_}")
    return Probe(
        fc=get_int(ctx, where, raw, "fc", lo=3, hi=4),
        address=address,
        number=number,
        type=type_,
        order=order,
        expect=tuple(int(v) for v in expect),
        note=get_str(ctx, where, raw, "note"),
    )


def _meanings(
    ctx: MapContext, where: str, raw: Any, name: str, type_: str
) -> tuple[tuple[int, str], ...]:
    """``{ "0" = "L1-L2-L3", "-1" = "L1-L3-L2" }``: TOML keys are strings, so the raw
    values are written as quoted integers."""
    if not isinstance(raw, Mapping) or not raw:
        raise ctx.fail(
            where, f"meanings must be a non-empty table of raw value = meaning, got {raw!r}"
        )
    info = TYPES[type_]
    allowed = DIAGNOSTICS[name]
    out: list[tuple[int, str]] = []
    for key, meaning in raw.items():
        try:
            value = int(str(key), 10)
        except ValueError:
            raise ctx.fail(where, f"meanings key {key!r} is not an integer") from None
        if not info.minimum <= value <= info.maximum:
            raise ctx.fail(where, f"meanings value {value} does not fit {type_}")
        if meaning not in allowed:
            raise ctx.fail(
                where, f"meaning {meaning!r} of {value} is not one of {', '.join(allowed)}"
            )
        if any(value == v for v, _ in out):
            raise ctx.fail(where, f"meanings value {value} is given twice")
        out.append((value, str(meaning)))
    return tuple(out)


def _diagnostic(ctx: MapContext, index: int, raw: Any, meter: Mapping[str, Any]) -> Diagnostic:
    name = raw.get("name", "?") if isinstance(raw, Mapping) else "?"
    where = f"diagnostics {index} ({name})"
    require_fields(ctx, where, raw, _DIAGNOSTIC_REQUIRED, set())
    if name not in DIAGNOSTICS:
        raise ctx.fail(where, f"unknown diagnostic {name!r} (known: {', '.join(DIAGNOSTICS)})")
    type_, order = _type_and_order(ctx, where, raw)
    if TYPES[type_].is_float:
        raise ctx.fail(where, "a diagnostic must be an integer type: its values are codes")
    address = _place(ctx, where, raw, type_, int(meter.get("alignment", 1)))
    number = get_int(ctx, where, raw, "number", lo=0, hi=999_999)
    offset = meter.get("number_offset")
    if offset is not None and number != address + offset:
        raise ctx.fail(where, f"number {number} is not address {address} + offset {offset}")
    return Diagnostic(
        name=str(name),
        fc=get_int(ctx, where, raw, "fc", lo=3, hi=4),
        address=address,
        number=number,
        type=type_,
        order=order,
        meanings=_meanings(ctx, where, raw["meanings"], str(name), type_),
        note=get_str(ctx, where, raw, "note"),
    )


def _diagnostics(
    ctx: MapContext, raw: Any, meter: Mapping[str, Any], points: list[Point]
) -> tuple[Diagnostic, ...]:
    if not isinstance(raw, list):
        raise ctx.fail("diagnostics", "must be an array of tables ([[diagnostics]])")
    out: list[Diagnostic] = []
    for i, entry in enumerate(raw):
        d = _diagnostic(ctx, i, entry, meter)
        where = f"diagnostics {i} ({d.name})"
        if any(o.name == d.name for o in out):
            raise ctx.fail(where, f"duplicate diagnostic {d.name!r}")
        # a point's register holds the point's value: a diagnostic there would be read
        # as a code when it is a measurement
        for p in points:
            if p.fc == d.fc and p.address < d.end and d.address < p.end:
                raise ctx.fail(
                    where,
                    f"shares a register with point {p.channel} (FC{p.fc} {p.address}..{p.end - 1})",
                )
        out.append(d)
    return tuple(out)


def _meter(ctx: MapContext, meter: Any, stem: str) -> None:
    where = "[meter]"
    require_fields(ctx, where, meter, _METER_REQUIRED, _METER_OPTIONAL)
    for key in ("model", "maker", "title", "source", "register_numbering"):
        get_str(ctx, where, meter, key)
    if meter["model"] != stem:
        raise ctx.fail(where, f"model {meter['model']!r} must equal the file name {stem!r}")
    get_int(ctx, where, meter, "fc", lo=3, hi=4)
    get_int(ctx, where, meter, "max_registers_per_request", lo=1, hi=_MAX_REGISTERS_PER_REQUEST)
    get_int(ctx, where, meter, "max_gap_registers", lo=0, hi=_MAX_REGISTERS_PER_REQUEST)
    if "number_offset" in meter:
        get_int(ctx, where, meter, "number_offset", lo=0, hi=999_999)
    alignment = meter.get("alignment", 1)
    if not is_int(alignment) or alignment not in _ALIGNMENTS:
        raise ctx.fail(where, f"alignment must be one of {_ALIGNMENTS}, got {alignment!r}")
    t = meter["turnaround_ms"]
    if not is_number(t) or t < 0:
        raise ctx.fail(where, f"turnaround_ms must be a non-negative number, got {t!r}")


def parse_map(data: Mapping[str, Any], path: str) -> MeterMap:
    """Validate parsed TOML ``data`` read from ``path``; raise MapError on the first problem."""
    ctx = MapContext(path)
    unknown = sorted(data.keys() - _TOP)
    if unknown:
        raise ctx.fail("top level", f"unknown key(s) {', '.join(unknown)}")
    for key in ("meter", "points"):
        if key not in data:
            raise ctx.fail("top level", f"missing {key!r}")
    meter = data["meter"]
    _meter(ctx, meter, Path(path).stem)
    serial = _serial(ctx, meter["serial"])
    raw_points = data["points"]
    if not isinstance(raw_points, list) or not raw_points:
        raise ctx.fail("points", "must be a non-empty list of inline tables")
    points = [_point(ctx, i, raw, meter) for i, raw in enumerate(raw_points)]
    _check_unique(ctx, points)
    probe = _probe(ctx, data["probe"], meter) if "probe" in data else None
    diagnostics = (
        _diagnostics(ctx, data["diagnostics"], meter, points) if "diagnostics" in data else ()
    )
    return MeterMap(
        model=meter["model"],
        maker=meter["maker"],
        title=meter["title"],
        source=meter["source"],
        path=path,
        fc=int(meter["fc"]),
        max_registers_per_request=int(meter["max_registers_per_request"]),
        max_gap_registers=int(meter["max_gap_registers"]),
        alignment=int(meter.get("alignment", 1)),
        serial=serial,
        turnaround_s=float(meter["turnaround_ms"]) / 1000.0,
        register_numbering=meter["register_numbering"],
        number_offset=meter.get("number_offset"),
        points=tuple(points),
        probe=probe,
        diagnostics=diagnostics,
    )


def read_map_file(path: str | Path) -> MeterMap:
    """Read and validate one map file; TOML syntax errors become MapError too."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise MapError(str(p), "TOML syntax", str(e)) from None
    except OSError as e:
        raise MapError(str(p), "file", e.strerror or str(e)) from None
    return parse_map(data, str(p))
