"""JSON-lines control socket: drive a running simulator from another process.

One JSON object per line in, one JSON object per line out (``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``). Listens on a unix socket path or a loopback
``HOST:PORT`` (port 0 picks a free one; ``.address`` tells which).

Meter commands (``myenergy-sim meter --control ...``)::

    {"fault": "no_reply", "count": 5}              any fault of simulators.faults, with
    {"fault": "exception", "code": 6}              its parameters; no count = until cleared
    {"fault": "implausible", "channel": "u_l1_v", "value": "nan"}
    {"clear": true}          {"clear": "no_reply"}  clear all / one kind
    {"status": true}         active faults, requests served, simulated time, readings
    {"advance": 3600}        jump the simulated clock one hour ahead
    {"wiring": ["reversed_ct:2", "ct_ratio:1=2.0"]}   rewire the panel (simulators.wiring);
    {"wiring": []}           a correctly wired panel again

Link commands (``myenergy-sim link --control ...``)::

    {"mode": "blackhole"}    {"mode": "throttle:2000:300"}
    {"schedule": "60:pass,30:cut", "repeat": false}
    {"status": true}         mode and byte counters

Try it: ``echo '{"status": true}' | nc -q1 127.0.0.1 PORT`` or ``socat - UNIX-CONNECT:/path.sock``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from simulators.link import LinkProxy, require_loopback
from simulators.link_modes import parse_mode, parse_schedule
from simulators.meter import SimulatedMeter
from simulators.wiring import parse_wiring

__all__ = ["ControlServer", "link_handler", "meter_handler", "request", "split_address"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def split_address(address: str) -> tuple[str, int] | str:
    """``"127.0.0.1:5021"`` -> ``("127.0.0.1", 5021)``; anything with a ``/`` is a unix path."""
    if "/" in address:
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"control address must be HOST:PORT or a socket path, got {address!r}")
    require_loopback(host)
    return host, int(port)


class _LineHandler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        for raw in self.rfile:
            if not raw.strip():
                continue
            try:
                cmd = json.loads(raw)
                if not isinstance(cmd, dict):
                    raise ValueError("a command is a JSON object")
                reply = {"ok": True, **self.server.handler(cmd)}
            except (ValueError, KeyError, TypeError, RuntimeError) as exc:
                reply = {"ok": False, "error": str(exc)}
            self.wfile.write(json.dumps(reply).encode() + b"\n")
            self.wfile.flush()


class _Server(socketserver.ThreadingMixIn, socketserver.BaseServer):
    handler: Handler
    daemon_threads = True


class _TcpServer(_Server, socketserver.TCPServer):
    allow_reuse_address = True


class _UnixServer(_Server, socketserver.UnixStreamServer):
    pass


class ControlServer:
    """Serve ``handler`` (a dict -> dict function) on ``address`` in a daemon thread."""

    def __init__(self, address: str, handler: Handler) -> None:
        where = split_address(address)
        self._path = where if isinstance(where, str) else None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)  # a stale socket from a killed run
            self._server: _Server = _UnixServer(self._path, _LineHandler)
            self.address = self._path
        else:
            assert not isinstance(where, str)
            self._server = _TcpServer(where, _LineHandler)
            host, port = self._server.socket.getsockname()[:2]
            self.address = f"{host}:{port}"
        self._server.handler = handler
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="sim-control", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)


def request(address: str, command: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Send one command to a control socket and return its reply (client side)."""
    where = split_address(address)
    family = socket.AF_UNIX if isinstance(where, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(where)
        sock.sendall(json.dumps(command).encode() + b"\n")
        with sock.makefile("rb") as f:
            line = f.readline()
    reply = json.loads(line)
    if not isinstance(reply, dict):
        raise ValueError(f"bad reply from control socket: {line!r}")
    return reply


def meter_handler(meter: SimulatedMeter) -> Handler:
    """Commands for a simulated meter: faults, clear, wiring, status, advance."""

    def handle(cmd: dict[str, Any]) -> dict[str, Any]:
        if "fault" in cmd:
            params = {k: v for k, v in cmd.items() if k not in ("fault", "count")}
            meter.faults.inject(str(cmd["fault"]), cmd.get("count"), **params)
            return {"faults": meter.faults.status()}
        if "clear" in cmd:
            kind = cmd["clear"]
            meter.faults.clear(None if kind is True else str(kind))
            return {"faults": meter.faults.status()}
        if "wiring" in cmd:
            specs = cmd["wiring"]
            if isinstance(specs, str):
                specs = [specs]
            if not isinstance(specs, list):
                raise ValueError('wiring is a list of specs, e.g. ["reversed_ct:2"]')
            meter.set_wiring(parse_wiring([str(s) for s in specs], meter.phases))
            return {"wiring": meter.wiring.to_json()}
        if "advance" in cmd:
            advance = getattr(meter.clock, "advance", None)
            if advance is None:
                raise ValueError("this meter's clock cannot be advanced")
            return {"time": advance(float(cmd["advance"]))}
        if "status" in cmd:
            return {
                "slave": meter.slave_id,
                "model": meter.map.model,
                "requests": meter.requests,
                "time": meter.clock.now(),
                "faults": meter.faults.status(),
                "wiring": meter.wiring.to_json(),
                "readings": _finite(meter.readings()),
            }
        raise ValueError("unknown command; use fault, clear, wiring, advance or status")

    return handle


def link_handler(proxy: LinkProxy) -> Handler:
    """Commands for a link proxy: mode, schedule, status."""

    def handle(cmd: dict[str, Any]) -> dict[str, Any]:
        if "mode" in cmd:
            proxy.set_mode(parse_mode(str(cmd["mode"])))
        elif "schedule" in cmd:
            proxy.run_schedule(parse_schedule(str(cmd["schedule"])), repeat=bool(cmd.get("repeat")))
        elif "status" not in cmd:
            raise ValueError("unknown command; use mode, schedule or status")
        return asdict(proxy.stats())

    return handle


def _finite(values: dict[str, float]) -> dict[str, float | str]:
    # JSON has no NaN: an injected implausible NaN is reported as the string "nan"
    return {k: (v if math.isfinite(v) else repr(v)) for k, v in values.items()}
