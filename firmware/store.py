"""Durable store-and-forward of records on a raw flash partition (log-structured).

The firmware's counterpart of ``edge_agent.queue``: a record is on flash before
``append`` returns, it leaves only through ``ack`` (after the broker's PUBACK),
seqs are never reused, and when the flash fills the oldest raw minutes are
coarsened into 15-minute records (firmware/coarsen.py) before anything is
dropped. No file system: the store owns a data partition (``esp32.Partition``
labelled "records") through the block-device protocol -- ``readblocks`` and
``writeblocks`` with an offset (program without erase: NOR flash only clears
bits), ``ioctl(4)`` block count, ``ioctl(5)`` block size, ``ioctl(6, n)`` erase.

Layout. Each erase block is a *segment*: a 32-byte header, then entries
appended one after the other, never rewritten. ::

    segment header     4s "MEsg", u32 gen, u32 seq_base, u32 dropped, u32 crc,
                       12 bytes 0xFF (reserved)
    entry              u8 kind, u8 ack, u16 payload length, u32 seq, u32 ts,
                       u32 crc, the payload (firmware/record_codec.py), padding
                       to a multiple of 4 bytes (the next entry's alignment)

``gen`` counts segment openings (the newest segment is the *head*, the only one
appended to); ``seq_base`` is the next seq when it was opened and ``dropped``
the records lost so far, so both counters survive even when every record was
acknowledged and every other segment erased: the head is never erased. CRC-32
(``binascii.crc32``, present on every port built at the EXTRA_FEATURES level,
the ESP32's) covers everything but the ack byte. The ack byte is written 0xFF
and programmed to 0x00 in place when the PUBACK came; anything but 0xFF means
acknowledged (a byte torn while being programmed was on its way to 0x00).

Kinds (one byte): ``0x50 | MOVED | RAW`` a record -- bit 1 RAW: a 1-minute
record (period 60, span 1: may be merged), bit 0 MOVED: written by the store
itself (a coarse record, a record copied out of a segment being reclaimed, or
re-stamped by ``reanchor``), which replaces the entries whose seqs it covers:
those are acknowledged right after it is written; ``0x5C`` the dropped counter
after a drop; ``0x00`` a torn entry, marked at recovery.

Power loss at any byte. Recovery (the constructor) scans every segment: a
header with a bad CRC is a segment to erase before use; entries are walked from
the start of a segment; one that is not whole (bad kind, length or CRC) is
torn: its kind byte is programmed to 0x00 (dead: counted once, and programming
only clears bits) and the walk resumes at the next 4-byte-aligned offset that
holds a whole entry. If there is none, appending resumes after the last
programmed byte of the segment: nothing is ever programmed over a torn entry's
bytes. A cut between writing a MOVED entry and acknowledging what it
replaces leaves both: the newest MOVED entry of the log wins and the older
copies are acknowledged at recovery. An entry whose ``append`` returned is
whole and found again; one torn mid-append is gone, and its seq is given again
(it never left the device). An interrupted erase leaves a segment that is
neither valid nor blank: erased again before use.

Space. Free segments are erased ones and those whose every record is acked
(erased lazily: ``step`` erases one per call, ~45 ms on an ESP32 sector, or the
next segment opening does). When an append needs a new segment and no more than
``reserve_segments`` are free, the oldest segment holding raw minutes that can
be merged is reclaimed: its groups (one per 15-minute cell, consecutive seqs,
none in flight, cell closed, no other record in that cell) become coarse
records at the head, whatever else it holds is copied there, and it is erased.
The reserve is what those writes use. Only when nothing can be merged is the
oldest segment emptied by dropping its records (counted in ``dropped``, the
sum of their spans); records in flight are copied, never dropped or merged.
Segments are taken round-robin after the head, so erases spread evenly. A
power cut in the middle of a reclaim can leave the reserve used up; the next
append reclaims again at once, while the head still has room, and if even that
cannot write, the oldest segment is dropped rather than the store stopping.
``dropped`` may count a segment twice after a cut between its counting and
its erase (its records then come back too: more data, never less).

Cost (the main loop calls these between polls): ``append`` programs one entry
(~1 ms on an ESP32 for 200 bytes); when a segment fills while the flash is
full it also reclaims one (tens of ms, plus a ~45 ms sector erase), once per
~23 minutes of records. ``pending`` reads and decodes the records it returns;
``ack`` programs one byte each. Recovery at boot reads every entry once.

RAM. Per segment ~30 bytes of summary in flat arrays (state, gen, write
position, live and raw counts, seq and ts ranges): 7.5 KB for a 1 MiB
partition. The entry index of a segment (offset, seq, flags: 7 bytes an entry)
is read from flash when needed and only a few are kept (the head, the segment
being reclaimed and the last ``CACHE`` used); records themselves are read back
from flash when ``pending`` or the reclaimer needs them.

Limits: ``seq`` and ``ts`` are u32 on flash (a seq a minute lasts 8000 years, a
ts reaches 2106); a record must fit a segment (38 channels take < 400 bytes).
"""

