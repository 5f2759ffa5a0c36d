"""Modbus RTU master on a machine.UART and an RS-485 driver-enable (DE) pin.

One request at a time, as a state machine the main loop drives: ``start()``
queues a request and sends it as soon as the line has been quiet for t3.5,
``poll()`` returns None while the exchange is in progress, then its result:

* the registers: a memoryview of u16 words (valid until the next ``start``),
  for FC 3/4; for FC 6/16 the (address, value-or-count) the slave echoed;
* or an error kind, a short string, the same words the edge agent counts
  (edge_agent/poller.py ERROR_KINDS): ``timeout`` (no byte came back),
  ``crc`` (bytes came back but no valid frame for this request: bad CRC,
  truncated, another slave id or function), ``exception`` (the slave answered
  a Modbus exception; its code is in ``exc_code``), ``decode`` (a valid frame
  whose byte count does not match the request), ``connection`` (the UART
  refused the write).

Timing (Modbus over serial line V1.02, 2.5.1.1): a frame ends after t3.5 of
silence: 3.5 character times, fixed at 1750 us above 19200 baud. The only wait
that blocks is the transmission of the request itself (8 bytes for a read,
~8 ms at 9600 baud): the DE pin must stay high until the last stop bit has
left the shift register, and ``UART.flush()`` is what knows when that is.

End of a reply: by length (the header says how long the frame is: 5 bytes for
an exception, 5 + byte count for a read, 8 for a write echo), or by t3.5 of
silence after bytes whose CRC checks out (a complete frame, shorter than the
answer should be). Bytes that stop short without a valid CRC are not cut off at
t3.5: a slave (or a loaded bus converter, or the simulator on a busy host) may
pause inside a frame, and pymodbus, hence the edge agent, waits for the rest
too; they end as ``crc`` when the response time plus the frame's own line time
has passed. The silence is measured between loop turns that saw bytes arrive,
so a slow loop only makes a frame end later, never early.
"""

import struct
import time
from array import array

from micropython import const

try:
    from typing import Any
except ImportError:
    pass

# states
IDLE = const(0)
GAP = const(1)  # request queued, waiting for the line to be quiet for t3.5
WAIT = const(2)  # request sent, collecting the reply

MAX_ADU = const(256)  # an RTU frame is at most 256 bytes (V1.02, 2.5.1)
MAX_READ = const(125)  # registers per FC 3/4 request (application protocol 6.3)
MAX_WRITE = const(123)  # registers per FC 16 request (application protocol 6.12)
GAP_FAST_US = const(1750)  # t3.5 above 19200 baud, fixed by the spec

# Error kinds, as the edge agent counts them.
TIMEOUT = "timeout"
CRC = "crc"
EXCEPTION = "exception"
DECODE = "decode"
CONNECTION = "connection"


def _crc_table() -> "Any":
    # CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), table-driven. Written by
    # hand because MicroPython has no CRC-16 module and a bitwise loop costs 8x the
    # time per byte; the 256-entry table is built once at import (an array of u16:
    # 512 bytes, half what a tuple of ints takes).
    table = array("H", bytes(512))
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table[byte] = crc
    return table


_TABLE = _crc_table()


def crc16(data: "Any", n: int = -1) -> int:
    """CRC-16/MODBUS of the first ``n`` bytes of ``data`` (all when n < 0)."""
    table = _TABLE
    crc = 0xFFFF
    if n < 0:
        n = len(data)
    for i in range(n):
        crc = (crc >> 8) ^ table[(crc ^ data[i]) & 0xFF]
    return crc


def frame_gap_us(baudrate: int, bits_per_char: int = 10) -> int:
    """t3.5 in microseconds for the line (rounded up)."""
    if baudrate > 19200:
        return GAP_FAST_US
    return (35 * bits_per_char * 1000000 + 10 * baudrate - 1) // (10 * baudrate)


