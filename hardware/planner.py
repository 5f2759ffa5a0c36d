"""Plan the Modbus reads for a set of points, decode the answers, and budget the bus.

``plan_requests`` merges the points of one function code into as few read requests as
the meter allows. It is greedy over points sorted by address: open a request at the
first unplaced point and extend it with the next point while the padding gap stays
within ``max_gap_registers`` and the (aligned) span within ``max_registers_per_request``.

Why greedy is optimal here: a request reads one contiguous address range, so any point
lying inside that range comes for free; we may therefore assume every request takes a
contiguous run of the sorted points. A sub-run of a feasible run is feasible (its span
and its gaps can only shrink), so the classic exchange argument applies: the greedy's
k-th request ends at or after the k-th request of any other plan, hence it never needs
more requests.

``bus_time_s`` is the time the RS-485 line is busy for one poll (see docs/hardware.md):
per request, an 8-byte request frame and a (5 + 2*count)-byte response, each byte one
character time, a t3.5 silent gap after each frame, plus the meter's turnaround.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hardware.model import MeterMap, Point, SerialSettings
from hardware.registers import decode_point

__all__ = [
    "DEFAULT_UTILISATION",
    "REQUEST_FRAME_BYTES",
    "RESPONSE_OVERHEAD_BYTES",
    "BusBudgetError",
    "Request",
    "break_even_gap",
    "bus_time_s",
    "check_poll_period",
    "decode_request",
    "plan_requests",
]

# FC 3/4 request: slave id, function, start (2), quantity (2), CRC (2).
REQUEST_FRAME_BYTES = 8
# FC 3/4 response without data: slave id, function, byte count, CRC (2).
RESPONSE_OVERHEAD_BYTES = 5
# Share of the poll period the bus may be busy: the rest absorbs retries after a CRC
# error or a timeout, and the jitter of a Linux user-space poller.
DEFAULT_UTILISATION = 0.8


@dataclass(frozen=True, slots=True)
class Request:
    """One read: function code, first address, register count, and the points it serves."""

    fc: int
    address: int
    count: int
    points: tuple[Point, ...]

    @property
    def end(self) -> int:
        """First address after the request (exclusive)."""
        return self.address + self.count


class BusBudgetError(ValueError):
    """The serial line cannot carry the planned reads within the poll period."""


def _select(meter_map: MeterMap, channels: Iterable[str] | None) -> list[Point]:
    if channels is None:
        return list(meter_map.points)
    wanted = list(dict.fromkeys(channels))  # keep order, drop repeats
    return [meter_map.point(ch) for ch in wanted]


def _aligned(start: int, end: int, alignment: int) -> tuple[int, int]:
    """Widen [start, end) to multiples of ``alignment``."""
    start -= start % alignment
    end += -end % alignment
    return start, end


def _plan_one_fc(fc: int, points: list[Point], meter_map: MeterMap) -> list[Request]:
    requests: list[Request] = []
    run: list[Point] = []
    run_end = 0
    for p in sorted(points, key=lambda q: q.address):
        if run:
            start, end = _aligned(run[0].address, max(run_end, p.end), meter_map.alignment)
            gap = p.address - run_end
            if gap <= meter_map.max_gap_registers and end - start <= (
                meter_map.max_registers_per_request
            ):
                run.append(p)
                run_end = max(run_end, p.end)
                continue
            requests.append(_close(fc, run, run_end, meter_map.alignment))
        run, run_end = [p], p.end
    if run:
        requests.append(_close(fc, run, run_end, meter_map.alignment))
    return requests


def _close(fc: int, run: list[Point], run_end: int, alignment: int) -> Request:
    start, end = _aligned(run[0].address, run_end, alignment)
    return Request(fc=fc, address=start, count=end - start, points=tuple(run))


def plan_requests(meter_map: MeterMap, channels: Iterable[str] | None = None) -> list[Request]:
    """The fewest read requests covering ``channels`` (all points when None).

    Requests come ordered by function code, then address. Raises KeyError for a channel
    the map does not have.
    """
    points = _select(meter_map, channels)
    plan: list[Request] = []
    for fc in sorted({p.fc for p in points}):
        plan.extend(_plan_one_fc(fc, [p for p in points if p.fc == fc], meter_map))
    return plan


def decode_request(request: Request, regs: Sequence[int]) -> dict[str, float]:
    """Values by channel from the registers answered to ``request`` (NaN where the meter
    reported "not available"); ValueError when the register count is wrong."""
    if len(regs) != request.count:
        raise ValueError(
            f"request FC{request.fc} {request.address}+{request.count} got {len(regs)} registers"
        )
    values: dict[str, float] = {}
    for p in request.points:
        offset = p.address - request.address
        values[p.channel] = decode_point(p, regs[offset : offset + p.words])
    return values


def bus_time_s(requests: Sequence[Request], serial: SerialSettings, turnaround_s: float) -> float:
    """Seconds the line is busy to carry ``requests`` once (see the module docstring)."""
    total = 0.0
    for r in requests:
        chars = REQUEST_FRAME_BYTES + RESPONSE_OVERHEAD_BYTES + 2 * r.count
        total += chars * serial.char_time_s + 2 * serial.frame_gap_s + turnaround_s
    return total


def break_even_gap(serial: SerialSettings, turnaround_s: float) -> int:
    """The padding (registers) that costs as much bus time as one extra request.

    Merging two runs across a gap of g registers adds 2*g characters; a separate request
    adds its frame overheads, two t3.5 gaps and a turnaround. Gaps below this are worth
    reading through, which is what a map's ``max_gap_registers`` should respect.
    """
    extra_request = (
        (REQUEST_FRAME_BYTES + RESPONSE_OVERHEAD_BYTES) * serial.char_time_s
        + 2 * serial.frame_gap_s
        + turnaround_s
    )
    return int(extra_request / (2 * serial.char_time_s))


def check_poll_period(
    meter_map: MeterMap,
    requests: Sequence[Request],
    serial: SerialSettings,
    poll_s: float,
    utilisation: float = DEFAULT_UTILISATION,
) -> float:
    """Return the bus time of one poll; raise BusBudgetError if it exceeds
    ``utilisation`` of ``poll_s`` (80 % by default, leaving room for retries)."""
    if poll_s <= 0 or not 0 < utilisation <= 1:
        raise ValueError(f"poll period {poll_s} s and utilisation {utilisation} must be positive")
    busy = bus_time_s(requests, serial, meter_map.turnaround_s)
    budget = poll_s * utilisation
    if busy > budget:
        raise BusBudgetError(
            f"{meter_map.model}: bus time {busy * 1000:.1f} ms at {serial} for "
            f"{len(requests)} requests exceeds {utilisation:.0%} of the poll period "
            f"{poll_s * 1000:.0f} ms ({budget * 1000:.1f} ms); poll less often, read fewer "
            f"channels or raise the baud rate"
        )
    return busy
