-- The public tables. Their names and columns are a contract with users' SQL: add, never rename.
-- No PRIMARY KEY/UNIQUE on purpose: the store must also run on DuckLake, which has none, so every
-- insert keeps idempotence itself (anti-joins on content keys, see storage/documents.py).

-- One row per accepted document.
CREATE TABLE documents (
    id VARCHAR NOT NULL,                 -- stable: derived from the canonical URL
    url VARCHAR NOT NULL,                -- the URL first seen for it
    canonical_url VARCHAR NOT NULL,
    source VARCHAR,                      -- outlet name
    feed_url VARCHAR,
    title VARCHAR,
    author VARCHAR,
    published_at TIMESTAMPTZ,            -- UTC
    published_source VARCHAR,            -- which clue gave published_at: feed, page, htmldate, seed
    fetched_at TIMESTAMPTZ,
    language VARCHAR NOT NULL,
    language_score DOUBLE,
    text VARCHAR NOT NULL,
    text_source VARCHAR NOT NULL,        -- page, feed_content, feed_summary, seed
    content_hash VARCHAR NOT NULL,       -- sha256 of the normalised text
    origin VARCHAR NOT NULL,             -- seed, feed, backfill
    run_id VARCHAR,
    duplicate_of VARCHAR,                -- NULL, or the id of the first-seen copy of its story
    duplicate_similarity DOUBLE,         -- estimated Jaccard similarity with duplicate_of
    stored_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Every other URL at which a stored document was seen: the same canonical URL again, or the same
-- text at another URL. Nothing is lost, nothing is stored twice.
CREATE TABLE document_urls (
    document_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    canonical_url VARCHAR NOT NULL,
    source VARCHAR,
    feed_url VARCHAR,
    relation VARCHAR NOT NULL,           -- same_url, same_text
    run_id VARCHAR,
    seen_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- One row per (document, entity) for the watchlist version that produced it.
CREATE TABLE mentions (
    document_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,        -- country, actor
    entity_name VARCHAR NOT NULL,
    count INTEGER NOT NULL,
    first_offset INTEGER NOT NULL,       -- character offset in documents.text
    watchlist_version VARCHAR NOT NULL
);

-- Which watchlist version last tagged each document (a document may have no mentions at all).
CREATE TABLE tagged_documents (
    document_id VARCHAR NOT NULL,
    watchlist_version VARCHAR NOT NULL,
    tagged_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- One row per flow run.
CREATE TABLE runs (
    run_id VARCHAR NOT NULL,
    flow VARCHAR NOT NULL,
    parameters JSON,
    started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,             -- running, completed, failed
    counts JSON,
    report VARCHAR                       -- the summary printed at the end, as markdown
);

-- One row per fetched item that did not become a document, and why.
CREATE TABLE skipped (
    url VARCHAR NOT NULL,
    canonical_url VARCHAR,
    feed_url VARCHAR,
    source VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    run_id VARCHAR,
    skipped_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- Per-feed polling state: conditional GET validators, health and back-off.
CREATE TABLE feed_state (
    feed_url VARCHAR NOT NULL,
    source VARCHAR,
    etag VARCHAR,
    last_modified VARCHAR,
    body_hash VARCHAR,
    last_status VARCHAR,                 -- ok, unchanged, failed
    last_error VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    polls INTEGER NOT NULL DEFAULT 0,
    last_polled_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    last_new_item_at TIMESTAMPTZ,
    last_unconditional_at TIMESTAMPTZ,
    next_poll_at TIMESTAMPTZ
);
