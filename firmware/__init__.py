"""MyEnergy firmware for ESP32-class communication modules (MicroPython).

The same job as ``edge_agent`` within a few hundred KB of RAM: poll the meter
over RS-485 Modbus RTU, keep every record on flash until the broker has
acknowledged it, upload over MQTT through the LTE modem. Runs on MicroPython
only; ``firmware.host`` is the CPython build tooling and never ships.
"""

VERSION = "0.8.0"
