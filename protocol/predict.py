"""Predictors: what the decoder can guess about a value before reading it.

Only the residual ``actual - prediction`` goes on the wire, so every good guess
saves bits. The rules are part of protocol v1 (changing one changes the bytes);
docs/protocol.md has the table. In short, a meter computes most of its channels
from a few measured ones, and the rules redo that arithmetic:

    SUM      p/q/s_total = sum of the phases; the total's spread (mean - min,
             max - mean) is the root of the sum of the squares of the phases'
             spreads (phases do not peak in the same second).
    HYPOT    s = hypot(p, q); min and max from the extremes of |p| and |q|,
             scaled by s / hypot(p, q) (a total's VA is the sum of the phases').
    SCALED   q's spread = p's spread * |q| / hypot(p, q).
    RATIO    pf = p / s.
    CURRENT  i = s / u (or |p| / (u * |pf|) without s); spread from s's (p's).
    LINE     u_l12 = sqrt(u1^2 + u2^2 + u1 * u2) (phasors 120 degrees apart).
    ENERGY   a register grows by power * time; see Register.

pf and i carry a sign by the meter's convention: the prediction takes the sign
of the active power, flipped when the previous record of the batch showed the
channel and its power with opposite signs (an unsigned current, a pf signed
inductive/capacitive). A rule applies in a record when all its sources are in
that record (and its divisor is positive); the first applicable rule of a
channel wins, else the default: the channel's previous mean in the batch (for
the first, its SIBLING's mean in the same record, or 0) and a spread of 0.
Everything is integer arithmetic on quantised steps, identical on CPython and
MicroPython.
"""

from protocol import channels
from protocol.bits import bit_length
from protocol.quant import MAX_STEPS, SCALE

SUM = 1
HYPOT = 2
SCALED = 3
RATIO = 4
CURRENT = 5
CURRENT_PF = 6
LINE = 7
ENERGY_IMPORT = 8
ENERGY_EXPORT = 9

# Beyond a day the power of one record says nothing about the energy in between.
MAX_ELAPSED_S = 86400


def _phases(fmt: str) -> tuple[str, ...]:
    return (fmt % 1, fmt % 2, fmt % 3)


def _rules() -> tuple[dict[str, tuple[tuple[int, tuple[str, ...]], ...]], ...]:
    mean = {}  # type: dict[str, tuple[tuple[int, tuple[str, ...]], ...]]
    spread = {}  # type: dict[str, tuple[tuple[int, tuple[str, ...]], ...]]
    energy = {}  # type: dict[str, tuple[tuple[int, tuple[str, ...]], ...]]
    for n in (1, 2, 3):
        p, q, s = "p_l%d_w" % n, "q_l%d_var" % n, "s_l%d_va" % n
        u, pf, i = "u_l%d_v" % n, "pf_l%d" % n, "i_l%d_a" % n
        mean[s] = spread[s] = ((HYPOT, (p, q)),)
        spread[q] = ((SCALED, (p,)),)
        mean[pf] = ((RATIO, (p, s)),)
        mean[i] = spread[i] = ((CURRENT, (s, u, p)), (CURRENT_PF, (p, u, pf)))
        energy["e_imp_l%d_wh" % n] = ((ENERGY_IMPORT, (p,)),)
        energy["e_exp_l%d_wh" % n] = ((ENERGY_EXPORT, (p,)),)
    for a, b in ((1, 2), (2, 3), (3, 1)):
        mean["u_l%d%d_v" % (a, b)] = ((LINE, ("u_l%d_v" % a, "u_l%d_v" % b)),)
    for total, fmt in (("p_total_w", "p_l%d_w"), ("q_total_var", "q_l%d_var")):
        mean[total] = spread[total] = ((SUM, _phases(fmt)),)
    pq = ("p_total_w", "q_total_var")
    mean["s_total_va"] = ((SUM, _phases("s_l%d_va")), (HYPOT, pq))
    spread["s_total_va"] = ((HYPOT, pq), (SUM, _phases("s_l%d_va")))
    mean["pf_total"] = ((RATIO, ("p_total_w", "s_total_va")),)
    energy["e_imp_wh"] = ((ENERGY_IMPORT, ("p_total_w",)),)
    energy["e_exp_wh"] = ((ENERGY_EXPORT, ("p_total_w",)),)
    energy["er_imp_varh"] = ((ENERGY_IMPORT, ("q_total_var",)),)
    energy["er_exp_varh"] = ((ENERGY_EXPORT, ("q_total_var",)),)
    return mean, spread, energy


MEAN_RULES, SPREAD_RULES, ENERGY_RULES = _rules()

# A channel without a rule follows a sibling: its first mean in the batch is
# predicted by the sibling's mean in the same record, and, when the encoder says
# so for the batch ("follow"), each later mean moves by as much as the sibling's
# did (phase voltages share the grid's swings; a three-phase PV inverter moves
# all phases at once).
SIBLING = {
    "u_l2_v": "u_l1_v",
    "u_l3_v": "u_l1_v",
    "u_l23_v": "u_l12_v",
    "u_l31_v": "u_l12_v",
    "p_l2_w": "p_l1_w",
    "p_l3_w": "p_l1_w",
    "q_l2_var": "q_l1_var",
    "q_l3_var": "q_l1_var",
}


