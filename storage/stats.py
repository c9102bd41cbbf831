"""The overview behind `sahelwatch stats`: what is in the store, at a glance."""

from __future__ import annotations

import duckdb

from storage.query import QueryResult

# Section title -> SQL. Kept short: each section answers one question an analyst asks first.
STATS_SECTIONS: dict[str, str] = {
    "Documents by origin": """
        SELECT origin, count(*) AS documents,
               count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS near_copies
        FROM documents GROUP BY origin ORDER BY documents DESC, origin""",
    "Documents by language": """
        SELECT language, count(*) AS documents FROM documents
        GROUP BY language ORDER BY documents DESC, language""",
    "Documents by source": """
        SELECT coalesce(source, '(none)') AS source, count(*) AS documents,
               max(published_at) AS latest_published
        FROM documents GROUP BY source ORDER BY documents DESC, source LIMIT 30""",
    "Skipped items by reason": """
        SELECT reason, count(*) AS items FROM skipped
        GROUP BY reason ORDER BY items DESC, reason""",
    "Mentions by entity": """
        SELECT entity_kind AS kind, entity_id, entity_name, count(*) AS documents,
               sum(count) AS mentions
        FROM mentions GROUP BY ALL ORDER BY documents DESC, entity_id LIMIT 40""",
    "Last runs": """
        SELECT run_id, flow, status, started_at,
               round(epoch(ended_at - started_at), 1) AS seconds,
               counts->>'stored' AS stored, counts->>'skipped' AS skipped
        FROM runs ORDER BY started_at DESC LIMIT 10""",
}


def store_stats(con: duckdb.DuckDBPyConnection) -> dict[str, QueryResult]:
    results = {}
    for title, sql in STATS_SECTIONS.items():
        cursor = con.execute(sql)
        rows = cursor.fetchall()
        results[title] = QueryResult(tuple(d[0] for d in cursor.description), rows)
    return results
