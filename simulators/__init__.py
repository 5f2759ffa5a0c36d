"""Simulators: Modbus meters with realistic load, a flaky mobile link."""
