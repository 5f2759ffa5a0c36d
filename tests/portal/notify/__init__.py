"""Tests of the portal's notify."""