def _stage(name: str) -> int:
    stage = 0
    for table in (MEAN_RULES, SPREAD_RULES, ENERGY_RULES):
        for _, sources in table.get(name, ()):
            for s in sources:
                stage = max(stage, _stage(s) + 1)
    if name in SIBLING:
        stage = max(stage, _stage(SIBLING[name]) + 1)
    return stage


# Decoding order: every rule's sources come before the channel it predicts.
ORDER = tuple(sorted(channels.NAMES, key=lambda n: (_stage(n), channels.get(n).code)))
RANK = {}  # type: dict[str, int]
for _i, _name in enumerate(ORDER):
    RANK[_name] = _i


def _clamp(x: int) -> int:
    """Predictions stay within the range of a value, so a residual always fits the stream."""
    return max(-MAX_STEPS, min(MAX_STEPS, x))


def isqrt(n: int) -> int:
    """floor(sqrt(n)) for n >= 0 (0 for negative n), exact for any size."""
    if n < 2:
        return max(n, 0)
    x = 1 << ((bit_length(n) + 1) >> 1)  # >= sqrt(n): Newton's steps go down from here
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


def root(n: int) -> int:
    """sqrt(n) rounded to the nearest integer (halves up), for n >= 0."""
    r = isqrt(n)
    # (r + 1/2)^2 = r^2 + r + 1/4: round up when n - r^2 > r
    return r + 1 if n - r * r > r else r


def div(a: int, d: int) -> int:
    """a / d rounded half up, for d > 0 (floor division is the same on both Pythons)."""
    return (2 * a + d) // (2 * d)


def _rule(
    table: dict[str, tuple[tuple[int, tuple[str, ...]], ...]],
    name: str,
    row: dict[str, tuple[int, int, int]],
) -> tuple[int, tuple[str, ...]]:
    for kind, sources in table.get(name, ()):
        ok = True
        for s in sources:
            if s not in row:
                ok = False
                break
        if ok:
            return kind, sources
    return 0, ()


def _sign(
    name: str,
    power: str,
    prev: dict[str, tuple[int, int, int]] | None,
    row: dict[str, tuple[int, int, int]],
) -> int:
    """+1/-1: the sign of the power, flipped by the convention the previous record showed."""
    sign = -1 if row[power][0] < 0 else 1
    if (
        prev is not None
        and name in prev
        and power in prev
        and (prev[name][0] < 0) != (prev[power][0] < 0)
    ):
        sign = -sign
    return sign


def _current(
    kind: int, sources: tuple[str, ...], name: str, row: dict[str, tuple[int, int, int]]
) -> tuple[int, int, str] | None:
    """(numerator, denominator, source of the magnitude) for i = num * |x| / den, or None."""
    if kind == CURRENT:
        s, u, _ = sources
        den = row[u][0] * SCALE[s]
        return (SCALE[u] * SCALE[name], den, s) if den > 0 else None
    p, u, pf = sources
    den = row[u][0] * abs(row[pf][0]) * SCALE[p]
    return (SCALE[u] * SCALE[pf] * SCALE[name], den, p) if den > 0 else None


def mean(
    name: str,
    prev: dict[str, tuple[int, int, int]] | None,
    row: dict[str, tuple[int, int, int]],
    follow: bool = False,
) -> int:
    """Prediction of instant channel ``name``'s mean.

    ``row``: the record's quantised stats decoded so far (every source of a rule
    comes earlier in ORDER); ``prev``: the previous record of the batch that has
    ``name`` (None for its first); ``follow``: the batch's choice for a channel
    with a SIBLING.
    """
    return _clamp(_mean(name, prev, row, follow))


def _mean(
    name: str,
    prev: dict[str, tuple[int, int, int]] | None,
    row: dict[str, tuple[int, int, int]],
    follow: bool,
) -> int:
    kind, src = _rule(MEAN_RULES, name, row)
    if kind == SUM:
        return row[src[0]][0] + row[src[1]][0] + row[src[2]][0]
    if kind == HYPOT:
        p, q = row[src[0]][0], row[src[1]][0]
        return root(p * p + q * q)
    if kind == LINE:
        a, b = row[src[0]][0], row[src[1]][0]
        return root(a * a + b * b + a * b)
    if kind == RATIO:
        p, s = row[src[0]][0], row[src[1]][0]
        if s > 0:
            magnitude = div(abs(p) * SCALE[name] * SCALE[src[1]], s * SCALE[src[0]])
            return _sign(name, src[0], prev, row) * magnitude
    if kind in (CURRENT, CURRENT_PF):
        factor = _current(kind, src, name, row)
        if factor is not None:
            num, den, x = factor
            magnitude = div(abs(row[x][0]) * num, den)
            return _sign(name, src[-1] if kind == CURRENT else src[0], prev, row) * magnitude
    sibling = SIBLING.get(name)
    if sibling is None or sibling not in row:
        return 0 if prev is None else prev[name][0]
    if prev is None:
        return row[sibling][0]
    if follow and sibling in prev:
        return prev[name][0] + row[sibling][0] - prev[sibling][0]
    return prev[name][0]


