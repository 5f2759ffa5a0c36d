"""``[[diagnostics]]``: registers only the installers' ``check`` reads (the phase sequence).

They load into ``MeterMap.diagnostics`` without touching the points, the planner or the
uplink; a broken entry is refused naming the file and the entry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.maps import available_models, load_map, load_map_file
from hardware.model import DIAGNOSTICS, Diagnostic
from hardware.planner import plan_requests
from hardware.registers import decode_point, encode_point

from .test_loader import GOOD_POINTS, rejects, write_map

SEQUENCE = """
[[diagnostics]]
name = "phase_sequence"
fc = 4
address = 50
number = 30051
type = "i16"
order = "ABCD"
meanings = { "0" = "L1-L2-L3", "-1" = "L1-L3-L2" }
note = "Phase sequence"
"""


def test_em340_has_the_phase_sequence_register() -> None:
    em340 = load_map("em340")
    d = em340.diagnostic("phase_sequence")
    assert d is not None
    # 0032h, INT16, documented as 300051 in the maker's 3xxxxx numbering
    assert (d.fc, d.address, d.number, d.type, d.words) == (4, 0x32, 300051, "i16", 1)
    assert d.meaning(0) == "L1-L2-L3" and d.meaning(-1) == "L1-L3-L2"
    assert d.meaning(1) is None  # not documented: no meaning invented
    assert d.raw_for("L1-L3-L2") == -1
    assert em340.diagnostics == (d,)


@pytest.mark.parametrize("model", sorted(set(available_models()) - {"em340"}))
def test_other_maps_load_unchanged_without_diagnostics(model: str) -> None:
    m = load_map(model)
    assert m.diagnostics == ()
    assert m.diagnostic("phase_sequence") is None


def test_diagnostics_stay_out_of_the_poll_plan() -> None:
    # the agent polls points only: the uplink (protocol/channels.py) does not change
    em340 = load_map("em340")
    planned = {p.channel for r in plan_requests(em340) for p in r.points}
    assert planned == set(em340.channels)
    assert "phase_sequence" not in em340.channels


def test_raw_point_round_trips_a_negative_code() -> None:
    d = load_map("em340").diagnostic("phase_sequence")
    assert d is not None
    regs = encode_point(d.point(), -1.0)
    assert regs == [0xFFFF]  # INT16 -1 on the wire
    assert decode_point(d.point(), regs) == -1.0


def test_probe_point_decodes_the_model_code() -> None:
    probe = load_map("em340").probe
    assert probe is not None
    assert decode_point(probe.point(), [341]) == 341.0


def test_diagnostic_is_loaded_from_a_file(tmp_path: Path) -> None:
    m = load_map_file(write_map(tmp_path, GOOD_POINTS, extra=SEQUENCE))
    assert m.diagnostics == (
        Diagnostic(
            "phase_sequence",
            4,
            50,
            30051,
            "i16",
            "ABCD",
            ((0, "L1-L2-L3"), (-1, "L1-L3-L2")),
            "Phase sequence",
        ),
    )
    assert set(DIAGNOSTICS) >= {"phase_sequence"}


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('name = "phase_sequence"', 'name = "thd_l1"', "unknown diagnostic 'thd_l1'"),
        ('type = "i16"', 'type = "f32"', "integer type"),
        ('"-1" = "L1-L3-L2"', '"-1" = "backwards"', "'backwards' of -1 is not one of"),
        ('"0" = "L1-L2-L3"', '"70000" = "L1-L2-L3"', "does not fit i16"),
        ('"0" = "L1-L2-L3"', '"zero" = "L1-L2-L3"', "is not an integer"),
        ('"0" = "L1-L2-L3"', '"-01" = "L1-L2-L3"', "given twice"),
        ("meanings = {", "meanings = 3 #", "non-empty table"),
        ("number = 30051", "number = 30052", "not address 50"),
        ('note = "Phase sequence"\n', "", "missing field(s) note"),
        ('note = "Phase sequence"\n', 'note = "x"\nchannel = "f_hz"\n', "unknown field(s) channel"),
        (
            "address = 50\nnumber = 30051",
            "address = 73\nnumber = 30074",
            "shares a register with point e_imp_wh (FC4 72..73)",
        ),
    ],
)
def test_bad_diagnostic(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    assert old in SEQUENCE
    e = rejects(tmp_path, GOOD_POINTS, fragment, extra=SEQUENCE.replace(old, new))
    assert "diagnostics 0" in str(e)


def test_a_diagnostic_is_declared_once(tmp_path: Path) -> None:
    rejects(tmp_path, GOOD_POINTS, "duplicate diagnostic", extra=SEQUENCE + SEQUENCE)


def test_diagnostics_must_be_an_array_of_tables(tmp_path: Path) -> None:
    table = SEQUENCE.replace("[[diagnostics]]", "[diagnostics]")
    rejects(tmp_path, GOOD_POINTS, "array of tables", extra=table)
