"""The in-memory form of a register map: serial settings, points, probe, diagnostics, meter.

These are plain frozen records. The loader (``hardware.loader``) builds them from a TOML
file and guarantees the invariants documented here, so consumers (planner, decoder,
simulator, agent, CLI) never re-validate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "DIAGNOSTICS",
    "ORDERS",
    "TYPES",
    "Diagnostic",
    "MeterMap",
    "Point",
    "Probe",
    "SerialSettings",
    "TypeInfo",
]


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """How a register data type is laid out: register count and struct format (big-endian)."""

    words: int
    fmt: str  # struct format of the value in canonical big-endian byte order
    is_float: bool
    minimum: int  # representable raw range; unused for floats
    maximum: int


TYPES: dict[str, TypeInfo] = {
    "u16": TypeInfo(1, ">H", False, 0, 0xFFFF),
    "i16": TypeInfo(1, ">h", False, -0x8000, 0x7FFF),
    "u32": TypeInfo(2, ">I", False, 0, 0xFFFF_FFFF),
    "i32": TypeInfo(2, ">i", False, -0x8000_0000, 0x7FFF_FFFF),
    "u64": TypeInfo(4, ">Q", False, 0, 0xFFFF_FFFF_FFFF_FFFF),
    "i64": TypeInfo(4, ">q", False, -0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF),
    "f32": TypeInfo(2, ">f", True, 0, 0),
}

# Letters name the value's bytes from most (A) to least significant, in wire order, for
# a 32-bit value. The same rule extends to any width: "ABCD" = most significant register
# first, bytes big-endian inside each register (the Modbus default); "CDAB" = least
# significant register first (word swap); "BADC" = bytes swapped inside each register;
# "DCBA" = both (fully little-endian). For one-register types only the byte swap matters.
ORDERS: tuple[str, ...] = ("ABCD", "CDAB", "BADC", "DCBA")


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """RS-485 line settings, and the character timing the Modbus RTU spec derives from them."""

    baudrate: int
    parity: str  # "N", "E" or "O"
    bytesize: int
    stopbits: int

    @property
    def bits_per_char(self) -> int:
        """Bits on the line per byte: 1 start bit, the data bits, a parity bit if any, stop bits."""
        return 1 + self.bytesize + (0 if self.parity == "N" else 1) + self.stopbits

    @property
    def char_time_s(self) -> float:
        """Seconds one byte occupies on the line."""
        return self.bits_per_char / self.baudrate

    @property
    def frame_gap_s(self) -> float:
        """The silent interval (t3.5) that ends an RTU frame.

        3.5 character times; above 19200 baud the Modbus serial line spec (V1.02, 2.5.1.1)
        fixes it at 1.75 ms because UARTs cannot time shorter gaps reliably.
        """
        if self.baudrate > 19200:
            return 0.00175
        return 3.5 * self.char_time_s

    def __str__(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}{self.stopbits}"


@dataclass(frozen=True, slots=True)
class Point:
    """One measured quantity of a meter: where it lives and how to turn registers into it.

    ``address`` is the 0-based address sent in the Modbus frame; ``number`` is the
    register number as the maker's document prints it (kept so a reviewer can check the
    map line against the document). ``scale`` turns the raw value into the channel's unit.
    ``valid_min``/``valid_max`` bound what this meter can plausibly report.
    """

    channel: str
    address: int
    number: int
    fc: int
    type: str
    order: str
    scale: float
    unit: str
    kind: str
    valid_min: float
    valid_max: float

    @property
    def words(self) -> int:
        """Registers the value occupies."""
        return TYPES[self.type].words

    @property
    def end(self) -> int:
        """First address after the value (exclusive end)."""
        return self.address + self.words

    def plausible(self, value: float) -> bool:
        """True when ``value`` (already scaled) lies inside this point's range; NaN is not."""
        return self.valid_min <= value <= self.valid_max

    def __str__(self) -> str:
        return f"{self.channel}@{self.fc}:{self.address}"


@dataclass(frozen=True, slots=True)
class Probe:
    """A register whose value identifies the model, for the installers' ``scan`` command."""

    fc: int
    address: int
    number: int
    type: str
    order: str
    expect: tuple[int, ...]
    note: str

    @property
    def words(self) -> int:
        """Registers the probe value occupies."""
        return TYPES[self.type].words

    def point(self) -> Point:
        """An unscaled :class:`Point` over the probe register, for ``hardware.registers``."""
        return _raw_point("probe", self)


# The diagnostics software understands, and the meanings a map may give their raw values.
# Not uplink channels (protocol/channels.py is the wire contract): only the installers'
# ``check`` reads them. A new name needs a rule in edge_agent/install/judge.py too.
DIAGNOSTICS: dict[str, tuple[str, ...]] = {
    # the order in which the phase voltages reach their peaks; L1-L2-L3 is the normal one
    "phase_sequence": ("L1-L2-L3", "L1-L3-L2"),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A register the installers' ``check`` reads once to judge the installation.

    Never polled by the agent nor sent upstream. ``meanings`` maps each documented raw
    value to one of the meanings :data:`DIAGNOSTICS` allows for ``name``, in file order.
    """

    name: str
    fc: int
    address: int
    number: int
    type: str
    order: str
    meanings: tuple[tuple[int, str], ...]
    note: str

    @property
    def words(self) -> int:
        """Registers the value occupies."""
        return TYPES[self.type].words

    @property
    def end(self) -> int:
        """First address after the value (exclusive end)."""
        return self.address + self.words

    def meaning(self, raw: int) -> str | None:
        """What ``raw`` means, None for a value the maker's document does not list."""
        return dict(self.meanings).get(raw)

    def raw_for(self, meaning: str) -> int:
        """The raw value documented for ``meaning`` (KeyError when there is none)."""
        for raw, text in self.meanings:
            if text == meaning:
                return raw
        raise KeyError(f"diagnostic {self.name!r} has no value meaning {meaning!r}")

    def point(self) -> Point:
        """An unscaled :class:`Point` over the register, for ``hardware.registers``."""
        return _raw_point(self.name, self)


def _raw_point(name: str, where: Probe | Diagnostic) -> Point:
    # raw integers, no unit: decode_point/encode_point need a Point, not a channel
    return Point(
        channel=name,
        address=where.address,
        number=where.number,
        fc=where.fc,
        type=where.type,
        order=where.order,
        scale=1.0,
        unit="",
        kind="instant",
        valid_min=-math.inf,
        valid_max=math.inf,
    )


@dataclass(frozen=True, slots=True)
class MeterMap:
    """Everything the software knows about one meter model, loaded from its data file."""

    model: str
    maker: str
    title: str
    source: str
    path: str
    fc: int
    max_registers_per_request: int
    max_gap_registers: int
    alignment: int
    serial: SerialSettings
    turnaround_s: float
    register_numbering: str
    number_offset: int | None
    points: tuple[Point, ...]
    probe: Probe | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names in file order."""
        return tuple(p.channel for p in self.points)

    def point(self, channel: str) -> Point:
        """The point carrying ``channel``; KeyError naming the model when it has none."""
        for p in self.points:
            if p.channel == channel:
                return p
        raise KeyError(f"meter model {self.model!r} has no point for channel {channel!r}")

    def diagnostic(self, name: str) -> Diagnostic | None:
        """The diagnostic register ``name`` (e.g. ``phase_sequence``); None when absent."""
        return next((d for d in self.diagnostics if d.name == name), None)
