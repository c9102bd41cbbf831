-- Faster analyst views and search at 100k documents (bench/analyst.py), same columns and rows.
--
-- 1. A UTC day is computed from the instant's epoch, `DATE '1970-01-01' + floor(epoch_us / 1 day)`,
--    instead of `CAST(timezone('UTC', t) AS DATE)`: the ICU time-zone conversion cost about 1 µs
--    per row, 0.3 s per pass over the mentions at 100k documents, and these views pass several
--    times. Same date for every instant, whatever the session's TimeZone.
-- 2. story_copies' `lag` is the difference of the two instants in UTC. The ICU subtraction of two
--    TIMESTAMPTZ was 3-5 times slower and gave a calendar difference in the session's time zone
--    (24 hours across a daylight-saving change read '1 day 01:00' in Europe/Paris); in UTC, the
--    result is the same INTERVAL as before.
-- 3. articles takes a story's entities from mentions and documents directly, not through
--    article_mentions (whose watchlist joins it does not need); mentions_daily looks for the
--    earliest copy naming an entity only in stories that have copies.
-- 4. The search postings are kept sorted by stem (storage/fulltext.py), so a search reads the
--    few row groups holding its stems; the index state records how many rows were sorted.

ALTER TABLE search_index_state ADD COLUMN sorted_postings BIGINT DEFAULT 0;

-- As in migration 0002, with `lag` computed in UTC (see 2. above).
CREATE OR REPLACE VIEW story_copies AS
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
    make_timestamp(epoch_us(m.seen_at)) - make_timestamp(epoch_us(r.seen_at)) AS lag,
    m.similarity,
    m.stored_at
FROM members m
LEFT JOIN members r ON r.document_id = m.story_id;

-- The views of migration 0004, with the changes above.
-- One row per (document, entity), with the entity's type and the document's story and time.
-- `entity_type` is 'country' for countries; for actors it comes from the watchlist version that
-- tagged the document, else from the latest recorded version.
CREATE OR REPLACE VIEW article_mentions AS
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
    DATE '1970-01-01'
        + CAST(floor(epoch_us(coalesce(d.published_at, d.fetched_at, d.stored_at)) / 86400000000)
               AS INTEGER) AS day,
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
CREATE OR REPLACE VIEW articles AS
WITH copies AS (
    SELECT coalesce(duplicate_of, id) AS story_id, count(*) AS copies
    FROM documents
    GROUP BY ALL
),
named AS (
    SELECT
        coalesce(d.duplicate_of, d.id) AS story_id,
        list_sort(list_distinct(list(m.entity_id) FILTER (WHERE m.entity_kind = 'country')))
            AS countries,
        list_sort(list_distinct(list(m.entity_id) FILTER (WHERE m.entity_kind = 'actor')))
            AS actors
    FROM mentions m
    JOIN documents d ON d.id = m.document_id
    GROUP BY ALL
)
SELECT
    d.id AS story_id,                    -- the first-seen copy's documents.id
    d.url,
    d.source,
    d.published_at,
    d.fetched_at,
    coalesce(d.published_at, d.fetched_at, d.stored_at) AS seen_at,
    DATE '1970-01-01'
        + CAST(floor(epoch_us(coalesce(d.published_at, d.fetched_at, d.stored_at)) / 86400000000)
               AS INTEGER) AS day,
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
-- (mentions_daily: only stories with copies need the earliest day of their copies naming an
-- entity; the others, four in five, are named on their one document's day. Grouping only the
-- former saved 0.2 s of CPU at 100k documents.)
CREATE OR REPLACE VIEW mentions_daily AS
WITH copied AS (
    SELECT DISTINCT duplicate_of AS story_id FROM documents WHERE duplicate_of IS NOT NULL
),
first_named AS (
    SELECT story_id, entity_id, min(day) AS day
    FROM article_mentions
    WHERE story_id IN (SELECT story_id FROM copied)
    GROUP BY ALL
    UNION ALL
    SELECT story_id, entity_id, day
    FROM article_mentions
    WHERE story_id NOT IN (SELECT story_id FROM copied)
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
CREATE OR REPLACE VIEW co_mentions AS
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
        CAST(date_trunc('week', DATE '1970-01-01'
            + CAST(floor(epoch_us(coalesce(published_at, fetched_at, stored_at)) / 86400000000)
                   AS INTEGER)) AS DATE) AS week
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
CREATE OR REPLACE VIEW source_health AS
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
        DATE '1970-01-01' + CAST(floor(epoch_us(polled_at) / 86400000000) AS INTEGER) AS day,
        count(*) AS polls,
        sum(items_seen) AS items_seen,
        count(*) FILTER (WHERE status = 'failed') AS feed_failures,
        max(polled_at) FILTER (WHERE status <> 'failed') AS last_success_in_day,
        arg_max(streak, polled_at) AS streak_at_end
    FROM streaks
    GROUP BY ALL
),
stored_days AS (
    SELECT source, DATE '1970-01-01' + CAST(floor(epoch_us(stored_at) / 86400000000) AS INTEGER)
               AS day,
           count(*) AS stored,
           max(stored_at) AS last_stored_in_day
    FROM documents
    WHERE source IS NOT NULL
    GROUP BY ALL
),
skipped_by_reason AS (
    SELECT source, DATE '1970-01-01' + CAST(floor(epoch_us(skipped_at) / 86400000000) AS INTEGER)
               AS day,
           reason, count(*) AS n
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
    day - (DATE '1970-01-01' + CAST(floor(epoch_us(max(last_stored_in_day)
        OVER (PARTITION BY source ORDER BY day ROWS UNBOUNDED PRECEDING)) / 86400000000) AS INTEGER))
        AS days_since_new_item,
    coalesce(last_value(streak_at_end IGNORE NULLS)
        OVER (PARTITION BY source ORDER BY day ROWS UNBOUNDED PRECEDING), 0) AS failure_streak
FROM daily;
