"""Quantisation: channel values <-> integer steps of the channel's wire resolution.

Every value travels as an integer number of ``resolution`` steps (0.1 V, 0.01 A,
1 W ...). Rounding to the nearest step is the codec's only loss, so a decoded value
is always within half a step of what the device measured. Resolutions are kept as
an integer number of steps per unit (10, 100, 1000) so decoding is one correctly
rounded division: 2301 / 10 gives exactly the float 230.1, on CPython and on
MicroPython alike.
"""

from protocol import channels

# Quantised values must stay below 2**63 in magnitude so any delta between two of
# them still fits in a ten-byte varint; the largest physical bound (counters,
# 9.2e18) is just inside.
MAX_STEPS = 1 << 63


def _scales() -> dict[str, int]:
    out = {}  # type: dict[str, int]
    for name in channels.NAMES:
        ch = channels.get(name)
        steps = int(round(1.0 / ch.resolution))
        # The codec relies on 1/resolution being a whole number of steps per unit,
        # and on counters travelling as whole units: fail loudly at import if the
        # vocabulary ever breaks that, instead of silently losing precision.
        if steps < 1 or abs(steps * ch.resolution - 1.0) > 1e-9:
            raise ValueError("resolution of channel %s is not 1/integer" % name)
        if ch.kind == channels.COUNTER and steps != 1:
            raise ValueError("counter channel %s must have resolution 1" % name)
        out[name] = steps
    return out


SCALE = _scales()


def channel_kind(name: str) -> str:
    """The kind (INSTANT or COUNTER) of channel ``name``; ValueError when it is unknown."""
    try:
        return channels.get(name).kind
    except KeyError:
        raise ValueError("unknown channel %r (not in protocol/channels.py)" % (name,)) from None


def quantise(name: str, value: float) -> int:
    """``value`` of channel ``name`` as an integer number of resolution steps.

    ValueError for a value that cannot go on the wire: not a number, NaN or
    infinite, or beyond +-2**63 steps. Physical plausibility is not checked here:
    the agent and the ingest judge that, the codec only carries values.
    """
    steps = SCALE.get(name)
    if steps is None:
        channel_kind(name)  # raises the helpful "unknown channel" error
        raise ValueError("unknown channel %r" % (name,))
    if isinstance(value, bool):
        raise ValueError("channel %s: boolean is not a reading" % name)
    if isinstance(value, int):
        q = value * steps
    elif isinstance(value, float):
        # NaN and +-inf are the only floats for which x - x is not 0.
        if value - value != 0.0:
            raise ValueError("channel %s: non-finite value %r" % (name, value))
        q = int(round(value * steps))
    else:
        raise ValueError("channel %s: %r is not a number" % (name, value))
    if q >= MAX_STEPS or q <= -MAX_STEPS:
        raise ValueError("channel %s: value %r out of range" % (name, value))
    return q


def to_float(name: str, q: int) -> float:
    """The value of ``q`` steps of instant channel ``name``, as a float."""
    return q / SCALE[name]
