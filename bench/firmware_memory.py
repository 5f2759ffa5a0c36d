"""Firmware RAM benchmark: the heap the hot path needs on MicroPython.

Runs the firmware's hot path on the MicroPython WebAssembly port (the release of
the ESP32 firmware) from the BUILT image, the .mpy files a module loads
(``firmware.host.build.compile_lib``), for a simulated hour of 1-second polls of
an SDM630:

    meter reply -> RtuMaster (CRC, framing) -> MeterReader (decode, validate)
      -> MinuteAggregator -> Store.append (flash) -> Uplink: Batch encode
      -> MqttClient publish (QoS 1) -> a transport whose "broker" acknowledges

Every reply is a real RTU frame: the meter simulator's registers (simulators/
meter.py and its load model) for each second of the hour, precomputed on the host
into a file the script reads frame by frame, handed over by a UART-shaped object
(no wire timing, so the hour takes a minute or two). The store writes to a host
file through a block device shaped like ``esp32.Partition`` (its host I/O makes
hex strings, under 1 KB per 256-byte chunk, that a partition would not); the transport
answers CONNECT, PUBLISH, SUBSCRIBE and PINGREQ as a broker would and discards
the payloads. The bench's own code and fakes are measured ("empty") and left out.

The port's garbage collector is not the device's: the npm build has
MICROPY_GC_SPLIT_HEAP_AUTO, so a collection only runs when control returns to
JavaScript, and an allocation that does not fit grows the heap instead of
raising MemoryError (ports/webassembly/main.c). ``--heap`` alone bounds nothing.
So the runner (firmware_memory.mjs) makes every import, the set-up and every poll
cycle a top-level call of its own, and the figures are:

- **live set**: ``gc.mem_alloc()`` after a collection between two polls (what
  the firmware keeps), its peak over the hour; and the part of it that is
  the imported modules' code and data (.mpy bytecode is loaded into RAM; frozen
  into the firmware it would stay in flash);
- **peak allocated**: ``gc.mem_alloc()`` at the end of a poll, before any
  collection: the live set plus everything one poll allocates;
- **smallest heap**: after the set-up, ballast fills the heap until only F
  bytes are free, which makes it behave as a fixed heap of live set + F; the
  smallest F (bisection) with which the hour runs without the heap growing.
  Collections only come between polls here (when 16 KB were allocated, the
  port's threshold), on the device whenever an allocation fails: the figure is
  an upper bound, fragmentation included;
- **encoding a backlog batch**: what encoding one full batch (60 records, as
  after an outage) allocates; the hour above only sends 1-record batches.

What a module needs on top: the paths not exercised here (commands, status,
live mode, modem bring-up and its AT channel). TLS runs in the modem with
firmware/net_modem.py; with net_socket, mbedTLS allocates from the ESP-IDF heap,
outside the Python heap. To measure the whole App (firmware/app.py) instead,
``HOT_PATH``'s setup() builds it with these devices and cycle() calls its step
until a poll is done; the harness part (UART, flash, transport, sampling) and the
runner stay, the runner's ``host`` module then also needs the functions the
machine/esp32 shims call (see tests/micropython/firmware.mjs).

``python -m bench.firmware_memory [--minutes N] [--no-bisect]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.records import minute_records
from firmware.host.build import compile_lib
from firmware.host.regmaps import render
from hardware.maps import load_map
from protocol.codec import Batch
from simulators.clock import SimClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from tests.protocol.micropython_runner import batch_source

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().with_suffix(".mjs")  # one poll per top-level call
SHIMS = ROOT / "tests" / "firmware" / "shims"
MODEL = "sdm630"
DEVICE = "bench-fw-1"
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
SLOT = 256  # bytes per precomputed reply in the frames file: length byte + frame
FLASH_BLOCK = 4096
FLASH_BLOCKS = 64  # a 256 KiB records partition: plenty for an hour that is acknowledged
HEAP_MAX = 1024 * 1024  # initial heap: room for the set-up (nothing is freed within a call)
BACKLOG_BATCH = 60  # records in a full batch (mqtt.batch_max), as after an outage
FREE_MAX = 256 * 1024  # the bisection's upper bound of free bytes above the live set
BISECT_STEP = 4 * 1024
# Imported one per top-level call (the garbage of loading one module at a time, as
# the device's GC would see it), leaves first; the hot path imports the rest.
IMPORTS = (
    "protocol.records",
    "protocol.predict",
    "protocol.batch",
    "protocol.codec",
    "firmware.meter_maps",
    "firmware.rtu",
    "firmware.meter",
    "firmware.aggregate",
    "firmware.record_codec",
    "firmware.coarsen",
    "firmware.store",
    "firmware.mqtt",
    "firmware.uplink",
)

# -- the MicroPython side -------------------------------------------------------------

HARNESS = r'''
import gc, time, binascii, struct
import host
from firmware.transport import Transport, CLOSED, OPEN

class ReplayUart:
    """The meter's replies, one precomputed RTU frame per request, from a host file."""
    def __init__(self, disk, blocks, cycles):
        self.disk = disk
        self.blocks = blocks
        self.cycles = cycles
        self.cycle = 0
        self._buf = bytearray(SLOT)
        self._mv = memoryview(self._buf)
        self._at = 0
        self._n = 0
    def write(self, req):
        fc, address, count = req[1], (req[2] << 8) | req[3], (req[4] << 8) | req[5]
        b = self.blocks.index((fc, address, count))
        off = ((self.cycle % self.cycles) * len(self.blocks) + b) * SLOT
        raw = binascii.unhexlify(host.disk_read(self.disk, off, SLOT))
        self._n = raw[0]
        self._buf[: self._n] = raw[1 : 1 + self._n]
        self._at = 0
        return len(req)
    def flush(self):
        pass
    def txdone(self):
        return True
    def any(self):
        return self._n - self._at
    def readinto(self, buf):
        k = min(len(buf), self._n - self._at)
        buf[:k] = self._mv[self._at : self._at + k]
        self._at += k
        return k

