"""Agent memory benchmark: resident set size of ``myenergy-agent run`` at work.

Runs the real agent as its own process (as on a module) against an SDM630
simulated on a pseudo-terminal and a local Mosquitto, polling every second and
uploading every few seconds, with a day of backlog queued so that it also catches
up while it polls. Samples the process's RSS with psutil and prints the peak.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from bench.records import minute_records
from edge_agent.queue import RecordQueue
from hardware.maps import load_map
from hardware.model import SerialSettings
from protocol import topics
from simulators.broker import LocalMosquitto
from simulators.clock import SimClock
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer

RUN_S = 45.0
LIMIT_MB = 60.0
LINE = SerialSettings(baudrate=9600, parity="E", bytesize=8, stopbits=1)

CONFIG = """\
version = 1
[device]
id = "bench-memory-1"
[meter]
model = "sdm630"
transport = "rtu"
port = "{port}"
parity = "N"          # a pty stores no parity bit; the simulator times the line 8E1
baudrate = 9600
poll_s = 1.0
[mqtt]
host = "127.0.0.1"
port = {mqtt_port}
upload_interval_s = 5
[mqtt.tls]
enabled = false
[store]
path = "{store}"
[log]
level = "WARNING"
"""


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="myenergy-bench-") as tmp:
        work = Path(tmp)
        store = work / "queue.sqlite3"
        with RecordQueue(store, max_bytes=64 << 20) as queue:
            for record in minute_records(24 * 60, start=int(time.time()) - 86400 - 60):
                queue.put(record)
        meter = SimulatedMeter(load_map("sdm630"), LoadModel(3), SimClock(), slave_id=1)
        with LocalMosquitto(state_dir=work / "broker") as broker, RtuPtyServer(meter, LINE) as rtu:
            # someone must listen: a batch nobody subscribes to stays in the queue
            listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ingest")
            listener.connect("127.0.0.1", broker.port)
            listener.subscribe(topics.uplink("bench-memory-1"), qos=1)
            listener.loop_start()
            config = work / "agent.toml"
            config.write_text(CONFIG.format(port=rtu.path, mqtt_port=broker.port, store=store))
            proc = subprocess.Popen(
                [sys.executable, "-m", "edge_agent.cli", "run", "--config", str(config)]
            )
            peak = 0
            samples: list[int] = []
            try:
                ps = psutil.Process(proc.pid)
                deadline = time.monotonic() + RUN_S
                while time.monotonic() < deadline:
                    if proc.poll() is not None:
                        raise RuntimeError(f"the agent exited with {proc.returncode}")
                    rss = ps.memory_info().rss
                    samples.append(rss)
                    peak = max(peak, rss)
                    time.sleep(0.25)
            finally:
                proc.terminate()
                proc.wait(15)
                listener.loop_stop()
                listener.disconnect()
        with RecordQueue(store, max_bytes=64 << 20) as queue:
            left = queue.depth()
    print("== agent resident memory while polling (1 s) and uploading ==")
    median = sorted(samples)[len(samples) // 2]
    print(
        f"  peak RSS {peak / 2**20:.1f} MB, median {median / 2**20:.1f} MB over {RUN_S:.0f} s "
        f"(limit {LIMIT_MB:.0f} MB); of 1440 backlog records {left} left in the queue"
    )
    return {"agent_rss_mb": peak / 2**20}


if __name__ == "__main__":
    run()
