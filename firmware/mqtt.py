"""A non-blocking MQTT 5.0 client over :class:`firmware.transport.Transport`.

Why not umqtt: ``umqtt.simple`` blocks on a QoS 1 publish until the PUBACK
comes (with no timeout) and on every socket read; ``umqtt.robust`` only wraps
it in retries. On a mobile link that stalls for minutes the main loop would
stop polling the meter and feeding the watchdog. Here nothing waits: every call
returns at once, and :meth:`MqttClient.step` (called every loop turn) moves
bytes and the protocol state machine forward.

Why MQTT 5 and not 3.1.1 (the edge agent's reasons, edge_agent/uplink.py):
(1) a v5 PUBACK carries a reason code, so a publish the broker refused (ACL
0x87 "not authorized", 0x97 quota exceeded, 0x95 packet too large...) is told
apart from a delivered one: Mosquitto acknowledges a refused v3.1.1 publish
exactly like a good one, and the device would delete records that never
arrived; (2) reason 0x10 "no matching subscribers" (a success code) says that
no ingest worker heard it; (3) the session expiry bounds the broker's state for
a scrapped module. ``on_puback(pid, reason)`` hands the reason to the caller
(firmware.uplink keeps the records unless it is below 0x80 and not 0x10).
Note: Mosquitto 2.0 closes the connection right after a PUBACK 0x87
(eclipse-mosquitto/mosquitto#2579); the PUBACK is read before the close is
noticed, so the caller still learns why.

    IDLE --connect()--> OPENING --transport OPEN, CONNECT sent--> CONNECTING
         --CONNACK 0--> CONNECTED
    any state --transport closed / refused / DISCONNECT from the broker /
                keep-alive lost / protocol error--> IDLE

``error`` then says why, in words with the reason code (e.g. "refused: bad
user name or password (0x86)", "disconnected by the broker: session taken
over (0x8e)"). Reconnecting is the caller's decision (firmware.uplink with
firmware.backoff). A broker that only speaks 3.1.1 answers our CONNECT with
its return code 1: "refused: unacceptable protocol version".

Session (MQTT 5 section 4.1): CONNECT with Clean Start 0 and a Session Expiry
Interval (``session_expiry_s``, the agent's 7 days): the broker keeps our
subscription and queues commands sent while we are away for that long, and
forgets a module that never comes back. In v5 an expiry of 0 ends the session
at the disconnect, so a persistent session needs a non-zero one.

Delivery (section 4.4): QoS 1 publishes stay in a bounded in-flight window
(``max_inflight``, lowered to the broker's Receive Maximum from the CONNACK)
until their PUBACK. When a connection dies they stay there, and after the next
CONNACK they are sent again with their original packet ids (DUP set when the
broker kept the session). ``on_puback(pid, reason)`` fires once per
acknowledged packet id; a resend larger than the broker's Maximum Packet Size
is answered locally with reason 0x95 (packet too large) instead of being sent
(the broker would drop the connection). Incoming QoS 1 messages are
acknowledged only after ``on_message`` returned, so a reset in the middle of
handling one makes the broker deliver it again. Properties of incoming packets
are skipped, except the CONNACK's Receive Maximum, Maximum Packet Size and
Server Keep Alive (which replaces ours, as the spec demands), and the Reason
String of a CONNACK or DISCONNECT (added to ``error``).

Memory is bounded: outgoing bytes wait in one preallocated buffer
(``max_packet`` plus a reserve for acknowledgements and pings: the transport
may take fewer bytes than offered), incoming bytes are parsed incrementally from
another (``rx_size``). A publish larger than ``max_packet`` (or the broker's
Maximum Packet Size) is refused with ValueError (the caller must split it); an
incoming packet larger than the receive buffer is skipped (a QoS 1 one still
acknowledged, so a poison message cannot wedge the session) and counted in
``dropped``.

Keep-alive: a PINGREQ goes out when nothing was sent, or nothing received, for
the keep-alive; when no packet at all arrives within the keep-alive after it,
the connection is dead (a mobile link can lose coverage without a reset: only
this notices) and is closed. So a silent link is detected within about twice
the keep-alive.
"""

import time

from micropython import const

try:
    from typing import Callable
except ImportError:
    pass

from firmware.transport import CLOSED, OPEN, Transport

# client states
IDLE = const(0)
OPENING = const(1)
CONNECTING = const(2)
CONNECTED = const(3)
STATE_NAMES = ("idle", "opening", "connecting", "connected")

