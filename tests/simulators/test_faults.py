"""FaultControl: counts, clearing, parsing and validation."""

from __future__ import annotations

import math

import pytest

from simulators.faults import FaultControl, RequestFaults, parse_fault


def test_no_faults_by_default():
    assert FaultControl().take() == RequestFaults()


def test_counted_fault_lasts_exactly_n_requests():
    faults = FaultControl()
    faults.no_reply(count=2)
    assert [faults.take().no_reply for _ in range(3)] == [True, True, False]
    assert faults.status()["affected"] == {"no_reply": 2}


def test_uncounted_fault_lasts_until_cleared():
    faults = FaultControl()
    faults.exception(code=6)
    assert all(faults.take().exception_code == 6 for _ in range(10))
    faults.clear("exception")
    assert faults.take().exception_code is None


def test_faults_combine_and_clear_all():
    faults = FaultControl()
    faults.slow_reply(0.5)
    faults.implausible("u_l1_v", math.nan)
    faults.implausible("f_hz", 1e9, count=1)
    faults.turnaround(0.2)
    got = faults.take()
    assert got.extra_delay_s == 0.5 and got.turnaround_s == 0.2
    assert math.isnan(got.implausible["u_l1_v"]) and got.implausible["f_hz"] == 1e9
    assert set(faults.take().implausible) == {"u_l1_v"}
    faults.clear()
    assert faults.take() == RequestFaults()


def test_counter_reset_is_one_event():
    faults = FaultControl()
    faults.inject("counter_reset", None, start_wh=5)
    assert faults.take().counter_reset_wh == 5.0
    assert faults.take().counter_reset_wh is None


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("no_reply:5", ("no_reply", 5, {})),
        ("crc_error", ("crc_error", None, {})),
        ("exception:3:code=6", ("exception", 3, {"code": 6})),
        ("slow_reply:delay_s=1.5", ("slow_reply", None, {"delay_s": 1.5})),
        ("turnaround:seconds=0.05", ("turnaround", None, {"seconds": 0.05})),
        ("counter_reset", ("counter_reset", None, {"start_wh": 0.0})),
    ],
)
def test_parse_fault(spec, expected):
    assert parse_fault(spec) == expected


def test_parse_implausible_nan():
    kind, count, params = parse_fault("implausible:10:channel=u_l1_v:value=nan")
    assert (kind, count, params["channel"]) == ("implausible", 10, "u_l1_v")
    assert math.isnan(params["value"])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nonsense", "unknown fault"),
        ("no_reply:x", "integer"),
        ("no_reply:0", "positive"),
        ("exception:code=99", "exception code"),
        ("implausible:value=1", "needs channel"),
        ("implausible:channel=u_l9_v", "unknown channel"),
        ("slow_reply:delay_s=-1", ">= 0"),
        ("no_reply:color=red", "takes parameters"),
    ],
)
def test_bad_fault_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_fault(spec)