import array
import binascii
import struct

from firmware import coarsen, record_codec
from protocol.records import CLOCK_ESTIMATED, CLOCK_UNANCHORED, PERIOD_COARSE_S, PERIOD_RAW_S

try:
    from typing import Any
except ImportError:
    pass

SEG_MAGIC = b"MEsg"
SEG_HEAD = 32  # bytes of segment header; entries start here
SEG_FMT = "<4sIIII"  # magic, gen, seq_base, dropped, crc
ALIGN = 4  # entries start on 4-byte boundaries: where recovery looks past a torn one
ENTRY_HEAD = 16
ENTRY_FMT = "<BBHIII"  # kind, ack, length, seq, ts, crc
KIND_RECORD = 0x50  # | MOVED | RAW
KIND_META = 0x5C
KIND_DEAD = 0x00  # a torn entry, marked at recovery (programming only clears bits)
KINDS = (0x50, 0x51, 0x52, 0x53, KIND_META)
U32 = 0xFFFFFFFF
CACHE = 4  # entry indexes kept besides the head's and the reclaimed segment's

# Segment states (RAM only)
FREE = 0  # erased, blank: can be opened now
DIRTY = 1  # nothing live in it (all acked, torn header, half erased): erase before use
USED = 2  # valid header, holds live records (or is the head)

# Entry flags: bits 0 and 1 as in the kind byte, LIVE in RAM only
MOVED = 1  # written by the store (replaces what it covers)
RAW = 2  # a 1-minute record (period 60, span 1): may be merged
LIVE = 4  # not acknowledged

_ACKED = b"\x00"
_DEAD = b"\x00"
_BLANK = b"\xff" * 256


class StoreFullError(OSError):
    """No segment left to write to: every stored record is in flight."""


class _Index:
    """The entries of one segment, in the order they were written."""

    def __init__(self) -> None:
        self.offs = array.array("H")
        self.seqs = array.array("L")
        self.flags = bytearray()


