"""The MQTT uplink: stored records to the broker at least once, status, live, commands.

The firmware's counterpart of edge_agent/uplink.py, without threads: the main
loop calls :meth:`Uplink.step` every turn and nothing in it waits for the
network (firmware.mqtt is non-blocking).

Records. Every ``upload_s`` (and whenever a full batch of ``batch_max``
records waits, and right after each (re)connect) the uplink takes the oldest
records not already in flight from the store (``store.pending(limit,
exclude=in-flight seqs)``), encodes them as one protocol Batch and publishes it
at QoS 1 to ``topics.uplink(dev)``. ``pid -> seqs`` is kept for each batch in
flight (at most ``max_batches``) and ``store.ack(seqs)`` is called only from the
client's ``on_puback``: a record leaves flash only after the broker has it. A
connection that dies with batches in flight keeps them in the client's window;
the client publishes them again (DUP, same packet ids) after the next CONNACK,
so their PUBACKs still arrive under the pids we remember. A reboot loses the
window but not the records: they are still in the store and go out again.
Duplicates are harmless, ingest stores idempotently on (device, ts).

Refusals (why the client speaks MQTT 5, as the edge agent: see firmware.mqtt).
A PUBACK's reason code decides: below 0x80 the broker took the batch and the
store forgets it; 0x80 and above (ACL "not authorized", quota exceeded, packet
too large...) it refused it, and 0x10 "no matching subscribers" (a success
code) means no ingest worker heard it. Either way nobody stored the records:
they stay in the store (no longer in flight, so ``pending`` gives them again),
``batches_refused`` counts it, a ``uplink.batch_refused`` /
``uplink.batch_unheard`` line is logged, and uploads of records pause for 5 s,
doubling with every further refusal up to 10 min (the agent's
_REFUSED_PAUSE_MIN_S/_MAX_S), back to 5 s after a batch is accepted. Status
and live go on meanwhile. A refused status is counted (``statuses_refused``,
logged ``uplink.status_refused``) and not sent again: the next status is.

A backlog (after an outage) drains at the speed of the PUBACK round trips: full
batches go out whenever a slot frees, partial ones only on a round (the
interval, or a reconnect), so an idle link sends few small messages.
``historical`` is set as the agent sets it: when the batch's newest record ended
longer ago than the fresh window (``upload_s`` + 120 s) by the clock given as
``now_fn``; without a clock, when more than one batch of records was waiting.
A batch too large for the client's ``max_packet`` is split in halves; a record
that cannot be encoded at all (it could never be sent) is acknowledged to the
store and counted in ``unsendable`` rather than block every record behind it.

Status: ``publish_status(dict)`` publishes ``encode_status(dict)`` retained at
QoS 1; ``status_fn()`` (if set) gives the status to publish after every
(re)connect. The client's last will is the retained ``{"state": "offline",
"version": ...}`` (firmware.status.last_will, as the agent's), published by the
broker when the connection dies without a DISCONNECT.

Commands: ``topics.command(dev)`` is subscribed at QoS 1 after every CONNACK
(a persistent session keeps it and queues commands while we are away; after a
broker that lost its sessions it is needed again). Each message is decoded with
``decode_command`` and handed to ``on_command(payload, cmd, problem)``: ``cmd``
the dict when valid (``problem`` None), else ``cmd`` None and ``problem`` the
reason, for the app to report. The message is acknowledged after the callback
returned, even when it raised: a command that crashes its handler must not come
back after every reboot.

Live: ``publish_live(payload)`` at QoS 0, only while connected; never queued
(a late live sample is worthless).

Reconnects: :meth:`start` gives the broker's address; while it is not connected
the uplink tries again when ``firmware.backoff`` allows (full jitter, reset only
after a connection stayed up).
"""

import time

from micropython import const

from firmware.backoff import Backoff
from firmware.log import log
from firmware.mqtt import FAILURE, IDLE, NO_MATCHING_SUBSCRIBERS, MqttClient, reason_name
from firmware.status import last_will
from protocol import topics
from protocol.batch import encode_batch
from protocol.errors import DecodeError
from protocol.messages import decode_command, encode_status
from protocol.records import Batch

