"""Meter register maps as data files, their loader, decoder and request planner.

Start at ``hardware.maps`` (load a model), ``hardware.planner`` (what to read, how long it
takes) and ``hardware.registers`` (words <-> values). docs/hardware.md explains the file
format and how to add a meter model.
"""