class Store:
    """Flash record store; see the module docstring for the format and the rules."""

    def __init__(self, part: "Any", reserve_segments: int = 1) -> None:
        self.part = part
        self.block_size = part.ioctl(5, 0)
        n = part.ioctl(4, 0)
        if n < reserve_segments + 3:
            raise ValueError("partition too small: %d segments" % n)
        self.n = n
        self.reserve = reserve_segments
        zeros = bytes(4 * n)
        # Per-segment summary, flat: an object per segment would cost ~160 bytes.
        self._state = bytearray(n)
        self._gen = array.array("L", zeros)
        self._pos = array.array("H", bytes(2 * n))  # where the next entry goes
        self._live = array.array("H", bytes(2 * n))  # un-acked entries
        self._raw = array.array("H", bytes(2 * n))  # un-acked RAW entries
        self._min_live = array.array("L", zeros)  # lowest un-acked seq (U32: none)
        self._lo_seq = array.array("L", zeros)  # seq and ts ranges of all its entries
        self._hi_seq = array.array("L", zeros)
        self._lo_ts = array.array("L", zeros)
        self._hi_ts = array.array("L", zeros)
        self._cache = {}  # type: dict[int, _Index]
        self._lru = []  # type: list[int]
        self.head = -1
        self._busy = -1  # the segment being reclaimed: never opened meanwhile
        self.next_seq = 1
        self.next_gen = 1
        self.dropped = 0
        self._depth = 0
        self._newest_ts = -1  # ts of the highest seq stored: the cell in progress
        self._newest_seq = 0
        self._lease = set()  # type: Any  # in flight: last exclude + last pending's seqs
        self._hbuf = bytearray(ENTRY_HEAD)
        self._chunk = bytearray(256)
        self._ack = memoryview(bytearray(_ACKED))
        self.stats = {
            "appended": 0,
            "acked": 0,
            "coarsened": 0,
            "dropped": 0,
            "torn": 0,
            "corrupt": 0,
            "segments_free": 0,
        }
        self._recover()

    # --- the API ----------------------------------------------------------------

    def append(self, record: "Any") -> int:
        """Store ``record`` under the next seq (set on it too); durable when it returns.

        ValueError, nothing stored, for a record the wire could not carry.
        StoreFullError (an OSError) when there is no room at all.
        """
        seq = self.next_seq
        record.seq = seq
        payload = record_codec.encode(record)  # checks every field first
        if seq + record.span > U32 or not 0 <= record.ts <= U32:
            raise ValueError("seq or ts beyond the store's u32 fields")
        if self.stats["segments_free"] < self.reserve:
            # A power cut during a reclaim used the reserve: restore it while
            # the head still has room for the reclaimer's writes.
            self._make_room()
        raw = RAW if record.span == 1 and record.period_s == PERIOD_RAW_S else 0
        self._write(KIND_RECORD | raw, seq, record.ts, payload, True)
        self.next_seq = seq + record.span
        self._newest_seq = seq
        self._newest_ts = record.ts
        self._depth += record.span
        self.stats["appended"] += 1
        return seq

    def pending(self, limit: int, exclude: "Any" = ()) -> "list[Any]":
        """Up to ``limit`` un-acked records, lowest seq first, skipping seqs in ``exclude``.

        ``exclude`` (the uplink's in-flight set) and the records returned are
        protected from coarsening and dropping until the next call.
        """
        skip = exclude if isinstance(exclude, set) else set(exclude)
        picked = []  # type: list[tuple[int, int, int]]  # (seq, block, index), sorted
        order = [b for b in range(self.n) if self._state[b] == USED and self._live[b]]
        order.sort(key=lambda b: self._min_live[b])
        for b in order:
            if limit <= 0:
                break
            if len(picked) >= limit and self._min_live[b] > picked[-1][0]:
                break
            idx = self._index(b)
            seqs = idx.seqs
            flags = idx.flags
            for i in range(len(seqs)):
                if flags[i] & LIVE and seqs[i] not in skip:
                    picked.append((seqs[i], b, i))
            picked.sort()
            del picked[limit:]
        out = []
        lease = set(skip)
        for seq, b, i in picked:
            rec = self._read_record(b, i)
            if rec is not None:
                out.append(rec)
                lease.add(seq)
        self._lease = lease
        return out

    def ack(self, seqs: "Any") -> None:
        """The broker acknowledged these seqs: program their ack bytes (idempotent)."""
        want = set(seqs)
        for seq in want:
            self._lease.discard(seq)
        if not want:
            return
        lo = min(want)
        hi = max(want)
        # One pass over the segments for the whole batch (a seq is live in one
        # entry at most: a copy's original is acknowledged when it is written).
        for b in range(self.n):
            if self._state[b] != USED or not self._live[b]:
                continue
            if self._hi_seq[b] < lo or self._lo_seq[b] > hi:
                continue
            idx = self._index(b)
            for i in range(len(idx.seqs)):
                seq = idx.seqs[i]
                if seq in want and idx.flags[i] & LIVE:
                    self._depth -= self._span(b, i)
                    self._ack_entry(b, i)
                    self.stats["acked"] += 1
                    want.discard(seq)
            if not want:
                break

    def depth(self) -> int:
        """Un-acked records in 1-minute equivalents (sum of spans)."""
        return self._depth

    def step(self) -> bool:
        """Erase one segment whose records are all acked, ahead of need; True if it did.

        Call when idle: one sector erase blocks ~45 ms on an ESP32 (the flash
        cannot be read meanwhile); without it the next segment opening erases.
        """
        for b in range(self.n):
            if self._state[b] == DIRTY:
                self._erase(b)
                return True
        return False

    def reanchor(self, step_s: int, since_seq: int) -> int:
        """Re-stamp this run's unanchored records once the clock knows the time; how many.

        As ``edge_agent.queue.reanchor``: every un-acked record with ``seq >=
        since_seq`` (``next_seq`` when this run began) flagged CLOCK_UNANCHORED and
        not in flight gets ``ts + step_s`` floored to its period's grid and
        CLOCK_ESTIMATED. Flash is not rewritten in place: each is written anew as
        a MOVED entry and the old one acknowledged. Takes ~2 ms a record: the app
        calls it once, when the clock anchors.
        """
        todo = []
        for b in range(self.n):
            if self._state[b] != USED or not self._live[b] or self._hi_seq[b] < since_seq:
                continue
            idx = self._index(b)
            for i in range(len(idx.seqs)):
                seq = idx.seqs[i]
                if idx.flags[i] & LIVE and seq >= since_seq and seq not in self._lease:
                    todo.append(seq)
        todo.sort()
        changed = 0
        for seq in todo:
            # Looked up again each time: writing may have reclaimed (moved) it.
            found = self._find(seq)
            if found is None or seq in self._lease:
                continue
            b, i = found
            rec = self._read_record(b, i)
            if rec is None or rec.clock != CLOCK_UNANCHORED:
                continue
            ts = coarsen.bucket_start(rec.ts + step_s, rec.period_s)
            if ts < 0 or ts > U32:
                continue  # a bogus anchor: leave it be
            rec.ts = ts
            rec.clock = CLOCK_ESTIMATED
            self._replace([(b, i)], rec, True)
            changed += 1
        return changed

    # --- recovery -------------------------------------------------------------------

    def _recover(self) -> None:
        buf = bytearray(SEG_HEAD)
        last_moved = None  # (gen, block, index) of the newest MOVED entry
        for b in range(self.n):
            self.part.readblocks(b, buf, 0)
            magic, gen, seq_base, dropped, crc = struct.unpack_from(SEG_FMT, buf, 0)
            if magic != SEG_MAGIC or binascii.crc32(memoryview(buf)[:16]) != crc:
                self._state[b] = FREE if self._blank(b, 0) else DIRTY
                continue
            self._state[b] = USED
            self._gen[b] = gen
            if gen >= self.next_gen:
                self.next_gen = gen + 1
                self.head = b
            self.next_seq = max(self.next_seq, seq_base)
            self.dropped = max(self.dropped, dropped)
            self._clear(b)
            idx = _Index()
            moved = self._walk(b, idx, True)
            self._keep(b, idx)
            if moved >= 0 and (last_moved is None or gen > last_moved[0]):
                last_moved = (gen, b, moved)
        if last_moved is not None:
            self._supersede(last_moved[1], last_moved[2])
        for b in range(self.n):
            if self._state[b] == USED and not self._live[b] and b != self.head:
                self._state[b] = DIRTY
        self.stats["dropped"] = self.dropped
        self._count_free()

    def _walk(self, b: int, idx: _Index, recovering: bool) -> int:
        """Read segment ``b``'s entries into ``idx``; the index of its last MOVED entry
        or -1. When ``recovering``, also the segment's summary and the counters."""
        bs = self.block_size
        h = self._hbuf
        pos = SEG_HEAD
        moved = -1
        while pos + ENTRY_HEAD <= bs:
            self.part.readblocks(b, h, pos)
            kind, ack, length, seq, ts, crc = struct.unpack_from(ENTRY_FMT, h, 0)
            if kind == 0xFF and ack == 0xFF and self._blank(b, pos):
                break  # the clean end: nothing was ever written from here
            body = None
            if kind in KINDS and pos + ENTRY_HEAD + length <= bs:
                body = bytearray(length)
                self.part.readblocks(b, body, pos + ENTRY_HEAD)
                if self._crc(h, body) != crc:
                    body = None
            if body is None:
                # Torn: a cut while it was written. Marked dead (counted once),
                # then skipped: later entries (written after that restart) are
                # found at the next aligned offset that holds a whole one.
                if recovering and kind != KIND_DEAD:
                    self.stats["torn"] += 1
                    self.part.writeblocks(b, _DEAD, pos)
                pos = self._resync(b, pos)
                continue
            if kind == KIND_META:
                if recovering:
                    self.dropped = max(self.dropped, record_codec.span_of(body))
            else:
                flags = kind & (MOVED | RAW)
                if ack == 0xFF:
                    flags |= LIVE
                if kind & MOVED:
                    moved = len(idx.offs)
                idx.offs.append(pos)
                idx.seqs.append(seq)
                idx.flags.append(flags)
                if recovering:
                    span = 1 if kind & RAW else record_codec.span_of(body)
                    self._note(b, seq, ts, flags)
                    if flags & LIVE:
                        self._depth += span
                    self.next_seq = max(self.next_seq, seq + span)
                    if seq >= self._newest_seq:
                        self._newest_seq = seq
                        self._newest_ts = ts
            pos += _aligned(ENTRY_HEAD + length)
        if recovering:
            self._pos[b] = min(pos, bs)
        return moved

    def _resync(self, b: int, pos: int) -> int:
        """Offset of the first whole entry after the torn one at ``pos``; else where
        writing may resume: past the last programmed byte of the block."""
        bs = self.block_size
        data = bytearray(bs)
        self.part.readblocks(b, data, 0)
        last = bs - 1
        while last > pos and data[last] == 0xFF:
            last -= 1
        mv = memoryview(data)
        p = pos + ALIGN
        while p <= last and p + ENTRY_HEAD <= bs:
            if data[p] in KINDS:
                length = data[p + 2] | (data[p + 3] << 8)
                end = p + ENTRY_HEAD + length
                if end <= bs:
                    crc = struct.unpack_from("<I", data, p + 12)[0]
                    if self._crc(mv[p : p + ENTRY_HEAD], mv[p + ENTRY_HEAD : end]) == crc:
                        return p
            p += ALIGN
        return _aligned(last + 1)

    def _supersede(self, b: int, i: int) -> None:
        # The newest MOVED entry replaces every other live entry in its seq range:
        # a cut came between writing it and acknowledging them.
        first = self._index(b).seqs[i]
        last = first + self._span(b, i)
        for other in range(self.n):
            if self._state[other] != USED or not self._live[other]:
                continue
            if self._hi_seq[other] < first or self._lo_seq[other] >= last:
                continue
            idx = self._index(other)
            for j in range(len(idx.seqs)):
                if other == b and j == i:
                    continue
                if idx.flags[j] & LIVE and first <= idx.seqs[j] < last:
                    self._depth -= self._span(other, j)
                    self._ack_entry(other, j)

    # --- the entry indexes -----------------------------------------------------------

    def _index(self, b: int) -> _Index:
        """The entry index of segment ``b``, read from flash unless cached."""
        idx = self._cache.get(b)
        lru = self._lru
        if idx is not None:
            if lru[-1] != b:
                lru.remove(b)
                lru.append(b)
            return idx
        idx = _Index()
        if self._state[b] == USED:
            self._walk(b, idx, False)
        self._keep(b, idx)
        return idx

    def _keep(self, b: int, idx: _Index) -> None:
        self._cache[b] = idx
        lru = self._lru
        if b in lru:
            lru.remove(b)
        lru.append(b)
        # Evict the least recently used, never the head's or the reclaimed one's
        # (callers keep (block, index) pairs across calls: indexes are stable).
        k = 0
        while len(lru) > CACHE + 2 and k < len(lru):
            old = lru[k]
            if old in (self.head, self._busy, b):
                k += 1
                continue
            lru.pop(k)
            del self._cache[old]

    def _forget(self, b: int) -> None:
        if b in self._cache:
            del self._cache[b]
            self._lru.remove(b)

    def _clear(self, b: int) -> None:
        self._live[b] = 0
        self._raw[b] = 0
        self._min_live[b] = U32
        self._lo_seq[b] = U32
        self._hi_seq[b] = 0
        self._lo_ts[b] = U32
        self._hi_ts[b] = 0

    def _note(self, b: int, seq: int, ts: int, flags: int) -> None:
        if flags & LIVE:
            self._live[b] += 1
            self._min_live[b] = min(self._min_live[b], seq)
            if flags & RAW:
                self._raw[b] += 1
        self._lo_seq[b] = min(self._lo_seq[b], seq)
        self._hi_seq[b] = max(self._hi_seq[b], seq)
        self._lo_ts[b] = min(self._lo_ts[b], ts)
        self._hi_ts[b] = max(self._hi_ts[b], ts)

    # --- writing ----------------------------------------------------------------------

    def _write(self, kind: int, seq: int, ts: int, payload: "Any", grow: bool) -> None:
        """Write one entry at the head, opening a segment if needed."""
        size = ENTRY_HEAD + len(payload)
        if size > self.block_size - SEG_HEAD:
            raise ValueError("record too large for a segment: %d bytes" % size)
        if not self._fits(size):
            if grow:
                self._make_room()
            if not self._fits(size):  # reclaiming may have opened one already
                self._open()
        head = self.head
        entry = bytearray(_aligned(size))
        struct.pack_into(ENTRY_FMT, entry, 0, kind, 0xFF, len(payload), seq, ts, 0)
        entry[ENTRY_HEAD:size] = payload
        crc = self._crc(entry, memoryview(entry)[ENTRY_HEAD:size])
        struct.pack_into("<I", entry, 12, crc)
        off = self._pos[head]
        idx = self._index(head)
        try:
            self.part.writeblocks(head, entry, off)
        except OSError:
            # A flash fault part-way: never program over those bytes again.
            self._pos[head] = self.block_size
            raise
        self._pos[head] = off + len(entry)
        if kind == KIND_META:
            return
        flags = (kind & (MOVED | RAW)) | LIVE
        idx.offs.append(off)
        idx.seqs.append(seq)
        idx.flags.append(flags)
        self._note(head, seq, ts, flags)

    def _make_room(self) -> None:
        # Normal appends keep `reserve` free segments for the reclaimer's writes.
        guard = self.n
        while self._count_free() <= self.reserve and guard > 0 and self._reclaim():
            guard -= 1

    def _fits(self, size: int) -> bool:
        head = self.head
        return head >= 0 and self._pos[head] + _aligned(size) <= self.block_size

    def _open(self) -> None:
        """Open the next free segment (round-robin after the head) as the new head."""
        n = self.n
        start = 0 if self.head < 0 else self.head + 1
        pick = -1
        for want in (FREE, DIRTY):
            for k in range(n):
                b = (start + k) % n
                if self._state[b] == want and b not in (self.head, self._busy):
                    pick = b
                    break
            if pick >= 0:
                break
        if pick < 0:
            raise StoreFullError("no free segment: every stored record is in flight")
        if self._state[pick] == DIRTY:
            self._erase(pick)
        hdr = bytearray(b"\xff" * SEG_HEAD)
        struct.pack_into(SEG_FMT, hdr, 0, SEG_MAGIC, self.next_gen, self.next_seq, self.dropped, 0)
        struct.pack_into("<I", hdr, 16, binascii.crc32(memoryview(hdr)[:16]))
        self.part.writeblocks(pick, hdr, 0)
        old = self.head
        self._clear(pick)
        self._forget(pick)
        self._state[pick] = USED
        self._gen[pick] = self.next_gen
        self._pos[pick] = SEG_HEAD
        self.next_gen += 1
        self.head = pick
        self._keep(pick, _Index())
        if old >= 0 and not self._live[old]:
            self._state[old] = DIRTY
        self._count_free()

    def _erase(self, b: int) -> None:
        self.part.ioctl(6, b)
        self._forget(b)
        self._clear(b)
        self._state[b] = FREE
        self._pos[b] = SEG_HEAD

    def _ack_entry(self, b: int, i: int) -> None:
        idx = self._index(b)
        flags = idx.flags[i]
        if not flags & LIVE:
            return
        self.part.writeblocks(b, self._ack, idx.offs[i] + 1)
        idx.flags[i] = flags & ~LIVE
        self._live[b] -= 1
        if flags & RAW:
            self._raw[b] -= 1
        if idx.seqs[i] == self._min_live[b]:
            lo = U32
            for j in range(len(idx.seqs)):
                if idx.flags[j] & LIVE:
                    lo = min(lo, idx.seqs[j])
            self._min_live[b] = lo
        if not self._live[b] and b != self.head:
            self._state[b] = DIRTY
            self._count_free()

    def _replace(self, olds: "list[Any]", rec: "Any", grow: bool = False) -> None:
        """Write ``rec`` as a MOVED entry, then acknowledge the entries it replaces."""
        payload = record_codec.encode(rec)
        raw = RAW if rec.span == 1 and rec.period_s == PERIOD_RAW_S else 0
        self._write(KIND_RECORD | MOVED | raw, rec.seq, rec.ts, payload, grow)
        for b, i in olds:
            self._ack_entry(b, i)

    # --- making room -------------------------------------------------------------------

    def _reclaim(self) -> bool:
        """Free the oldest segment worth freeing (coarsen, else drop); False if none."""
        used = [
            b for b in range(self.n) if self._state[b] == USED and b != self.head and self._live[b]
        ]
        if not used:
            return False
        used.sort(key=lambda b: self._gen[b])
        before = coarsen.bucket_start(self._newest_ts, PERIOD_COARSE_S)
        victim = used[0]
        plan = None
        try:
            for b in used:
                if self._raw[b] >= 2:
                    self._busy = b
                    plan = self._plan(b, before)
                    if plan:
                        victim = b
                        break
            self._busy = victim
            try:
                if plan:
                    self._coarsen(victim, plan)
                else:
                    self._evacuate(victim, True, True)
            except StoreFullError:
                # Nowhere to write (a power cut in an earlier reclaim used the
                # reserve): free the victim by losing what it still holds.
                self._evacuate(victim, True, False)
        finally:
            self._busy = -1
        return True

    def _plan(self, victim: int, before: int) -> "list[Any]":
        """Groups of (block, index) to merge into one coarse record each."""
        rows = []
        where = {}
        idx = self._index(victim)
        for i in range(len(idx.seqs)):
            f = idx.flags[i]
            if f & LIVE and f & RAW:
                seq = idx.seqs[i]
                rows.append((seq, self._ts(victim, i)))
                where[seq] = (victim, i)
        rows.sort()
        plan = []
        period = PERIOD_COARSE_S
        for bucket, seqs in coarsen.groups(rows, period, self._lease, before):
            members = [where[s] for s in seqs]
            # The cell may go on in the next segment(s): take those minutes too,
            # or a second coarse record for this cell would come later.
            nxt = seqs[-1] + 1
            ok = True
            while True:
                found = self._find(nxt)
                if found is None:
                    break
                b, i = found
                if not self._index(b).flags[i] & RAW:
                    break
                if coarsen.bucket_start(self._ts(b, i), period) != bucket:
                    break
                if nxt in self._lease:
                    ok = False  # part of the cell is in flight: leave the cell alone
                    break
                members.append(found)
                nxt += 1
            if not ok or len(members) < 2:
                continue
            if self._in_cell(bucket, period) != len(members):
                continue  # one coarse record per cell, or the cloud would overwrite
            plan.append(members)
        return plan

    def _coarsen(self, victim: int, plan: "list[Any]") -> None:
        for members in plan:
            records = []
            for b, i in members:
                rec = self._read_record(b, i)
                if rec is None:
                    break
                records.append(rec)
            if len(records) != len(members):
                continue  # a corrupt entry: those stay as they are
            self._replace(members, coarsen.merge(records, PERIOD_COARSE_S))
            self.stats["coarsened"] += len(members)
        self._evacuate(victim, False, True)

    def _evacuate(self, victim: int, drop: bool, can_write: bool) -> None:
        """Copy (or, with ``drop``, count and lose) what is live in ``victim``; erase it.

        Records in flight are copied, never dropped: StoreFullError when that
        cannot be (``can_write`` False). The erase is immediate: the space is
        needed now.
        """
        idx = self._index(victim)
        if not can_write:
            for i in range(len(idx.seqs)):
                if idx.flags[i] & LIVE and idx.seqs[i] in self._lease:
                    raise StoreFullError("no room, and the oldest segment holds records in flight")
        lost = 0
        for i in range(len(idx.seqs)):
            if not idx.flags[i] & LIVE:
                continue
            seq = idx.seqs[i]
            if drop and seq not in self._lease:
                span = self._span(victim, i)
                lost += span
                self._depth -= span
                continue
            rec = self._read_record(victim, i)
            if rec is not None:
                self._replace([(victim, i)], rec)
        if lost:
            self.dropped += lost
            self.stats["dropped"] = self.dropped
            if can_write:
                # Persisted at once; else in the header of the next segment opened.
                payload = bytearray()
                _put_uvarint(payload, self.dropped)
                self._write(KIND_META, 0, 0, payload, False)
        self._erase(victim)
        self._count_free()

    # --- reading ------------------------------------------------------------------------

    def _find(self, seq: int) -> "Any":
        """(block, index) of the live entry holding ``seq``, or None."""
        for b in range(self.n):
            if self._state[b] != USED or not self._live[b]:
                continue
            if seq < self._lo_seq[b] or seq > self._hi_seq[b]:
                continue
            idx = self._index(b)
            seqs = idx.seqs
            for i in range(len(seqs)):
                if seqs[i] == seq and idx.flags[i] & LIVE:
                    return b, i
        return None

    def _read_head(self, b: int, i: int) -> "Any":
        self.part.readblocks(b, self._hbuf, self._index(b).offs[i])
        return struct.unpack_from(ENTRY_FMT, self._hbuf, 0)

    def _ts(self, b: int, i: int) -> int:
        return int(self._read_head(b, i)[4])

    def _span(self, b: int, i: int) -> int:
        if self._index(b).flags[i] & RAW:
            return 1
        length = self._read_head(b, i)[2]
        body = bytearray(min(length, 5))
        self.part.readblocks(b, body, self._index(b).offs[i] + ENTRY_HEAD)
        try:
            return record_codec.span_of(body)
        except Exception:  # noqa: BLE001 - flash went bad under a checked entry
            return 1

    def _read_record(self, b: int, i: int) -> "Any":
        """The record of entry ``i``; None (and the entry retired) if it fails its CRC."""
        kind, _, length, seq, ts, crc = self._read_head(b, i)
        body = bytearray(length)
        self.part.readblocks(b, body, self._index(b).offs[i] + ENTRY_HEAD)
        if self._crc(self._hbuf, body) == crc:
            try:
                return record_codec.decode(body, seq, ts)
            except Exception:  # noqa: BLE001 - DecodeError or worse: flash went bad
                pass
        # Whole when written (recovery checked it): the flash itself failed.
        self.stats["corrupt"] += 1
        self._depth -= self._span(b, i)
        self._ack_entry(b, i)
        return None

    # --- helpers -------------------------------------------------------------------------

    def _crc(self, head: "Any", body: "Any") -> int:
        # Everything but the ack byte (offset 1) and the CRC itself.
        mv = memoryview(head)
        crc = binascii.crc32(mv[0:1])
        crc = binascii.crc32(mv[2:12], crc)
        return int(binascii.crc32(body, crc))

    def _blank(self, b: int, start: int) -> bool:
        """Whether the block reads 0xFF from ``start`` to its end."""
        chunk = self._chunk
        pos = start
        end = self.block_size
        while pos < end:
            n = min(len(chunk), end - pos)
            if n < len(chunk):
                chunk = bytearray(n)
            self.part.readblocks(b, chunk, pos)
            if chunk != _BLANK[:n]:
                return False
            pos += n
        return True

    def _in_cell(self, bucket: int, period: int) -> int:
        """Live entries stamped inside the cell [bucket, bucket + period)."""
        end = bucket + period
        n = 0
        for b in range(self.n):
            if self._state[b] != USED or not self._live[b]:
                continue
            if self._hi_ts[b] < bucket or self._lo_ts[b] >= end:
                continue
            idx = self._index(b)
            for i in range(len(idx.seqs)):
                if idx.flags[i] & LIVE and bucket <= self._ts(b, i) < end:
                    n += 1
        return n

    def _count_free(self) -> int:
        n = 0
        for b in range(self.n):
            if self._state[b] != USED:
                n += 1
        self.stats["segments_free"] = n
        return n


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) & ~(ALIGN - 1)


def _put_uvarint(buf: bytearray, n: int) -> None:
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)
