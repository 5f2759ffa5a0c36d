"""Tests of the service requests (issue 6): forms, attachments, workflow."""
