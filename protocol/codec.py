"""The MyEnergy payload codec, protocol v1: the one module the other packages import.

    Record, Batch, CLOCK_*            records.py   the uplink data model
    encode_batch / decode_batch       batch.py     binary, topic .../up
    encode_live / decode_live         live.py      binary, topic .../live
    encode_status / decode_status     messages.py  JSON, topic .../status (retained)
    encode_command / decode_command   messages.py  JSON, topic .../cmd
    DecodeError                       errors.py    the only exception decoders raise

The implementation is split into small modules (frame, varint, bits, columns,
predict, quant, compress) that run on CPython and MicroPython alike; the
format is specified byte by byte in docs/protocol.md.
"""

from protocol import VERSION
from protocol.batch import MAX_BATCH_RECORDS, decode_batch, encode_batch
from protocol.errors import DecodeError
from protocol.live import MAX_LIVE_SAMPLES, decode_live, encode_live
from protocol.messages import (
    CMD_CONFIG,
    CMD_LIVE,
    CMD_LIVE_STOP,
    CMD_TIME,
    STATE_OFFLINE,
    STATE_ONLINE,
    decode_command,
    decode_status,
    encode_command,
    encode_status,
)
from protocol.records import (
    CLOCK_ESTIMATED,
    CLOCK_SYNCED,
    CLOCK_UNANCHORED,
    CLOCKS,
    PERIOD_COARSE_S,
    PERIOD_RAW_S,
    Batch,
    Record,
)

__all__ = [
    "CLOCKS",
    "CLOCK_ESTIMATED",
    "CLOCK_SYNCED",
    "CLOCK_UNANCHORED",
    "CMD_CONFIG",
    "CMD_LIVE",
    "CMD_LIVE_STOP",
    "CMD_TIME",
    "MAX_BATCH_RECORDS",
    "MAX_LIVE_SAMPLES",
    "PERIOD_COARSE_S",
    "PERIOD_RAW_S",
    "STATE_OFFLINE",
    "STATE_ONLINE",
    "VERSION",
    "Batch",
    "DecodeError",
    "Record",
    "decode_batch",
    "decode_command",
    "decode_live",
    "decode_status",
    "encode_batch",
    "encode_command",
    "encode_live",
    "encode_status",
]
