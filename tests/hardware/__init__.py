"""Tests of hardware/: register maps, their loader, the decoder and the request planner."""
