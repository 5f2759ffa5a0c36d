"""Topic names, parsing, device ids and QoS constants (protocol/topics.py)."""

import pytest

from protocol import topics


def test_topic_names() -> None:
    assert topics.uplink("me-000123") == "myenergy/v1/me-000123/up"
    assert topics.status("me-000123") == "myenergy/v1/me-000123/status"
    assert topics.live("me-000123") == "myenergy/v1/me-000123/live"
    assert topics.command("me-000123") == "myenergy/v1/me-000123/cmd"


@pytest.mark.parametrize("kind", ["up", "status", "live", "cmd"])
def test_parse_round_trip(kind: str) -> None:
    assert topics.parse(f"myenergy/v1/abc/{kind}") == ("abc", kind)


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "myenergy/v1/abc",
        "myenergy/v1/abc/up/",
        "myenergy/v1/abc/up/extra",
        "myenergy/v2/abc/up",
        "Myenergy/v1/abc/up",
        "/myenergy/v1/abc/up",
        "myenergy/v1//up",
        "myenergy/v1/ab/up",
        "myenergy/v1/ABC/up",
        "myenergy/v1/a+c/up",
        "myenergy/v1/+/up",
        "myenergy/v1/#",
        "myenergy/v1/abc/down",
        "myenergy/v1/abc/UP",
        "$share/ingest/myenergy/v1/abc/up",
    ],
)
def test_parse_rejects(topic: str) -> None:
    with pytest.raises(ValueError):
        topics.parse(topic)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(ValueError):
        topics.parse(b"myenergy/v1/abc/up")  # type: ignore[arg-type]


@pytest.mark.parametrize("dev", ["abc", "me-000123", "0-0", "a" * 32, "---"])
def test_valid_device_ids(dev: str) -> None:
    assert topics.valid_device_id(dev)


@pytest.mark.parametrize(
    "dev",
    [
        "",
        "ab",
        "a" * 33,
        "Abc",
        "ab c",
        "ab/c",
        "ab+c",
        "ab#c",
        "$ab",
        "ab_c",
        "ab.c",
        "äbc",
        None,
        123,
    ],
)
def test_invalid_device_ids(dev: object) -> None:
    assert not topics.valid_device_id(dev)


def test_builders_reject_invalid_ids() -> None:
    with pytest.raises(ValueError):
        topics.uplink("a/b/c")
    with pytest.raises(ValueError):
        topics.command("+")


def test_qos_and_retain() -> None:
    assert (topics.UPLINK_QOS, topics.STATUS_QOS, topics.LIVE_QOS, topics.COMMAND_QOS) == (
        1,
        1,
        0,
        1,
    )
    assert topics.STATUS_RETAIN
    assert not (topics.UPLINK_RETAIN or topics.LIVE_RETAIN or topics.COMMAND_RETAIN)


def test_shared_subscriptions() -> None:
    assert topics.SHARED_UPLINK == "$share/ingest/myenergy/v1/+/up"
    assert topics.SHARED_STATUS == "$share/ingest/myenergy/v1/+/status"
    assert topics.SHARED_LIVE == "$share/ingest/myenergy/v1/+/live"
    # Every shared filter matches what the builders produce.
    for shared, build in (
        (topics.SHARED_UPLINK, topics.uplink),
        (topics.SHARED_STATUS, topics.status),
        (topics.SHARED_LIVE, topics.live),
    ):
        filt = shared.split("/", 2)[2]
        head, tail = filt.split("+")
        topic = build("me-1")
        assert topic.startswith(head)
        assert topic.endswith(tail)