# packet types (high nibble of the first byte)
_CONNECT = const(0x10)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBSCRIBE = const(0x82)  # with the reserved flags 0010
_SUBACK = const(0x90)
_UNSUBACK = const(0xB0)
_PINGREQ = const(0xC0)
_PINGRESP = const(0xD0)
_DISCONNECT = const(0xE0)

_DUP = const(0x08)
_RESERVE = const(64)  # tx room kept free of publishes: PUBACKs, PINGREQ, DISCONNECT
_READS_PER_STEP = const(4)  # bounded work per step
_MAX_REMAINING = const(268435455)  # 4-byte remaining length

# How long the broker keeps our session after a disconnect: the edge agent's
# SESSION_EXPIRY_S (edge_agent/uplink.py), longer than any plausible coverage
# gap, short enough that a scrapped module's session does not stay forever.
SESSION_EXPIRY_S = const(604800)  # 7 days

# reason codes the callers look at (MQTT 5 section 2.4)
NO_MATCHING_SUBSCRIBERS = const(0x10)  # PUBACK: success, but nobody heard it
PACKET_TOO_LARGE = const(0x95)
FAILURE = const(0x80)  # this and above: the packet (or connection) was refused

# property identifiers (section 2.2.2.2) that we send or read
_P_SESSION_EXPIRY = const(0x11)
_P_SERVER_KEEP_ALIVE = const(0x13)
_P_REASON_STRING = const(0x1F)
_P_RECEIVE_MAXIMUM = const(0x21)
_P_MAXIMUM_PACKET_SIZE = const(0x27)
_P_USER_PROPERTY = const(0x26)
_P_SUBSCRIPTION_ID = const(0x0B)
# value sizes of the others, to skip them: one byte, two, four; the rest are
# UTF-8 strings / binary data with a two-byte length
_P_BYTE = b"\x01\x17\x19\x24\x25\x28\x29\x2a"
_P_U16 = b"\x13\x21\x22\x23"
_P_U32 = b"\x02\x11\x18\x27"
_P_DATA = b"\x03\x08\x09\x12\x15\x16\x1a\x1c\x1f"

# Reason codes (section 2.4) as words, for ``error`` and the logs. One string
# constant rather than a dict: no table of 40 objects on the heap for text that
# is needed only when something went wrong.
_REASONS = (
    "|00 success|01 granted QoS 1|02 granted QoS 2|04 disconnect with will message"
    "|10 no matching subscribers|11 no subscription existed"
    "|80 unspecified error|81 malformed packet|82 protocol error"
    "|83 implementation specific error|84 unsupported protocol version"
    "|85 client identifier not valid|86 bad user name or password|87 not authorized"
    "|88 server unavailable|89 server busy|8a banned|8b server shutting down"
    "|8c bad authentication method|8d keep alive timeout|8e session taken over"
    "|8f topic filter invalid|90 topic name invalid|91 packet identifier in use"
    "|92 packet identifier not found|93 receive maximum exceeded|94 topic alias invalid"
    "|95 packet too large|96 message rate too high|97 quota exceeded"
    "|98 administrative action|99 payload format invalid|9a retain not supported"
    "|9b QoS not supported|9c use another server|9d server moved"
    "|9e shared subscriptions not supported|9f connection rate exceeded"
    "|a0 maximum connect time|a1 subscription identifiers not supported"
    "|a2 wildcard subscriptions not supported|"
)


def reason_name(code: int) -> str:
    """A reason code in words with its value, e.g. ``not authorized (0x87)``."""
    key = "|%02x " % code
    at = _REASONS.find(key)
    if at < 0:
        return "reason 0x%02x" % code
    at += len(key)
    return "%s (0x%02x)" % (_REASONS[at : _REASONS.find("|", at)], code)


def _utf8(s: "str | bytes") -> bytes:
    return s.encode() if isinstance(s, str) else bytes(s)


def _remaining_len_size(n: int) -> int:
    size = 1
    while n > 127:
        n >>= 7
        size += 1
    return size


def _varint(body: memoryview, at: int, n: int) -> "tuple[int, int]":
    """A variable byte integer at ``at``: (value, position after it); (-1, n) if malformed."""
    value = 0
    shift = 0
    while at < n and shift <= 21:
        b = body[at]
        at += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, at
        shift += 7
    return -1, n


