"""Live readings -> verdicts: the rules of ``myenergy-install check``, pure functions.

No I/O here: :func:`judge` takes what ``check`` read from the meter (several samples
over a window, the energy counters at its start and end) and what the technician
declared (breaker, CT ratio, PV, the modem's signal) and returns one :class:`Item` per
rule, each PASS/WARN/FAIL/SKIPPED with what to do, in Bulgarian and English.

Where a limit comes from:

* voltage: EN 50160 allows 230 V +/-10 % at the customer's supply terminals; we warn
  from +/-7 % (our choice: a site that close to the edge will leave it under load);
  below 50 V a phase is taken as missing (a blown fuse or an open voltage tap);
* frequency: EN 50160, 50 Hz +/-1 % for an interconnected system;
* signal: -95 dBm and better is usable for LTE data, -105 dBm and worse is not; no
  usable coverage is a ground for the statement of findings under General Terms 1.5
  (Appendix 3), reason ``no_mobile_coverage``;
* phase sequence: from the meter's own phase-sequence register where its map has one
  (``[[diagnostics]]``, the EM340): L1-L2-L3 passes, L1-L3-L2 fails - we ask for the
  normal sequence at the meter so that its per-phase values match the network's phases;
* the rest (reversed CT, CT ratio, counters) is physics: a breaker trips long before
  1.1 x its rating is carried for a while, a phase that exports while the site has no
  generation measures backwards, an energy counter only ever goes up.

A rule never invents a result: without the data it needs (no phase-sequence register
in the map, no breaker rating, a window too short for the counter's resolution) the
item is SKIPPED and says why.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "EXPORT_THRESHOLD_W",
    "STATUSES",
    "CtRatio",
    "Declared",
    "Item",
    "Window",
    "judge",
    "overall",
    "parse_ct_ratio",
]

Status = Literal["pass", "warn", "fail", "skipped"]
STATUSES: tuple[Status, ...] = ("pass", "warn", "fail", "skipped")
_SEVERITY: dict[str, int] = {"skipped": 0, "pass": 0, "warn": 1, "fail": 2}

NOMINAL_V = 230.0
V_FAIL_BAND = 0.10  # EN 50160
V_WARN_BAND = 0.07  # ours, see the module docstring
MISSING_PHASE_V = 50.0
NOMINAL_HZ = 50.0
HZ_BAND = 0.01  # EN 50160
EXPORT_THRESHOLD_W = 50.0  # below this a phase is "about zero", noise not export
COUNTER_MIN_LOAD_W = 100.0
BREAKER_MARGIN = 1.1
CT_PRIMARY_WARN_FACTOR = 3.0  # CT primary above 3x the breaker: poor resolution
UNBALANCE_FACTOR = 3.0
UNBALANCE_MIN_A = 5.0
SIGNAL_PASS_DBM = -95.0
SIGNAL_FAIL_DBM = -105.0
SEQUENCE_NORMAL = "L1-L2-L3"  # hardware.model.DIAGNOSTICS["phase_sequence"]
SEQUENCE_REVERSED = "L1-L3-L2"
NO_COVERAGE = "no_mobile_coverage"


@dataclass(frozen=True)
class CtRatio:
    """A current transformer ratio such as 100/5 A."""

    primary_a: float
    secondary_a: float

    def __str__(self) -> str:
        return f"{self.primary_a:g}/{self.secondary_a:g}"


def parse_ct_ratio(text: str) -> CtRatio:
    """``"100/5"`` -> CtRatio(100, 5); ValueError when it is not two positive numbers."""
    primary, sep, secondary = text.partition("/")
    try:
        ratio = CtRatio(float(primary), float(secondary) if sep else 5.0)
    except ValueError:
        raise ValueError(f"not a CT ratio like 100/5: {text!r}") from None
    if not (ratio.primary_a > 0 and ratio.secondary_a > 0):
        raise ValueError(f"a CT ratio needs positive currents: {text!r}")
    return ratio


@dataclass(frozen=True)
class Window:
    """What ``check`` read: instant samples and the counters at the window's ends.

    ``samples`` are dicts by channel (only the channels the meter answered);
    ``counters_first``/``counters_last`` the energy counters (Wh) of the first and last
    sample; ``counter_resolution_wh`` the step each counter moves in; ``seconds`` the
    time between the first and the last sample; ``channels`` every channel the meter's
    map has (so a rule can tell "not in this meter" from "not answered").

    ``diagnostic_names``: the diagnostic registers the meter's map has
    (``phase_sequence``); ``diagnostics``: what they held, by name, as
    ``(raw value, its documented meaning or None)`` - only those that answered.
    """

    samples: Sequence[Mapping[str, float]]
    counters_first: Mapping[str, float]
    counters_last: Mapping[str, float]
    counter_resolution_wh: Mapping[str, float]
    seconds: float
    channels: frozenset[str]
    diagnostic_names: frozenset[str] = frozenset()
    diagnostics: Mapping[str, tuple[int, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Declared:
    """What the technician told ``check`` about the site."""

    breaker_a: float | None = None
    ct_ratio: CtRatio | None = None
    pv: bool = False
    signal_source: bool = False  # a modem source was given
    signal_dbm: float | None = None


@dataclass(frozen=True)
class Item:
    """One judged point of the installation (the shared result format's item)."""

    id: str
    status: Status
    message_bg: str
    message_en: str
    advice_bg: str = ""
    advice_en: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # a 1.5 ground (``no_mobile_coverage``) when it is one

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "message_bg": self.message_bg,
            "message_en": self.message_en,
            "advice_bg": self.advice_bg,
            "advice_en": self.advice_en,
            "values": self.values,
        }


