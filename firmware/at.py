"""Non-blocking AT command channel to the LTE modem over ``machine.UART``.

One command at a time is in flight (the modem answers them in order anyway);
:meth:`AtChannel.send` returns a :class:`Request` at once, or None while another
command is pending, and :meth:`AtChannel.step` (every loop turn) moves bytes:

* A command is ``AT...<CR>``. Its answer is any number of information lines,
  then one final result: ``OK``, ``ERROR``, ``+CME ERROR: <n>`` (numeric after
  ``AT+CMEE=1``) or ``+CMS ERROR: <n>``; none within ``timeout_ms`` is TIMEOUT.
  With ``expect`` (a line prefix such as ``"+CSQ:"``) only matching lines are
  kept in ``Request.lines``; without it every non-URC line is. Before ``ATE0``
  the modem echoes the command: an exact echo is dropped.
* Data sends (``AT+CIPSEND=<link>,<len>``, ``AT+CCHSEND=<session>,<len>``,
  ``AT+CCERTDOWN=<file>,<len>``): the modem prints the prompt ``>`` (no line
  end) and then reads exactly ``<len>`` raw bytes; the channel writes
  ``Request.data`` when it sees the prompt, then waits for the final result.
* Data reads: ``AT+CIPRXGET=2,<link>,<len>`` answers
  ``+CIPRXGET: 2,<link>,<read_len>,<rest_len>`` followed by ``<read_len>`` raw
  bytes, then ``OK``; ``AT+CCHRECV=<session>,<len>`` answers
  ``+CCHRECV: DATA,<session>,<len>`` followed by the raw bytes, then
  ``+CCHRECV: <session>,<err>`` and ``OK`` (firmware versions differ in where the
  ``OK`` falls). A handler registered with :meth:`on_data` names the header
  prefix and which comma field is the length; the channel then switches to raw
  mode for exactly that many bytes, whenever the header comes (in a command's
  answer or not), so binary payload is never parsed as lines.
* Unsolicited result codes (URCs) arrive at any time, also in the middle of a
  command's answer: ``+CIPRXGET: 1,<link>`` (data waiting), ``+IPCLOSE:
  <link>,<reason>``, ``+CIPOPEN: <link>,<err>`` (the open's real result comes
  after its ``OK``), ``+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY``, ``+CCHEVENT:
  <session>,RECV EVENT``, ``+CCH_PEER_CLOSED: <session>``, ``+CCHOPEN:
  <session>,<err>``, ``+CEREG: <stat>`` (after ``AT+CEREG=1``), ``+NETOPEN:
  <err>``, ``+CNTP: <err>``, ``RDY``, ``+CPIN: READY``, ``NO CARRIER``... Each
  line that starts with a prefix registered with :meth:`on_urc` goes to its
  handler, unless the pending command ``expect``\\ s that prefix (``+CEREG:``
  is both the answer to ``AT+CEREG?`` and a URC).

Sources for the syntax: SIMCom "A76XX Series AT Command Manual" V1.11
(2023-12-07; chapters TCP/IP ``CIPOPEN``/``CIPSEND``/``CIPRXGET``/``IPCLOSE``
and SSL ``CCHSET``/``CCHOPEN``/``CCHSEND``/``CCHRECV``/``CCERTDOWN``), the
"A76XX Series TCPIP Application Note" V1.01 and "SIM7500_SIM7600_SIM7800
Series TCPIP AT Command Manual" V1.00 (same commands on the SIM7600), and
TinyGSM's A7672x/SIM7600 clients, whose parsers follow those replies.

RAM: one 256-byte receive buffer and one line buffer, preallocated; a raw data
block is one bytearray of its length (at most what was asked for, <= 1460).
On the ESP32 give the UART ``rxbuf`` >= 2048 and ``txbuf`` >= the largest data
send plus a command, so ``write`` returns at once and nothing is lost between
two loop turns.
"""

import time

from micropython import const

try:
    from typing import Any, Callable, Generator

    UrcHandler = Callable[[str], None]
    DataHandler = Callable[[str, bytes], None]
except ImportError:
    pass

PENDING = const(0)
OK = const(1)
ERROR = const(2)
TIMEOUT = const(3)

