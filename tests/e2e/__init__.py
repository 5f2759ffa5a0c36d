"""End-to-end tests: meter -> edge agent -> Mosquitto -> ingest -> InfluxDB (docs/testing.md)."""
