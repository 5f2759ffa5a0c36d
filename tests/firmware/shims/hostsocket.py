"""Test shim: a :class:`firmware.transport.Transport` through the network bridge.

The WebAssembly port has no sockets. tests/firmware/netbridge.py holds the other
end of a socket pair (host descriptor ``net``) and opens the real TCP (and TLS)
connection to the broker for us. Frames both ways: one type byte, a 16-bit
little-endian length, the payload.

    to the bridge    O "host\\0port\\0tls"   open      S data   send      X   close
    from the bridge  o                      opened    e text   failed    R data  received
                     x text                 closed by the peer or the network
"""

import binascii
import struct

import host

from firmware.transport import CLOSED, OPEN, OPENING, Transport


class HostSocketTransport(Transport):
    def __init__(self, fd_name="net"):
        super().__init__()
        self._fd = host.fd(fd_name)
        if self._fd < 0:
            raise ValueError("no host descriptor %r for the network bridge" % fd_name)
        self._inbox = b""  # raw frames from the bridge, not yet parsed
        self._data = b""  # received stream bytes not yet taken by recv()
        self._out = b""  # frames not yet accepted by the socket pair

    def _frame(self, kind, payload=b""):
        self._out += kind + struct.pack("<H", len(payload)) + payload
        self._flush()

    def _flush(self):
        while self._out:
            n = host.write(self._fd, binascii.hexlify(self._out).decode())
            if n <= 0:
                if n < 0:
                    self._fail("bridge gone")
                return
            self._out = self._out[n:]

    def _fail(self, why):
        self.state = CLOSED
        self.error = why

    def open(self, host_name, port, tls):
        self.close()
        self.error = ""
        self._data = b""
        self.state = OPENING
        self._frame(b"O", ("%s\0%d\0%d" % (host_name, port, 1 if tls else 0)).encode())

    def poll(self):
        self._flush()
        while True:
            got = host.read(self._fd, 4096)
            if got is None:
                self._fail("bridge gone")
                return
            if not got:
                break
            self._inbox += binascii.unhexlify(got)
        while len(self._inbox) >= 3:
            kind = self._inbox[0:1]
            n = struct.unpack("<H", self._inbox[1:3])[0]
            if len(self._inbox) < 3 + n:
                break
            payload = self._inbox[3 : 3 + n]
            self._inbox = self._inbox[3 + n :]
            if kind == b"o" and self.state == OPENING:
                self.state = OPEN
            elif kind == b"e":
                self._fail(payload.decode())
            elif kind == b"R" and self.state == OPEN:
                self._data += payload
            elif kind == b"x" and self.state == OPEN:
                # Only while OPEN: the bridge answers an open with "o" or "e" first,
                # so an "x" read while OPENING is the previous connection's end.
                self._fail(payload.decode() or "closed by peer")

    def send(self, data):
        if self.state != OPEN:
            return 0
        data = bytes(data)[:4096]
        self._frame(b"S", data)
        return len(data)

    def recv(self, limit):
        self.poll()
        out, self._data = self._data[:limit], self._data[limit:]
        return out

    def close(self):
        if self.state != CLOSED:
            self._frame(b"X")
        self.state = CLOSED
