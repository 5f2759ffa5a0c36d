"""The one exception type every protocol decoder raises.

Lives in its own module so that the small codec modules (varint, batch, live,
messages) can all raise it without importing each other.
"""


class DecodeError(ValueError):
    """A payload is malformed, truncated, oversized or of an unsupported version.

    A subclass of ValueError so callers that only know "bad input" still catch it;
    decoders never let any other exception escape, whatever bytes they are given.
    """
