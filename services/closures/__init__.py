"""Planned closures (SPEC 9): converting their local times, and the API's operations on them.

The engine takes closures out of business time (services/reports/hours.py); `closures.csv` is
loaded by the ingestion (services/ingest/closures.py); this package holds the rest.
"""
