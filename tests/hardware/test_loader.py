"""The loader refuses every kind of broken map, naming the file and the point."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardware.maps import MapError, load_map_file

METER = """
[meter]
model = "testmeter"
maker = "Test"
title = "Test meter"
source = "tests/hardware/test_loader.py"
fc = 4
max_registers_per_request = 80
max_gap_registers = 10
alignment = 2
turnaround_ms = 50
register_numbering = "address = number - 30001"
number_offset = 30001
serial = { baudrate = 9600, parity = "N", bytesize = 8, stopbits = 1 }
"""

GOOD_POINTS = [
    '{ channel = "u_l1_v", address = 0, number = 30001, fc = 4, type = "f32", order = "ABCD",'
    ' scale = 1.0, unit = "V", kind = "instant", range = [0.0, 500.0] }',
    '{ channel = "e_imp_wh", address = 72, number = 30073, fc = 4, type = "f32",'
    ' order = "ABCD", scale = 1000.0, unit = "Wh", kind = "counter", range = [0.0, 9.2e18] }',
]


def write_map(tmp_path: Path, points: list[str], meter: str = METER, extra: str = "") -> Path:
    path = tmp_path / "testmeter.toml"
    body = "points = [\n" + "".join(f"  {p},\n" for p in points) + "]\n"
    path.write_text(body + meter + extra, encoding="utf-8")
    return path


def point(**overrides: object) -> str:
    """An inline-table point: u_l1_v at 0 unless overridden; None drops a field."""
    fields: dict[str, object] = {
        "channel": '"u_l1_v"',
        "address": "0",
        "number": "30001",
        "fc": "4",
        "type": '"f32"',
        "order": '"ABCD"',
        "scale": "1.0",
        "unit": '"V"',
        "kind": '"instant"',
        "range": "[0.0, 500.0]",
    }
    for key, value in overrides.items():
        if value is None:
            fields.pop(key)
        else:
            fields[key] = value
    return "{ " + ", ".join(f"{k} = {v}" for k, v in fields.items()) + " }"


def rejects(tmp_path: Path, points: list[str], *fragments: str, **kw: str) -> MapError:
    path = write_map(tmp_path, points, **kw)
    with pytest.raises(MapError) as info:
        load_map_file(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_the_base_map_is_valid(tmp_path: Path) -> None:
    m = load_map_file(write_map(tmp_path, GOOD_POINTS))
    assert m.channels == ("u_l1_v", "e_imp_wh")
    assert m.point("e_imp_wh").scale == 1000.0
    assert m.turnaround_s == 0.05
    assert m.probe is None


def test_duplicate_channel(tmp_path: Path) -> None:
    dup = point(address="2", number="30003")
    e = rejects(tmp_path, [GOOD_POINTS[0], dup], "duplicate channel", "channel u_l1_v")
    assert "point 1 (channel u_l1_v, address 2)" in str(e)


def test_duplicate_address(tmp_path: Path) -> None:
    other = point(channel='"u_l2_v"')
    rejects(tmp_path, [GOOD_POINTS[0], other], "duplicate address", "channel u_l2_v, address 0")


def test_overlapping_addresses(tmp_path: Path) -> None:
    # alignment 1 here, so only the overlap can be the complaint
    meter = METER.replace("alignment = 2", "alignment = 1")
    other = point(channel='"u_l2_v"', address="1", number="30002")
    rejects(
        tmp_path,
        [GOOD_POINTS[0], other],
        "overlapping addresses",
        "channel u_l2_v, address 1",
        "u_l1_v",
        meter=meter,
    )


def test_same_address_on_another_function_code_is_fine(tmp_path: Path) -> None:
    meter = METER.replace("number_offset = 30001\n", "")
    other = point(channel='"u_l2_v"', fc="3")
    m = load_map_file(write_map(tmp_path, [GOOD_POINTS[0], other], meter=meter))
    assert {p.fc for p in m.points} == {3, 4}


def test_misaligned_multi_register_value(tmp_path: Path) -> None:
    bad = point(address="3", number="30004")
    rejects(tmp_path, [bad], "misaligned", "channel u_l1_v, address 3")


def test_single_register_value_needs_no_alignment(tmp_path: Path) -> None:
    ok = point(channel='"pf_l1"', type='"i16"', address="3", number="30004", unit='""')
    ok = ok.replace("[0.0, 500.0]", "[-1.0, 1.0]")
    assert load_map_file(write_map(tmp_path, [ok])).point("pf_l1").address == 3


def test_value_running_past_the_address_space(tmp_path: Path) -> None:
    meter = METER.replace("number_offset = 30001\n", "")
    bad = point(address="65535", number="1")
    rejects(tmp_path, [bad], "runs past the last address", "address 65535", meter=meter)


def test_address_out_of_range(tmp_path: Path) -> None:
    meter = METER.replace("number_offset = 30001\n", "")
    rejects(tmp_path, [point(address="70000")], "address must be", "address 70000", meter=meter)


def test_unknown_type(tmp_path: Path) -> None:
    rejects(tmp_path, [point(type='"f64"')], "unknown type 'f64'", "channel u_l1_v, address 0")


def test_unknown_channel(tmp_path: Path) -> None:
    rejects(tmp_path, [point(channel='"u_l9_v"')], "unknown channel 'u_l9_v'", "channel u_l9_v")


def test_unknown_order(tmp_path: Path) -> None:
    rejects(tmp_path, [point(order='"BACD"')], "unknown order 'BACD'", "channel u_l1_v")


def test_unit_mismatch(tmp_path: Path) -> None:
    bad = point(channel='"e_imp_wh"', unit='"kWh"', kind='"counter"')
    rejects(tmp_path, [bad], "unit 'kWh' does not match", "channel e_imp_wh, address 0")


def test_kind_mismatch(tmp_path: Path) -> None:
    rejects(tmp_path, [point(kind='"counter"')], "kind 'counter' does not match", "u_l1_v")


def test_missing_field(tmp_path: Path) -> None:
    rejects(tmp_path, [point(scale=None)], "missing field(s) scale", "channel u_l1_v, address 0")


def test_unknown_field(tmp_path: Path) -> None:
    rejects(tmp_path, [point(offset="3")], "unknown field(s) offset", "channel u_l1_v")


@pytest.mark.parametrize(
    ("bad_range", "fragment"),
    [
        ("[500.0, 0.0]", "must be below max"),
        ("[10.0, 10.0]", "must be below max"),
        ("[0.0]", "range must be [min, max]"),
        ('["0", "500"]', "range must be [min, max]"),
        ("[0.0, inf]", "range must be [min, max]"),
        ("[-5.0, 500.0]", "leaves the channel's bounds"),
        ("[0.0, 2000.0]", "leaves the channel's bounds"),
    ],
)
def test_bad_range(tmp_path: Path, bad_range: str, fragment: str) -> None:
    rejects(tmp_path, [point(range=bad_range)], fragment, "channel u_l1_v, address 0")


@pytest.mark.parametrize("scale", ["0.0", "-1.0", "nan", '"1"'])
def test_bad_scale(tmp_path: Path, scale: str) -> None:
    rejects(tmp_path, [point(scale=scale)], "scale must be", "channel u_l1_v")


def test_documented_number_must_match_the_address(tmp_path: Path) -> None:
    # the commonest typo: address and documented number copied from different rows
    rejects(tmp_path, [point(number="30003")], "number 30003 is not address 0", "u_l1_v")


def test_point_function_code_defaults_to_the_meter(tmp_path: Path) -> None:
    m = load_map_file(write_map(tmp_path, [point(fc=None)]))
    assert m.point("u_l1_v").fc == 4


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("fc = 4", "fc = 5", "fc must be"),
        ("max_registers_per_request = 80", "max_registers_per_request = 126", "125"),
        ('parity = "N"', 'parity = "X"', "parity"),
        ("stopbits = 1", "stopbits = 3", "stopbits"),
        ("alignment = 2", "alignment = 3", "alignment"),
        ("turnaround_ms = 50", "turnaround_ms = -1", "turnaround_ms"),
        ('model = "testmeter"', 'model = "other"', "must equal the file name"),
        ('maker = "Test"\n', "", "missing field(s) maker"),
        ("fc = 4\n", "fc = 4\ncolour = 1\n", "unknown field(s) colour"),
    ],
)
def test_bad_meter_table(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    assert old in METER
    e = rejects(tmp_path, GOOD_POINTS, fragment, meter=METER.replace(old, new, 1))
    assert "[meter]" in str(e)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    rejects(tmp_path, GOOD_POINTS, "unknown key(s) extras", extra="\n[extras]\nx = 1\n")


def test_empty_points(tmp_path: Path) -> None:
    rejects(tmp_path, [], "non-empty list")


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "testmeter.toml"
    path.write_text("points = [\n{ channel = }\n]\n", encoding="utf-8")
    with pytest.raises(MapError, match="TOML syntax") as info:
        load_map_file(path)
    assert str(path) in str(info.value)


PROBE = """
[probe]
fc = 4
address = 11
number = 30012
type = "u16"
order = "ABCD"
expect = [341]
note = "model code"
"""


def test_probe_is_loaded(tmp_path: Path) -> None:
    m = load_map_file(write_map(tmp_path, GOOD_POINTS, extra=PROBE))
    assert m.probe is not None
    assert (m.probe.address, m.probe.expect, m.probe.words) == (11, (341,), 1)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('type = "u16"', 'type = "f32"', "integer type"),
        ("expect = [341]", "expect = [70000]", "does not fit u16"),
        ("expect = [341]", "expect = []", "non-empty list"),
        ("number = 30012", "number = 30013", "not address 11"),
        ('note = "model code"\n', "", "missing field(s) note"),
    ],
)
def test_bad_probe(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    e = rejects(tmp_path, GOOD_POINTS, fragment, extra=PROBE.replace(old, new))
    assert "[probe]" in str(e)