_LINE_MAX = const(256)  # a longer line is cut (only URC/answer text, never data)
_READ_CHUNK = const(256)
_RAW_STALL_MS = const(2000)  # raw data that stops arriving: give up the block
_CR = const(13)
_LF = const(10)
_PROMPT = const(62)  # ">"


class Request:
    """One command and its answer; poll ``done`` / ``state``."""

    def __init__(
        self, cmd: str, timeout_ms: int, expect: "str | None", data: "bytes | None"
    ) -> None:
        self.cmd = cmd
        self.timeout_ms = timeout_ms
        self.expect = expect  # line prefix to collect, or None for every line
        self.data = data  # bytes written at the ">" prompt, or None
        self.state = PENDING
        self.lines: "list[str]" = []  # information lines of the answer
        self.cme = -1  # the number of a +CME/+CMS ERROR, -1 otherwise
        self.started = 0
        self.prompted = False

    @property
    def done(self) -> bool:
        return self.state != PENDING

    @property
    def ok(self) -> bool:
        return self.state == OK

    def line(self) -> str:
        """The first collected line, or ""."""
        return self.lines[0] if self.lines else ""

    def values(self) -> "list[str]":
        """The comma fields after ``prefix: `` of the first line (quotes kept)."""
        text = self.line()
        i = text.find(":")
        return fields(text[i + 1 :] if i >= 0 else text)


def fields(text: str) -> "list[str]":
    """``' 1,"a,b",3'`` -> ``['1', '"a,b"', '3']``: split on commas outside quotes."""
    out: "list[str]" = []
    start = 0
    quoted = False
    for i in range(len(text)):
        c = text[i]
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return out


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    return text


