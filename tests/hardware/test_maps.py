"""The packaged maps: each loads, matches the registry, and decodes its shipped test data."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest

from hardware.maps import MODELS, available_models, load_map, load_map_file, map_path
from hardware.planner import decode_request, plan_requests
from hardware.registers import decode_point
from hardware.testcase import case_dir, load_case, read_image
from hardware.vocabulary import CHANNELS

MAPS_DIR = Path(str(resources.files("hardware") / "maps"))


def test_registry_and_files_agree() -> None:
    files = sorted(p.stem for p in MAPS_DIR.glob("*.toml"))
    assert list(available_models()) == files == sorted(MODELS)


def test_every_model_has_a_test_case() -> None:
    for model in MODELS:
        assert (case_dir(model) / "registers.json").is_file()
        assert (case_dir(model) / "expected.json").is_file()


def test_unknown_model_is_refused() -> None:
    with pytest.raises(KeyError, match="unknown meter model 'sdm999'"):
        load_map("sdm999")


@pytest.mark.parametrize("model", MODELS)
def test_packaged_map_loads(model: str) -> None:
    m = load_map(model)
    assert m.model == model
    assert m.maker and m.title and m.source
    assert m.points
    assert load_map_file(map_path(model)) == m
    for p in m.points:
        spec = CHANNELS[p.channel]
        assert (p.unit, p.kind) == (spec.unit, spec.kind)
    with pytest.raises(KeyError, match=model):
        m.point("no_such_channel")


@pytest.mark.parametrize("model", MODELS)
def test_file_names_its_source_and_keeps_one_point_per_line(model: str) -> None:
    text = map_path(model).read_text(encoding="utf-8")
    head = text.split("points = [", 1)[0]
    assert "Source:" in head  # the maker's document is named at the top
    body = text.split("points = [", 1)[1].split("\n]", 1)[0]
    lines = [ln for ln in body.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(lines) == len(load_map(model).points)
    assert all(ln.strip().startswith("{ channel = ") and ln.rstrip().endswith("},") for ln in lines)


@pytest.mark.parametrize("model", MODELS)
def test_test_image_decodes_to_the_expected_readings(model: str) -> None:
    m = load_map(model)
    case = load_case(model)
    assert set(case.readings) == set(m.channels)
    got: dict[str, float] = {}
    for r in plan_requests(m):
        got.update(decode_request(r, read_image(case.image, r.fc, r.address, r.count)))
    for channel, expected in case.readings.items():
        assert math.isclose(got[channel], expected, rel_tol=1e-6, abs_tol=1e-9), channel
        assert m.point(channel).plausible(got[channel]), channel


# Hand-computed registers that sit in the shipped images (see each case's README.md):
# if a map's type, order or scale were wrong, these would decode to something else.
HAND = [
    ("sdm630", "u_l1_v", [0x4366, 0x0000], 230.0),
    ("sdm630", "p_l3_w", [0xC4BB, 0x8000], -1500.0),
    ("sdm630", "e_imp_wh", [0x4640, 0xE600], 12_345_500.0),
    ("sdm120", "i_l1_a", [0x4120, 0x0000], 10.0),
    ("em340", "u_l1_v", [2305, 0], 230.5),
    ("em340", "p_l1_w", [0xCFC7, 0xFFFF], -1234.5),
    ("em340", "pf_total", [0xFC25], -0.987),
    ("em340", "f_hz", [500], 50.0),
    ("em340", "e_imp_wh", [0xD687, 0x0012], 123_456_700.0),
    ("pm5100", "p_total_w", [0x42C9, 0x0000], 100_500.0),
    ("pm5100", "e_imp_wh", [0, 0, 0x075B, 0xCD15], 123_456_789.0),
    ("pm5100", "e_exp_wh", [0, 1, 0x2A05, 0xF200], 5_000_000_000.0),
]


@pytest.mark.parametrize(("model", "channel", "regs", "value"), HAND)
def test_hand_vectors_are_in_the_image_and_decode(
    model: str, channel: str, regs: list[int], value: float
) -> None:
    m = load_map(model)
    p = m.point(channel)
    image = load_case(model).image
    assert read_image(image, p.fc, p.address, p.words) == regs
    assert decode_point(p, regs) == pytest.approx(value, rel=1e-12)


def test_probes() -> None:
    em340 = load_map("em340").probe
    assert em340 is not None and (em340.fc, em340.address, em340.expect) == (4, 11, (341,))
    pm = load_map("pm5100").probe
    assert pm is not None
    (code,) = read_image(load_case("pm5100").image, pm.fc, pm.address, pm.words)
    assert code in pm.expect
    assert load_map("sdm630").probe is None


def test_read_image_names_a_missing_register() -> None:
    with pytest.raises(KeyError, match="FC4 address 9998"):
        read_image(load_case("sdm630").image, 4, 9998, 2)


def test_eastron_maps_keep_floats_whole() -> None:
    # Eastron answers an exception to odd counts and to reads that split a float
    for model in MODELS:
        m = load_map(model)
        if m.maker == "Eastron":
            assert m.alignment == 2, model
