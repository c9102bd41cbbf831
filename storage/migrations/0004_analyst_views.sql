-- Views for analysts: stories with their entities, mentions per day, co-mentions per week and the
-- health of each source. Like the tables, their names and columns are a contract: add, never rename.
--
-- A document's time (`seen_at`) is when it was published, else fetched, else stored (see
-- story_copies); its `day` is that instant's date in UTC. A story is a near-duplicate group: its
-- id is the id of its first-seen copy (documents.duplicate_of, or the document's own id).

-- The watchlist's entities as they were when the store was tagged with each version, so views can
-- say an actor's type (person, armed_group…). Written by every tagging (storage/mentions.py:
-- record_entities), once per watchlist version.
CREATE TABLE watchlist_entities (
    watchlist_version VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    entity_kind VARCHAR NOT NULL,        -- country, actor
    entity_type VARCHAR,                 -- actors: person, armed_group, state_force, organisation, operation
    entity_name VARCHAR NOT NULL,
    country VARCHAR,                     -- actors: the country entity they belong to, if any
    valid_from DATE,
    valid_to DATE,
    note VARCHAR,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
);

-- The French full-text index (storage/fulltext.py), kept current incrementally by the writers:
-- each word once with its stem (French Snowball stemmer of the fts extension, accents folded,
-- '' for stopwords), and per document and field the stems it holds and how often.
CREATE TABLE search_words (
    word VARCHAR NOT NULL,               -- lower case, accents folded
    stem VARCHAR NOT NULL
);
CREATE TABLE search_postings (
    document_id VARCHAR NOT NULL,
    field VARCHAR NOT NULL,              -- title, text
    stem VARCHAR NOT NULL,
    tf INTEGER NOT NULL                  -- occurrences of the stem in the field
);
-- One row per indexed document and field: its length in indexed words (for BM25).
CREATE TABLE search_fields (
    document_id VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    length INTEGER NOT NULL
);
-- The documents the index covered at its last refresh: a refresh with nothing new does nothing.
CREATE TABLE search_index_state (
    documents BIGINT NOT NULL,
    fingerprint BIGINT NOT NULL,         -- bit_xor of hash(id) >> 1 over the indexed documents
    built_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
    build_seconds DOUBLE NOT NULL        -- the last refresh's duration
);

-- One row per (document, entity), with the entity's type and the document's story and time.
-- `entity_type` is 'country' for countries; for actors it comes from the watchlist version that
-- tagged the document, else from the latest recorded version.
CREATE VIEW article_mentions AS
WITH latest AS (
    SELECT entity_id,
           arg_max(entity_type, recorded_at) AS entity_type,
           arg_max(country, recorded_at) AS country
    FROM watchlist_entities
    GROUP BY entity_id
)
SELECT
    m.document_id,
    coalesce(d.duplicate_of, d.id) AS story_id,
    d.duplicate_of IS NULL AS is_root,
    d.source,
    d.title,
    coalesce(d.published_at, d.fetched_at, d.stored_at) AS seen_at,
    CAST(timezone('UTC', coalesce(d.published_at, d.fetched_at, d.stored_at)) AS DATE) AS day,
    m.entity_id,
    m.entity_kind,
    CASE WHEN m.entity_kind = 'country' THEN 'country'
         ELSE coalesce(v.entity_type, l.entity_type) END AS entity_type,
    m.entity_name,
    coalesce(v.country, l.country) AS entity_country,
    m.count,
    m.first_offset,
    m.watchlist_version
FROM mentions m
JOIN documents d ON d.id = m.document_id
LEFT JOIN watchlist_entities v
    ON v.entity_id = m.entity_id AND v.watchlist_version = m.watchlist_version
LEFT JOIN latest l ON l.entity_id = m.entity_id;

