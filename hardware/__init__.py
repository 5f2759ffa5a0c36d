"""Meter register maps as data files, their loader, decoder and request planner."""