def overall(items: Sequence[Item]) -> Status:
    """The worst status; SKIPPED items do not count (nothing was judged)."""
    worst: Status = "pass"
    for item in items:
        if _SEVERITY[item.status] > _SEVERITY[worst]:
            worst = item.status
    return worst


# ------------------------------------------------------------------ helpers


def _phases(channels: frozenset[str]) -> list[int]:
    return [n for n in (1, 2, 3) if f"u_l{n}_v" in channels]


def _median(samples: Sequence[Mapping[str, float]], channel: str) -> float | None:
    values = [s[channel] for s in samples if channel in s and math.isfinite(s[channel])]
    return statistics.median(values) if values else None


def _names(phases: Sequence[int]) -> str:
    return ", ".join(f"L{n}" for n in phases)


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# -------------------------------------------------------------------- rules


def _voltage(window: Window, n: int) -> Item:
    item_id = f"voltage_l{n}"
    u = _median(window.samples, f"u_l{n}_v")
    if u is None:
        return Item(
            item_id,
            "fail",
            f"L{n}: няма отчетено напрежение",
            f"L{n}: no voltage reading",
            "Проверете връзката с мултимера и повторете проверката.",
            "Check the link to the meter and run the check again.",
        )
    values = {"u_v": _r(u), "nominal_v": NOMINAL_V}
    low_fail, high_fail = NOMINAL_V * (1 - V_FAIL_BAND), NOMINAL_V * (1 + V_FAIL_BAND)
    low_warn, high_warn = NOMINAL_V * (1 - V_WARN_BAND), NOMINAL_V * (1 + V_WARN_BAND)
    if u < MISSING_PHASE_V:
        return Item(
            item_id,
            "fail",
            f"L{n}: липсва фаза ({u:.0f} V)",
            f"L{n}: phase missing ({u:.0f} V)",
            f"Проверете предпазителя и напреженовия извод на L{n} към мултимера.",
            f"Check the fuse / voltage tap of L{n}.",
            values,
        )
    if not low_fail <= u <= high_fail:
        return Item(
            item_id,
            "fail",
            f"L{n}: {u:.1f} V е извън 230 V ±10 % (EN 50160)",
            f"L{n}: {u:.1f} V is outside 230 V ±10 % (EN 50160)",
            "Измерете с уред на клемите; при потвърждение уведомете мрежовия оператор.",
            "Measure at the terminals with a meter; if confirmed, tell the network operator.",
            values,
        )
    if not low_warn <= u <= high_warn:
        return Item(
            item_id,
            "warn",
            f"L{n}: {u:.1f} V е близо до границата 230 V ±10 %",
            f"L{n}: {u:.1f} V is close to the 230 V ±10 % limit",
            "Проверете затягането на клемите; наблюдавайте под товар.",
            "Check the terminals are tight; watch it under load.",
            values,
        )
    return Item(item_id, "pass", f"L{n}: {u:.1f} V", f"L{n}: {u:.1f} V", values=values)


