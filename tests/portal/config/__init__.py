"""Tests of the portal's config."""