FF_BLOCK = memoryview(bytearray(b"\xff" * FLASH_BLOCK))  # allocated with the bench's code


class HostFlash:
    """esp32.Partition's block-device protocol over a host file, in small chunks.

    Each host read costs a hex string, which a partition's readblocks does not
    (it fills the caller's buffer): blocks never written since their erase are
    answered from a preallocated 0xFF buffer instead, so scanning an empty
    partition at boot allocates nothing, as on the device."""
    CHUNK = 256
    def __init__(self, disk, block_size, blocks):
        self.disk = disk
        self.bs = block_size
        self.n = blocks
        self._ffs = "ff" * self.CHUNK
        self._ffb = FF_BLOCK
        self._written = bytearray(blocks)  # 1: programmed since its last erase
    def readblocks(self, block, buf, off=0):
        mv = memoryview(buf)
        if not self._written[block]:
            mv[:] = self._ffb[: len(buf)]
            return
        pos = block * self.bs + off
        i = 0
        while i < len(buf):
            k = min(self.CHUNK, len(buf) - i)
            mv[i : i + k] = binascii.unhexlify(host.disk_read(self.disk, pos + i, k))
            i += k
    def writeblocks(self, block, buf, off=None):
        if off is None:
            self.ioctl(6, block)
            off = 0
        self._written[block] = 1
        mv = memoryview(buf)
        pos = block * self.bs + off
        i = 0
        while i < len(buf):
            k = min(self.CHUNK, len(buf) - i)
            host.disk_write(self.disk, pos + i, binascii.hexlify(mv[i : i + k]).decode())
            i += k
    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        if op == 6:
            for i in range(0, self.bs, self.CHUNK):
                host.disk_write(self.disk, arg * self.bs + i, self._ffs)
            self._written[arg] = 0
            return 0
        return 0