-- One row per story, French documents only: its first-seen copy's source, times and title, how
-- many copies (the first included), and the entities named in any of its copies, sorted by id.
CREATE VIEW articles AS
WITH copies AS (
    SELECT coalesce(duplicate_of, id) AS story_id, count(*) AS copies
    FROM documents
    GROUP BY ALL
),
named AS (
    SELECT
        story_id,
        list_sort(list_distinct(list(entity_id) FILTER (WHERE entity_kind = 'country'))) AS countries,
        list_sort(list_distinct(list(entity_id) FILTER (WHERE entity_kind = 'actor'))) AS actors
    FROM article_mentions
    GROUP BY story_id
)
SELECT
    d.id AS story_id,                    -- the first-seen copy's documents.id
    d.url,
    d.source,
    d.published_at,
    d.fetched_at,
    coalesce(d.published_at, d.fetched_at, d.stored_at) AS seen_at,
    CAST(timezone('UTC', coalesce(d.published_at, d.fetched_at, d.stored_at)) AS DATE) AS day,
    d.title,
    length(d.text) AS text_length,       -- in characters
    c.copies,
    coalesce(n.countries, []::VARCHAR[]) AS countries,
    coalesce(n.actors, []::VARCHAR[]) AS actors,
    d.origin
FROM documents d
JOIN copies c ON c.story_id = d.id
LEFT JOIN named n ON n.story_id = d.id
WHERE d.duplicate_of IS NULL AND d.language = 'fr';

-- Entity x day. `stories`: stories naming the entity, each counted once, on the day of its first
-- copy that names it (a wire copied by five outlets counts once). `documents`: every copy naming
-- it, on its own day. Summing `stories` over days counts each story once.
CREATE VIEW mentions_daily AS
WITH first_named AS (
    SELECT story_id, entity_id, min(day) AS day
    FROM article_mentions
    GROUP BY ALL
),
stories AS (
    SELECT day, entity_id, count(*) AS stories FROM first_named GROUP BY ALL
),
copies AS (
    SELECT
        day,
        entity_id,
        any_value(entity_kind) AS entity_kind,
        any_value(entity_type) AS entity_type,
        any_value(entity_name) AS entity_name,
        count(*) AS documents
    FROM article_mentions
    GROUP BY day, entity_id
)
SELECT
    c.day,
    c.entity_id,
    c.entity_kind,
    c.entity_type,
    c.entity_name,
    coalesce(s.stories, 0) AS stories,
    c.documents
FROM copies c
LEFT JOIN stories s ON s.day = c.day AND s.entity_id = c.entity_id;

