"""c) Power loss: ``myenergy-agent run`` is SIGKILLed while a backlog is going up.

The queue file is pre-filled with a day's backlog (this test is about upload
behaviour, not polling), and the link to the broker is throttled so the upload
takes long enough to be interrupted in the middle, with batches in flight. The
agent is restarted with the same config and store: every seq arrives, none is
missing, and duplicates are only re-sends of the same (device, ts).
"""

from __future__ import annotations

import time
from pathlib import Path

from edge_agent.queue import RecordQueue
from protocol.codec import Record
from simulators.clock import SimClock
from simulators.link import LinkProxy
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    agent_process,
    assert_no_gaps,
    collector,
    start_meter,
    write_config,
)

BACKLOG = 1440  # a day of minutes


def _prefill(path: Path, n: int) -> None:
    end = int(time.time() // 60) * 60 - 3600  # all older than the fresh window
    with RecordQueue(path, 256 << 20) as queue:
        for i in range(n):
            ts = end - 60 * (n - i)
            queue.put(
                Record(
                    0,
                    ts,
                    60,
                    0,
                    60,
                    60,
                    1,
                    {"p_l1_w": (1000.0 + i, 900.0, 1100.0 + i)},
                    {"e_imp_wh": 1_000_000 + 17 * i},
                )
            )


def test_kill_9_during_upload_loses_nothing(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    meter = start_meter(SimClock())  # real time: the subprocess runs on the system clock
    cloud = collector(mosquitto.host, mosquitto.port).start()
    with LinkProxy("127.0.0.1", 0, mosquitto.host, mosquitto.port) as link:
        config = write_config(
            tmp_path,
            serial_port=meter.path,
            mqtt_port=link.port,
            extra={"mqtt": {"batch_max_records": 20, "max_in_flight": 4}},
        )
        _prefill(tmp_path / "queue.sqlite3", BACKLOG)
        link.set_mode("throttle", rate_bps=1500)
        log = tmp_path / "agent.log"
        try:
            with agent_process(config, log) as first:
                cloud.wait_until(lambda: len(cloud.records) >= 100, 60, "the upload to start")
                first.kill()  # SIGKILL: no goodbye, no flush, batches in flight
                first.wait(10)
            got_before = len(cloud.seqs())
            assert got_before < BACKLOG, "the upload finished before the kill"

            link.set_mode("pass")
            with agent_process(config, log) as second:
                cloud.wait_until(
                    lambda: cloud.seqs() >= set(range(1, BACKLOG + 1)), 60, "the whole backlog"
                )
                assert second.poll() is None, "the restarted agent died"
        finally:
            meter.stop()
            if log.exists():
                print(log.read_text()[-5000:])

    assert_no_gaps(cloud.seqs(), BACKLOG)
    unique = cloud.unique_records()
    backlog = [r for r in unique.values() if r.seq <= BACKLOG]
    assert len(backlog) == BACKLOG  # one record per (device, ts), one per seq
    for record in backlog:  # what arrived is what was stored, not a re-made record
        assert record.counters["e_imp_wh"] == 1_000_000 + 17 * (record.seq - 1)
    assert all(r.historical for r in cloud.records if r.record.seq <= BACKLOG)