class AckingTransport(Transport):
    """A broker in a box: CONNACK, PUBACK, SUBACK, PINGRESP; every payload discarded."""
    def __init__(self):
        super().__init__()
        self._out = bytearray(64)
        self._on = 0
        self._head = bytearray(4)  # a packet's first body bytes (for its packet id)
        self._state = 0  # 0: first byte, 1: length, 2: body
        self._first = 0
        self._len = 0
        self._mul = 1
        self._got = 0
        self._topic = -1
        self.published = 0
        self.bytes_out = 0
    def open(self, host_, port, tls):
        self.state = OPEN
    def poll(self):
        pass
    def close(self):
        self.state = CLOSED
    def recv(self, limit):
        if not self._on:
            return b""
        k = min(limit, self._on)
        data = bytes(self._out[:k])
        self._out[: self._on - k] = self._out[k : self._on]
        self._on -= k
        return data
    def _reply(self, *b):
        for x in b:
            self._out[self._on] = x
            self._on += 1
    def send(self, data):
        self.bytes_out += len(data)
        for x in data:
            if self._state == 0:
                self._first, self._len, self._mul, self._got, self._topic = x, 0, 1, 0, -1
                self._state = 1
            elif self._state == 1:
                self._len += (x & 0x7F) * self._mul
                self._mul *= 128
                if not x & 0x80:
                    self._state = 2
                    if self._len == 0:
                        self._done()
            else:
                self._body(x)
        return len(data)
    def _body(self, x):
        kind = self._first >> 4
        g = self._got
        if kind == 3:  # PUBLISH: topic length, topic, then the packet id (QoS 1)
            if g < 2:
                self._head[g] = x
                if g == 1:
                    self._topic = (self._head[0] << 8) | self._head[1]
            elif 2 + self._topic <= g < 4 + self._topic:
                self._head[2 + g - 2 - self._topic] = x
        elif g < 2:
            self._head[2 + g] = x
        self._got = g + 1
        if self._got == self._len:
            self._done()
    def _done(self):
        kind = self._first >> 4
        self._state = 0
        if kind == 1:
            self._reply(0x20, 2, 0, 0)
        elif kind == 3:
            self.published += 1
            if (self._first >> 1) & 3:
                self._reply(0x40, 2, self._head[2], self._head[3])
        elif kind == 8:
            self._reply(0x90, 3, self._head[2], self._head[3], 1)
        elif kind == 12:
            self._reply(0xD0, 0)
        elif kind == 14:
            self.state = CLOSED

