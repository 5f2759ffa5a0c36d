"""i) The retained status, and the last will when the agent dies.

``myenergy-agent run`` runs as a process. Its retained status (birth "online",
then on change) reports queue depth, the age of the oldest unsent record, Modbus
error counters, clock state and version. A SIGKILL closes its connection without
goodbye, and the broker publishes the retained last will: "offline". A
subscriber that comes later still finds it.
"""

from __future__ import annotations

from pathlib import Path

from edge_agent import __version__
from simulators.clock import SimClock
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    agent_process,
    collector,
    start_meter,
    write_config,
)


def test_status_and_last_will(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    meter = start_meter(SimClock())
    meter.sim.faults.no_reply(count=4)  # the first polls time out: counted, reported
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(tmp_path, serial_port=meter.path, mqtt_port=mosquitto.port)
    log = tmp_path / "agent.log"
    try:
        with agent_process(config, log) as agent:
            cloud.wait_until(
                lambda: any(
                    s.get("modbus_errors", {}).get("timeout", 0) >= 1 for s in cloud.statuses
                ),
                20,
                "a status with the timeout count",
            )
            agent.kill()
            agent.wait(10)
            cloud.wait_until(
                lambda: cloud.statuses[-1].get("state") == "offline", 20, "the last will"
            )
    finally:
        meter.stop()
        if log.exists():
            print(log.read_text()[-3000:])

    online = [s for s in cloud.statuses if s.get("state") == "online"]
    assert online, cloud.statuses
    status = online[-1]
    assert status["version"] == __version__
    assert status["queue_depth"] >= 0
    assert "oldest_unsent_age_s" in status
    assert status["clock"] in ("synced", "estimated", "unanchored")
    assert status["modbus_errors"]["timeout"] >= 1
    assert cloud.statuses[-1] == {"state": "offline", "version": __version__}

    # retained: a subscriber arriving now learns that the device is offline
    late = collector(mosquitto.host, mosquitto.port, client_id="portal-late").start()
    late.wait_until(lambda: bool(late.statuses), 5, "the retained status")
    assert late.statuses[-1]["state"] == "offline"
    late.client.close()
