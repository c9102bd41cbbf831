"""Pure document logic: bytes or str in, dataclasses out; no I/O, no Prefect, DuckDB or httpx."""