def _phase_sequence(window: Window) -> Item:
    if len(_phases(window.channels)) < 3:
        return Item(
            "phase_sequence",
            "skipped",
            "Не се прилага: еднофазен мултимер",
            "Not applicable: single-phase meter",
        )
    if "phase_sequence" in window.diagnostic_names:
        return _sequence_register(window)
    angles = [f"angle_l{n}_deg" for n in (1, 2, 3)]
    if not all(a in window.channels for a in angles):
        # No phase-sequence register and no phase angles in this meter's map: the
        # sequence cannot be measured through it, and we do not guess it.
        return Item(
            "phase_sequence",
            "skipped",
            "Не е проверена: мултимерът не отчита последователността на фазите",
            "Not checked: this meter reports no phase sequence (no register for it in its map)",
            "Проверете последователността на фазите с фазоуказател.",
            "Check the phase sequence with a phase rotation tester.",
        )
    medians = [_median(window.samples, a) for a in angles]
    if any(m is None for m in medians):
        return Item(
            "phase_sequence",
            "skipped",
            "Не е проверена: няма отчетени фазови ъгли",
            "Not checked: no phase angles were read",
        )
    a1, a2, a3 = (float(m) for m in medians if m is not None)
    # L1-L2-L3 clockwise: L2 lags L1 by 120 degrees, L3 by 240
    lag2, lag3 = (a1 - a2) % 360.0, (a1 - a3) % 360.0
    values = {"angle_l1_deg": _r(a1), "angle_l2_deg": _r(a2), "angle_l3_deg": _r(a3)}
    if abs(lag2 - 120.0) <= 20.0 and abs(lag3 - 240.0) <= 20.0:
        return Item(
            "phase_sequence", "pass", "L1-L2-L3 (дясна)", "L1-L2-L3 (clockwise)", values=values
        )
    return Item(
        "phase_sequence",
        "fail",
        "Грешна последователност на фазите",
        "Wrong phase sequence",
        "Разменете напреженовите изводи на L2 и L3 към мултимера.",
        "Swap the voltage taps of L2 and L3 at the meter.",
        values,
    )


def _sequence_register(window: Window) -> Item:
    """The phase sequence from the meter's own register (the EM340's 0032h)."""
    tester_bg = "Проверете последователността на фазите с фазоуказател."
    tester_en = "Check the phase sequence with a phase rotation tester."
    dead = [
        n
        for n in (1, 2, 3)
        if (u := _median(window.samples, f"u_l{n}_v")) is not None and u < MISSING_PHASE_V
    ]
    if dead:
        # with a phase missing there is no rotation to measure: whatever the register
        # holds says nothing; the voltage item already fails that phase
        return Item(
            "phase_sequence",
            "skipped",
            f"Не е проверена: няма напрежение на {_names(dead)}",
            f"Not checked: {_names(dead)} has no voltage",
            "Отстранете липсващата фаза и повторете проверката.",
            "Restore the missing phase and run the check again.",
        )
    read = window.diagnostics.get("phase_sequence")
    if read is None:
        return Item(
            "phase_sequence",
            "skipped",
            "Не е проверена: мултимерът не отговори на регистъра за последователност",
            "Not checked: the meter did not answer its phase-sequence register",
            tester_bg,
            tester_en,
        )
    raw, meaning = read
    values: dict[str, Any] = {"sequence": meaning, "register": raw}
    if meaning == SEQUENCE_NORMAL:
        return Item(
            "phase_sequence", "pass", "L1-L2-L3 (дясна)", "L1-L2-L3 (clockwise)", values=values
        )
    if meaning == SEQUENCE_REVERSED:
        return Item(
            "phase_sequence",
            "fail",
            "L2 и L3 са разменени на напреженовите изводи (последователност L1-L3-L2)",
            "L2 and L3 are swapped at the voltage taps (sequence L1-L3-L2)",
            "Разменете две фази на напреженовите клеми на мултимера - L2 и L3 - заедно с "
            "токовите им трансформатори, за да остане всеки ТТ при своята фаза; "
            "после повторете проверката.",
            "Swap two phases at the meter's voltage terminals - L2 and L3 - and move their "
            "current transformers with them, so each CT stays with its own phase; then run "
            "the check again.",
            values,
        )
    return Item(
        "phase_sequence",
        "skipped",
        f"Не е проверена: неизвестна стойност {raw} в регистъра за последователност",
        f"Not checked: the phase-sequence register holds {raw}, which the maker does not list",
        tester_bg,
        tester_en,
        values,
    )


