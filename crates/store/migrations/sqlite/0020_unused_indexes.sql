-- Three indexes of the first schema that no query uses any more, each built again after a
-- first import and kept up to date on every write (BENCHMARKS.md, "Importing a million deals"):
-- - deals_pipeline: open deals by pipeline are read through deals_open, won ones through
--   deals_won, closed ones by close instant through deals_closed;
-- - deals_owner and deals_updated: the deal list filters by owner and by `updated_since` as
--   `($n IS NULL OR column = $n)`, which SQLite plans before it sees the values, so it walks
--   the list in id order either way.
-- The query plans with and without them were compared on a million deals.
DROP INDEX IF EXISTS deals_pipeline;
DROP INDEX IF EXISTS deals_owner;
DROP INDEX IF EXISTS deals_updated;
-- events_at: the history is read by record (events_entity) and in order of writing (seq);
-- nothing looks events up by instant.
DROP INDEX IF EXISTS events_at;
