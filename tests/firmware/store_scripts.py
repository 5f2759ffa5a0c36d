"""MicroPython script fragments shared by the store tests (tests/firmware/test_store*.py)."""

from __future__ import annotations

import json

from protocol.codec import Record

# Builds records on MicroPython from the JSON the test embeds, and prints them back
# as JSON lines the test parses: values cross as their wire steps, exactly.
RECORDS_PY = r"""
import json
from protocol.records import Record

def from_json(row):
    ts, clock, samples, stats, counters = row
    return Record(0, ts, 60, clock, samples, 60, 1,
                  dict((k, tuple(v)) for k, v in stats.items()), counters)

def to_json(r):
    return json.dumps([r.seq, r.ts, r.period_s, r.clock, r.samples, r.expected, r.span,
                       r.stats, r.counters])
"""


def records_json(records: list[Record]) -> str:
    """A Python expression for the rows RECORDS_PY's from_json reads.

    A JSON string parsed at run time: MicroPython compiles a literal of hundreds
    of nested dicts very slowly, a string in no time.
    """
    text = json.dumps(
        [
            [r.ts, r.clock, r.samples, {k: list(v) for k, v in r.stats.items()}, r.counters]
            for r in records
        ]
    )
    return f"json.loads({text!r})"


def parse_record(text: str) -> Record:
    """A Record from one line printed by RECORDS_PY's to_json."""
    seq, ts, period_s, clock, samples, expected, span, stats, counters = json.loads(text)
    return Record(
        seq,
        ts,
        period_s,
        clock,
        samples,
        expected,
        span,
        {k: (v[0], v[1], v[2]) for k, v in stats.items()},
        counters,
    )
