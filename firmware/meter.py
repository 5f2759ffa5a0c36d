"""Poll the meter: every read block of its compiled map, decoded and validated.

:class:`MeterReader` is the firmware's ``edge_agent.poller.MeterPoller`` without
threads or blocking: ``start_cycle()`` begins a poll, ``step(now_ms)`` (every
loop turn) moves it on through the map's read blocks with an
:class:`firmware.rtu.RtuMaster`, and returns, once the cycle is over, a dict
``{channel: value}`` of validated readings (instant channels as floats, counter
channels as whole units, ints). Same rules as the agent:

* a failed request is retried ``retries`` times after a pause of at least 50 ms
  (10 x t3.5), without blocking; an exception reply is not retried (it is the
  meter's considered answer);
* when a request still times out, the rest of the cycle is skipped: the meter is
  not there, asking the next block would only cost another timeout;
* the cycle returns what the answered blocks gave; ``{}`` when none answered
  (the aggregator then counts no sample but still closes the minute);
* a float holding NaN/inf is dropped as ``nan``, a value outside the point's
  plausible range or the channel's physical bounds as ``out_of_range``;
* every failure is counted by kind in ``errors`` (the agent's status words).

Counters are computed exactly in integers (the float32 of an Eastron kWh register
times 1000, an EM340 INT32 times 100), then floored like the agent does: the
device's single-precision floats would otherwise lose watt-hours above 16.7 MWh.
"""

import math
import struct
import time

from micropython import const

# generated at build time (firmware/host/regmaps.py): not in the source tree
from firmware import meter_maps  # type: ignore[attr-defined]
from firmware.rtu import EXCEPTION, TIMEOUT, frame_gap_us
from protocol import channels

try:
    from typing import Any
except ImportError:
    pass

MIN_RETRY_PAUSE_MS = const(50)  # as the agent: a meter that sent garbage is often busy
MAX_BACKOFF_MS = 30000  # longest stretch between polls of a meter that keeps failing

_F32 = const(6)  # TYPES index of "f32"
ROW = const(7)  # bytes per point in meter_maps rows
_WORDS = (1, 1, 2, 2, 4, 4, 2)  # registers per TYPES entry
_FMT = (">H", ">h", ">I", ">i", ">Q", ">q", ">f")


def serial_settings(model: str) -> "tuple[Any, ...]":
    """(baudrate, bits, parity, stop, bits_per_char) of ``model``'s line; parity as
    machine.UART takes it: None, 0 (even) or 1 (odd)."""
    m = meter_maps.get(model)
    parity = {"N": None, "E": 0, "O": 1}[m[1]]
    bits_per_char = 1 + m[2] + (0 if parity is None else 1) + m[3]
    return m[0], m[2], parity, m[3], bits_per_char


def _exact_f32_times(bits: int, factor: int) -> int:
    """floor(float32 ``bits`` x ``factor``), exactly, in integers (finite values only)."""
    exp = (bits >> 23) & 0xFF
    mant = bits & 0x7FFFFF
    if exp:
        mant |= 0x800000
    else:
        exp = 1  # subnormal
    shift = exp - 150  # value = mant * 2**shift
    n = mant * factor
    if shift >= 0:
        n <<= shift
    else:
        n >>= -shift  # floor for the non-negative magnitude
        if bits >> 31 and (mant * factor) & ((1 << -shift) - 1):
            n += 1  # floor of a negative value rounds away from zero
    return -n if bits >> 31 else n


