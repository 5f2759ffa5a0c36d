"""Tests of ``myenergy-install`` scan and check against simulated meters on ptys."""
