"""The byte-stream interface every uplink transport offers the MQTT client.

Three implementations share it:

* ``firmware.net_modem.ModemTransport``: the modem's own TCP/TLS stack through
  AT commands (SIMCom ``AT+CIPOPEN`` / ``AT+CCHOPEN``) over the modem's UART;
* ``firmware.net_socket.SocketTransport``: native sockets (PPP over the modem,
  or Wi-Fi on a bench), TLS with the ``ssl`` module;
* the test shim ``hostsocket`` (tests/firmware/shims): a bridge process relays
  the stream to a real broker, because the WebAssembly port has no sockets.

Everything is non-blocking: a call returns at once and ``poll`` drives any
internal state machine, so the main loop keeps polling the meter and feeding
the watchdog while a connection is opening, stalled or gone. Errors never
escape as exceptions from ``poll``/``send``/``recv``: the transport goes to
CLOSED and keeps the reason in ``error`` for the status message and the logs.
"""

CLOSED = 0  # nothing open (never opened, closed, or failed: see ``error``)
OPENING = 1  # open() accepted, connection (and TLS handshake) in progress
OPEN = 2  # bytes flow


class Transport:
    """Base class: documents the contract; subclasses implement every method."""

    def __init__(self) -> None:
        self.state = CLOSED
        self.error = ""  # why the last connection failed or ended; "" if none

    def open(self, host: str, port: int, tls: bool) -> None:
        """Start connecting to ``host:port`` (with TLS if ``tls``); state -> OPENING."""
        raise NotImplementedError

    def poll(self) -> None:
        """Advance the connection state machine; cheap, called every loop turn."""
        raise NotImplementedError

    def send(self, data: "bytes | memoryview") -> int:
        """Queue ``data`` for sending; how many bytes were taken (0 if none now).

        The transport copies what it takes: the caller reuses its buffer at once.
        """
        raise NotImplementedError

    def recv(self, limit: int) -> bytes:
        """Up to ``limit`` received bytes; b"" when none are waiting."""
        raise NotImplementedError

    def close(self) -> None:
        """Drop the connection (idempotent); state -> CLOSED."""
        raise NotImplementedError
