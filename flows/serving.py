"""`sahelwatch serve`: prefect.yaml's deployments, served from this process by Prefect.

For a user without a Prefect server and worker: the same flows and schedule, run by Prefect's
`serve` (each flow run in a subprocess), with the same no-overlap rule as the deployments.
"""

from __future__ import annotations

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from flows.backfill import backfill
from flows.dedup_flow import dedup_flow
from flows.ingest import ingest_feeds
from flows.retag import retag

# Served deployments are named apart from prefect.yaml's: on a server that also holds those
# (run by a worker), updating them in place would keep their worker's pull steps and break.
SERVED_SUFFIX = "-served"
# One run of each deployment at a time; a run that comes due while the previous one still runs
# waits for it (the store's run lease also keeps different flows from writing at once).
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
# A flow that finds another run writing the store waits this long for it before giving up.
STORE_WAIT_S = 1800


def serve_deployments(
    cron: str, *, feeds: str | None, db: str | None, watchlist: str | None
) -> None:
    """Serve until Ctrl-C or SIGTERM; Prefect pauses the schedules on the way out."""
    store = {"db": db, "watchlist": watchlist}
    serve(
        ingest_feeds.to_deployment(
            name="sahel-ingest" + SERVED_SUFFIX,
            cron=cron,
            parameters={**store, "feeds": feeds, "wait_for_store": STORE_WAIT_S},
            concurrency_limit=ONE_AT_A_TIME,
            description="Poll the due feeds and store what is new.",
        ),
        backfill.to_deployment(
            name="sahel-backfill" + SERVED_SUFFIX,
            parameters={**store, "feeds": feeds, "wait_for_store": STORE_WAIT_S},
            concurrency_limit=ONE_AT_A_TIME,
            description="Pull an archive for a period (one source per run).",
        ),
        retag.to_deployment(
            name="sahel-retag" + SERVED_SUFFIX,
            parameters={**store, "wait_for_store": STORE_WAIT_S},
            concurrency_limit=ONE_AT_A_TIME,
            description="Re-apply the current watchlist to every stored document.",
        ),
        dedup_flow.to_deployment(
            name="sahel-dedup-rebuild" + SERVED_SUFFIX,
            parameters={"db": db, "rebuild": True, "wait_for_store": STORE_WAIT_S},
            concurrency_limit=ONE_AT_A_TIME,
            description="Recompute every near-duplicate signature and story.",
        ),
    )
