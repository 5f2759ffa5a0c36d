"""Firmware flash store: bytes per record on flash, against the edge agent and the wire.

A day of the simulator's SDM630 minutes (``bench.records``) goes through the real
``firmware.store.Store`` -- it runs on CPython too: it needs only ``array``,
``binascii``, ``struct`` and ``protocol`` -- over an in-memory NOR partition of
4 KiB sectors, as on an ESP32. Printed per record:

- **flash, raw minute**: the partition's programmed sectors divided by the
  records in them (entry header, 4-byte alignment, segment header and the unused
  tail of each sector included); the payload alone (firmware/record_codec.py);
- **flash, coarse**: a 15-minute record made by the store's coarsening, per
  minute it covers;
- **edge agent**: its SQLite payload blob plus the queue's own row estimate;
- **wire**: a batch of 60 records as the uplink publishes it (protocol codec,
  compressed when that is smaller), without MQTT/TLS framing.

And what a 1 MiB partition holds: days of raw minutes, and of coarse ones.
"""

from __future__ import annotations

from bench.records import minute_records
from edge_agent.queue import _ROW_OVERHEAD
from edge_agent.queue_schema import encode_payload
from firmware import coarsen, record_codec
from firmware.store import ENTRY_HEAD, SEG_HEAD, Store
from protocol.codec import Batch, Record, encode_batch

SECTOR = 4096
DAY = 24 * 60
MIB = 1 << 20


class RamPartition:
    """NOR flash in RAM with the esp32.Partition block-device methods the store uses."""

    def __init__(self, blocks: int, block_size: int = SECTOR) -> None:
        self.block_size = block_size
        self.blocks = blocks
        self.data = bytearray(b"\xff" * (blocks * block_size))

    def readblocks(self, block: int, buf: bytearray | memoryview, offset: int = 0) -> None:
        start = block * self.block_size + offset
        buf[:] = self.data[start : start + len(buf)]

    def writeblocks(self, block: int, buf: bytes | bytearray | memoryview, offset: int) -> None:
        start = block * self.block_size + offset
        for i, b in enumerate(bytes(buf)):
            self.data[start + i] &= b  # programming only clears bits

    def ioctl(self, op: int, arg: int) -> int | None:
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:
            start = arg * self.block_size
            self.data[start : start + self.block_size] = b"\xff" * self.block_size
            return 0
        return None


def _aligned(n: int) -> int:
    return (n + 3) & ~3


def flash_raw(records: list[Record]) -> tuple[float, float, int]:
    """(flash bytes per record, payload bytes per record, records per sector)."""
    part = RamPartition(len(records) // 10 + 8)
    store = Store(part)
    for r in records:
        store.append(r)
    used = store.n - store.stats["segments_free"]  # nothing acked: free = never written
    assert store.depth() == len(records) and store.stats["coarsened"] == 0
    payload = sum(len(record_codec.encode(r)) for r in records) / len(records)
    per_sector = (SECTOR - SEG_HEAD) // _aligned(ENTRY_HEAD + int(payload))
    return used * SECTOR / len(records), payload, per_sector


def flash_coarse(records: list[Record]) -> float:
    """Flash bytes of one 15-minute record, per minute it covers."""
    sizes = []
    for i in range(0, len(records) - 14, 15):
        merged = coarsen.merge(records[i : i + 15], 900)
        sizes.append(_aligned(ENTRY_HEAD + len(record_codec.encode(merged))))
    return sum(sizes) / len(sizes) / 15


def run() -> dict[str, float]:
    records = minute_records(DAY)
    for i, r in enumerate(records):
        r.seq = i + 1
    raw, payload, per_sector = flash_raw([_copy(r) for r in records])
    coarse = flash_coarse(records)
    sqlite = sum(len(encode_payload(r)) + _ROW_OVERHEAD for r in records) / len(records)
    wire = sum(
        len(encode_batch(Batch("bench-sdm630-1", records[i : i + 60])))
        for i in range(0, len(records), 60)
    ) / len(records)
    usable = MIB // SECTOR - 1  # one sector is the coarsening reserve
    raw_days = usable * per_sector / DAY
    coarse_days = usable * (SECTOR - SEG_HEAD) / (coarse * 15) * 15 / DAY
    print(
        "== firmware flash store: bytes per record (SDM630, 23 instant channels, 10 registers) =="
    )
    print(f"  flash, raw minute (all overhead)   {raw:7.1f} B  ({per_sector} per 4 KiB sector)")
    print(f"  flash, raw minute (payload only)   {payload:7.1f} B")
    print(f"  flash, 15-minute record per minute {coarse:7.1f} B")
    print(f"  edge agent SQLite (payload + row)  {sqlite:7.1f} B")
    print(f"  wire, batch of 60 records          {wire:7.1f} B")
    print(f"  a 1 MiB partition holds {raw_days:.1f} days raw, {coarse_days:.0f} days coarse")
    return {
        "fw_flash_raw_b": raw,
        "fw_flash_payload_b": payload,
        "fw_flash_coarse_b": coarse,
        "fw_sqlite_b": sqlite,
        "fw_wire_b": wire,
        "fw_raw_days_mib": raw_days,
    }


def _copy(r: Record) -> Record:
    return Record(
        0, r.ts, r.period_s, r.clock, r.samples, r.expected, r.span, dict(r.stats), dict(r.counters)
    )


if __name__ == "__main__":
    run()