def _extremes(triple: tuple[int, int, int]) -> tuple[int, int]:
    """(smallest, largest) magnitude a value between min and max can have."""
    _, lo, hi = triple
    largest = max(abs(lo), abs(hi))
    if lo <= 0 <= hi:
        return 0, largest
    return min(abs(lo), abs(hi)), largest


def spread(
    name: str,
    m: int,
    prev: dict[str, tuple[int, int, int]] | None,
    row: dict[str, tuple[int, int, int]],
) -> tuple[int, int]:
    """Prediction of (mean - min, max - mean) of instant channel ``name`` whose mean is ``m``."""
    lo, hi = _spread(name, m, prev, row)
    return _clamp(lo), _clamp(hi)


def _spread(
    name: str,
    m: int,
    prev: dict[str, tuple[int, int, int]] | None,
    row: dict[str, tuple[int, int, int]],
) -> tuple[int, int]:
    kind, src = _rule(SPREAD_RULES, name, row)
    if kind == SUM:
        lo = hi = 0
        for s in src:
            v, vmin, vmax = row[s]
            lo += (v - vmin) * (v - vmin)
            hi += (vmax - v) * (vmax - v)
        return root(lo), root(hi)
    if kind == HYPOT:
        p, q = row[src[0]], row[src[1]]
        p_small, p_large = _extremes(p)
        q_small, q_large = _extremes(q)
        smallest = root(p_small * p_small + q_small * q_small)
        largest = root(p_large * p_large + q_large * q_large)
        h = root(p[0] * p[0] + q[0] * q[0])
        if h > 0:
            # A total's VA is the phases' sum, larger than hypot(p, q) of the
            # totals: scale the bounds by the same ratio.
            smallest = div(smallest * m, h)
            largest = div(largest * m, h)
        return m - smallest, largest - m
    if kind == SCALED:
        pm, pmin, pmax = row[src[0]]
        h = root(pm * pm + m * m)
        if h > 0:
            return div((pm - pmin) * abs(m), h), div((pmax - pm) * abs(m), h)
    if kind in (CURRENT, CURRENT_PF):
        factor = _current(kind, src, name, row)
        if factor is not None:
            num, den, x = factor
            v, vmin, vmax = row[x]
            below, above = v - vmin, vmax - v
            if (m < 0) != (v < 0):
                # i falls as |x| rises: the current is smallest when the source is largest
                below, above = above, below
            return div(below * num, den), div(above * num, den)
    return 0, 0


class Register:
    """Prediction of one counter register through a batch.

    A register that counts in ``step`` units (an SDM630 counts 0.01 kWh: 10 Wh)
    shows ``floor(true / step) * step``. The tracker keeps the interval the true
    energy must be in, shifts it by power * elapsed time for the next record,
    predicts the step the middle of the interval falls in, and narrows the
    interval with the value actually read (or restarts from it when they
    disagree). Units inside: counter steps * 3600 * SCALE[power] (exact integers).
    """

    def __init__(self, name: str, step: int) -> None:
        self.name = name
        self.step = step
        kind, sources = ENERGY_RULES.get(name, ((0, ()),))[0]
        self.kind = kind
        self.power = sources[0] if sources else ""
        self.unit = 3600 * SCALE[self.power] if sources else 1
        self.value = None  # type: int | None
        self.end = 0
        self.lo = 0
        self.hi = 0
        self.energy = None  # type: int | None

    def predict(self, row: dict[str, tuple[int, int, int]], end: int) -> int:
        """The value expected at ``end`` (unix s) in a record with stats ``row``."""
        self.energy = None
        if self.value is None:
            return 0
        elapsed = end - self.end
        if self.power in row and 0 < elapsed <= MAX_ELAPSED_S:
            p = row[self.power][0]
            if self.kind == ENERGY_EXPORT:
                p = -p
            self.energy = max(p, 0) * elapsed
            middle = (self.lo + self.hi) // 2 + self.energy
            guess = middle // (self.step * self.unit) * self.step
            if -MAX_STEPS <= guess <= MAX_STEPS:
                return guess
        return self.value

    def update(self, value: int, end: int) -> None:
        """Record the value actually read (after predict() for the same record)."""
        lo = value * self.unit
        hi = lo + self.step * self.unit
        if self.energy is not None:
            a = max(self.lo + self.energy, lo)
            b = min(self.hi + self.energy, hi)
            if a < b:
                lo, hi = a, b
        self.lo, self.hi = lo, hi
        self.value = value
        self.end = end
