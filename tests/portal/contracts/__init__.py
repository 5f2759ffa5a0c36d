"""Tests of the contract engine of the General Terms (issue 5)."""
