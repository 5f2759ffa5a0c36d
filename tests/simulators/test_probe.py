"""The simulated meter answers its map's ``[probe]`` and serves its ``[[diagnostics]]``.

Probe: a read of exactly the probe's registers gets the model code (the first ``expect``
value, encoded like any value); every other read gets the register image, so on the
EM340 a read across 000Bh still returns the high word of V L3-L1, as the real meter does.

Diagnostics: the EM340's phase-sequence register (0032h) holds 0 on a correctly wired
panel and -1 with the ``phase_sequence:reversed`` wiring fault, which changes nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymodbus.client import ModbusSerialClient

from hardware.maps import load_map
from hardware.model import SerialSettings
from hardware.registers import decode_point
from simulators.clock import FakeClock
from simulators.control import meter_handler
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter, meter_phases, register_spans
from simulators.rtu_pty import RtuPtyServer
from simulators.wiring import Wiring, parse_wiring

from .conftest import CLIENT_TIMEOUT_S, T0

SEED = 7


def _meter(model: str, wiring: Wiring | None = None, slave: int = 1) -> SimulatedMeter:
    meter_map = load_map(model)
    load = LoadModel(SEED, phases=meter_phases(meter_map))
    return SimulatedMeter(meter_map, load, FakeClock(T0), slave_id=slave, wiring=wiring)


def test_em340_answers_its_model_code_only_to_the_one_word_read() -> None:
    meter = _meter("em340")
    meter.begin_request()
    assert meter.registers(4, 11, 1) == [341]
    # the same register inside a wider read is the high word of V L3-L1 (INT32, CDAB:
    # low word at 000Ah, high word at 000Bh), not the model code
    u31 = meter.map.point("u_l31_v")
    wide = meter.registers(4, 10, 2)
    assert decode_point(u31, wide) == meter.readings()["u_l31_v"]
    assert 350 < meter.readings()["u_l31_v"] < 450
    assert wide[1] != 341
    assert meter.registers(4, 11, 2)[0] == wide[1]
    # the probe is FC4 only: FC3 reads the image (empty there)
    assert meter.registers(3, 11, 1) != [341]


def test_pm5100_answers_its_product_id_where_no_point_lives() -> None:
    meter = _meter("pm5100")
    probe = meter.map.probe
    assert probe is not None and probe.expect[0] == 15270
    assert register_spans(meter.map)[3][0] == (89, 1)  # served, so no exception there
    meter.begin_request()
    assert meter.registers(3, 89, 1) == [15270]
    assert meter.registers(3, 88, 2) == [0, 0]  # a wider read: padding


def test_maps_without_a_probe_answer_the_image_there() -> None:
    meter = _meter("sdm630")
    meter.begin_request()
    assert meter.registers(4, 11, 1) == meter.registers(4, 10, 2)[1:]


@pytest.fixture
def em340_pty() -> Iterator[tuple[RtuPtyServer, ModbusSerialClient]]:
    line = SerialSettings(9600, "N", 8, 1)
    with RtuPtyServer(_meter("em340", slave=5), line) as server:
        client = ModbusSerialClient(
            server.path, baudrate=9600, parity="N", timeout=CLIENT_TIMEOUT_S, retries=0
        )
        assert client.connect()
        try:
            yield server, client
        finally:
            client.close()  # type: ignore[no-untyped-call]


def test_probe_and_phase_sequence_over_rtu(
    em340_pty: tuple[RtuPtyServer, ModbusSerialClient],
) -> None:
    server, client = em340_pty
    reply = client.read_input_registers(11, count=1, device_id=5)
    assert not reply.isError() and reply.registers == [341]
    reply = client.read_input_registers(0x32, count=1, device_id=5)
    assert not reply.isError() and reply.registers == [0]
    server.meter.set_wiring(parse_wiring("phase_sequence:reversed"))
    reply = client.read_input_registers(0x32, count=1, device_id=5)
    assert reply.registers == [0xFFFF]  # INT16 -1: L1-L3-L2


def test_phase_sequence_register_follows_the_wiring() -> None:
    right = _meter("em340")
    wrong = _meter("em340", parse_wiring("phase_sequence:reversed"))
    d = right.map.diagnostic("phase_sequence")
    assert d is not None
    shown_right, shown_wrong = right.refresh(), wrong.refresh()
    assert decode_point(d.point(), right.registers(4, d.address, 1)) == 0
    assert decode_point(d.point(), wrong.registers(4, d.address, 1)) == -1
    # each CT stays with its own voltage: every measured value is the same
    assert shown_wrong == shown_right
    wrong.set_wiring(Wiring())
    wrong.refresh()
    assert wrong.registers(4, d.address, 1) == [0]


def test_phase_sequence_fault_text_form_and_control_socket() -> None:
    wiring = parse_wiring(["phase_sequence:reversed", "reversed_ct:2"])
    assert wiring == Wiring(reversed_ct={2}, sequence_reversed=True)
    assert wiring.specs() == ["reversed_ct:2", "phase_sequence:reversed"]
    assert parse_wiring(wiring.specs()) == wiring
    assert hash(wiring) == hash(parse_wiring(wiring.specs()))
    assert parse_wiring("phase_sequence:L1-L3-L2").sequence_reversed
    assert parse_wiring("phase_sequence:normal").is_identity
    only = parse_wiring("phase_sequence:reversed")
    assert not only.is_identity and only.inputs_identity
    meter = _meter("em340")
    handle = meter_handler(meter)
    reply = handle({"wiring": ["phase_sequence:reversed"]})
    assert reply["wiring"]["phase_sequence"] == "L1-L3-L2"
    assert "phase_sequence" not in handle({"wiring": []})["wiring"]


@pytest.mark.parametrize(
    ("spec", "phases", "message"),
    [
        ("phase_sequence:2", 3, "phase_sequence:reversed"),
        ("phase_sequence", 3, "phase_sequence:reversed"),
        ("phase_sequence:reversed", 1, "1-phase meter has no phase sequence"),
    ],
)
def test_bad_phase_sequence_specs(spec: str, phases: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_wiring(spec, phases)
