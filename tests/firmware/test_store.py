"""The flash record store (firmware/store.py) on MicroPython, over the esp32.Partition shim.

Append, pending, ack and restart on a flash image file that outlives the process
(a real SIGKILL as the power cut), re-anchoring, wear spread over the segments,
and the record codec's round trip. Power cuts at every byte: test_store_powercut.py;
coarsening against the edge agent: test_store_coarsen.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from firmware import record_codec
from protocol.codec import CLOCK_ESTIMATED, CLOCK_UNANCHORED, Record
from tests.firmware.harness import results, run_firmware, start_firmware
from tests.firmware.store_scripts import RECORDS_PY, parse_record, records_json
from tests.protocol.realistic import realistic_records

pytestmark = pytest.mark.micropython

BLOCK = 4096


def flash(tmp_path: Path, blocks: int) -> Path:
    """A blank flash image (erased NOR reads 0xFF) of ``blocks`` 4 KiB sectors."""
    path = tmp_path / "flash.bin"
    path.write_bytes(b"\xff" * (blocks * BLOCK))
    return path


def printed_records(out: str, tag: str) -> list[Record]:
    return [parse_record(line[len(tag) + 1 :]) for line in out.splitlines() if line.startswith(tag)]


def test_append_pending_ack_survive_restarts(tmp_path: Path) -> None:
    image = flash(tmp_path, 8)
    records = realistic_records(40)
    first = run_firmware(
        RECORDS_PY
        + f"""
import esp32
from firmware.store import Store
part = esp32.Partition.find(esp32.Partition.TYPE_DATA, label="records")[0]
s = Store(part)
rows = {records_json(records)}
seqs = [s.append(from_json(row)) for row in rows]
print("=seqs", seqs[0], seqs[-1], len(seqs))
got = s.pending(10, exclude=(3,))
print("=got", " ".join(str(r.seq) for r in got))
s.ack([r.seq for r in got])
print("=depth", s.depth())
""",
        disks={"flash": image},
    )
    out = results(first)
    assert out["seqs"] == "1 40 40"
    assert out["got"] == "1 2 4 5 6 7 8 9 10 11"  # lowest seqs, 3 excluded (in flight)
    assert out["depth"] == "30"

    second = run_firmware(
        RECORDS_PY
        + """
import esp32
from firmware.store import Store
s = Store(esp32.Partition.find(esp32.Partition.TYPE_DATA)[0])
print("=depth", s.depth(), s.next_seq, s.stats["torn"])
for r in s.pending(100):
    print("@rec", to_json(r))
nxt = s.append(from_json([1767300000, 0, 60, {"u_l1_v": [230.1, 229.0, 231.0]}, {}]))
print("=next", nxt)
""",
        disks={"flash": image},
    )
    out = results(second)
    assert out["depth"] == "30 41 0"
    assert out["next"] == "41"  # never reused
    back = printed_records(second, "@rec")
    assert [r.seq for r in back] == [3, *range(12, 41)]
    for r in back:
        want = records[r.seq - 1]
        want.seq = r.seq
        assert r == want  # wire-equal: nothing the uplink would send changed


def test_sigkill_while_appending_loses_nothing_that_was_stored(tmp_path: Path) -> None:
    image = flash(tmp_path, 16)
    script = """
import esp32
from firmware.store import Store
from protocol.records import Record
s = Store(esp32.Partition.find(esp32.Partition.TYPE_DATA)[0])
i = 0
while True:
    ts = 1767225600 + 60 * i
    seq = s.append(Record(0, ts, 60, 0, 60, 60, 1,
        {"u_l1_v": (230.0 + i % 10, 229.0, 241.0), "p_l1_w": (1000.0 + i, 900.0, 1500.0 + i)},
        {"e_imp_wh": 1000 + 10 * i}))
    print("=stored", seq, ts)
    if seq % 25 == 0:
        s.ack([r.seq for r in s.pending(20)])
        print("=acked_upto", seq)
    i += 1