def _ct_direction(window: Window, declared: Declared) -> Item:
    phases = _phases(window.channels)
    power: dict[int, float] = {}
    for n in phases:
        channel = f"p_l{n}_w" if f"p_l{n}_w" in window.channels else "p_total_w"
        p = _median(window.samples, channel)
        if p is not None:
            power[n] = p
    values = {f"p_l{n}_w": _r(p) for n, p in power.items()}
    if not power:
        return Item(
            "ct_direction",
            "skipped",
            "Не е проверена: няма отчетена мощност",
            "Not checked: no power was read",
        )
    exporting = [n for n, p in power.items() if p < -EXPORT_THRESHOLD_W]
    importing = [n for n, p in power.items() if p > EXPORT_THRESHOLD_W]
    if not exporting:
        return Item(
            "ct_direction",
            "pass",
            "Посоката на токовите трансформатори е вярна",
            "The current transformers point the right way",
            values=values,
        )
    names = _names(exporting)
    advice_bg = f"Обърнете токовия трансформатор на {names} (стрелката към товара)."
    advice_en = f"Turn the CT of {names} (arrow towards the load)."
    if declared.pv and len(exporting) == len(power):
        return Item(
            "ct_direction",
            "pass",
            "Всички фази отдават енергия (декларирана фотоволтаична централа)",
            "All phases export (PV declared)",
            values=values,
        )
    if declared.pv:
        # PV feeds all phases together; one phase exporting while others import can be
        # an unbalanced load, but it is also what a reversed CT looks like.
        return Item(
            "ct_direction",
            "warn",
            f"{names} отдава, а {_names(importing) or 'другите фази'} консумира(т)",
            f"{names} exports while {_names(importing) or 'the others'} import(s)",
            "Проверете посоката на токовия трансформатор при изключена централа. " + advice_bg,
            "Check the CT direction with the PV inverter off. " + advice_en,
            values,
        )
    return Item(
        "ct_direction",
        "fail",
        f"{names}: отдава енергия, а на обекта няма декларирано производство",
        f"{names}: exporting, and the site has no generation declared",
        advice_bg + " Ако има производство, повторете проверката с --pv.",
        advice_en + " If there is generation, run the check again with --pv.",
        values,
    )


def _ct_ratio(window: Window, declared: Declared) -> Item:
    phases = _phases(window.channels)
    currents = {n: _max_abs(window.samples, f"i_l{n}_a") for n in phases}
    seen = {n: i for n, i in currents.items() if i is not None}
    values: dict[str, Any] = {f"i_l{n}_max_a": _r(i, 2) for n, i in seen.items()}
    if declared.breaker_a is None:
        return Item(
            "ct_ratio",
            "skipped",
            "Не е проверен: не е зададен номиналът на предпазителя (--breaker-a)",
            "Not checked: no breaker rating given (--breaker-a)",
            values=values,
        )
    limit = declared.breaker_a * BREAKER_MARGIN
    values["breaker_a"] = declared.breaker_a
    if declared.ct_ratio is not None:
        values["ct_ratio"] = str(declared.ct_ratio)
    over = [n for n, i in seen.items() if i > limit]
    if over:
        worst = max(seen[n] for n in over)
        return Item(
            "ct_ratio",
            "fail",
            f"{_names(over)}: {worst:.1f} A е над предпазителя {declared.breaker_a:g} A - "
            "невъзможно; коефициентът на ТТ в мултимера е по-голям от монтирания ТТ",
            f"{_names(over)}: {worst:.1f} A is above the {declared.breaker_a:g} A breaker - "
            "impossible; the meter's CT ratio is set higher than the CT mounted",
            "Сверете коефициента на ТТ в настройките на мултимера с табелката на ТТ.",
            "Set the meter's CT ratio to what the CT's rating plate says.",
            values,
        )
    ratio = declared.ct_ratio
    if ratio is not None and ratio.primary_a > CT_PRIMARY_WARN_FACTOR * declared.breaker_a:
        return Item(
            "ct_ratio",
            "warn",
            f"ТТ {ratio} е много голям за предпазител {declared.breaker_a:g} A: "
            "лоша разделителна способност",
            f"CT {ratio} is far above the {declared.breaker_a:g} A breaker: poor resolution",
            "Монтирайте ТТ с първичен ток близо до номинала на предпазителя.",
            "Mount CTs whose primary current is close to the breaker rating.",
            values,
        )
    return Item(
        "ct_ratio",
        "pass",
        f"Токовете са в границите на предпазителя {declared.breaker_a:g} A",
        f"Currents are within the {declared.breaker_a:g} A breaker",
        values=values,
    )


