"""Tests of ingest/registry/, its migrations and the myenergy-ingest registry/broker commands."""
