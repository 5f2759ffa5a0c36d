"""Tests of the contract engine's app layer (issue 5)."""