def _max_abs(samples: Sequence[Mapping[str, float]], channel: str) -> float | None:
    values = [abs(s[channel]) for s in samples if channel in s and math.isfinite(s[channel])]
    return max(values) if values else None


def _current_balance(window: Window) -> Item | None:
    phases = _phases(window.channels)
    if len(phases) < 3:
        return None  # one phase: nothing to compare
    medians = {n: _median(window.samples, f"i_l{n}_a") for n in phases}
    seen = {n: abs(i) for n, i in medians.items() if i is not None}
    if len(seen) < 3:
        return None
    values = {f"i_l{n}_a": _r(i, 2) for n, i in seen.items()}
    high = [
        n
        for n, i in seen.items()
        if i > UNBALANCE_MIN_A
        and i > UNBALANCE_FACTOR * max(statistics.mean(v for m, v in seen.items() if m != n), 0.1)
    ]
    if not high:
        return Item(
            "current_balance",
            "pass",
            "Токовете по фази са съизмерими",
            "Phase currents are comparable",
            values=values,
        )
    names = _names(high)
    # A note, not a warning: a single-phase load is common; a different CT ratio on one
    # phase looks the same, so the technician should look once.
    return Item(
        "current_balance",
        "pass",
        f"Бележка: токът на {names} е много по-голям от другите фази",
        f"Note: the current of {names} is much higher than on the other phases",
        f"Ако товарът е равномерен, проверете ТТ на {names} (същият коефициент като другите).",
        f"If the load is balanced, check the CT of {names} (same ratio as the others).",
        values,
    )


def _frequency(window: Window) -> Item:
    f = _median(window.samples, "f_hz")
    if f is None:
        return Item(
            "frequency",
            "skipped" if "f_hz" not in window.channels else "fail",
            "Няма отчетена честота",
            "No frequency reading",
        )
    values = {"f_hz": _r(f, 2)}
    if abs(f - NOMINAL_HZ) <= NOMINAL_HZ * HZ_BAND:
        return Item("frequency", "pass", f"{f:.2f} Hz", f"{f:.2f} Hz", values=values)
    return Item(
        "frequency",
        "fail",
        f"{f:.2f} Hz е извън 50 Hz ±1 % (EN 50160)",
        f"{f:.2f} Hz is outside 50 Hz ±1 % (EN 50160)",
        "Проверете дали мултимерът е захранен от мрежата, а не от генератор.",
        "Check the meter is fed from the grid, not from a generator.",
        values,
    )


