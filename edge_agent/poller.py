"""One Modbus poll of the meter: read the planned requests, decode, validate, count errors.

:class:`MeterPoller` talks to the meter through a synchronous pymodbus client
(RTU over pyserial, or TCP) and turns each poll into a :class:`PollResult` of
*validated* values. It never raises on a bad reply and never lets a bad value
through:

* ``timeout`` - no answer at all (nothing came back within ``timeout_s``);
* ``crc`` - bytes came back but no valid frame (wrong CRC, garbled, truncated);
  pymodbus drops such a frame silently and waits on, so it is told apart from a
  timeout by whether any byte arrived (``trace_packet``);
* ``exception`` - the meter answered with a Modbus exception code;
* ``connection`` - the serial port or TCP socket could not be opened;
* ``decode`` - a reply with the wrong register count;
* ``nan`` - a float register holding NaN/inf (meters use it for "not available");
* ``out_of_range`` - outside the map point's range or the vocabulary's physical
  bounds (``protocol/channels.py``).

The first four fail a request; the last two drop one channel from this poll.
Every occurrence is counted (:class:`ErrorCounters`, reported in the status) and
logged with its context, throttled so a dead bus does not flood the log.

Pacing, so a dead or struggling bus is not hammered: a failed request is retried
``retries`` times after a short pause; when a request times out even so, the rest
of that poll is skipped (the meter is not there, asking the next address would
only cost another timeout); and consecutive failed polls stretch the poll period
(:meth:`MeterPoller.next_delay`) up to :data:`MAX_BACKOFF_S`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from edge_agent.config import MeterConfig
from hardware.model import MeterMap, Point
from hardware.planner import Request, decode_request, plan_requests
from hardware.vocabulary import CHANNELS, COUNTER

__all__ = [
    "ERROR_KINDS",
    "MAX_BACKOFF_S",
    "ErrorCounters",
    "MeterPoller",
    "ModbusClient",
    "PollResult",
    "make_client",
]

log = structlog.get_logger(__name__)

ERROR_KINDS = ("timeout", "crc", "exception", "connection", "decode", "nan", "out_of_range")
# Longest stretch between polls of a meter that keeps failing (agent seconds).
MAX_BACKOFF_S = 30.0
# Pause before retrying a failed request, at least this (real seconds): a meter that
# just sent garbage is often busy, and RS-485 needs a quiet line before a new frame.
_MIN_RETRY_PAUSE_S = 0.05


class ModbusClient(Protocol):
    """The part of a pymodbus sync client the poller uses."""

    def connect(self) -> bool: ...

    def close(self) -> None: ...

    def read_holding_registers(
        self,
        address: int,
        *,
        count: int = 1,
        device_id: int = 1,
        no_response_expected: bool = False,
    ) -> ModbusPDU: ...

    def read_input_registers(
        self,
        address: int,
        *,
        count: int = 1,
        device_id: int = 1,
        no_response_expected: bool = False,
    ) -> ModbusPDU: ...


class RxWatch:
    """Counts bytes received for the current request (pymodbus ``trace_packet`` hook)."""

    def __init__(self) -> None:
        self.received = 0

    def __call__(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            # pymodbus passes the buffer accumulated so far for this response
            self.received = max(self.received, len(data))
        return data


def make_client(cfg: MeterConfig) -> tuple[ModbusClient, RxWatch]:
    """A pymodbus sync client for the configured transport, and its byte watch.

    pymodbus's own retries are off: the poller retries with pacing and counts.
    """
    watch = RxWatch()
    client: ModbusClient
    if cfg.transport == "rtu":
        assert cfg.port is not None  # guaranteed by MeterConfig validation
        client = ModbusSerialClient(
            cfg.port,
            baudrate=cfg.baudrate,
            parity=cfg.parity,
            bytesize=cfg.bytesize,
            stopbits=cfg.stopbits,
            timeout=cfg.timeout_s,
            retries=0,
            trace_packet=watch,
        )
    else:
        assert cfg.host is not None
        client = ModbusTcpClient(
            cfg.host, port=cfg.tcp_port, timeout=cfg.timeout_s, retries=0, trace_packet=watch
        )
    return client, watch


@dataclass(frozen=True)
class PollResult:
    """One poll: when, validated values, and how the requests went."""

    ts: float
    values: dict[str, float]  # instant channels, validated
    counters: dict[str, int]  # counter channels, whole units, validated
    requests_ok: int
    requests_failed: int

    @property
    def answered(self) -> bool:
        """The meter answered at least one request."""
        return self.requests_ok > 0


class ErrorCounters:
    """Modbus error counts by kind since start; shared with the status thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(ERROR_KINDS, 0)

    def add(self, kind: str, n: int = 1) -> int:
        with self._lock:
            self._counts[kind] += n
            return self._counts[kind]

    def snapshot(self) -> dict[str, int]:
        """Counts of the kinds seen at least once."""
        with self._lock:
            return {k: v for k, v in self._counts.items() if v}


@dataclass
class _LogThrottle:
    """Log the 1st, 10th, 100th... occurrence of each problem, not every one."""

    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    def should_log(self, key: tuple[str, str]) -> bool:
        n = self.seen.get(key, 0) + 1
        self.seen[key] = n
        return n == 1 or math.log10(n).is_integer()


