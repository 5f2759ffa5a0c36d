"""Tests of the contract engine's web layer (issue 5)."""
