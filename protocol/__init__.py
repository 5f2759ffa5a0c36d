"""MyEnergy wire protocol v1: MQTT topics, channel vocabulary and the payload codec.

Shared unchanged by the CPython edge agent, the MicroPython firmware and the cloud.
"""

VERSION = 1