class MeterReader:
    """Reads every point of ``model`` once per cycle through ``master`` from ``slave``.

    ``model`` is a name in ``meter_maps.MODELS``. The master's line timing is set
    from the map (the UART itself is configured by the caller, with
    :func:`serial_settings`).
    """

    def __init__(self, master: "Any", model: str, slave: int, retries: int = 2) -> None:
        m = meter_maps.get(model)
        if meter_maps.ROW != ROW:
            raise ValueError("meter_maps was built by another firmware version")
        self.model = model
        self.master = master
        self.slave = slave
        self.retries = retries
        self.blocks = m[6]
        self.channels = m[7]  # per point: channel name
        self._rows = m[8]  # per point: ROW bytes (meter_maps docstring)
        self._numbers = m[9]
        baudrate, _, _, _, bits_per_char = serial_settings(model)
        master.set_line(baudrate, bits_per_char)
        gap_ms = (frame_gap_us(baudrate, bits_per_char) + 999) // 1000
        self.retry_pause_ms = max(MIN_RETRY_PAUSE_MS, 10 * gap_ms)
        # per point: is its channel a counter (whole units, exact) - looked up once
        self._counter = bytes(channels.get(name).kind == channels.COUNTER for name in self.channels)
        self._scratch = bytearray(8)
        self.errors = {}  # type: dict[str, int]
        self.failed_cycles = 0  # consecutive cycles in which no block was answered
        self.cycles = 0
        self.exc_code = 0  # code of the last exception reply
        self._values = {}  # type: dict[str, Any]
        self._block = -1  # block in flight, -1: no cycle
        self._attempt = 0
        self._ok = 0
        self._resume_ms = 0  # retry pause: do not send before this (ticks_ms)
        self._pausing = False

    @property
    def busy(self) -> bool:
        """A cycle is in progress."""
        return self._block >= 0

    def start_cycle(self) -> None:
        """Begin a poll of every block (ignored while one is in progress)."""
        if self._block >= 0:
            return
        self._values = {}
        self._ok = 0
        self._block = 0
        self._attempt = 0
        self._pausing = False
        self._request()

    def next_delay_ms(self, poll_ms: int) -> int:
        """Milliseconds until the next cycle: ``poll_ms``, stretched while the meter fails."""
        if self.failed_cycles <= 1:
            return poll_ms
        return min(MAX_BACKOFF_MS, poll_ms << min(self.failed_cycles - 1, 15))

    def step(self, now_ms: int) -> "Any":
        """Advance the cycle; None while it runs (or none was started), else its readings."""
        if self._block < 0:
            return None
        if self._pausing:
            if time.ticks_diff(now_ms, self._resume_ms) < 0:
                return None
            self._pausing = False
            self._request()
        result = self.master.poll()
        if result is None:
            return None
        if isinstance(result, str):
            return self._failed(result, now_ms)
        self._ok += 1
        self._decode(self._block)
        return self._next()

    # -- internals ------------------------------------------------------------------

    def _request(self) -> None:
        fc, address, count = self.blocks[self._block]
        self.master.start(self.slave, fc, address, count)

    def _count(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def _failed(self, kind: str, now_ms: int) -> "Any":
        self._count(kind)
        if kind == EXCEPTION:
            self.exc_code = self.master.exc_code
        elif self._attempt < self.retries:
            self._attempt += 1
            self._pausing = True
            self._resume_ms = time.ticks_add(now_ms, self.retry_pause_ms)
            return None
        if kind in (TIMEOUT, "connection"):
            self._block = len(self.blocks)  # the meter is gone: skip the rest
        return self._next()

    def _next(self) -> "Any":
        self._block += 1
        self._attempt = 0
        if self._block < len(self.blocks):
            self._request()
            return None
        self._block = -1
        self.cycles += 1
        if self._ok:
            self.failed_cycles = 0
        else:
            self.failed_cycles += 1
        values = self._values
        self._values = {}
        return values

    def _decode(self, block: int) -> None:
        data = self.master.data
        scratch = self._scratch
        values = self._values
        counter = self._counter
        rows = self._rows
        numbers = self._numbers
        for i in range(len(self.channels)):
            r = ROW * i
            if rows[r] != block:
                continue
            offset, tcode, order = rows[r + 1], rows[r + 2], rows[r + 3]
            scale, lo, hi = numbers[rows[r + 4]], numbers[rows[r + 5]], numbers[rows[r + 6]]
            n = 2 * _WORDS[tcode]
            at = 2 * offset
            # rearrange the wire bytes into canonical big-endian (hardware/registers.py)
            if order == 0:  # ABCD
                scratch[0:n] = data[at : at + n]
            elif order == 1:  # CDAB: least significant register first
                for w in range(0, n, 2):
                    scratch[w] = data[at + n - 2 - w]
                    scratch[w + 1] = data[at + n - 1 - w]
            elif order == 2:  # BADC: bytes swapped inside each register
                for w in range(0, n, 2):
                    scratch[w] = data[at + w + 1]
                    scratch[w + 1] = data[at + w]
            else:  # DCBA: fully little-endian
                for w in range(n):
                    scratch[w] = data[at + n - 1 - w]
            raw = struct.unpack_from(_FMT[tcode], scratch)[0]
            if tcode == _F32:
                if not math.isfinite(raw):
                    self._count("nan")
                    continue
                value: "Any"
                if counter[i] and scale == int(scale):
                    value = _exact_f32_times(struct.unpack_from(">I", scratch)[0], int(scale))
                else:
                    value = raw * scale
            elif counter[i] and scale == int(scale):
                value = raw * int(scale)
            else:
                value = raw * scale
            if not lo <= value <= hi:
                self._count("out_of_range")
                continue
            if counter[i] and not isinstance(value, int):
                value = int(value // 1)  # floor: never claim energy not yet counted
            values[self.channels[i]] = value
