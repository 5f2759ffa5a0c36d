"""Host-side (CPython) tooling for the firmware: build, register-map compiler. Never shipped."""