def _u(body: memoryview, at: int, size: int) -> int:
    """A big-endian unsigned integer of ``size`` bytes at ``at``."""
    v = 0
    for i in range(at, at + size):
        v = (v << 8) | body[i]
    return v


def _prop_end(body: memoryview, at: int, n: int) -> int:
    """Where the property whose identifier is at ``at`` ends; -1 if malformed."""
    ident = body[at]
    at += 1
    if ident in _P_BYTE:
        at += 1
    elif ident in _P_U16:
        at += 2
    elif ident in _P_U32:
        at += 4
    elif ident in _P_DATA:
        if at + 2 > n:
            return -1
        at += 2 + _u(body, at, 2)
    elif ident == _P_USER_PROPERTY:  # a pair of strings
        for _ in range(2):
            if at + 2 > n:
                return -1
            at += 2 + _u(body, at, 2)
    elif ident == _P_SUBSCRIPTION_ID:
        at = _varint(body, at, n)[1]
    else:
        return -1
    return at if at <= n else -1


class MqttClient:
    """MQTT 5.0 over a Transport; see the module docstring.

    Callbacks (attributes, None = not wanted), all called from :meth:`step`:
    ``on_connect(session_present)``, ``on_disconnect(reason)`` (words),
    ``on_puback(pid, reason)`` (reason code: below 0x80 accepted, 0x10 = no
    subscriber; 0x80 and above refused), ``on_suback(pid, granted)`` (the
    granted QoS 0-2, or a reason code of 0x80 or above = refused),
    ``on_message(topic, payload)``.
    """

    def __init__(  # noqa: PLR0917 - the positional order is the documented interface
        self,
        transport: Transport,
        client_id: str,
        keepalive_s: int = 60,
        username: str | None = None,
        password: str | None = None,
        will: "tuple[str, bytes, int, bool] | None" = None,
        clean_start: bool = False,
        max_packet: int = 6144,
        rx_size: int = 2048,
        max_inflight: int = 6,
        connect_timeout_s: int = 60,
        session_expiry_s: int = SESSION_EXPIRY_S,
    ) -> None:
        self.transport = transport
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.username = username
        self.password = password
        self.will = will  # (topic, payload bytes, qos, retain) or None
        self.clean_start = clean_start
        self.session_expiry_s = session_expiry_s
        self.max_packet = max_packet
        self.max_inflight = max_inflight
        self.connect_timeout_s = connect_timeout_s
        self.on_connect: "Callable[[bool], None] | None" = None
        self.on_disconnect: "Callable[[str], None] | None" = None
        self.on_puback: "Callable[[int, int], None] | None" = None
        self.on_suback: "Callable[[int, int], None] | None" = None
        self.on_message: "Callable[[str, bytes], None] | None" = None

        self.state = IDLE
        self.error = ""  # why the last connection attempt or connection ended
        self.session_present = False
        self.dropped = 0  # incoming messages too large for rx_size, skipped
        self.sent_packets = 0
        self.received_packets = 0
        self.connects = 0
        self.refused = 0  # PUBACKs with a failure reason code (0x80 and above)
        # what the broker's CONNACK allowed on this connection (section 3.2.2.3)
        self.keepalive_used = keepalive_s  # its Server Keep Alive replaces ours
        self.send_quota = max_inflight  # our window, at most its Receive Maximum
        self.packet_limit = max_packet  # our buffer, at most its Maximum Packet Size

        self._tx = bytearray(max_packet + _RESERVE)
        self._txv = memoryview(self._tx)
        self._txo = 0  # first unsent byte
        self._txn = 0  # end of queued bytes
        self._rx = bytearray(rx_size)
        self._rxv = memoryview(self._rx)
        self._rxn = 0
        self._skip = 0  # bytes of an oversized packet still to discard
        self._skip_ack = 0  # its packet id, to PUBACK once skipped (0: none)
        self._acks: "list[int]" = []  # PUBACKs owed but not yet queued (tx full)

        # in-flight QoS 1: pid -> (topic bytes, payload, retain); _order keeps send order
        self._inflight: "dict[int, tuple[bytes, bytes, bool]]" = {}
        self._order: "list[int]" = []
        self._resend: "list[int]" = []  # pids to send again (DUP) after CONNACK
        self._subs: "dict[int, int]" = {}  # SUBSCRIBE pid -> 1 while unanswered
        self._next_pid = 1

        self._t_start = 0  # ticks when the attempt started (connect timeout)
        self._t_tx = 0  # ticks of the last byte handed to the transport
        self._t_rx = 0  # ticks of the last complete packet received
        self._t_ping = 0  # ticks when the outstanding PINGREQ was due
        self._ping_out = False
        self._target: "tuple[str, int, bool] | None" = None

    # -- public ------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.state == CONNECTED

    @property
    def in_flight(self) -> int:
        """QoS 1 publishes awaiting their PUBACK (kept across reconnects)."""
        return len(self._order)

    def state_name(self) -> str:
        return STATE_NAMES[self.state]

    def connect(self, host: str, port: int, tls: bool) -> None:
        """Start a connection attempt; :meth:`step` carries it on."""
        self._drop_connection()
        self.error = ""
        self._target = (host, port, tls)
        self._t_start = time.ticks_ms()
        self.state = OPENING
        self.transport.open(host, port, tls)

    def disconnect(self) -> None:
        """Say DISCONNECT and close: reason 0x00, normal disconnection (remaining
        length 0 says it). The broker then discards our will and keeps the
        session for ``session_expiry_s``.

        Best effort: whatever the transport takes now goes out; in-flight
        publishes stay for the next connection.
        """
        if self.state == CONNECTED and self._room(2, 0):
            self._queue_control(_DISCONNECT, 0)
            self._flush()
        self._close("disconnected")

    def publish(
        self, topic: str, payload: "bytes | bytearray", qos: int = 0, retain: bool = False
    ) -> "int | None":
        """Queue a PUBLISH; its packet id (QoS 1), 0 (QoS 0 queued) or None (not now).

        None means: not connected, the in-flight window is full, packets
        owed from the last connection are still being resent, or the send
        buffer is full; the caller tries again later. ValueError for a
        packet that can never fit ``max_packet``, or a QoS other than 0/1.
        """
        if qos not in (0, 1):
            raise ValueError("qos 0 or 1 only")
        t = _utf8(topic)
        size = self._publish_size(t, payload, qos)
        if size > self.max_packet:
            raise ValueError("publish of %d bytes exceeds max_packet %d" % (size, self.max_packet))
        if size > self.packet_limit:
            raise ValueError(
                "publish of %d bytes exceeds the broker's maximum packet size %d"
                % (size, self.packet_limit)
            )
        if self.state != CONNECTED or self._resend:
            return None
        if qos and len(self._order) >= self.send_quota:
            return None
        if not self._room(size, _RESERVE):
            return None
        if qos == 0:
            self._put_publish(t, payload, 0, retain, 0, False)
            return 0
        # Kept for a resend: it must not change under us (bytes() of bytes is free).
        kept = bytes(payload)
        pid = self._new_pid()
        self._inflight[pid] = (t, kept, retain)
        self._order.append(pid)
        self._put_publish(t, kept, 1, retain, pid, False)
        return pid

    def subscribe(self, topic: str, qos: int = 1) -> "int | None":
        """Queue a SUBSCRIBE; its packet id, or None when not connected / no room."""
        t = _utf8(topic)
        if self.state != CONNECTED:
            return None
        rem = 2 + 1 + 2 + len(t) + 1  # packet id, no properties, topic filter, options
        if not self._room(1 + _remaining_len_size(rem) + rem, _RESERVE):
            return None
        pid = self._new_pid()
        self._subs[pid] = 1
        self._put_header(_SUBSCRIBE, rem)
        self._put_u16(pid)
        self._put_byte(0)
        self._put_str(t)
        # subscription options: the maximum QoS; No Local, Retain As Published and
        # Retain Handling 0 (retained messages are sent at subscribe, as in 3.1.1)
        self._put_byte(qos)
        return pid

    def step(self, now_ms: int) -> None:
        """Drive the connection: transport, reads, acknowledgements, keep-alive, writes."""
        if self.state == IDLE:
            return
        tr = self.transport
        tr.poll()
        if self.state == OPENING:
            if tr.state == OPEN:
                self._send_connect()
                self.state = CONNECTING
                self._t_rx = now_ms
            elif tr.state == CLOSED:
                self._close(tr.error or "could not connect")
                return
            else:
                self._check_connect_timeout(now_ms)
                return
        # Read before looking at the transport's state: a broker that refuses us
        # sends its CONNACK and closes at once, and the CONNACK says why.
        self._read(now_ms)
        if self.state == IDLE:
            return
        if tr.state == CLOSED:
            why = tr.error or "closed by peer"
            self._close(("connection lost: " if self.state == CONNECTED else "") + why)
            return
        if self.state == CONNECTING:
            self._check_connect_timeout(now_ms)
        else:
            self._queue_owed()
            self._keepalive(now_ms)
        if self.state != IDLE and self._flush():
            self._t_tx = now_ms

    # -- connection ----------------------------------------------------------

    def _check_connect_timeout(self, now_ms: int) -> None:
        if time.ticks_diff(now_ms, self._t_start) >= self.connect_timeout_s * 1000:
            self._close("timeout: no CONNACK within %d s" % self.connect_timeout_s)

    def _send_connect(self) -> None:
        will = self.will
        cid = _utf8(self.client_id)
        flags = 0x02 if self.clean_start else 0
        # properties: the Session Expiry Interval (absent = 0: the session would
        # end with the connection)
        props = 5 if self.session_expiry_s else 0
        rem = 10 + 1 + props + 2 + len(cid)
        if will:
            wt, wp = _utf8(will[0]), will[1]
            flags |= 0x04 | (will[2] << 3) | (0x20 if will[3] else 0)
            rem += 1 + 2 + len(wt) + 2 + len(wp)  # no will properties
        if self.username is not None:
            user = _utf8(self.username)
            flags |= 0x80
            rem += 2 + len(user)
        if self.password is not None:
            pw = _utf8(self.password)
            flags |= 0x40
            rem += 2 + len(pw)
        # A fresh connection: nothing of the old one may be left in the buffers,
        # and the broker's limits come with its CONNACK.
        self._txo = self._txn = 0
        self.keepalive_used = self.keepalive_s
        self.send_quota = self.max_inflight
        self.packet_limit = self.max_packet
        self._put_header(_CONNECT, rem)
        self._put_str(b"MQTT")
        self._put_byte(5)  # protocol version 5
        self._put_byte(flags)
        self._put_u16(self.keepalive_s)
        self._put_byte(props)
        if props:
            self._put_byte(_P_SESSION_EXPIRY)
            v = self.session_expiry_s
            self._put_u16(v >> 16)
            self._put_u16(v & 0xFFFF)
        self._put_str(cid)
        if will:
            self._put_byte(0)
            self._put_str(wt)
            self._put_str(wp)
        if self.username is not None:
            self._put_str(user)
        if self.password is not None:
            self._put_str(pw)

    def _reason_string(self, body: memoryview, at: int, n: int) -> str:
        """The Reason String among the properties at ``at`` (their length first); ""."""
        if at >= n:
            return ""
        size, at = _varint(body, at, n)
        end = at + size if size >= 0 else -1
        if end > n or end < 0:
            return ""
        while at < end:
            nxt = _prop_end(body, at, end)
            if nxt < 0:
                return ""
            if body[at] == _P_REASON_STRING:
                try:
                    return str(bytes(body[at + 3 : nxt]), "utf-8")
                except UnicodeError:
                    return ""
            at = nxt
        return ""

    def _on_connack(self, body: memoryview, now_ms: int) -> None:
        n = len(body)
        flags = body[0]
        code = body[1]
        if code:
            if code == 1:  # a 3.1.1 broker's "unacceptable protocol version"
                why = "refused: unacceptable protocol version (the broker lacks MQTT 5)"
            else:
                why = "refused: " + reason_name(code)
            extra = self._reason_string(body, 2, n)
            self._close(why + (": " + extra if extra else ""))
            return
        if n > 2 and not self._connack_props(body, n):
            self._close("protocol error: bad CONNACK properties")
            return
        self.state = CONNECTED
        self.connects += 1
        self.session_present = bool(flags & 1)
        self._ping_out = False
        self._t_rx = self._t_tx = now_ms
        # MQTT-4.4.0-1: resend unacknowledged publishes with their packet ids
        # (DUP only if the broker kept the session: otherwise they are new to it).
        self._resend = list(self._order)
        self._queue_owed()
        if self.on_connect:
            self.on_connect(self.session_present)

    def _connack_props(self, body: memoryview, n: int) -> bool:
        """Take the broker's limits from the CONNACK's properties; False if malformed."""
        size, at = _varint(body, 2, n)
        end = at + size
        if size < 0 or end > n:
            return False
        while at < end:
            nxt = _prop_end(body, at, end)
            if nxt < 0:
                return False
            ident = body[at]
            if ident == _P_SERVER_KEEP_ALIVE:
                self.keepalive_used = _u(body, at + 1, 2)
            elif ident == _P_RECEIVE_MAXIMUM:
                self.send_quota = max(1, min(self.max_inflight, _u(body, at + 1, 2)))
            elif ident == _P_MAXIMUM_PACKET_SIZE:
                self.packet_limit = min(self.max_packet, _u(body, at + 1, 4))
            at = nxt
        return True

    def _drop_connection(self) -> None:
        self._txo = self._txn = 0
        self._rxn = 0
        self._skip = self._skip_ack = 0
        self._acks = []
        self._resend = []
        self._subs = {}
        self._ping_out = False

    def _close(self, reason: str) -> None:
        was = self.state
        self.transport.close()
        self.state = IDLE
        self.error = reason
        self._drop_connection()
        if was != IDLE and self.on_disconnect:
            self.on_disconnect(reason)

    # -- keep-alive ------------------------------------------------------------

    def _keepalive(self, now_ms: int) -> None:
        ka = self.keepalive_used * 1000
        if not ka:
            return
        if self._ping_out:
            if time.ticks_diff(now_ms, self._t_ping) >= ka:
                self._close(
                    "keep-alive: no reply from the broker within %d s" % self.keepalive_used
                )
            return
        if time.ticks_diff(now_ms, self._t_tx) >= ka or time.ticks_diff(now_ms, self._t_rx) >= ka:
            # Due even if the buffer is too full to take the PINGREQ now: a stalled
            # send is as dead as a silent receive.
            self._ping_out = True
            self._t_ping = now_ms
            if self._room(2, 0):
                self._queue_control(_PINGREQ, 0)

    # -- receiving -------------------------------------------------------------

    def _read(self, now_ms: int) -> None:
        for _ in range(_READS_PER_STEP):
            room = len(self._rx) - self._rxn
            if room <= 0:
                break
            data = self.transport.recv(room)
            if not data:
                break
            if self._skip:
                # Discarding the rest of a packet too large for the buffer.
                n = len(data)
                if n <= self._skip:
                    self._skip -= n
                    if not self._skip:
                        self._skipped(now_ms)
                    continue
                data = data[self._skip :]
                self._skip = 0
                self._skipped(now_ms)
            n = len(data)
            self._rx[self._rxn : self._rxn + n] = data
            self._rxn += n
            self._parse(now_ms)
            if self.state == IDLE:
                return
        # A packet whose handling needed tx room (its PUBACK) may still wait here.
        if self._rxn and not self._skip:
            self._parse(now_ms)

    def _skipped(self, now_ms: int) -> None:
        self._t_rx = now_ms
        self._ping_out = False
        if self._skip_ack:
            self._acks.append(self._skip_ack)
            self._skip_ack = 0
            if self.state == CONNECTED:
                self._queue_owed()

    def _parse(self, now_ms: int) -> None:
        buf = self._rx
        mv = self._rxv
        size = len(buf)
        pos = 0
        end = self._rxn
        while end - pos >= 2:
            # fixed header: type byte, remaining length (1-4 bytes, 7 bits each)
            rem = 0
            shift = 0
            i = pos + 1
            while True:
                if i >= end:
                    rem = -1  # length not complete yet
                    break
                b = buf[i]
                rem |= (b & 0x7F) << shift
                i += 1
                if not b & 0x80:
                    break
                shift += 7
                if shift > 21:
                    self._close("protocol error: bad remaining length")
                    return
            if rem < 0:
                break
            first = buf[pos]
            if i - pos + rem > size:
                # Larger than the receive buffer: skip it (see the module docstring).
                if not self._start_skip(first, i - pos, rem, end - pos, pos, now_ms):
                    break  # its variable header is not complete yet
                if self.state == IDLE:
                    return
                pos = end  # every byte held is part of it
                break
            if i + rem > end:
                break  # not complete yet
            if not self._handle(first, mv[i : i + rem], now_ms):
                break  # no tx room for its acknowledgement: retry next step
            if self.state == IDLE:
                return
            pos = i + rem
        if pos:
            left = end - pos
            if left:
                buf[0:left] = buf[pos:end]
            self._rxn = left

    def _start_skip(  # noqa: PLR0917 - the parser's cursor, passed as is
        self, first: int, head: int, rem: int, held: int, pos: int, now_ms: int
    ) -> bool:
        """Start skipping an oversized packet (``held`` bytes of it are in the buffer,
        its body starts ``head`` bytes in); False while its packet id is still missing."""
        if first & 0xF0 != _PUBLISH:
            self._close("protocol error: packet of %d bytes larger than the buffer" % rem)
            return True
        pid = 0
        body = pos + head
        if first & 0x06:
            # QoS 1: the packet id follows the topic; needed for the PUBACK
            if held - head < 2:
                return False
            tlen = (self._rx[body] << 8) | self._rx[body + 1]
            if head + 2 + tlen + 2 > len(self._rx):
                self._close("protocol error: topic larger than the buffer")
                return True
            if held - head < 2 + tlen + 2:
                return False
            at = body + 2 + tlen
            pid = (self._rx[at] << 8) | self._rx[at + 1]
        self.dropped += 1
        self._skip_ack = pid
        self._skip = rem - (held - head)
        if not self._skip:
            self._skipped(now_ms)
        return True

    def _handle(self, first: int, body: memoryview, now_ms: int) -> bool:
        kind = first & 0xF0
        n = len(body)
        if kind == _PUBLISH:
            qos = (first >> 1) & 3
            if qos > 1:
                # We subscribe at QoS 1 at most, so the broker never sends QoS 2.
                self._close("protocol error: QoS %d publish" % qos)
                return False
            if qos and not self._room(4, 0):
                return False  # PUBACK must follow the callback: keep it for later
            tlen = _u(body, 0, 2) if n >= 2 else n
            at = 2 + tlen
            pid = 0
            if qos and at + 2 <= n:
                pid = _u(body, at, 2)
                at += 2
            # the properties (Message Expiry, Content Type, User Property...) are of
            # no use to us: skipped by their length. No Topic Alias can come: we
            # sent no Topic Alias Maximum, so the broker may not use them.
            size, at = _varint(body, at, n)
            if size < 0 or at + size > n or (qos and not pid):
                self._close("protocol error: malformed PUBLISH")
                return True  # handled: the connection is closed
            at += size
            self._got(now_ms)
            if self.on_message:
                try:
                    topic = str(bytes(body[2 : 2 + tlen]), "utf-8")
                except UnicodeError:
                    topic = ""
                self.on_message(topic, bytes(body[at:]))
            if qos:
                self._queue_puback(pid)
            return True
        self._got(now_ms)
        if kind == _CONNACK and self.state == CONNECTING and n >= 2:
            self._on_connack(body, now_ms)
        elif kind == _PUBACK and n >= 2:
            # The reason code may be left out when it is 0 (remaining length 2);
            # properties (a Reason String at most) are of no use to us.
            self._acked(_u(body, 0, 2), body[2] if n > 2 else 0)
        elif kind == _SUBACK and n >= 3:
            pid = _u(body, 0, 2)
            if n == 3:
                granted = body[2]  # no property length: tolerated (a 3.1.1-style SUBACK)
            else:
                size, at = _varint(body, 2, n)
                granted = body[at + size] if size >= 0 and at + size < n else FAILURE
            if self._subs.pop(pid, None) and self.on_suback:
                self.on_suback(pid, granted)
        elif kind == _DISCONNECT:
            # The broker ends the connection and says why (section 3.14): "session
            # taken over" (another module with our id), "server shutting down"...
            code = body[0] if n else 0
            why = reason_name(code) if code else "normal disconnection (0x00)"
            extra = self._reason_string(body, 1, n)
            self._close("disconnected by the broker: " + why + (": " + extra if extra else ""))
        elif kind in (_PINGRESP, _UNSUBACK):
            pass
        elif self.state == CONNECTING:
            self._close("protocol error: packet 0x%02x before CONNACK" % first)
        return True

    def _acked(self, pid: int, reason: int) -> None:
        """The exchange for ``pid`` is over (accepted or refused): forget it, tell the caller."""
        if pid not in self._inflight:
            return
        del self._inflight[pid]
        self._order.remove(pid)
        if pid in self._resend:
            self._resend.remove(pid)
        if reason >= FAILURE:
            self.refused += 1
        if self.on_puback:
            self.on_puback(pid, reason)

    def _got(self, now_ms: int) -> None:
        self.received_packets += 1
        self._t_rx = now_ms
        self._ping_out = False

    # -- sending -------------------------------------------------------------

    def _new_pid(self) -> int:
        pid = self._next_pid
        while pid in self._inflight or pid in self._subs:
            pid = pid % 65535 + 1
        self._next_pid = pid % 65535 + 1
        return pid

    def _room(self, size: int, reserve: int) -> bool:
        """True if ``size`` bytes fit (keeping ``reserve`` free); compacts if needed."""
        cap = len(self._tx) - reserve
        if self._txn + size <= cap:
            return True
        used = self._txn - self._txo
        if used + size > cap:
            return False
        if used:
            self._tx[0:used] = self._tx[self._txo : self._txn]
        self._txo = 0
        self._txn = used
        return True

    def _put_byte(self, b: int) -> None:
        self._tx[self._txn] = b
        self._txn += 1

    def _put_u16(self, v: int) -> None:
        self._tx[self._txn] = v >> 8
        self._tx[self._txn + 1] = v & 0xFF
        self._txn += 2

    def _put_bytes(self, data: "bytes | bytearray") -> None:
        n = len(data)
        self._tx[self._txn : self._txn + n] = data
        self._txn += n

    def _put_str(self, s: bytes) -> None:
        self._put_u16(len(s))
        self._put_bytes(s)

    def _put_header(self, first: int, rem: int) -> None:
        self._put_byte(first)
        while True:
            b = rem & 0x7F
            rem >>= 7
            if rem:
                self._put_byte(b | 0x80)
            else:
                self._put_byte(b)
                return

    def _queue_control(self, first: int, pid: int) -> None:
        # PINGREQ / DISCONNECT (no body) or PUBACK (packet id)
        if pid:
            self._put_header(first, 2)
            self._put_u16(pid)
        else:
            self._put_header(first, 0)

    def _queue_puback(self, pid: int) -> None:
        # PUBACKs go out in the order the PUBLISHes came (MQTT-4.6.0-2): behind any owed.
        if not self._acks and self._room(4, 0):
            self._queue_control(_PUBACK, pid)
            self.sent_packets += 1
        else:
            self._acks.append(pid)

    def _queue_owed(self) -> None:
        """PUBACKs that found no room, then publishes to resend after a CONNACK."""
        while self._acks and self._room(4, 0):
            self._queue_control(_PUBACK, self._acks.pop(0))
        while self._resend:
            if len(self._order) - len(self._resend) >= self.send_quota:
                return  # the broker's Receive Maximum: wait for PUBACKs
            pid = self._resend[0]
            t, payload, retain = self._inflight[pid]
            size = self._publish_size(t, payload, 1)
            if size > self.packet_limit:
                # This broker would drop the connection for it, again after every
                # reconnect: answer it here as the broker would have.
                self._acked(pid, PACKET_TOO_LARGE)
                continue
            if not self._room(size, _RESERVE):
                return
            self._put_publish(t, payload, 1, retain, pid, self.session_present)
            self._resend.pop(0)

    @staticmethod
    def _publish_size(t: bytes, payload: "bytes | bytearray", qos: int) -> int:
        rem = 2 + len(t) + (2 if qos else 0) + 1 + len(payload)
        if rem > _MAX_REMAINING:
            return rem
        return 1 + _remaining_len_size(rem) + rem

    def _put_publish(  # noqa: PLR0917 - hot path: no tuple or dict per packet
        self, t: bytes, payload: "bytes | bytearray", qos: int, retain: bool, pid: int, dup: bool
    ) -> None:
        first = _PUBLISH | (qos << 1) | (1 if retain else 0) | (_DUP if dup else 0)
        self._put_header(first, 2 + len(t) + (2 if qos else 0) + 1 + len(payload))
        self._put_str(t)
        if qos:
            self._put_u16(pid)
        self._put_byte(0)  # no properties
        self._put_bytes(payload)
        self.sent_packets += 1

    def _flush(self) -> bool:
        """Offer queued bytes to the transport; True if it took any."""
        took = False
        while self._txo < self._txn:
            # A slice of the buffer, not a copy: the contract says the transport
            # takes (copies) what it accepts. Transport.send is annotated bytes.
            n = self.transport.send(self._txv[self._txo : self._txn])
            if n <= 0:
                break
            took = True
            self._txo += n
        if self._txo == self._txn:
            self._txo = self._txn = 0
        return took
