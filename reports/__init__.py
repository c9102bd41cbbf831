"""Charts and pages built from the store's figures: no SQL, no I/O (see storage/analyst.py)."""
