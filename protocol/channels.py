"""The shared channel vocabulary: one name per measured quantity, used by the
register maps (hardware/), the simulator, the agent, the wire codec and the cloud.

Each channel has a one-byte wire code (never reuse or renumber one: it is part of
protocol v1), a unit, a kind and the resolution in which it travels on the wire.
``instant`` channels are sampled values (the agent sends mean/min/max per record);
``counter`` channels are cumulative meter registers (the agent sends the value at
the end of the record's period, as an integer in the channel's unit).

Runs unchanged on CPython and MicroPython: plain tuples and dicts, no typing
imports; annotations appear only in function signatures (MicroPython's compiler
discards them) so that mypy --strict can check the callers.
"""

INSTANT = "instant"
COUNTER = "counter"

# (name, wire code, unit, kind, wire resolution, physical minimum, physical maximum)
# The resolution is the step a value is rounded to before it is put on the wire;
# it is finer than any supported meter's own resolution for that quantity.
# Physical bounds are what a low-voltage site's meter can report at all; the
# ingest and the agent treat anything outside as implausible, never as a reading.
_TABLE = (
    # phase-to-neutral and phase-to-phase voltage
    ("u_l1_v", 1, "V", INSTANT, 0.1, 0.0, 1000.0),
    ("u_l2_v", 2, "V", INSTANT, 0.1, 0.0, 1000.0),
    ("u_l3_v", 3, "V", INSTANT, 0.1, 0.0, 1000.0),
    ("u_l12_v", 4, "V", INSTANT, 0.1, 0.0, 1000.0),
    ("u_l23_v", 5, "V", INSTANT, 0.1, 0.0, 1000.0),
    ("u_l31_v", 6, "V", INSTANT, 0.1, 0.0, 1000.0),
    # current; signed because some meters (EM340 in measuring mode B) sign it by
    # direction of flow, so an exporting phase reads negative
    ("i_l1_a", 10, "A", INSTANT, 0.01, -10000.0, 10000.0),
    ("i_l2_a", 11, "A", INSTANT, 0.01, -10000.0, 10000.0),
    ("i_l3_a", 12, "A", INSTANT, 0.01, -10000.0, 10000.0),
    ("i_n_a", 13, "A", INSTANT, 0.01, -10000.0, 10000.0),
    # active power, signed: negative is export
    ("p_l1_w", 20, "W", INSTANT, 1.0, -10000000.0, 10000000.0),
    ("p_l2_w", 21, "W", INSTANT, 1.0, -10000000.0, 10000000.0),
    ("p_l3_w", 22, "W", INSTANT, 1.0, -10000000.0, 10000000.0),
    ("p_total_w", 23, "W", INSTANT, 1.0, -30000000.0, 30000000.0),
    # reactive power, signed
    ("q_l1_var", 30, "var", INSTANT, 1.0, -10000000.0, 10000000.0),
    ("q_l2_var", 31, "var", INSTANT, 1.0, -10000000.0, 10000000.0),
    ("q_l3_var", 32, "var", INSTANT, 1.0, -10000000.0, 10000000.0),
    ("q_total_var", 33, "var", INSTANT, 1.0, -30000000.0, 30000000.0),
    # apparent power
    ("s_l1_va", 40, "VA", INSTANT, 1.0, 0.0, 10000000.0),
    ("s_l2_va", 41, "VA", INSTANT, 1.0, 0.0, 10000000.0),
    ("s_l3_va", 42, "VA", INSTANT, 1.0, 0.0, 10000000.0),
    ("s_total_va", 43, "VA", INSTANT, 1.0, 0.0, 30000000.0),
    # power factor, signed by the meter's convention
    ("pf_l1", 50, "", INSTANT, 0.001, -1.0, 1.0),
    ("pf_l2", 51, "", INSTANT, 0.001, -1.0, 1.0),
    ("pf_l3", 52, "", INSTANT, 0.001, -1.0, 1.0),
    ("pf_total", 53, "", INSTANT, 0.001, -1.0, 1.0),
    # frequency
    ("f_hz", 60, "Hz", INSTANT, 0.01, 40.0, 70.0),
    # cumulative energy registers, integer watt-hours / var-hours
    ("e_imp_wh", 100, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_exp_wh", 101, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_imp_l1_wh", 102, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_imp_l2_wh", 103, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_imp_l3_wh", 104, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_exp_l1_wh", 105, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_exp_l2_wh", 106, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("e_exp_l3_wh", 107, "Wh", COUNTER, 1.0, 0.0, 9.2e18),
    ("er_imp_varh", 110, "varh", COUNTER, 1.0, 0.0, 9.2e18),
    ("er_exp_varh", 111, "varh", COUNTER, 1.0, 0.0, 9.2e18),
)


class Channel:
    """One entry of the vocabulary."""

    def __init__(  # noqa: PLR0917 - one positional argument per column of _TABLE
        self,
        name: str,
        code: int,
        unit: str,
        kind: str,
        resolution: float,
        minimum: float,
        maximum: float,
    ) -> None:
        self.name = name
        self.code = code
        self.unit = unit
        self.kind = kind
        self.resolution = resolution
        self.minimum = minimum
        self.maximum = maximum

    def plausible(self, value: float) -> bool:
        """True when ``value`` is a value this quantity can physically take."""
        return self.minimum <= value <= self.maximum

    def __repr__(self) -> str:
        return "Channel(%s)" % self.name


def _build() -> tuple[dict[str, Channel], dict[int, Channel]]:
    by_name = {}  # type: dict[str, Channel]
    by_code = {}  # type: dict[int, Channel]
    for row in _TABLE:
        ch = Channel(*row)
        if ch.name in by_name or ch.code in by_code:
            raise ValueError("duplicate channel in vocabulary: %s" % ch.name)
        by_name[ch.name] = ch
        by_code[ch.code] = ch
    return by_name, by_code


BY_NAME, BY_CODE = _build()
NAMES = tuple(row[0] for row in _TABLE)


def get(name: str) -> Channel:
    """The channel called ``name``; KeyError naming it when it is not in the vocabulary."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError("unknown channel %r (not in protocol/channels.py)" % name) from None


def by_code(code: int) -> Channel:
    """The channel with wire code ``code``; KeyError when there is none."""
    try:
        return BY_CODE[code]
    except KeyError:
        raise KeyError("unknown channel code %r" % code) from None
