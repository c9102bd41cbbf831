"""The `runs` table: one row per flow run, written when it starts and completed when it ends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import duckdb


def start_run(
    con: duckdb.DuckDBPyConnection, run_id: str, flow: str, parameters: Mapping[str, Any]
) -> None:
    con.execute(
        "INSERT INTO runs (run_id, flow, parameters, started_at, status) "
        "SELECT ?, ?, ?, current_timestamp, 'running' "
        "WHERE NOT EXISTS (SELECT 1 FROM runs WHERE run_id = ?)",
        [run_id, flow, json.dumps(dict(parameters), default=str), run_id],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    counts: Mapping[str, Any],
    report: str,
) -> None:
    con.execute(
        "UPDATE runs SET ended_at = current_timestamp, status = ?, counts = ?, report = ? "
        "WHERE run_id = ?",
        [status, json.dumps(dict(counts), default=str), report, run_id],
    )
