"""Tests of the portal (portal_api)."""
