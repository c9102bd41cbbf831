"""Pure document logic: bytes or str in, dataclasses out. No I/O, no Prefect, no DuckDB, no httpx."""
