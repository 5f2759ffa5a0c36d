"""Installations (issue 7): provisioning a module from the installers' CLI and the
protocols it uploads. The tables are in :mod:`portal_api.installations.models`."""
