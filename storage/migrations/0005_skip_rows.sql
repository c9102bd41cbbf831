-- One `skipped` row per item, source and run (storage/documents.py: record_skips).
--
-- Before this, a second row with the same URL and reason was refused anywhere in the store, so an
-- item skipped by two feeds, or again by a later run (a page that keeps failing), left no row of
-- its own, and a run's report counted skips the table did not hold. A row is now keyed by
-- (run_id, discovered_by, item, reason), where the item is `item_key` when set, else its
-- canonical URL, else its raw URL. `item_key` tells apart items that have no usable link (no link
-- at all, or a mailto:/javascript: one): the entry's guid when the feed gives it once, else its
-- position in the feed ('entry:3'); their `url` is the raw link as the feed gave it ('' if none).
ALTER TABLE skipped ADD COLUMN item_key VARCHAR;
