"""The stack's plain output: one ``logfmt`` line per event, for pipes, logs and tests.

Used when stdout is not a terminal, or with ``--plain``. Every line is a kind
followed by ``key=value`` pairs (values with spaces are double-quoted), e.g.::

    up device=demo-sdm630-1 seq=12 records=1 historical=false last=2026-03-02T11:59+02:00 \
samples=4/4 p_kw=0.41,0.30,0.10 total_kw=0.81 import_kwh=12345.67 export_kwh=0.00 \
bytes=98 missing=0

Kinds: ``stack`` (broker and settings, first), ``meter`` (one per site), ``up`` (a
batch of records), ``status`` (a status message; ``retained=true`` is the broker
replaying the last known one), ``live`` (live samples), ``bad`` (a payload that did
not decode), ``command`` (a command the stack sent), ``final`` (one per device at
the end) and ``summary`` (last).
"""

from __future__ import annotations

from collections.abc import Mapping

from protocol.codec import Record
from simulators.stack_format import kw, kwh, local, local_iso
from simulators.stack_state import (
    PHASES,
    BadMessage,
    BatchEvent,
    DeviceRow,
    Event,
    LiveEvent,
    StatusEvent,
    Totals,
    phase_power_w,
)

__all__ = ["event_line", "final_lines", "logfmt", "parse_logfmt"]


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "-" if value is None else str(value)
    if not text or any(c in text for c in ' ="'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def logfmt(kind: str, fields: Mapping[str, object]) -> str:
    """``kind key=value ...``."""
    return " ".join([kind, *(f"{k}={_value(v)}" for k, v in fields.items())])


def parse_logfmt(line: str) -> tuple[str, dict[str, str]]:
    """The inverse of :func:`logfmt` (for tests and scripts reading the output)."""
    kind, _, rest = line.strip().partition(" ")
    fields: dict[str, str] = {}
    i = 0
    while i < len(rest):
        if rest[i] == " ":
            i += 1
            continue
        eq = rest.index("=", i)
        key = rest[i:eq]
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            i += 1
            chars = []
            while rest[i] != '"':
                if rest[i] == "\\":
                    i += 1
                chars.append(rest[i])
                i += 1
            fields[key] = "".join(chars)
            i += 1
        else:
            end = rest.find(" ", i)
            end = len(rest) if end < 0 else end
            fields[key] = rest[i:end]
            i = end
    return kind, fields


def _phases_kw(power_w: Mapping[str, float]) -> str:
    return ",".join(kw(power_w.get(ph)) for ph in PHASES)


def _batch_line(event: BatchEvent) -> str:
    records = event.batch.records
    newest: Record = max(records, key=lambda r: r.seq)
    power = phase_power_w({ch: s[0] for ch, s in newest.stats.items()})
    return logfmt(
        "up",
        {
            "device": event.device_id,
            "seq": f"{records[0].seq}" if len(records) == 1 else f"{records[0].seq}-{newest.seq}",
            "records": len(records),
            "historical": event.batch.historical,
            "last": local_iso(newest.ts),
            "samples": f"{newest.samples}/{newest.expected}",
            "p_kw": _phases_kw(power),
            "total_kw": kw(power.get("total")),
            "import_kwh": kwh(newest.counters.get("e_imp_wh"), grouping=False),
            "export_kwh": kwh(newest.counters.get("e_exp_wh"), grouping=False),
            "bytes": event.nbytes,
            "missing": event.missing,
        },
    )


def _status_line(event: StatusEvent) -> str:
    s = event.status
    errors = s.get("modbus_errors")
    live_until = s.get("live_until")
    return logfmt(
        "status",
        {
            "device": event.device_id,
            "state": s.get("state"),
            "retained": event.retained,
            "queue": s.get("queue_depth"),
            "clock": s.get("clock"),
            "modbus_errors": sum(errors.values()) if isinstance(errors, dict) else None,
            "live_until": local(live_until, "%H:%M:%S")
            if isinstance(live_until, int | float)
            else None,
            "signal_dbm": s.get("signal_dbm"),
        },
    )


def _live_line(event: LiveEvent) -> str:
    ts_ms, values = max(event.samples, key=lambda s: s[0])
    power = phase_power_w(values)
    return logfmt(
        "live",
        {
            "device": event.device_id,
            "at": local(ts_ms / 1000, "%H:%M:%S"),
            "samples": len(event.samples),
            "p_kw": _phases_kw(power),
            "total_kw": kw(power.get("total")),
        },
    )


def event_line(event: Event) -> str | None:
    """The line for one received message (None for an empty live message)."""
    if isinstance(event, BatchEvent):
        return _batch_line(event)
    if isinstance(event, StatusEvent):
        return _status_line(event)
    if isinstance(event, LiveEvent):
        return _live_line(event) if event.samples else None
    if isinstance(event, BadMessage):
        return logfmt("bad", {"topic": event.topic, "error": event.error})
    return logfmt("command", {"device": event.device_id, **event.command})


def final_lines(rows: list[DeviceRow], totals: Totals) -> list[str]:
    """One ``final`` line per device, then the ``summary``."""
    lines = [
        logfmt(
            "final",
            {
                "device": r.device_id,
                "state": r.state,
                "records": r.records,
                "duplicates": r.duplicates,
                "missing": r.missing,
                "last": None if r.last_ts is None else local_iso(r.last_ts),
                "live_samples": r.live_samples,
                "bytes": r.bytes,
                "problem": r.problem,
            },
        )
        for r in rows
    ]
    lines.append(
        logfmt(
            "summary",
            {
                "devices": totals.devices,
                "records": totals.records,
                "batches": totals.batches,
                "bytes": totals.bytes,
                "missing": totals.missing,
                "bad": totals.bad_messages,
            },
        )
    )
    return lines
