"""Cloud ingest: the MQTT consumer, time-series stores, counter-safe rollups and the
device registry."""
