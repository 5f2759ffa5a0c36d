"""Bus benchmark: a full SDM630 read over Modbus RTU at 9600 baud, 8E1.

Plans the read with the request planner, serves the meter on a pseudo-terminal with
the simulator's line timing, reads it with pymodbus as the agent does, and prints the
measured cycle time beside the time on the wire (11-bit characters, 3.5-character
gaps) plus the meter's configured turnaround.
"""

from __future__ import annotations

import statistics
import time

from pymodbus.client import ModbusSerialClient

from hardware.maps import load_map
from hardware.model import SerialSettings
from hardware.planner import bus_time_s, decode_request, plan_requests
from simulators.clock import FakeClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer

LINE = SerialSettings(baudrate=9600, parity="E", bytesize=8, stopbits=1)
CYCLES = 30
T0 = 1_782_036_000.0  # 2026-06-21 10:00 UTC


def run() -> dict[str, float]:
    """Measure and print; returns the figures for the summary."""
    sdm630 = load_map("sdm630")
    requests = plan_requests(sdm630)
    turnaround = sdm630.turnaround_s
    wire = bus_time_s(requests, LINE, turnaround)
    # The master's cycle is request + t3.5 + turnaround + reply + t3.5 per request;
    # bus_time_s counts exactly that.
    meter = SimulatedMeter(sdm630, LoadModel(7, pv_kw=6.0), FakeClock(T0), slave_id=1)
    cycles: list[float] = []
    with RtuPtyServer(meter, LINE) as server:
        # A pty stores no parity bit: the client opens it 8N1 while the simulator
        # times the line as 8E1 (see simulators/rtu_line.py).
        client = ModbusSerialClient(
            server.path, baudrate=LINE.baudrate, parity="N", stopbits=1, timeout=1.0, retries=0
        )
        if not client.connect():
            raise RuntimeError(f"cannot open {server.path}")
        try:
            for _ in range(CYCLES + 2):
                start = time.perf_counter()
                for req in requests:
                    read = (
                        client.read_input_registers
                        if req.fc == 4
                        else client.read_holding_registers
                    )
                    reply = read(req.address, count=req.count, device_id=1)
                    if reply.isError():
                        raise RuntimeError(f"meter answered {reply}")
                    decode_request(req, reply.registers)
                    # the master keeps the line silent for t3.5 before its next frame
                    time.sleep(LINE.frame_gap_s)
                cycles.append(time.perf_counter() - start)
        finally:
            client.close()  # type: ignore[no-untyped-call]
    cycles = cycles[2:]  # the first reads warm up the pty and the interpreter
    mean = statistics.fmean(cycles)
    ratio = mean / wire
    print("== bus: full SDM630 read, 9600 baud 8E1 (11-bit characters) ==")
    print(f"requests per full read:      {len(requests)}  (limit 2)")
    for r in requests:
        print(f"  FC{r.fc:02d} address {r.address} count {r.count} ({len(r.points)} points)")
    print(
        f"time on the wire + turnaround: {wire * 1000:.1f} ms "
        f"(turnaround {turnaround * 1000:.0f} ms per request)"
    )
    print(
        f"measured cycle (mean of {CYCLES}): {mean * 1000:.1f} ms, "
        f"p95 {sorted(cycles)[int(0.95 * len(cycles)) - 1] * 1000:.1f} ms"
    )
    print(f"measured / expected:           {ratio:.3f}  (target within 0.85..1.15)")
    return {"bus_requests": len(requests), "bus_ratio": ratio}


if __name__ == "__main__":
    run()
