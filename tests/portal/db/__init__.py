"""Tests of the portal's db."""
