-- Near-duplicate grouping: wire copies of one story, every copy kept (see extractors/neardup.py).
-- documents.duplicate_of points to the first-seen document of the story (NULL for the root) and
-- documents.duplicate_similarity holds the estimated Jaccard similarity with that root.

-- One MinHash signature per indexed document; a document without a row here is not indexed yet.
CREATE TABLE document_signatures (
    document_id VARCHAR NOT NULL,
    signature BLOB NOT NULL,             -- NUM_PERM little-endian uint32 minima
    scheme VARCHAR NOT NULL,             -- the parameters that produced it (neardup.SCHEME)
    indexed_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- The persistent LSH index: one row per (document, band). Equal keys = equal band rows, so the
-- documents sharing a key with a new document are its candidates, across the whole archive.
CREATE TABLE lsh_bands (
    key BIGINT NOT NULL,                 -- the band's rows hashed together with the band's index
    document_id VARCHAR NOT NULL
);

-- No ART index on purpose: DuckDB rewrites a whole ART index at every checkpoint, and the store
-- checkpoints when each short write transaction closes it. With 100k documents a batch of 100 new
-- ones took 1.9 s with ART indexes on these tables against 0.36 s without (bench/neardup.py).
-- Look-ups are hash joins over these narrow columns instead.

-- Each document with its story. A document's time is when it was published, or else when it was
-- fetched, or else when it was stored (seeds have neither date): the best clue of when it ran.
-- The root is the earliest of the copies indexed together (storage/neardup.py: _RAN_AT); a copy
-- published earlier than the root but found later (e.g. by a backfill) shows a negative lag.
CREATE VIEW story_copies AS
WITH members AS (
    SELECT
        coalesce(duplicate_of, id) AS story_id,
        id AS document_id,
        source,
        title,
        published_at,
        coalesce(published_at, fetched_at, stored_at) AS seen_at,
        duplicate_similarity AS similarity,
        stored_at
    FROM documents
)
SELECT
    m.story_id,
    m.document_id,
    m.document_id = m.story_id AS is_root,
    m.source,
    m.title,
    m.published_at,
    m.seen_at,
    m.seen_at - r.seen_at AS lag,        -- INTERVAL behind the root; zero for the root itself
    m.similarity,                        -- estimated Jaccard similarity with the root
    m.stored_at
FROM members m
LEFT JOIN members r ON r.document_id = m.story_id;

-- One row per story: its root's title, source and time, how many copies (root included) and the
-- outlets that carried it, in the order they did.
CREATE VIEW stories AS
WITH outlets AS (
    SELECT story_id, source, min(seen_at) AS first_carried
    FROM story_copies
    WHERE source IS NOT NULL
    GROUP BY story_id, source
),
carried AS (
    SELECT story_id, list(source ORDER BY first_carried, source) AS sources
    FROM outlets
    GROUP BY story_id
)
SELECT
    c.story_id,
    any_value(c.title) FILTER (WHERE c.is_root) AS title,
    any_value(c.source) FILTER (WHERE c.is_root) AS first_source,
    any_value(c.seen_at) FILTER (WHERE c.is_root) AS first_seen,
    max(c.seen_at) AS last_seen,
    count(*) AS copies,
    coalesce(any_value(k.sources), []::VARCHAR[]) AS sources
FROM story_copies c
LEFT JOIN carried k ON k.story_id = c.story_id
GROUP BY c.story_id;