'''

HOT_PATH = r"""
from protocol.records import CLOCK_SYNCED

MAX_SPLIT = 128 * 1024 * 1024  # the port's "max new split", counted in gc.mem_free()


def areas():
    return gc.mem_alloc() + gc.mem_free() - MAX_SPLIT


AREAS0 = areas()  # the heap given with --heap (less the GC's own tables)
S = {"base": 0, "live": 0, "peak": 0, "areas": AREAS0, "fixed": 0}


def setup(measure):
    global uart, reader, agg, store, transport, uplink, now_ms, sim
    from firmware import meter_maps
    from firmware.rtu import RtuMaster
    from firmware.meter import MeterReader
    from firmware.aggregate import MinuteAggregator
    from firmware.store import Store
    from firmware.mqtt import MqttClient
    from firmware.uplink import Uplink
    blocks = list(meter_maps.get(MODEL)[6])
    uart = ReplayUart("frames", blocks, CYCLES)
    master = RtuMaster(uart, None)
    reader = MeterReader(master, MODEL, 1)
    master.set_line(115200, 10)  # shortest t3.5 (1.75 ms): the replay has no wire to wait for
    agg = MinuteAggregator(60, lambda: CLOCK_SYNCED)
    store = Store(HostFlash("flash", FLASH_BLOCK, FLASH_BLOCKS))
    transport = AckingTransport()
    client = MqttClient(transport, DEVICE)
    sim = [T0]
    uplink = Uplink(client, store, DEVICE, now_fn=lambda: sim[0])
    now_ms = time.ticks_ms()
    uplink.start("broker.invalid", 8883, True)


def cycle(i):
    # One poll, as the main loop spreads it over its turns: read, aggregate, store,
    # publish. Nothing is freed inside a call on this port: what is allocated at
    # the end is the live set plus all of this poll's garbage.
    global now_ms
    uart.cycle = i
    reader.start_cycle()
    reading = None
    while reading is None:
        reading = reader.step(time.ticks_ms())
    sim[0] = T0 + i
    record = agg.add_reading(sim[0], reading)
    if record is not None:
        store.append(record)
    store.step()
    for _ in range(3):  # publish, then read the PUBACK the "broker" queued
        uplink.step(now_ms)
    now_ms = time.ticks_add(now_ms, 1000)
    a = gc.mem_alloc()
    if a > S["peak"]:
        S["peak"] = a
    t = areas()
    if t > S["areas"]:
        S["areas"] = t


BALLAST = [None] * 4096  # preallocated: growing a list would leave garbage behind


def ballast(free):
    # Fill the heap (its live set is the firmware after set-up) until only ``free``
    # bytes are left, in small pieces that fill the holes first: from here on the
    # heap behaves like a fixed one of live + free bytes, and any growth of its
    # areas is the MemoryError a module with that heap would have had.
    i = 0
    while areas() - gc.mem_alloc() > free + 512:
        BALLAST[i] = bytearray(448)
        i += 1
    S["areas"] = S["fixed"] = areas()


def mark(name):
    # right after a collection at the top level: the live set at a milestone
    S[name] = gc.mem_alloc()


def settle():
    # called right after a collection at the top level: the live set
    a = gc.mem_alloc()
    if not S["base"]:
        S["base"] = a
    if a > S["live"]:
        S["live"] = a


def report():
    for key in ("empty", "imports", "base", "live", "peak", "areas", "fixed"):
        print("=" + key, S[key])
    print("=areas0", AREAS0)
    print("=cycles", reader.cycles)
    print("=errors", sum(reader.errors.values()))
    print("=appended", store.stats["appended"])
    print("=acked", uplink.records_acked)
    print("=published", transport.published)
    print("=bytes_out", transport.bytes_out)
"""


def _crc16(frame: bytes) -> int:
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def write_frames(path: Path, cycles: int) -> list[tuple[int, int, int]]:
    """The simulated meter's reply to every read block, for each second; the blocks."""
    maps: dict[str, Any] = {}
    exec(render(), maps)  # the blocks exactly as the compiled maps give them
    blocks: list[tuple[int, int, int]] = [(b[0], b[1], b[2]) for b in maps["MAPS"][MODEL][6]]
    clock = SimClock(1e-9, start=T0)  # stands still unless advanced
    meter = SimulatedMeter(load_map(MODEL), LoadModel(7, start=T0), clock)
    with path.open("wb") as f:
        for _ in range(cycles):
            clock.advance(1.0)
            meter.begin_request()
            for fc, address, count in blocks:
                regs = meter.registers(fc, address, count)
                frame = bytes([1, fc, 2 * count]) + struct.pack(f">{count}H", *regs)
                frame += struct.pack("<H", _crc16(frame))
                if len(frame) >= SLOT:
                    raise ValueError(f"reply of {len(frame)} bytes does not fit a slot")
                f.write(bytes([len(frame)]) + frame.ljust(SLOT - 1, b"\0"))
    return blocks


@dataclass
class Run:
    ok: bool
    figures: dict[str, int]
    error: str


class Workbench:
    """The built image, the frames and a flash file in a temporary folder."""

    def __init__(self, work: Path, minutes: int) -> None:
        self.work = work
        self.cycles = minutes * 60
        with contextlib.redirect_stdout(io.StringIO()):
            compile_lib(work / "image")
        self.frames = work / "frames.bin"
        write_frames(self.frames, self.cycles)
        self.flash = work / "flash.bin"
        self.script = work / "bench.py"

    def run(
        self, heap: int, measure: bool, free: int | None = None, script: str | None = None
    ) -> Run:
        """The hot path for every cycle (or ``script``'s own setup/report, no cycles)."""
        self.flash.write_bytes(b"\xff" * (FLASH_BLOCK * FLASH_BLOCKS))  # erased flash
        constants = (
            f"SLOT = {SLOT}\nMODEL = {MODEL!r}\nDEVICE = {DEVICE!r}\nT0 = {T0}\n"
            f"CYCLES = {self.cycles}\nFLASH_BLOCK = {FLASH_BLOCK}\n"
            f"FLASH_BLOCKS = {FLASH_BLOCKS}\n"
        )
        self.script.write_text(script if script is not None else constants + HARNESS + HOT_PATH)
        image = self.work / "image" / "lib"
        cmd = [
            "node",
            str(RUNNER),
            "--heap",
            str(heap),
            "--cycles",
            str(self.cycles if script is None else 0),
            *(["--measure"] if measure else []),
            *(["--free", str(free)] if free is not None else []),
            *(arg for name in IMPORTS for arg in ("--import", name)),
            "--lib",
            f"{image / 'protocol'}:/lib/protocol",
            "--lib",
            f"{image / 'firmware'}:/lib/firmware",
            "--lib",
            f"{SHIMS}:/lib",
            "--disk",
            f"frames={self.frames}",
            "--disk",
            f"flash={self.flash}",
            str(self.script),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
        figures = {}
        for line in proc.stdout.splitlines():
            if line.startswith("="):
                key, _, value = line[1:].partition(" ")
                figures[key] = int(value)
        if proc.returncode != 0:
            raise RuntimeError(f"the firmware bench script failed:\n{proc.stderr[-3000:]}")
        if free is not None and figures["areas"] > figures["fixed"]:
            grown = figures["areas"] - figures["fixed"]
            return Run(False, figures, f"the heap had to grow by {grown} bytes")
        return Run(True, figures, "")


ENCODE = """
import gc
from protocol.batch import encode_batch

def mark(name):
    pass

def setup(measure):
    pass

def settle():
    pass

def report():
    # nothing is freed inside this call: the difference is everything encoding allocated
    a = gc.mem_alloc()
    data = encode_batch(BATCH)
    print("=alloc", gc.mem_alloc() - a)
    print("=bytes", len(data))
"""


def encode_cost(bench: Workbench, records: int) -> dict[str, int]:
    """Bytes allocated while one batch of ``records`` minutes is encoded on MicroPython."""
    batch = Batch(DEVICE, minute_records(records, start=T0), False)
    return bench.run(HEAP_MAX, measure=False, script=batch_source(batch) + ENCODE).figures


def smallest_free(bench: Workbench, high: int) -> int:
    """Bisection: the fewest free bytes above the live set (to BISECT_STEP) with which
    the whole run goes through without the heap growing."""
    if not bench.run(HEAP_MAX, measure=False, free=high).ok:
        raise RuntimeError(f"the poll cycles need more than {high} free bytes")
    low = 0
    while high - low > BISECT_STEP:
        mid = (low + high) // 2 // BISECT_STEP * BISECT_STEP
        if bench.run(HEAP_MAX, measure=False, free=mid).ok:
            high = mid
        else:
            low = mid
    return high


def run(minutes: int = 60, bisect: bool = True) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="myenergy-bench-fw-") as tmp:
        started = time.monotonic()
        bench = Workbench(Path(tmp), minutes)
        measured = bench.run(HEAP_MAX, measure=True)
        f = measured.figures
        if f["cycles"] != bench.cycles or f["acked"] < f["appended"] - 1:
            raise RuntimeError(f"the simulated hour did not go through: {f}")
        free = smallest_free(bench, FREE_MAX) if bisect else 0
        backlog = encode_cost(bench, BACKLOG_BATCH)
        elapsed = time.monotonic() - started
    # The bench script's own code (harness, fakes) is "empty"; the rest is the firmware.
    own = f["empty"]
    firmware_live = f["live"] - own
    print(f"== firmware RAM on MicroPython (WebAssembly port), {minutes} simulated minutes ==")
    print(
        f"  {f['cycles']} polls of an SDM630, {f['appended']} records stored,"
        f" {f['acked']} acknowledged in {f['published']} publishes"
        f" ({f['bytes_out']} bytes of MQTT), {f['errors']} read errors"
    )
    print(f"  (the bench's own code and fakes:   {own / 1024:7.1f} KB, left out below)")
    print(f"  modules imported (.mpy, live):     {(f['imports'] - own) / 1024:7.1f} KB")
    print(f"  after setting up the objects:      {(f['base'] - own) / 1024:7.1f} KB")
    print(f"  live set, peak over the run:       {firmware_live / 1024:7.1f} KB")
    print(f"  allocated, peak (live + 1 poll):   {(f['peak'] - own) / 1024:7.1f} KB")
    figures = {
        "fw_imports_kb": (f["imports"] - own) / 1024,
        "fw_live_kb": firmware_live / 1024,
        "fw_peak_kb": (f["peak"] - own) / 1024,
    }
    if bisect:
        smallest = firmware_live + free
        print(
            f"  smallest heap for the run:         {smallest / 1024:7.1f} KB"
            f" (live set + {free / 1024:.0f} KB free, bisection)"
        )
        figures["fw_min_heap_kb"] = smallest / 1024
    per_record = backlog["alloc"] / BACKLOG_BATCH
    print(
        f"  encoding a backlog batch ({BACKLOG_BATCH} records, {backlog['bytes']} bytes)"
        f" allocates {backlog['alloc'] / 1024:.0f} KB ({per_record / 1024:.1f} KB a record)"
    )
    print(
        "  (garbage the device's GC collects as it goes; this port cannot collect inside"
        " a call, so the live peak while encoding is not measured)"
    )
    figures["fw_encode_kb_per_record"] = per_record / 1024
    print(f"  ({elapsed:.0f} s)")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.firmware_memory",
        description="RAM the firmware's hot path needs on MicroPython (WebAssembly port).",
    )
    parser.add_argument("--minutes", type=int, default=60, help="simulated minutes (default 60)")
    parser.add_argument(
        "--no-bisect", action="store_true", help="skip the search for the smallest heap"
    )
    args = parser.parse_args(argv)
    run(args.minutes, bisect=not args.no_bisect)
    return 0


if __name__ == "__main__":
    sys.exit(main())
