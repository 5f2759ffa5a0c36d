"""Predictors: what the decoder can guess about a value before reading it.

Only the residual ``actual - prediction`` goes on the wire, so every good guess
saves bits. The rules are part of protocol v1 (changing one changes the bytes):

    default     a mean/counter is predicted by the same channel's previous value
                in the batch (0 for the first); min and max are sent as offsets
                from the mean (mean - min, max - mean), predicted as 0.
    SUM         p_total_w = p_l1_w + p_l2_w + p_l3_w (likewise q_total_var and
                s_total_va): the meter computes the total exactly that way, so
                the residual is a rounding step or two.
    CURRENT     |i_lN_a| = |p_lN_w| / (u_lN_v * |pf_lN|), with the sign of the
                channel's previous mean in the batch (positive for the first):
                most meters report current unsigned, some sign it by the
                direction of flow. The current's spread follows the power's
                spread by the same factor.
    ENERGY      e_imp_wh = previous + max(p_total_w, 0) * elapsed / 3600, where
                elapsed is the time from the end of the previous record that
                has the register to the end of this one (so a gap in the batch
                is bridged); e_exp_wh likewise with the negative part, and per
                phase for the per-phase registers. The registers are still sent
                exactly: power only guesses the increment (energy is never
                computed from power).

A rule applies in a record only when all its source channels are in that record
(for CURRENT also u * |pf| > 0; for ENERGY also a previous value ending at most
a day earlier); otherwise the default applies. Sources are always
decoded before the channels predicted from them (ORDER). Everything is integer
arithmetic on quantised steps, identical on CPython and MicroPython.
"""

from protocol import channels
from protocol.quant import SCALE

DEFAULT = 0
SUM = 1
CURRENT = 2
ENERGY_IMPORT = 3
ENERGY_EXPORT = 4

# Beyond a day the power of one record says nothing about the energy in between.
MAX_ELAPSED_S = 86400

RULES = {
    "p_total_w": (SUM, ("p_l1_w", "p_l2_w", "p_l3_w")),
    "q_total_var": (SUM, ("q_l1_var", "q_l2_var", "q_l3_var")),
    "s_total_va": (SUM, ("s_l1_va", "s_l2_va", "s_l3_va")),
    "i_l1_a": (CURRENT, ("p_l1_w", "u_l1_v", "pf_l1")),
    "i_l2_a": (CURRENT, ("p_l2_w", "u_l2_v", "pf_l2")),
    "i_l3_a": (CURRENT, ("p_l3_w", "u_l3_v", "pf_l3")),
    "e_imp_wh": (ENERGY_IMPORT, ("p_total_w",)),
    "e_exp_wh": (ENERGY_EXPORT, ("p_total_w",)),
    "e_imp_l1_wh": (ENERGY_IMPORT, ("p_l1_w",)),
    "e_imp_l2_wh": (ENERGY_IMPORT, ("p_l2_w",)),
    "e_imp_l3_wh": (ENERGY_IMPORT, ("p_l3_w",)),
    "e_exp_l1_wh": (ENERGY_EXPORT, ("p_l1_w",)),
    "e_exp_l2_wh": (ENERGY_EXPORT, ("p_l2_w",)),
    "e_exp_l3_wh": (ENERGY_EXPORT, ("p_l3_w",)),
}  # type: dict[str, tuple[int, tuple[str, ...]]]


def _stage(name: str) -> int:
    rule = RULES.get(name)
    if rule is None:
        return 0
    # SUM and CURRENT read only default channels; ENERGY may read a SUM channel.
    return 2 if rule[0] in (ENERGY_IMPORT, ENERGY_EXPORT) else 1


# Decoding order: every rule's sources come before the channel it predicts.
ORDER = tuple(sorted(channels.NAMES, key=lambda n: (_stage(n), channels.get(n).code)))


def _div_round(a: int, d: int) -> int:
    """a / d rounded half up, for d > 0 (floor division is the same on both Pythons)."""
    return (2 * a + d) // (2 * d)


def _current_factor(name: str) -> tuple[int, int]:
    """(numerator, denominator) turning |p| / (u * |pf|) in steps into steps of ``name``."""
    _, (p, u, pf) = RULES[name]
    # i[A] = p[W] / (u[V] * pf) with x[unit] = x_steps / SCALE[x]:
    # i_steps = p_steps * SCALE[u] * SCALE[pf] * SCALE[i] / (SCALE[p] * u_steps * pf_steps)
    return SCALE[u] * SCALE[pf] * SCALE[name], SCALE[p]


def _current_divisor(name: str, stats: dict[str, tuple[int, int, int]]) -> int:
    _, (_, u, pf) = RULES[name]
    return stats[u][0] * abs(stats[pf][0])


def _has_sources(name: str, stats: dict[str, tuple[int, int, int]]) -> bool:
    rule = RULES.get(name)
    if rule is None:
        return False
    return all(s in stats for s in rule[1])


def mean(name: str, prev: int | None, stats: dict[str, tuple[int, int, int]]) -> int:
    """Prediction of instant channel ``name``'s mean in a record with quantised ``stats``.

    ``prev`` is the channel's previous mean in the batch (None for its first).
    """
    if _has_sources(name, stats):
        kind, sources = RULES[name]
        if kind == SUM:
            return sum(stats[s][0] for s in sources)
        if kind == CURRENT:
            d = _current_divisor(name, stats)
            if d > 0:
                num, den = _current_factor(name)
                magnitude = _div_round(abs(stats[sources[0]][0]) * num, d * den)
                return -magnitude if prev is not None and prev < 0 else magnitude
    return 0 if prev is None else prev


def spread(name: str, prev: int | None, stats: dict[str, tuple[int, int, int]]) -> tuple[int, int]:
    """Prediction of (mean - min, max - mean) of instant channel ``name``.

    ``prev`` as for mean(): it tells whether the current is expected signed.
    """
    if _has_sources(name, stats) and RULES[name][0] == CURRENT:
        d = _current_divisor(name, stats)
        if d > 0:
            num, den = _current_factor(name)
            pm, pmin, pmax = stats[RULES[name][1][0]]
            below, above = pm - pmin, pmax - pm
            if (pm < 0) != (prev is not None and prev < 0):
                # Current and power of opposite signs (an unsigned current while
                # exporting): the current is smallest when the power is largest.
                below, above = above, below
            return _div_round(below * num, d * den), _div_round(above * num, d * den)
    return 0, 0


def counter(
    name: str,
    prev: int | None,
    stats: dict[str, tuple[int, int, int]],
    elapsed_s: int,
) -> int:
    """Prediction of counter ``name`` at the end of a record with quantised ``stats``.

    ``prev`` is the register's value at the end of the previous record that has
    it (None for its first in the batch); ``elapsed_s`` the seconds between the
    two ends.
    """
    if prev is None:
        return 0
    if _has_sources(name, stats) and 0 < elapsed_s <= MAX_ELAPSED_S:
        kind, sources = RULES[name]
        p = stats[sources[0]][0]
        if kind == ENERGY_EXPORT:
            p = -p
        if p > 0:
            # steps of power * seconds -> counter steps (Wh): / (3600 * SCALE[p]) * SCALE[e]
            return prev + _div_round(p * elapsed_s * SCALE[name], 3600 * SCALE[sources[0]])
    return prev
