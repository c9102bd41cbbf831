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


def end_unfinished(con: duckdb.DuckDBPyConnection, run_id: str, status: str, why: str) -> None:
    """End a run that stopped before recording its result (interrupted, failed, killed)."""
    con.execute(
        "UPDATE runs SET ended_at = current_timestamp, status = ?, "
        "report = coalesce(report, ?) WHERE run_id = ? AND status = 'running'",
        [status, why[:500], run_id],
    )


def orphaned_runs(con: duckdb.DuckDBPyConnection, except_run: str | None) -> list[str]:
    """Runs still marked `running` while nobody holds the lease for them: their process is gone."""
    rows = con.execute(
        "SELECT run_id FROM runs WHERE status = 'running' AND run_id IS DISTINCT FROM ? "
        "AND run_id NOT IN (SELECT run_id FROM run_lease)",
        [except_run],
    ).fetchall()
    return [r for (r,) in rows]


def status_of(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    row = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return None if row is None else row[0]


def counts_of(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> dict[str, dict]:
    """The recorded counts of each of these runs that has some."""
    rows = con.execute(
        "SELECT run_id, counts FROM runs WHERE run_id IN (SELECT unnest(?)) AND counts IS NOT NULL",
        [run_ids],
    ).fetchall()
    return {run_id: json.loads(counts) for run_id, counts in rows}


def documents_stored_by(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> dict[str, int]:
    """How many documents each of these runs stored, from the documents themselves."""
    rows = con.execute(
        "SELECT run_id, count(*) FROM documents WHERE run_id IN (SELECT unnest(?)) GROUP BY run_id",
        [run_ids],
    ).fetchall()
    return dict(rows)


def counts_by_flow(con: duckdb.DuckDBPyConnection, flow: str) -> list[dict]:
    """The recorded counts of every run of `flow`, oldest first."""
    rows = con.execute(
        "SELECT counts FROM runs WHERE flow = ? AND counts IS NOT NULL ORDER BY started_at",
        [flow],
    ).fetchall()
    return [json.loads(counts) for (counts,) in rows]
