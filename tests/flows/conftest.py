"""The Prefect fixtures (`prefect_server`, `prefect_api`) live in tests/support/prefect_fixtures.py,
loaded for the whole suite by tests/conftest.py, so tests/faults shares the same server."""