class RtuMaster:
    """Modbus RTU master: one request in flight; never blocks beyond sending one.

    ``uart`` is a configured machine.UART, ``de`` a machine.Pin (output) driving
    the transceiver's DE (and /RE) pin, or None for an auto-direction transceiver.
    ``bits_per_char`` is 1 start + data + parity + stop bits (11 for 8E1, 10 for 8N1).
    ``timeout_ms`` is how long after the request the first byte of the reply may
    take (the meter's turnaround plus margin), and how long a reply may then take
    to complete, at most, in addition to its own bytes' line time.
    """

    def __init__(
        self,
        uart: "Any",
        de: "Any" = None,
        baudrate: int = 9600,
        bits_per_char: int = 10,
        timeout_ms: int = 500,
    ) -> None:
        self.uart = uart
        self.de = de
        self.timeout_ms = timeout_ms
        self._buf = bytearray(MAX_ADU)
        self._mv = memoryview(self._buf)
        self._words = array("H", bytes(2 * MAX_READ))  # reused: no list per reply
        self._wmv = memoryview(self._words)
        self._req = bytearray(7 + 2 * MAX_WRITE + 2)
        self._reqmv = memoryview(self._req)
        self._reqlen = 0
        self.state = IDLE
        self.result = None  # type: Any
        self.exc_code = 0
        self.requests = 0  # requests sent since start
        self.turns = 0  # poll() calls that found the exchange still in progress
        self._slave = 0
        self._fc = 0
        self._count = 0
        self._expect = 0
        self._got = 0
        self._tried = 0  # frame length whose CRC was last tried after a pause
        self._sent_us = 0
        self.set_line(baudrate, bits_per_char)
        # the line counts as busy from now: a request waits t3.5 after power-up too
        self._quiet_since = time.ticks_us()
        if de is not None:
            de.value(0)

    def set_line(self, baudrate: int, bits_per_char: int = 10) -> None:
        """Timing for a new baud rate (after ``uart.init``); between requests only."""
        self.char_us = (bits_per_char * 1000000 + baudrate - 1) // baudrate
        self.gap_us = frame_gap_us(baudrate, bits_per_char)

    @property
    def quiet_since_us(self) -> int:
        """ticks_us of the last activity seen on the line (a byte in, our frame out)."""
        return self._quiet_since

    @property
    def busy(self) -> bool:
        """A request is queued or in flight."""
        return self.state != IDLE

    # -- requests ------------------------------------------------------------------

    def start(
        self, slave: int, fc: int, address: int, count: int = 1, values: "Any" = None
    ) -> None:
        """Begin one request; ``poll()`` until it returns the result.

        FC 3/4: read ``count`` registers from ``address``. FC 6: write ``values[0]``.
        FC 16: write ``values`` (``count`` is taken from it). Raises ValueError for a
        request that cannot be sent (a programming error, not a bus problem), and
        RuntimeError when one is already in flight.
        """
        if self.state != IDLE:
            raise RuntimeError("a request is already in flight")
        if not 0 <= slave <= 247 or not 0 <= address <= 0xFFFF:
            raise ValueError("bad slave id or address")
        req = self._req
        req[0] = slave
        req[1] = fc
        struct.pack_into(">H", req, 2, address)
        if fc in (3, 4):
            if not 1 <= count <= MAX_READ:
                raise ValueError("count must be 1..125")
            struct.pack_into(">H", req, 4, count)
            n = 6
            expect = 5 + 2 * count
        elif fc == 6:
            struct.pack_into(">H", req, 4, values[0])
            n = 6
            expect = 8
        elif fc == 16:
            count = len(values)
            if not 1 <= count <= MAX_WRITE:
                raise ValueError("count must be 1..123")
            struct.pack_into(">HB", req, 4, count, 2 * count)
            for i in range(count):
                struct.pack_into(">H", req, 7 + 2 * i, values[i])
            n = 7 + 2 * count
            expect = 8
        else:
            raise ValueError("function code must be 3, 4, 6 or 16")
        crc = crc16(req, n)
        req[n] = crc & 0xFF  # the CRC goes low byte first, unlike everything else
        req[n + 1] = crc >> 8
        self._reqlen = n + 2
        self._slave = slave
        self._fc = fc
        self._count = count
        self._expect = expect
        self.result = None
        self.exc_code = 0
        self.state = GAP
        self._step()

    def poll(self) -> "Any":
        """None while the request is queued or in flight; else its result (see module doc).

        The result is returned once; the master is idle again after that.
        """
        if self.state == IDLE:
            return None
        self._step()
        if self.state != IDLE:
            self.turns += 1
            return None
        return self.result

    def cancel(self) -> None:
        """Drop the request in flight (its reply, if any, is flushed before the next one)."""
        self.state = IDLE
        self._quiet_since = time.ticks_us()
        self._end_tx()

    # -- the state machine ------------------------------------------------------------

    def _step(self) -> None:
        if self.state == GAP:
            self._drain()
            if time.ticks_diff(time.ticks_us(), self._quiet_since) >= self.gap_us:
                self._send()
        elif self.state == WAIT:
            self._receive()

    def _drain(self) -> None:
        # Stale bytes (a late reply to an abandoned request, noise): throw them away
        # and count the line as busy until they stop.
        uart = self.uart
        while uart.any():
            uart.readinto(self._buf)
            self._quiet_since = time.ticks_us()

    def _send(self) -> None:
        uart, de = self.uart, self.de
        if de is not None:
            de.value(1)
        try:
            uart.write(self._reqmv[: self._reqlen])
            # The one bounded wait: the transceiver must drive the bus until the last
            # stop bit has left, or the slave sees a truncated frame (~1 ms per byte
            # at 9600 baud, 8 bytes for a read request).
            uart.flush()
            if hasattr(uart, "txdone"):
                while not uart.txdone():
                    pass
        except OSError:
            self._end_tx()
            self._finish(CONNECTION)
            return
        self._end_tx()
        self.requests += 1
        self._got = 0
        self._tried = 0
        self._sent_us = time.ticks_us()
        self._quiet_since = self._sent_us
        self.state = WAIT

    def _end_tx(self) -> None:
        if self.de is not None:
            self.de.value(0)

    def _receive(self) -> None:
        uart = self.uart
        now = time.ticks_us()
        got = self._got
        if uart.any():
            n = uart.readinto(self._mv[got:])
            if n:
                got += n
                self._got = got
                self._quiet_since = now
        if got == 0:
            if time.ticks_diff(now, self._sent_us) >= self.timeout_ms * 1000:
                self._finish(TIMEOUT)
            return
        expect = self._expected_length(got)
        if got >= expect:
            self._quiet_since = now
            self._finish(self._check(expect))
            return
        silent = time.ticks_diff(now, self._quiet_since)
        if got >= 4 and got != self._tried and silent >= self.gap_us:
            self._tried = got  # one CRC per pause, not one per loop turn
            if crc16(self._buf, got - 2) == self._buf[got - 2] | (self._buf[got - 1] << 8):
                # t3.5 of silence after a frame that checks out: it is complete, only
                # shorter than this request's answer should be
                self._finish(self._check(got))
                return
        if time.ticks_diff(now, self._sent_us) >= self.timeout_ms * 1000 + expect * self.char_us:
            self._finish(CRC)  # the frame stopped short: truncated or garbled

    def _expected_length(self, got: int) -> int:
        if got >= 2 and self._buf[1] & 0x80:
            return 5  # exception: id, fc | 0x80, code, CRC
        if self._fc in (3, 4) and got >= 3:
            # trust the byte count to end the frame, so a wrong count is seen as such
            return min(5 + self._buf[2], MAX_ADU)
        return self._expect

    def _check(self, n: int) -> "Any":
        buf = self._buf
        if crc16(buf, n - 2) != buf[n - 2] | (buf[n - 1] << 8):
            return CRC
        if buf[0] != self._slave or (buf[1] & 0x7F) != self._fc:
            return CRC  # a valid frame, but not the answer to this request
        if buf[1] & 0x80:
            self.exc_code = buf[2]
            return EXCEPTION
        fc = self._fc
        if fc in (3, 4):
            count = self._count
            if buf[2] != 2 * count or n != 5 + 2 * count:
                return DECODE
            words = self._words
            for i in range(count):
                words[i] = (buf[3 + 2 * i] << 8) | buf[4 + 2 * i]
            return self._wmv[:count]
        if n != 8:
            return DECODE
        return struct.unpack_from(">HH", buf, 2)

    def _finish(self, result: "Any") -> None:
        self.result = result
        self.state = IDLE

    # -- results for decoders ------------------------------------------------------------

    @property
    def data(self) -> memoryview:
        """The data bytes of the last read reply, as on the wire (big-endian words)."""
        return self._mv[3 : 3 + 2 * self._count]
