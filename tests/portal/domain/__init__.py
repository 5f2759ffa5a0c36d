"""Tests of the portal's domain."""
