-- deals_pipeline: open deals by pipeline are read through deals_open, won ones through
-- deals_won, closed ones by close instant through deals_closed. (deals_owner and
-- deals_updated stay here, unlike on SQLite: PostgreSQL plans a statement with the values it
-- is given, so the deal list's owner and `updated_since` filters can use them.)
DROP INDEX IF EXISTS deals_pipeline;
-- events_at: the history is read by record (events_entity) and in order of writing (seq);
-- nothing looks events up by instant.
DROP INDEX IF EXISTS events_at;
