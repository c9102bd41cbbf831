-- Run lease, interrupted runs, backfill progress and where each document was discovered.

-- At most one row: the flow run that may write the store now. A run takes it in a write
-- transaction (DuckDB serialises those across processes), so two runs can never both hold it.
-- A holder whose process is gone (same host, pid dead or reused) is stale and may be taken over;
-- its run is then marked `interrupted` in `runs`.
CREATE TABLE run_lease (
    run_id VARCHAR NOT NULL,
    flow VARCHAR NOT NULL,
    host VARCHAR NOT NULL,
    pid INTEGER NOT NULL,
    process_started DOUBLE NOT NULL,     -- the holder's process start time: a reused pid differs
    acquired_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Which source found a document or a skipped item: 'kind:locator', e.g. 'feed:https://…/rss',
-- 'sitemap:https://…/sitemap.xml', 'warc:/data/crawl.warc.gz', 'dir:/saved/pages'.
ALTER TABLE documents ADD COLUMN discovered_by VARCHAR;
ALTER TABLE skipped ADD COLUMN discovered_by VARCHAR;

-- One row per backfill: its arguments, identified by a hash of them, so running the same
-- command again resumes it.
CREATE TABLE backfills (
    backfill_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,               -- urls, site, sitemap, feed_pages, dir, warc
    locator VARCHAR NOT NULL,            -- what was given: a file, a site, a sitemap, a folder
    since TIMESTAMPTZ,
    until TIMESTAMPTZ,
    parameters JSON,
    status VARCHAR NOT NULL,             -- discovering, fetching, completed, interrupted, failed
    created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    last_run_id VARCHAR
);

-- Discovery units finished for a backfill (a sitemap read, a feed page walked, a WARC scanned):
-- a resumed backfill does not read them again.
CREATE TABLE backfill_units (
    backfill_id VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    items_found INTEGER NOT NULL,
    outside_window INTEGER NOT NULL,     -- entries the unit itself dated outside the window
    done_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Every page a backfill found, once per (backfill, canonical URL). `done_at` is set in the same
-- transaction that stores the page's document or skip, so an interrupted backfill resumes at the
-- first page not done and nothing is stored twice.
CREATE TABLE backfill_items (
    backfill_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,                 -- discovery order, the order pages are processed in
    url VARCHAR NOT NULL,
    canonical_url VARCHAR NOT NULL,
    discovered_by VARCHAR NOT NULL,
    locator VARCHAR,                     -- where the bytes are when not fetched: file, WARC offset
    published_hint TIMESTAMPTZ,          -- the date the source gave, if any
    title_hint VARCHAR,
    outcome VARCHAR,                     -- stored, duplicate, known, or a skip reason
    done_at TIMESTAMPTZ
);
