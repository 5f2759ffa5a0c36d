"""Tests of the test fixtures themselves: real brokers, certificates, ports."""