"""
    with start_firmware(script, disks={"flash": image}) as fw:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = [x for x in fw.output().splitlines() if x.startswith("=stored")]
            if len(lines) >= 300:
                break
            time.sleep(0.05)
        fw.kill()  # mid-write or between writes: wherever it was
        output = fw.output()
    stored = {}
    for line in output.splitlines():
        if line.startswith("=stored "):
            fields = line.split()
            stored[int(fields[1])] = int(fields[2])
    assert len(stored) >= 300
    check = run_firmware(
        RECORDS_PY
        + """
import esp32
from firmware.store import Store
s = Store(esp32.Partition.find(esp32.Partition.TYPE_DATA)[0])
print("=next", s.next_seq)
for r in s.pending(100000):
    print("@rec", to_json(r))
""",
        disks={"flash": image},
    )
    back = {r.seq: r for r in printed_records(check, "@rec")}
    acked = 20 * (max(stored) // 25)  # every 25th append acked the 20 lowest
    for seq, ts in stored.items():
        if seq in back:
            assert back[seq].ts == ts
            assert back[seq].counters == {"e_imp_wh": 1000 + 10 * (seq - 1)}
    # All but the acked ones are there (an ack batch cut short may leave a few).
    missing = [seq for seq in stored if seq not in back]
    assert len(missing) <= acked
    assert all(seq <= acked + 20 for seq in missing)
    assert max(stored) in back
    assert int(results(check)["next"]) > max(stored)


def test_reanchor_moves_this_runs_unanchored_records(tmp_path: Path) -> None:
    image = flash(tmp_path, 8)
    out = run_firmware(
        RECORDS_PY
        + """
import esp32
from firmware.store import Store
s = Store(esp32.Partition.find(esp32.Partition.TYPE_DATA)[0])
def row(i, clock):
    return from_json([1000000 + 60 * i, clock, 60, {"f_hz": [50.0, 49.9, 50.1]}, {"e_imp_wh": i}])
for i in range(3):
    s.append(row(i, 2))  # an earlier run's unanchored records
since = s.next_seq
for i in range(3, 10):
    s.append(row(i, 2))
s.append(row(10, 0))
flight = s.pending(1, exclude=(1, 2, 3))  # seq 4 returned: in flight, left alone
print("=flight", flight[0].seq)
moved = s.reanchor(1767225600 - 1000000 + 7, since)
print("=moved", moved, s.depth())
s2 = Store(esp32.Partition.find(esp32.Partition.TYPE_DATA)[0])
for r in s2.pending(100):
    print("@rec", to_json(r))
print("=depth", s2.depth())
""",
        disks={"flash": image},
    )
    res = results(out)
    assert res["flight"] == "4"
    assert res["moved"] == "6 11"
    assert res["depth"] == "11"
    back = printed_records(out, "@rec")
    assert [r.seq for r in back] == list(range(1, 12))
    for r in back[:4]:  # an earlier run's, and the one in flight: kept as they were
        assert r.clock == CLOCK_UNANCHORED
        assert r.ts == 1000000 + 60 * (r.seq - 1)
    for r in back[4:10]:
        assert r.clock == CLOCK_ESTIMATED
        # ts + step, floored to the minute: the step's 7 s vanish
        assert r.ts == 1767225600 + 60 * (r.seq - 1)
        assert r.counters == {"e_imp_wh": r.seq - 1}
    assert back[10].clock == 0
    assert back[10].ts == 1000000 + 600


def test_wear_spreads_erases_over_every_segment() -> None:
    out = run_firmware(
        """
import esp32
from firmware.store import Store
from protocol.records import Record
part = esp32.Partition.ram(8, 1024)
s = Store(part)
for i in range(3000):
    s.append(Record(0, 1767225600 + 60 * i, 60, 0, 60, 60, 1,
                    {"u_l1_v": (230.0, 229.0, 231.0)}, {"e_imp_wh": i}))
    if i % 7 == 6:
        s.ack([r.seq for r in s.pending(7)])
        s.step()