def _counters(window: Window) -> Item:
    names = [c for c in ("e_imp_wh", "e_exp_wh") if c in window.counters_first]
    deltas = {
        c: window.counters_last[c] - window.counters_first[c]
        for c in names
        if c in window.counters_last
    }
    p = _median(window.samples, "p_total_w")
    values: dict[str, Any] = {f"{c}_delta": _r(d) for c, d in deltas.items()}
    values["p_total_w"] = _r(p)
    values["seconds"] = _r(window.seconds)
    if not deltas:
        return Item(
            "counters", "fail", "Броячите на енергия не се четат", "The energy counters do not read"
        )
    falling = [c for c, d in deltas.items() if d < 0]
    if falling:
        return Item(
            "counters",
            "fail",
            f"Броячът {', '.join(falling)} намалява",
            f"Counter {', '.join(falling)} decreases",
            "Мултимерът е неизправен или е нулиран по време на проверката; сменете го.",
            "The meter is faulty or was reset during the check; replace it.",
            values,
        )
    if any(d > 0 for d in deltas.values()):
        return Item("counters", "pass", "Броячите нарастват", "The counters advance", values=values)
    if p is None or abs(p) <= COUNTER_MIN_LOAD_W:
        return Item(
            "counters",
            "skipped",
            "Не е проверено: товарът е под 100 W",
            "Not checked: the load is below 100 W",
            "Включете консуматор и повторете проверката.",
            "Switch a load on and run the check again.",
            values,
        )
    counter = "e_imp_wh" if p > 0 else "e_exp_wh"
    expected = abs(p) * window.seconds / 3600.0
    resolution = window.counter_resolution_wh.get(counter, 0.0)
    values["expected_wh"] = _r(expected, 2)
    values["resolution_wh"] = resolution
    if expected < 2 * resolution:
        needed = math.ceil(2 * resolution * 3600.0 / abs(p))
        return Item(
            "counters",
            "skipped",
            f"Не е проверено: за {window.seconds:.0f} s броячът не може да се промени "
            f"(стъпка {resolution:g} Wh)",
            f"Not checked: in {window.seconds:.0f} s the counter cannot move "
            f"(steps of {resolution:g} Wh)",
            f"Повторете с --seconds {needed}.",
            f"Run again with --seconds {needed}.",
            values,
        )
    return Item(
        "counters",
        "fail",
        f"Броячите не нарастват при {p:.0f} W",
        f"The counters do not advance at {p:.0f} W",
        "Проверете токовите вериги и настройките на мултимера; при повторение го сменете.",
        "Check the current circuits and the meter's settings; if it repeats, replace it.",
        values,
    )


def _signal(declared: Declared) -> Item:
    if not declared.signal_source:
        return Item(
            "signal",
            "skipped",
            "Не е проверен: не е зададен модем (--signal-command / --signal-file)",
            "Not checked: no modem given (--signal-command / --signal-file)",
        )
    dbm = declared.signal_dbm
    values = {"signal_dbm": dbm}
    ground_bg = "основание за констативен протокол по т. 1.5 (Приложение № 3)"
    ground_en = "grounds for the statement of findings under 1.5 (Appendix 3)"
    if dbm is None or dbm < SIGNAL_FAIL_DBM:
        shown = "няма сигнал" if dbm is None else f"{dbm:.0f} dBm"
        shown_en = "no signal" if dbm is None else f"{dbm:.0f} dBm"
        return Item(
            "signal",
            "fail",
            f"Няма използваемо покритие ({shown}): {ground_bg}",
            f"No usable coverage ({shown_en}): {ground_en}",
            "Опитайте външна антена или друго място; иначе съставете констативен протокол.",
            "Try an external antenna or another spot; otherwise write the statement of findings.",
            values,
            reason=NO_COVERAGE,
        )
    if dbm < SIGNAL_PASS_DBM:
        return Item(
            "signal",
            "warn",
            f"Слаб сигнал: {dbm:.0f} dBm",
            f"Weak signal: {dbm:.0f} dBm",
            "Поставете антената извън таблото или по-високо.",
            "Put the antenna outside the panel or higher up.",
            values,
        )
    return Item("signal", "pass", f"{dbm:.0f} dBm", f"{dbm:.0f} dBm", values=values)


def judge(window: Window, declared: Declared) -> list[Item]:
    """Every rule on ``window``, in the order the table prints them."""
    items = [_voltage(window, n) for n in _phases(window.channels)]
    items.append(_phase_sequence(window))
    items.append(_ct_direction(window, declared))
    items.append(_ct_ratio(window, declared))
    balance = _current_balance(window)
    if balance is not None:
        items.append(balance)
    items.append(_frequency(window))
    items.append(_counters(window))
    items.append(_signal(declared))
    return items
