"""Test shim of MicroPython's ``machine`` for the WebAssembly port: UART, Pin, WDT, RTC.

The port has no hardware, so these classes reach the host through the JS module
``host`` (tests/micropython/firmware.mjs): a UART is a file descriptor the test
passed in (a pty to a simulated meter, a socket to a simulated modem), named
``uart<id>``. Behaviour follows the ESP32 port where the firmware depends on it:

* ``UART.write`` returns at once, as the ESP32 driver does when the bytes fit its
  TX buffer; the bytes then take real wire time (10 or 11 bits per character at
  the baud rate). ``flush`` waits until the last one has left the shift register
  and ``txdone`` says whether it has: the firmware must keep the RS-485 driver
  enabled until then. Every write is logged in ``tx_log`` as (start_us, end_us).
* ``Pin.value`` changes are logged in ``Pin.log`` as (ticks_us, pin id, value),
  so a test can check the driver-enable pin against ``tx_log``.
* ``WDT``: a ``feed`` later than the timeout raises :class:`WatchdogReset`, as the
  chip would reset at that moment; ``WDT.fired`` tells a test it happened.
"""

import binascii
import time

import host

PIN_LOG_LIMIT = 4096


class WatchdogReset(Exception):
    """The hardware watchdog would have reset the chip."""


class ResetRequested(Exception):
    """``machine.reset()`` was called."""


def _hex(data):
    return binascii.hexlify(bytes(data)).decode()


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2
    log = []  # (ticks_us, id, value)

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self._value = 0
        if value is not None:
            self.value(value)

    def init(self, mode=-1, pull=-1, value=None):
        self.mode = mode
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        if len(Pin.log) < PIN_LOG_LIMIT:
            Pin.log.append((time.ticks_us(), self.id, self._value))
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class UART:
    INV_TX = 1
    INV_RX = 2
    tx_log = []  # (start ticks_us, end ticks_us, number of bytes), all UARTs

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, **kwargs):
        self.id = id
        self._fd = host.fd("uart%d" % id)
        if self._fd < 0:
            raise ValueError("UART(%d) has no host descriptor (pass --fd uart%d=N)" % (id, id))
        self._rx = b""
        self._busy_until = time.ticks_us()
        self.init(baudrate, bits, parity, stop, **kwargs)

    def init(self, baudrate=115200, bits=8, parity=None, stop=1, **kwargs):
        self.baudrate = baudrate
        self.bits = bits
        self.parity = parity
        self.stop = stop
        self.timeout = kwargs.get("timeout", 0)
        self.timeout_char = kwargs.get("timeout_char", 0)

    def deinit(self):
        self._rx = b""

    def _char_us(self):
        bits = 1 + self.bits + (0 if self.parity is None else 1) + self.stop
        return bits * 1000000 // self.baudrate

    def _pump(self):
        got = host.read(self._fd, 512)
        if got:
            self._rx += binascii.unhexlify(got)

    def any(self):
        self._pump()
        return len(self._rx)

    def read(self, n=-1):
        self._pump()
        if not self._rx:
            return None
        if n is None or n < 0 or n >= len(self._rx):
            out, self._rx = self._rx, b""
        else:
            out, self._rx = self._rx[:n], self._rx[n:]
        return out

    def readinto(self, buf, n=-1):
        data = self.read(len(buf) if n < 0 else min(n, len(buf)))
        if not data:
            return None
        buf[: len(data)] = data
        return len(data)

    def readline(self):
        self._pump()
        i = self._rx.find(b"\n")
        if i < 0:
            return None
        out, self._rx = self._rx[: i + 1], self._rx[i + 1 :]
        return out

    def write(self, buf):
        data = bytes(buf)
        done = 0
        while done < len(data):
            n = host.write(self._fd, _hex(data[done:]))
            if n < 0:
                raise OSError(5)  # EIO: the other end is gone
            if n == 0:
                host.sleep_ms(1)
            done += n
        now = time.ticks_us()
        start = now if time.ticks_diff(self._busy_until, now) < 0 else self._busy_until
        self._busy_until = time.ticks_add(start, len(data) * self._char_us())
        UART.tx_log.append((start, self._busy_until, len(data)))
        return len(data)

    def txdone(self):
        return time.ticks_diff(self._busy_until, time.ticks_us()) <= 0

    def flush(self):
        left = time.ticks_diff(self._busy_until, time.ticks_us())
        if left > 0:
            host.sleep_ms((left + 999) // 1000)


class WDT:
    fired = False
    timeout_ms = 0
    last_feed = 0

    def __init__(self, id=0, timeout=5000):
        WDT.timeout_ms = timeout
        WDT.last_feed = time.ticks_ms()

    def feed(self):
        late = time.ticks_diff(time.ticks_ms(), WDT.last_feed)
        WDT.last_feed = time.ticks_ms()
        if late > WDT.timeout_ms:
            WDT.fired = True
            raise WatchdogReset("watchdog not fed for %d ms (timeout %d)" % (late, WDT.timeout_ms))


class RTC:
    _datetime = (2000, 1, 1, 5, 0, 0, 0, 0)

    def __init__(self, id=0):
        pass

    def init(self, datetime):
        RTC._datetime = tuple(datetime)

    def datetime(self, datetime=None):
        if datetime is None:
            return RTC._datetime
        RTC._datetime = tuple(datetime)
        return None


PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def reset_cause():
    cause = host.env("MYENERGY_RESET_CAUSE")
    return int(cause) if cause else PWRON_RESET


def reset():
    raise ResetRequested("machine.reset()")


def soft_reset():
    raise ResetRequested("machine.soft_reset()")


def unique_id():
    uid = host.env("MYENERGY_UNIQUE_ID") or "a0b1c2d3e4f5"
    return binascii.unhexlify(uid)


def freq(hz=None):
    return 240000000 if hz is None else None


def idle():
    host.sleep_ms(1)
