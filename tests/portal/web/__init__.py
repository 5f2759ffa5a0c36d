"""Tests of the portal's web layer: API, pages, security headers, CSRF, i18n."""
