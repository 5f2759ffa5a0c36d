"""MyEnergy portal: customers' dashboards and consumption API, accounts, live view.

Layout and contracts: docs/decisions/0004-portal-contracts.md.
"""