try:
    from typing import TYPE_CHECKING, Callable
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from firmware.store import Store
    from protocol.records import Record

_FRESH_SLACK_S = const(120)  # as the agent: the fresh window is upload_s + 120 s
# A refused (or unheard) batch pauses the uploads of records this long, doubling
# (the agent's _REFUSED_PAUSE_MIN_S / _REFUSED_PAUSE_MAX_S).
_REFUSED_PAUSE_MIN_MS = const(5000)
_REFUSED_PAUSE_MAX_MS = const(600000)


class Uplink:
    """Drives an MqttClient for one device; see the module docstring."""

    def __init__(  # noqa: PLR0917 - the positional order is the documented interface
        self,
        client: MqttClient,
        store: "Store",
        device_id: str,
        batch_max: int = 60,
        upload_s: float = 60,
        max_batches: int = 2,
        backoff: "Backoff | None" = None,
        now_fn: "Callable[[], float] | None" = None,
    ) -> None:
        self.client = client
        self.store = store
        self.device_id = device_id
        self.batch_max = batch_max
        self.max_batches = max_batches
        self.backoff = backoff if backoff is not None else Backoff()
        self.now_fn = now_fn
        self._upload_ms = int(upload_s * 1000)
        self._fresh_s = upload_s + _FRESH_SLACK_S
        self.topic_up = topics.uplink(device_id)
        self.topic_status = topics.status(device_id)
        self.topic_live = topics.live(device_id)
        self.topic_cmd = topics.command(device_id)

        self.on_command: "Callable[[bytes, dict[str, object] | None, str | None], None] | None" = (
            None
        )
        self.status_fn: "Callable[[], dict[str, object]] | None" = None

        client.will = (
            self.topic_status,
            encode_status(last_will()),
            topics.STATUS_QOS,
            topics.STATUS_RETAIN,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_puback = self._on_puback
        client.on_suback = self._on_suback
        client.on_message = self._on_message

        self._target: "tuple[str, int, bool] | None" = None  # once started
        self._batches: "dict[int, list[int]]" = {}  # pid -> seqs in flight
        self._spans: "dict[int, int]" = {}  # pid -> minutes they stand for
        self._in_flight_span = 0
        self._dry_depth = -1  # store depth at which pending() last gave nothing
        self._status_pids: "dict[int, int]" = {}
        self._status_wait: "bytes | None" = None  # encoded, waiting for room
        self._need_sub = False
        self._drain = False  # send partial batches too until the store is empty
        self._last_round = time.ticks_ms()
        self._up = False  # connected since the last CONNACK
        self._paused_until: "int | None" = None  # ticks: no batches before (a refusal)
        self.refused_pause_ms = _REFUSED_PAUSE_MIN_MS  # the pause the next refusal starts

        self.last_error = ""
        self.subscribed = False  # the broker granted the command subscription
        self.connects = 0
        self.disconnects = 0
        self.connect_failures = 0
        self.batches_sent = 0
        self.batches_acked = 0
        self.batches_refused = 0  # refused (reason >= 0x80) or unheard (0x10): records kept
        self.records_acked = 0
        self.unsendable = 0
        self.statuses_sent = 0
        self.statuses_acked = 0
        self.statuses_refused = 0
        self.live_sent = 0
        self.live_dropped = 0
        self.commands = 0
        self.bad_commands = 0

    # -- control -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.client.connected

    @property
    def in_flight(self) -> int:
        """Batches awaiting their PUBACK."""
        return len(self._batches)

    def in_flight_seqs(self) -> "set[int]":
        out = set()
        for seqs in self._batches.values():
            for s in seqs:
                out.add(s)
        return out

    def start(self, host: str, port: int, tls: bool) -> None:
        """Connect to the broker now, and keep reconnecting (with backoff) from now on."""
        self._target = (host, port, tls)
        self.backoff.reset()

    def stop(self) -> None:
        """Disconnect cleanly (no will) and stop reconnecting.

        To say "offline" first, publish that status and step until its PUBACK
        (``status_in_flight`` is 0) before calling this.
        """
        self._target = None
        self.client.disconnect()

    def reconfigure(self, upload_s: float | None = None, batch_max: int | None = None) -> None:
        """Take new settings from a ``config`` command; used from the next round on."""
        if upload_s is not None:
            self._upload_ms = int(upload_s * 1000)
            self._fresh_s = upload_s + _FRESH_SLACK_S
        if batch_max is not None:
            self.batch_max = batch_max

    @property
    def status_in_flight(self) -> int:
        return len(self._status_pids) + (1 if self._status_wait is not None else 0)

    def publish_status(self, status: "dict[str, object]") -> None:
        """Publish ``status`` retained at QoS 1 as soon as there is room.

        While disconnected the newest status waits (an older one is replaced):
        after the reconnect only the current state is worth sending.
        """
        self._status_wait = encode_status(status)
        if self.client.connected:
            self._send_status()

    def publish_live(self, payload: bytes) -> bool:
        """One live message at QoS 0; False (dropped) unless connected with room."""
        if not self.client.connected:
            self.live_dropped += 1
            return False
        if self.client.publish(self.topic_live, payload, topics.LIVE_QOS, False) is None:
            self.live_dropped += 1
            return False
        self.live_sent += 1
        return True

    # -- the loop ----------------------------------------------------------------

    def step(self, now_ms: int) -> None:
        """Connect when due, drive the client, publish what is due."""
        c = self.client
        if self._target is not None and c.state == IDLE and self.backoff.ready(now_ms):
            c.connect(self._target[0], self._target[1], self._target[2])
        c.step(now_ms)
        if not c.connected:
            return
        if self._need_sub and c.subscribe(self.topic_cmd, topics.COMMAND_QOS) is not None:
            self._need_sub = False
        if self._status_wait is not None:
            self._send_status()
        self._upload(now_ms)

    def paused_ms(self, now_ms: int) -> int:
        """How long uploads of records stay paused after a refusal (0: not paused)."""
        if self._paused_until is None:
            return 0
        return max(0, time.ticks_diff(self._paused_until, now_ms))

    def _upload(self, now_ms: int) -> None:
        if self._paused_until is not None:
            if time.ticks_diff(now_ms, self._paused_until) < 0:
                return
            # The pause is over: the kept records go out again at once.
            self._paused_until = None
            self._last_round = now_ms
            self._drain = True
            self._dry_depth = -1
        if time.ticks_diff(now_ms, self._last_round) >= self._upload_ms:
            self._last_round = now_ms
            self._drain = True
            self._dry_depth = -1
        while len(self._batches) < self.max_batches:
            depth = self.store.depth()
            if depth == self._dry_depth:
                return  # the store had nothing more to give at this depth
            # spans, as depth counts them (a coarse record stands for 15 minutes)
            waiting = depth - self._in_flight_span
            if waiting <= 0:
                self._drain = False
                return
            if not self._drain and waiting < self.batch_max:
                return  # a partial batch waits for the next round
            records = self.store.pending(self.batch_max, exclude=self.in_flight_seqs())
            if not records:
                # Only records in flight are left: do not read the flash again
                # every turn until an append or an ack changes the depth.
                self._dry_depth = depth
                self._drain = False
                return
            if len(records) < self.batch_max and not self._drain:
                return
            taken = self._send_batch(records, waiting)
            if not taken:
                return  # no room in the client now; the next step tries again
            if taken == len(records) < self.batch_max:
                self._drain = False  # that was the last of them

    def _historical(self, records: "list[Record]", waiting: int) -> bool:
        if self.now_fn is not None:
            last = records[-1]
            return bool(last.ts + last.period_s < self.now_fn() - self._fresh_s)
        return waiting > self.batch_max

    def _send_batch(self, records: "list[Record]", waiting: int) -> int:
        """Encode and publish ``records``, or as many of the first as fit one message.

        How many records it took care of (published, or one found unsendable);
        0 when the client had no room now.
        """
        hist = self._historical(records, waiting)
        n = len(records)
        while True:
            try:
                payload = encode_batch(Batch(self.device_id, records[:n], hist), False)
                pid = self.client.publish(self.topic_up, payload, topics.UPLINK_QOS, False)
                break
            except ValueError as exc:  # not encodable, or larger than max_packet
                if n > 1:
                    n = (n + 1) // 2  # halve until it fits or the culprit is alone
                    continue
                self._unsendable(records[0], str(exc))
                return 1
        if pid is None:
            return 0
        self._batches[pid] = [r.seq for r in records[:n]]
        span = 0
        for r in records[:n]:
            span += r.span
        self._spans[pid] = span
        self._in_flight_span += span
        self.batches_sent += 1
        return n

    def _unsendable(self, record: "Record", why: str) -> None:
        # It could never go out, and every record behind it would wait forever.
        self.unsendable += 1
        self.last_error = "record %d cannot be sent: %s" % (record.seq, why)
        self.store.ack([record.seq])

    def _send_status(self) -> None:
        payload = self._status_wait
        if payload is None:
            return
        try:
            pid = self.client.publish(
                self.topic_status, payload, topics.STATUS_QOS, topics.STATUS_RETAIN
            )
        except ValueError as exc:  # larger than max_packet: a configuration error
            self.last_error = "status not sent: %s" % exc
            self._status_wait = None
            return
        if pid is not None:
            self._status_pids[pid] = 1
            self._status_wait = None
            self.statuses_sent += 1

    # -- client callbacks ------------------------------------------------------------

    def _on_connect(self, session_present: bool) -> None:
        now = time.ticks_ms()
        self.backoff.up(now)
        self.connects += 1
        self._up = True
        self.subscribed = False
        self._need_sub = True
        self._drain = True  # catch up at once
        self._dry_depth = -1
        self._last_round = now
        if self.status_fn is not None:
            self._status_wait = encode_status(self.status_fn())

    def _on_disconnect(self, reason: str) -> None:
        self.last_error = reason
        if self._up:
            self.disconnects += 1
        else:
            self.connect_failures += 1
        self._up = False
        if self._target is not None:  # not stop(): try again when the backoff allows
            self.backoff.failed(time.ticks_ms())

    def _on_puback(self, pid: int, reason: int) -> None:
        seqs = self._batches.pop(pid, None)
        if seqs is not None:
            self._in_flight_span -= self._spans.pop(pid, len(seqs))
            self._dry_depth = -1  # what the store can give has changed
            if reason >= FAILURE or reason == NO_MATCHING_SUBSCRIBERS:
                self._refused(seqs, reason)
                return
            self.refused_pause_ms = _REFUSED_PAUSE_MIN_MS
            self.store.ack(seqs)
            self.batches_acked += 1
            self.records_acked += len(seqs)
        elif self._status_pids.pop(pid, None):
            # 0x10 is normal here: the retained status waits for its reader.
            if reason >= FAILURE:
                self.statuses_refused += 1
                self.last_error = "status refused: " + reason_name(reason)
                log("uplink.status_refused", reason=reason_name(reason))
            else:
                self.statuses_acked += 1

    def _refused(self, seqs: "list[int]", reason: int) -> None:
        # Nobody stored these records: they stay in the store (no longer in
        # flight, so pending() offers them again once the pause is over).
        self.batches_refused += 1
        pause = self.refused_pause_ms
        self._paused_until = time.ticks_add(time.ticks_ms(), pause)
        self.refused_pause_ms = min(pause * 2, _REFUSED_PAUSE_MAX_MS)
        unheard = reason == NO_MATCHING_SUBSCRIBERS
        why = reason_name(reason)
        self.last_error = ("no subscriber heard a batch: " if unheard else "batch refused: ") + why
        log(
            "uplink.batch_unheard" if unheard else "uplink.batch_refused",
            reason=why,
            first_seq=seqs[0],
            records=len(seqs),
            pause_s=pause // 1000,
        )

    def _on_suback(self, pid: int, granted: int) -> None:
        if granted & 0x80:
            self.last_error = "the broker refused the command subscription"
        else:
            self.subscribed = True

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic != self.topic_cmd:
            return
        try:
            cmd = decode_command(payload)
            problem = None
            self.commands += 1
        except DecodeError as exc:
            cmd = None
            problem = str(exc)
            self.bad_commands += 1
        if self.on_command is None:
            return
        try:
            self.on_command(payload, cmd, problem)
        except Exception as exc:  # it must be acknowledged all the same
            self.last_error = "command handler failed: %r" % (exc,)