class _RequestFailedError(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class MeterPoller:
    """Reads every point of ``meter_map`` once per :meth:`poll`.

    ``now`` is the agent clock's ``now`` (the poll's timestamp); ``pause`` sleeps
    real seconds between retries (injectable so unit tests do not wait).
    """

    def __init__(
        self,
        meter_map: MeterMap,
        client: ModbusClient,
        slave_id: int,
        now: Callable[[], float],
        *,
        retries: int = 2,
        rx_watch: RxWatch | None = None,
        pause: Callable[[float], None] = time.sleep,
        requests: Sequence[Request] | None = None,
    ) -> None:
        self.meter_map = meter_map
        self.requests = list(requests) if requests is not None else plan_requests(meter_map)
        self._client = client
        self._slave_id = slave_id
        self._now = now
        self._retries = retries
        self._watch = rx_watch or RxWatch()
        self._pause = pause
        self._retry_pause_s = max(_MIN_RETRY_PAUSE_S, 10 * meter_map.serial.frame_gap_s)
        self.errors = ErrorCounters()
        self.failed_polls = 0  # consecutive polls without a single answered request
        self._throttle = _LogThrottle()

    # -- the poll -------------------------------------------------------------------

    def poll(self) -> PollResult:
        """Read all requests once; never raises for anything the bus or meter does."""
        ts = self._now()
        values: dict[str, float] = {}
        counters: dict[str, int] = {}
        ok = failed = 0
        for request in self.requests:
            try:
                raw = self._read_with_retries(request)
            except _RequestFailedError as exc:
                failed += 1
                if exc.kind in ("timeout", "connection"):
                    # the meter or the port is gone: the other requests would only
                    # cost more timeouts; count them as failed and try next poll
                    failed += len(self.requests) - ok - failed
                    break
                continue
            ok += 1
            self._validate(request, raw, values, counters)
        self._track_health(ok, failed)
        return PollResult(ts, values, counters, ok, failed)

    def next_delay(self, poll_s: float) -> float:
        """Agent seconds until the next poll: ``poll_s``, stretched while the meter fails."""
        if self.failed_polls <= 1:
            return poll_s
        return min(MAX_BACKOFF_S, poll_s * 2.0 ** (self.failed_polls - 1))

    def close(self) -> None:
        self._client.close()

    # -- one request ------------------------------------------------------------------

    def _read_with_retries(self, request: Request) -> list[int]:
        attempt = 0
        while True:
            try:
                return self._read(request)
            except _RequestFailedError as exc:
                self._count(exc.kind, request, exc.detail, attempt)
                # An exception response is the meter's considered answer, and a port
                # that does not open will not open a few ms later: no retry.
                if attempt >= self._retries or exc.kind in ("exception", "connection"):
                    raise
            attempt += 1
            self._pause(self._retry_pause_s)

    def _read(self, request: Request) -> list[int]:
        self._watch.received = 0
        read = (
            self._client.read_holding_registers
            if request.fc == 3
            else self._client.read_input_registers
        )
        try:
            response = read(request.address, count=request.count, device_id=self._slave_id)
        except ConnectionException as exc:
            raise _RequestFailedError("connection", str(exc)) from None
        except ModbusException as exc:
            kind = "crc" if self._watch.received else "timeout"
            raise _RequestFailedError(kind, str(exc)) from None
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise _RequestFailedError("exception", f"exception code {code}")
        registers = list(getattr(response, "registers", []))
        if len(registers) != request.count:
            raise _RequestFailedError(
                "decode", f"{len(registers)} registers, expected {request.count}"
            )
        return registers

    # -- validation ---------------------------------------------------------------------

    def _validate(
        self,
        request: Request,
        registers: list[int],
        values: dict[str, float],
        counters: dict[str, int],
    ) -> None:
        """Decode ``registers`` and keep only the values that are real readings."""
        decoded = decode_request(request, registers)
        for point in request.points:
            value = decoded[point.channel]
            problem = self._check(point, value)
            if problem is not None:
                total = self.errors.add(problem)
                if self._throttle.should_log((problem, point.channel)):
                    log.warning(
                        "implausible value dropped",
                        kind=problem,
                        channel=point.channel,
                        value=repr(value),
                        valid_min=point.valid_min,
                        valid_max=point.valid_max,
                        total=total,
                    )
                continue
            if _is_counter(point):
                # whole units on the wire; floor, so a record never claims energy
                # the meter has not counted yet
                counters[point.channel] = math.floor(value)
            else:
                values[point.channel] = value

    def _check(self, point: Point, value: float) -> str | None:
        """Why ``value`` is not a reading of ``point`` (an error kind), or None if it is."""
        if not math.isfinite(value):
            return "nan"
        spec = CHANNELS[point.channel]
        if not (point.plausible(value) and spec.minimum <= value <= spec.maximum):
            return "out_of_range"
        return None

    # -- bookkeeping ----------------------------------------------------------------------

    def _count(self, kind: str, request: Request, detail: str, attempt: int) -> None:
        total = self.errors.add(kind)
        if self._throttle.should_log((kind, f"{request.fc}:{request.address}")):
            log.warning(
                "modbus request failed",
                kind=kind,
                detail=detail,
                fc=request.fc,
                address=request.address,
                count=request.count,
                slave_id=self._slave_id,
                attempt=attempt + 1,
                total=total,
            )

    def _track_health(self, ok: int, failed: int) -> None:
        if ok == 0 and failed:
            self.failed_polls += 1
            if self.failed_polls == 1:
                log.warning("meter not answering", model=self.meter_map.model)
        elif self.failed_polls:
            log.info(
                "meter answering again",
                model=self.meter_map.model,
                failed_polls=self.failed_polls,
            )
            self.failed_polls = 0


def _is_counter(point: Point) -> bool:
    return CHANNELS[point.channel].kind == COUNTER