print("=erases", " ".join(str(n) for n in part.erases))
print("=depth", s.depth(), s.stats["dropped"], s.stats["coarsened"])
""",
        heap=2 * 1024 * 1024,
    )
    res = results(out)
    erases = [int(x) for x in res["erases"].split()]
    assert res["depth"] == "4 0 0"  # appended after the last ack
    assert min(erases) >= 10  # the log went round many times
    assert max(erases) - min(erases) <= 1  # round-robin: evenly worn


def test_unencodable_record_is_refused_and_nothing_stored() -> None:
    out = run_firmware(
        """
import esp32
from firmware.store import Store
from protocol.records import Record
s = Store(esp32.Partition.ram(4, 4096))
try:
    s.append(Record(0, 1767225600, 60, 0, 60, 60, 1, {"u_l1_v": (float("nan"), 1.0, 2.0)}, {}))
except ValueError as e:
    print("=refused", type(e).__name__)
print("=depth", s.depth(), s.next_seq)
print("=next", s.append(Record(0, 1767225600, 60, 0, 60, 60, 1, {}, {"e_imp_wh": 5})))
"""
    )
    res = results(out)
    assert res["refused"] == "ValueError"
    assert res["depth"] == "0 1"
    assert res["next"] == "1"


def test_codec_round_trip_and_size_on_cpython_and_micropython() -> None:
    records = realistic_records(60)
    sizes = [len(record_codec.encode(r)) for r in records]
    for r in records:
        back = record_codec.decode(bytes(record_codec.encode(r)), r.seq, r.ts)
        assert back == r
    out = run_firmware(
        RECORDS_PY
        + f"""
import binascii
from firmware import record_codec
rows = {records_json(records)}
for row in rows:
    print("@hex", binascii.hexlify(record_codec.encode(from_json(row))).decode())
"""
    )
    hexes = [line[5:] for line in out.splitlines() if line.startswith("@hex ")]
    # The same bytes on both interpreters (seq is not in the payload).
    assert hexes == [bytes(record_codec.encode(r)).hex() for r in records]
    # A 3-phase SDM630 minute (23 instant channels, 10 registers): well under 200 B.
    assert max(sizes) < 200
    assert sum(sizes) / len(sizes) > 120  # and really carries every value


def test_drops_oldest_only_when_nothing_can_merge_never_in_flight() -> None:
    # Coarse records only (what a long outage leaves): nothing to merge, so when
    # full the oldest are dropped -- counted, persisted -- except those in flight.
    out = run_firmware(
        """
import esp32
from firmware.store import Store
from protocol.records import Record
part = esp32.Partition.ram(6, 1024)
s = Store(part)
def coarse(i):
    return Record(0, 1767225600 + 900 * i, 900, 0, 900, 900, 15,
                  {"u_l1_v": (230.0, 229.0, 231.0)}, {"e_imp_wh": 1000 + i})
for i in range(5):
    s.append(coarse(i))
flight = [r.seq for r in s.pending(2)]  # in flight: 1 and 16
for i in range(5, 300):
    s.append(coarse(i))
got = s.pending(100000)
print("=flight", " ".join(str(q) for q in flight))
print("=kept", " ".join(str(r.seq) for r in got[:3]))
print("=stats", s.dropped, s.stats["coarsened"], s.depth(), len(got))
print("=last", got[-1].seq, got[-1].counters["e_imp_wh"])
s2 = Store(part)
print("=after", s2.dropped, s2.depth(), s2.next_seq)
""",
        heap=2 * 1024 * 1024,
    )
    res = results(out)
    assert res["flight"] == "1 16"
    kept = [int(x) for x in res["kept"].split()]
    assert kept[:2] == [1, 16]  # in flight: copied forward, never dropped
    assert kept[2] > 31  # what came after them was dropped, oldest first
    dropped, coarsened, depth, n = (int(x) for x in res["stats"].split())
    assert coarsened == 0
    assert dropped > 0 and dropped % 15 == 0  # sum of spans
    assert depth == 15 * n
    assert dropped + depth == 15 * 300  # every minute is either held or counted lost
    assert res["last"] == f"{1 + 15 * 299} {1000 + 299}"  # the newest is kept
    assert res["after"] == f"{dropped} {depth} {1 + 15 * 300}"  # persisted
