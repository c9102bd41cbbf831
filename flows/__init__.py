"""Orchestration: Prefect flows and tasks, the fetcher and the `sahelwatch` command line."""