class AtChannel:
    """The command/answer/URC stream over one UART."""

    def __init__(self, uart: "Any") -> None:
        self.uart = uart
        self._rx = bytearray(_READ_CHUNK)
        self._rxmv = memoryview(self._rx)
        self._line = bytearray(_LINE_MAX)
        self._llen = 0
        self._req: "Request | None" = None
        self._urcs: "list[tuple[str, UrcHandler]]" = []
        self._datas: "list[tuple[str, int, DataHandler]]" = []  # prefix, length field
        self._raw_left = 0
        self._raw = bytearray()  # the raw block being received
        self._raw_header = ""
        self._raw_handler: "DataHandler | None" = None
        self._raw_at = 0
        self.stray = 0  # lines nobody wanted (diagnostics)
        self.last_rx_ms: "int | None" = None  # ticks of the last byte from the modem

    # -- registration -----------------------------------------------------

    def on_urc(self, prefix: str, handler: "UrcHandler") -> None:
        """Call ``handler(line)`` for every unsolicited line starting with ``prefix``."""
        self._urcs.append((prefix, handler))

    def on_data(self, prefix: str, length_field: int, handler: "DataHandler") -> None:
        """A header line ``prefix...`` announces raw bytes; its comma field number
        ``length_field`` (after ``": "``, from 0) is their count. ``handler(header,
        data)`` gets them once complete."""
        self._datas.append((prefix, length_field, handler))

    # -- commands -----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._req is not None

    def send(
        self,
        cmd: str,
        timeout_ms: int = 1000,
        expect: "str | None" = None,
        data: "bytes | None" = None,
    ) -> "Request | None":
        """Start ``cmd`` (without the ``<CR>``); a :class:`Request`, or None if busy."""
        if self._req is not None:
            return None
        req = Request(cmd, timeout_ms, expect, data)
        req.started = time.ticks_ms()
        self._req = req
        try:
            self.uart.write(cmd.encode() + b"\r")
        except OSError:
            self._finish(ERROR)
        return req

    def command(
        self,
        cmd: str,
        timeout_ms: int = 1000,
        expect: "str | None" = None,
        data: "bytes | None" = None,
    ) -> "Generator[None, None, Request]":
        """``yield from`` it in a coroutine: waits for the channel, sends ``cmd``, waits
        for its answer, and returns the finished :class:`Request` (never blocks)."""
        req = self.send(cmd, timeout_ms, expect, data)
        while req is None:
            yield
            req = self.send(cmd, timeout_ms, expect, data)
        while not req.done:
            yield
        return req

    def abort(self) -> None:
        """Forget the pending command (the modem was reset or powered off)."""
        if self._req is not None:
            self._finish(TIMEOUT)
        self._raw_left = 0
        self._raw = bytearray()
        self._llen = 0

    def _finish(self, state: int) -> None:
        req = self._req
        self._req = None
        if req is not None:
            req.state = state

    # -- the byte pump --------------------------------------------------------

    def step(self, now_ms: "int | None" = None) -> None:
        """Read what the modem sent, dispatch it; time out the pending command."""
        if now_ms is None:
            now_ms = time.ticks_ms()
        for _ in range(8):  # bounded: at most 2 KB per call keeps the loop turn short
            n = self.uart.readinto(self._rx) or 0
            if not n:
                break
            self.last_rx_ms = now_ms
            self._feed(n, now_ms)
            if n < _READ_CHUNK:
                break
        if self._raw_left and time.ticks_diff(now_ms, self._raw_at) > _RAW_STALL_MS:
            self._raw_left = 0  # the modem stopped mid-block: drop it, back to lines
            self._raw = bytearray()
        req = self._req
        if req is not None and time.ticks_diff(now_ms, req.started) > req.timeout_ms:
            self._finish(TIMEOUT)

    def _feed(self, n: int, now_ms: int) -> None:
        buf = self._rx
        i = 0
        while i < n:
            if self._raw_left:
                take = min(self._raw_left, n - i)
                self._raw.extend(self._rxmv[i : i + take])
                i += take
                self._raw_left -= take
                self._raw_at = now_ms
                handler = self._raw_handler
                if not self._raw_left and handler is not None:
                    data, self._raw = bytes(self._raw), bytearray()
                    handler(self._raw_header, data)
                continue
            b = buf[i]
            i += 1
            if b == _LF:
                self._end_line(now_ms)
            elif b == _CR:
                continue
            elif b == _PROMPT and self._llen == 0 and self._prompt_wanted():
                req = self._req
                if req is not None and req.data is not None:
                    req.prompted = True
                    try:
                        self.uart.write(req.data)
                    except OSError:
                        self._finish(ERROR)
            elif self._llen < _LINE_MAX:
                self._line[self._llen] = b
                self._llen += 1

    def _prompt_wanted(self) -> bool:
        req = self._req
        return req is not None and req.data is not None and not req.prompted

    def _end_line(self, now_ms: int) -> None:
        n = self._llen
        self._llen = 0
        if not n:
            return
        try:
            line = bytes(self._line[:n]).decode().strip()
        except UnicodeError:
            self.stray += 1  # line noise (a modem booting at another baud rate)
            return
        if line:
            self._dispatch(line, now_ms)

    def _dispatch(self, line: str, now_ms: int) -> None:
        for prefix, index, handler in self._datas:
            if line.startswith(prefix):
                self._start_raw(line, index, handler, now_ms)
                return
        req = self._req
        if req is not None:
            if line == "OK":
                self._finish(OK)
                return
            if line == "ERROR" or line.startswith("+CME ERROR") or line.startswith("+CMS ERROR"):
                code = line[line.find(":") + 1 :].strip() if ":" in line else ""
                req.cme = int(code) if code.isdigit() else -1
                self._finish(ERROR)
                return
            if line == req.cmd:
                return  # echo (before ATE0)
            if req.expect is not None and line.startswith(req.expect):
                req.lines.append(line)
                return
        for prefix, urc in self._urcs:
            if line.startswith(prefix):
                urc(line)
                return
        if req is not None and req.expect is None:
            req.lines.append(line)
            return
        self.stray += 1

    def _start_raw(self, header: str, index: int, handler: "DataHandler", now_ms: int) -> None:
        parts = fields(header[header.find(":") + 1 :])
        try:
            n = int(parts[index])
        except (IndexError, ValueError):
            self.stray += 1
            return
        if n <= 0:
            handler(header, b"")
            return
        self._raw_left = n
        self._raw = bytearray()
        self._raw_header = header
        self._raw_handler = handler
        self._raw_at = now_ms