-- Pairs of entities named in the same story (in any of its copies), per ISO week of the story's
-- first-seen copy. One row per unordered pair: entity_a < entity_b (as text, so a country's
-- upper-case id comes before an actor's).
CREATE VIEW co_mentions AS
WITH named AS (
    SELECT
        story_id,
        entity_id,
        any_value(entity_kind) AS entity_kind,
        any_value(entity_type) AS entity_type,
        any_value(entity_name) AS entity_name
    FROM article_mentions
    GROUP BY story_id, entity_id
),
weeks AS (
    SELECT
        id AS story_id,
        CAST(date_trunc('week', timezone('UTC', coalesce(published_at, fetched_at, stored_at)))
             AS DATE) AS week
    FROM documents
    WHERE duplicate_of IS NULL
)
SELECT
    w.week,                              -- the Monday of the ISO week
    strftime(w.week, '%G-W%V') AS iso_week,
    a.entity_id AS entity_a,
    a.entity_name AS name_a,
    a.entity_type AS type_a,
    b.entity_id AS entity_b,
    b.entity_name AS name_b,
    b.entity_type AS type_b,
    count(*) AS stories
FROM named a
JOIN named b ON b.story_id = a.story_id AND a.entity_id < b.entity_id
JOIN weeks w ON w.story_id = a.story_id
GROUP BY ALL;

-- Per source and day (UTC) on which anything happened to it: feed polls (from each ingest run's
-- (backfills poll no feed, their pages count in `stored`)
-- `runs.counts.per_feed`), documents stored, items skipped. Items seen and feed failures come from
-- the polls; `stored` counts documents stored that day (copies included); `last_success_at`,
-- `last_new_item_at`, `days_since_new_item` and `failure_streak` (failed polls since the last
-- successful one) are as of the end of that day.
CREATE VIEW source_health AS
WITH polls AS (
    SELECT polled_at, source, status, coalesce(items_seen, 0) AS items_seen
    FROM (
        SELECT
            started_at AS polled_at,
            unnest(
                from_json(
                    json_extract(counts, '$.per_feed'),
                    '[{"source": "VARCHAR", "status": "VARCHAR", "items_seen": "BIGINT"}]'
                ),
                recursive := true
            )
        FROM runs
        WHERE flow = 'ingest_feeds' AND json_extract(counts, '$.per_feed') IS NOT NULL
    )
    WHERE status <> 'not_due' AND source IS NOT NULL
),
runs_of_success AS (
    SELECT *,
           sum(CASE WHEN status = 'failed' THEN 0 ELSE 1 END)
               OVER (PARTITION BY source ORDER BY polled_at ROWS UNBOUNDED PRECEDING) AS successes
    FROM polls
),
streaks AS (
    SELECT *,
           sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)
               OVER (PARTITION BY source, successes ORDER BY polled_at
                     ROWS UNBOUNDED PRECEDING) AS streak
    FROM runs_of_success
),
poll_days AS (
    SELECT
        source,
        CAST(timezone('UTC', polled_at) AS DATE) AS day,
        count(*) AS polls,
        sum(items_seen) AS items_seen,
        count(*) FILTER (WHERE status = 'failed') AS feed_failures,
        max(polled_at) FILTER (WHERE status <> 'failed') AS last_success_in_day,
        arg_max(streak, polled_at) AS streak_at_end
    FROM streaks
    GROUP BY ALL
),
stored_days AS (
    SELECT source, CAST(timezone('UTC', stored_at) AS DATE) AS day, count(*) AS stored,
           max(stored_at) AS last_stored_in_day
    FROM documents
    WHERE source IS NOT NULL
    GROUP BY ALL
),
skipped_by_reason AS (
    SELECT source, CAST(timezone('UTC', skipped_at) AS DATE) AS day, reason, count(*) AS n
    FROM skipped
    WHERE source IS NOT NULL
    GROUP BY ALL
),
skipped_days AS (
    SELECT source, day, sum(n) AS skipped, map(list(reason ORDER BY reason), list(n ORDER BY reason))
        AS skipped_by_reason
    FROM skipped_by_reason
    GROUP BY ALL
),
grid AS (
    SELECT source, day FROM poll_days
    UNION SELECT source, day FROM stored_days
    UNION SELECT source, day FROM skipped_days
),
daily AS (
    SELECT
        g.source,
        g.day,
        coalesce(p.polls, 0) AS polls,
        coalesce(p.items_seen, 0) AS items_seen,
        coalesce(s.stored, 0) AS stored,
        coalesce(k.skipped, 0) AS skipped,
        coalesce(k.skipped_by_reason, MAP {}::MAP(VARCHAR, BIGINT)) AS skipped_by_reason,
        coalesce(p.feed_failures, 0) AS feed_failures,
        p.last_success_in_day,
        p.streak_at_end,
        s.last_stored_in_day
    FROM grid g
    LEFT JOIN poll_days p ON p.source = g.source AND p.day = g.day
    LEFT JOIN stored_days s ON s.source = g.source AND s.day = g.day
    LEFT JOIN skipped_days k ON k.source = g.source AND k.day = g.day
)
SELECT
    source,
    day,
    polls,
    items_seen,
    stored,
    skipped,
    skipped_by_reason,
    feed_failures,
    max(last_success_in_day)
        OVER (PARTITION BY source ORDER BY day ROWS UNBOUNDED PRECEDING) AS last_success_at,
    max(last_stored_in_day)
        OVER (PARTITION BY source ORDER BY day ROWS UNBOUNDED PRECEDING) AS last_new_item_at,
    day - CAST(timezone('UTC', max(last_stored_in_day)
        OVER (PARTITION BY source ORDER BY day ROWS UNBOUNDED PRECEDING)) AS DATE)
        AS days_since_new_item,
    coalesce(last_value(streak_at_end IGNORE NULLS)
        OVER (PARTITION BY source ORDER BY day ROWS UNBOUNDED PRECEDING), 0) AS failure_streak
FROM daily;
